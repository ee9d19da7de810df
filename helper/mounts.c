// SPDX-License-Identifier: GPL-2.0
/*
 * s3fd's mount table.
 *
 * mounts_lock guards the list and every entry's refcount.  An entry's
 * params and client are immutable after creation; an entry replaced (the
 * same id with other parameters, after a module reload) is freed when
 * its last user puts it.  probe_lock guards the probe's result.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "commit.h"
#include "creds.h"
#include "log.h"
#include "mounts.h"
#include "recover.h"
#include "s3f.h"

struct mount_entry {
	struct mount_entry *next;
	int refcnt;
	struct mount_params params;
	char *endpoint;			/* resolved */
	char *creds_source;
	struct s3_client *client;
	pthread_mutex_t probe_lock;
	bool probed;			/* guarded by probe_lock */
	struct commit_conditions conditions;	/* guarded by probe_lock */
};

static pthread_mutex_t mounts_lock = PTHREAD_MUTEX_INITIALIZER;
static struct mount_entry *mounts_head;	/* guarded by mounts_lock */

static struct nla_policy mount_policy[S3F_MOUNT_ATTR_MAX + 1] = {
	[S3F_MOUNT_ATTR_ID]		= { .type = NLA_U32 },
	[S3F_MOUNT_ATTR_BUCKET]		= { .type = NLA_STRING },
	[S3F_MOUNT_ATTR_PREFIX]		= { .type = NLA_STRING },
	[S3F_MOUNT_ATTR_ENDPOINT]	= { .type = NLA_STRING },
	[S3F_MOUNT_ATTR_REGION]		= { .type = NLA_STRING },
	[S3F_MOUNT_ATTR_PROFILE]	= { .type = NLA_STRING },
	[S3F_MOUNT_ATTR_ADDRESSING]	= { .type = NLA_U8 },
	[S3F_MOUNT_ATTR_STAGING]	= { .type = NLA_STRING },
	[S3F_MOUNT_ATTR_RW]		= { .type = NLA_FLAG },
};

static char *attr_strdup(struct nlattr *a)
{
	return a ? strndup(nla_data(a), nla_len(a)) : strdup("");
}

int mount_params_parse(struct nlattr *nest, struct mount_params *mp)
{
	struct nlattr *tb[S3F_MOUNT_ATTR_MAX + 1];

	memset(mp, 0, sizeof(*mp));
	if (!nest || nla_parse_nested(tb, S3F_MOUNT_ATTR_MAX, nest, mount_policy) ||
	    !tb[S3F_MOUNT_ATTR_ID] || !tb[S3F_MOUNT_ATTR_BUCKET])
		return -EINVAL;
	mp->id = nla_get_u32(tb[S3F_MOUNT_ATTR_ID]);
	mp->bucket = attr_strdup(tb[S3F_MOUNT_ATTR_BUCKET]);
	mp->prefix = attr_strdup(tb[S3F_MOUNT_ATTR_PREFIX]);
	mp->endpoint = attr_strdup(tb[S3F_MOUNT_ATTR_ENDPOINT]);
	mp->region = attr_strdup(tb[S3F_MOUNT_ATTR_REGION]);
	mp->profile = attr_strdup(tb[S3F_MOUNT_ATTR_PROFILE]);
	mp->staging = attr_strdup(tb[S3F_MOUNT_ATTR_STAGING]);
	if (tb[S3F_MOUNT_ATTR_ADDRESSING])
		mp->addressing = nla_get_u8(tb[S3F_MOUNT_ATTR_ADDRESSING]);
	mp->rw = nla_get_flag(tb[S3F_MOUNT_ATTR_RW]);
	if (!mp->bucket || !mp->prefix || !mp->endpoint || !mp->region ||
	    !mp->profile || !mp->staging) {
		mount_params_free(mp);
		return -ENOMEM;
	}
	return 0;
}

void mount_params_free(struct mount_params *mp)
{
	free(mp->bucket);
	free(mp->prefix);
	free(mp->endpoint);
	free(mp->region);
	free(mp->profile);
	free(mp->staging);
	memset(mp, 0, sizeof(*mp));
}

static bool params_equal(const struct mount_params *a, const struct mount_params *b)
{
	/* rw and staging do not change the client: jobs read them from the upcall */
	return a->id == b->id && a->addressing == b->addressing &&
	       !strcmp(a->bucket, b->bucket) && !strcmp(a->prefix, b->prefix) &&
	       !strcmp(a->endpoint, b->endpoint) && !strcmp(a->region, b->region) &&
	       !strcmp(a->profile, b->profile);
}

static int params_copy(struct mount_params *dst, const struct mount_params *src)
{
	*dst = (struct mount_params){
		.id = src->id,
		.addressing = src->addressing,
		.rw = src->rw,
		.bucket = strdup(src->bucket),
		.prefix = strdup(src->prefix),
		.endpoint = strdup(src->endpoint),
		.region = strdup(src->region),
		.profile = strdup(src->profile),
		.staging = strdup(src->staging),
	};
	if (!dst->bucket || !dst->prefix || !dst->endpoint || !dst->region ||
	    !dst->profile || !dst->staging) {
		mount_params_free(dst);
		return -ENOMEM;
	}
	return 0;
}

static void entry_free(struct mount_entry *me)
{
	s3_client_free(me->client);
	mount_params_free(&me->params);
	free(me->endpoint);
	free(me->creds_source);
	pthread_mutex_destroy(&me->probe_lock);
	free(me);
}

/* s3fd --allow-http: set before the workers start. */
static bool http_allowed;

void mounts_allow_http(bool allow)
{
	http_allowed = allow;
}

/*
 * Plain http carries the data, and the signed requests whose
 * credentials scope an eavesdropper could replay, unprotected: only to
 * this node itself (a local gateway, a test server), unless the admin
 * says otherwise.
 */
static bool http_endpoint_refused(const char *endpoint)
{
	const char *host;

	if (http_allowed || strncasecmp(endpoint, "http://", 7))
		return false;
	host = endpoint + 7;
	if (!strncasecmp(host, "localhost", 9) &&
	    (host[9] == '\0' || host[9] == ':' || host[9] == '/'))
		return false;
	if (!strncmp(host, "127.", 4) || !strncmp(host, "[::1]", 5))
		return false;
	return true;
}

/*
 * Build a client for mp.  fast: for the mount probe: no attempt may take
 * more than a few seconds, so that one stalled request leaves time for
 * the next within the mount's deadline (the kernel's mount_timeout, the
 * MOUNT job's deadline); a dead endpoint fails within seconds.
 */
static int make_client(const struct mount_params *mp, bool fast,
		       struct s3_client **client, char **endpoint,
		       char **creds_source, char *errbuf, size_t errlen)
{
	const char *profile = mp->profile[0] ? mp->profile : NULL;
	struct s3_config cfg = { 0 };
	struct s3_creds creds;
	char *region;
	int err;

	region = mp->region[0] ? strdup(mp->region) : s3_region_load(profile);
	if (!region)
		return -ENOMEM;
	if (mp->endpoint[0])
		*endpoint = strdup(mp->endpoint);
	else if (asprintf(endpoint, "https://s3.%s.amazonaws.com", region) < 0)
		*endpoint = NULL;
	if (!*endpoint) {
		free(region);
		return -ENOMEM;
	}
	if (http_endpoint_refused(*endpoint)) {
		snprintf(errbuf, errlen, "plain http to %s refused: only to this node "
			 "(s3fd --allow-http allows it; data and signed requests go "
			 "unprotected)", *endpoint);
		free(region);
		return -EACCES;	/* mount(8) shows the reason only then */
	}
	err = s3_creds_load(profile, &creds, errbuf, errlen);
	if (err) {
		free(region);
		return err == -ENOENT ? -ENOKEY : err;
	}
	cfg.endpoint = *endpoint;
	cfg.region = region;
	cfg.bucket = mp->bucket;
	cfg.profile = profile;
	cfg.addressing = mp->addressing == S3F_ADDRESSING_VIRTUAL ?
			 S3_ADDR_VIRTUAL : S3_ADDR_PATH;
	if (fast) {
		cfg.max_retries = 4;
		cfg.connect_timeout_ms = 2000;
		cfg.low_speed_time_s = 5;
		cfg.attempt_timeout_ms = 5000;
		cfg.retry_base_ms = 200;
		cfg.retry_cap_ms = 1000;
	}
	err = s3_client_new(&cfg, &creds, client, errbuf, errlen);
	if (!err && creds_source)
		*creds_source = strdup(creds.source ? creds.source : "?");
	s3_creds_free(&creds);
	free(region);
	return err;
}

struct mount_entry *mounts_get(const struct mount_params *mp, char *errbuf,
			       size_t errlen, int *err)
{
	struct mount_entry *me, **pp, *fresh;

	pthread_mutex_lock(&mounts_lock);
	for (pp = &mounts_head; (me = *pp); pp = &me->next) {
		if (me->params.id != mp->id)
			continue;
		if (params_equal(&me->params, mp)) {
			me->refcnt++;
			pthread_mutex_unlock(&mounts_lock);
			return me;
		}
		/* the id was reused with other parameters: forget the old one */
		*pp = me->next;
		if (!--me->refcnt)
			entry_free(me);
		break;
	}
	pthread_mutex_unlock(&mounts_lock);

	/* make the client outside the lock: loading credentials reads files */
	fresh = calloc(1, sizeof(*fresh));
	if (fresh)
		pthread_mutex_init(&fresh->probe_lock, NULL);
	if (!fresh || params_copy(&fresh->params, mp)) {
		if (fresh)
			pthread_mutex_destroy(&fresh->probe_lock);
		free(fresh);
		*err = -ENOMEM;
		snprintf(errbuf, errlen, "out of memory");
		return NULL;
	}
	*err = make_client(mp, false, &fresh->client, &fresh->endpoint,
			   &fresh->creds_source, errbuf, errlen);
	if (*err) {
		entry_free(fresh);
		return NULL;
	}
	fresh->refcnt = 2;		/* the list's and the caller's */

	pthread_mutex_lock(&mounts_lock);
	for (me = mounts_head; me; me = me->next) {
		if (params_equal(&me->params, mp)) {
			/* another thread made it meanwhile: use that one */
			me->refcnt++;
			pthread_mutex_unlock(&mounts_lock);
			entry_free(fresh);
			return me;
		}
	}
	fresh->next = mounts_head;
	mounts_head = fresh;
	pthread_mutex_unlock(&mounts_lock);
	log_info("mount %u: s3://%s/%s at %s, credentials from %s", mp->id,
		 mp->bucket, mp->prefix, fresh->endpoint, fresh->creds_source);
	return fresh;
}

void mounts_put(struct mount_entry *me)
{
	bool last;

	pthread_mutex_lock(&mounts_lock);
	last = !--me->refcnt;
	pthread_mutex_unlock(&mounts_lock);
	if (last)
		entry_free(me);
}

/* s3fd --no-recover clears it before the workers start; read-only after */
static bool recover_on = true;

void mounts_set_recover(bool on)
{
	recover_on = on;
}

struct recover_job {
	struct mount_entry *me;		/* a reference */
	char *dir;
};

static void *recover_thread(void *arg)
{
	struct recover_job *rj = arg;
	struct mount_entry *me = rj->me;
	struct commit_conditions cond;
	int left;

	/* the probe of conditional writes only when there is work */
	if (recover_count(rj->dir, me->params.endpoint, me->params.bucket) > 0) {
		mount_conditions(me, &cond);
		left = recover_dir(me->client, rj->dir, me->params.endpoint,
				   me->params.bucket, &cond);
		if (left)
			log_warn("mount %u: %d staging file(s) of an earlier boot left in %s: s3fctl recover list",
				 me->params.id, left, rj->dir);
	}
	mounts_put(me);
	free(rj->dir);
	free(rj);
	return NULL;
}

void mounts_recover(struct mount_entry *me, const char *dir)
{
	struct recover_job *rj;
	pthread_attr_t attr;
	pthread_t tid;
	int err;

	if (!recover_on || recover_count(dir, me->params.endpoint, me->params.bucket) <= 0)
		return;
	rj = calloc(1, sizeof(*rj));
	if (!rj || !(rj->dir = strdup(dir))) {
		free(rj);
		return;
	}
	pthread_mutex_lock(&mounts_lock);
	me->refcnt++;
	pthread_mutex_unlock(&mounts_lock);
	rj->me = me;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	err = pthread_create(&tid, &attr, recover_thread, rj);
	pthread_attr_destroy(&attr);
	if (err) {
		log_warn("mount %u: cannot start recovery: %s", me->params.id, strerror(err));
		mounts_put(me);
		free(rj->dir);
		free(rj);
	}
}

struct s3_client *mount_client(struct mount_entry *me)
{
	return me->client;
}

const char *mount_endpoint(struct mount_entry *me)
{
	return me->endpoint;
}

const char *mount_creds_source(struct mount_entry *me)
{
	return me->creds_source;
}

/*
 * What each server honours, by endpoint and bucket: probed once per s3fd,
 * not once per mount (hundreds of nodes mounting at boot would each write
 * and delete probe objects), or stated by the admin (s3fd --conditions).
 * A failed probe is not remembered: the next mount tries again.
 */
struct conditions_known {
	struct conditions_known *next;
	char *endpoint;
	char *bucket;
	struct commit_conditions cond;
};

static pthread_mutex_t conditions_lock = PTHREAD_MUTEX_INITIALIZER;
static struct conditions_known *conditions_head;	/* guarded by conditions_lock */
static bool conditions_stated;			/* set before the workers start */
static struct commit_conditions conditions_stated_as;

void mounts_state_conditions(const struct commit_conditions *cond)
{
	conditions_stated = true;
	conditions_stated_as = *cond;
}

static bool conditions_lookup(const char *endpoint, const char *bucket,
			      struct commit_conditions *out)
{
	struct conditions_known *k;
	bool found = false;

	pthread_mutex_lock(&conditions_lock);
	for (k = conditions_head; k && !found; k = k->next) {
		if (!strcmp(k->endpoint, endpoint) && !strcmp(k->bucket, bucket)) {
			*out = k->cond;
			found = true;
		}
	}
	pthread_mutex_unlock(&conditions_lock);
	return found;
}

static void conditions_remember(const char *endpoint, const char *bucket,
				const struct commit_conditions *cond)
{
	struct conditions_known *k = calloc(1, sizeof(*k));

	if (!k)
		return;
	k->endpoint = strdup(endpoint);
	k->bucket = strdup(bucket);
	if (!k->endpoint || !k->bucket) {
		free(k->endpoint);
		free(k->bucket);
		free(k);
		return;
	}
	k->cond = *cond;
	pthread_mutex_lock(&conditions_lock);
	k->next = conditions_head;
	conditions_head = k;
	pthread_mutex_unlock(&conditions_lock);
}

void mount_conditions(struct mount_entry *me, struct commit_conditions *out)
{
	char *key;
	int err = -ENOMEM;

	pthread_mutex_lock(&me->probe_lock);
	if (me->probed)
		goto out;
	if (conditions_stated) {
		me->conditions = conditions_stated_as;
		me->probed = true;
		goto out;
	}
	if (conditions_lookup(me->endpoint, me->params.bucket, &me->conditions)) {
		me->probed = true;
		goto out;
	}
	if (asprintf(&key, "%s.s3f-probe", me->params.prefix) >= 0) {
		err = commit_probe_conditions(me->client, key, &me->conditions);
		free(key);
	}
	me->probed = true;
	if (!err)
		conditions_remember(me->endpoint, me->params.bucket, &me->conditions);
	if (err) {
		memset(&me->conditions, 0, sizeof(me->conditions));
		log_warn("mount %u: cannot probe conditional writes (%s): checking with HEAD before each write",
			 me->params.id, strerror(-err));
	} else {
		log_info("mount %u: server honours conditional PUT: %s, on Complete: %s",
			 me->params.id, me->conditions.put ? "yes" : "no",
			 me->conditions.complete ? "yes" : "no");
	}
out:
	*out = me->conditions;
	pthread_mutex_unlock(&me->probe_lock);
}

int mounts_probe(const struct mount_params *mp, char *errbuf, size_t errlen)
{
	struct s3_list_result page;
	struct s3_client *client = NULL;
	struct s3_result res;
	char *endpoint = NULL, *source = NULL, what[512];
	int err;

	err = make_client(mp, true, &client, &endpoint, &source, errbuf, errlen);
	if (err) {
		if (err == -ENOKEY) {
			char tmp[512];

			snprintf(tmp, sizeof(tmp), "no credentials: %s", errbuf);
			snprintf(errbuf, errlen, "%s", tmp);
		}
		goto out_free;
	}
	err = s3_list(client, mp->prefix, "/", NULL, 1, &page, &res);
	if (!err) {
		s3_list_result_free(&page);
		goto out_free;
	}
	s3_result_str(&res, what, sizeof(what));
	switch (err) {
	case -ENOENT:
		snprintf(errbuf, errlen, "bucket \"%s\" does not exist at %s: %s",
			 mp->bucket, endpoint, what);
		break;
	case -EACCES:
		snprintf(errbuf, errlen, "access denied (credentials from %s): %s",
			 source, what);
		break;
	case -ECONNREFUSED:
	case -EHOSTUNREACH:
	case -ETIMEDOUT:
	case -ECONNRESET:
	case -EPROTO:
		snprintf(errbuf, errlen, "cannot reach the endpoint %s: %s",
			 endpoint, what);
		break;
	default:
		snprintf(errbuf, errlen, "bucket \"%s\" at %s: %s", mp->bucket,
			 endpoint, what);
		break;
	}
out_free:
	s3_client_free(client);
	free(endpoint);
	free(source);
	return err;
}

/* The kernel forgot mount id: drop its client (users keep theirs alive). */
void mounts_forget(uint32_t id)
{
	struct mount_entry *me, **pp;

	pthread_mutex_lock(&mounts_lock);
	for (pp = &mounts_head; (me = *pp); pp = &me->next) {
		if (me->params.id != id)
			continue;
		*pp = me->next;
		if (!--me->refcnt)
			entry_free(me);
		log_info("mount %u: unmounted", id);
		break;
	}
	pthread_mutex_unlock(&mounts_lock);
}

void mounts_reload_creds(void)
{
	struct mount_entry *me;
	char errbuf[256];

	pthread_mutex_lock(&mounts_lock);
	for (me = mounts_head; me; me = me->next) {
		if (s3_client_reload_creds(me->client, errbuf, sizeof(errbuf)))
			log_warn("mount %u: reloading credentials failed, keeping the old ones: %s",
				 me->params.id, errbuf);
		else
			log_info("mount %u: credentials reloaded", me->params.id);
	}
	pthread_mutex_unlock(&mounts_lock);
}

void mounts_cleanup(void)
{
	struct mount_entry *me;

	struct conditions_known *k;

	pthread_mutex_lock(&mounts_lock);
	while ((me = mounts_head)) {
		mounts_head = me->next;
		if (!--me->refcnt)
			entry_free(me);
	}
	pthread_mutex_unlock(&mounts_lock);
	pthread_mutex_lock(&conditions_lock);
	while ((k = conditions_head)) {
		conditions_head = k->next;
		free(k->endpoint);
		free(k->bucket);
		free(k);
	}
	pthread_mutex_unlock(&conditions_lock);
}
