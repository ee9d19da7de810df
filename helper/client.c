// SPDX-License-Identifier: GPL-2.0
/*
 * The S3 client: endpoint, bucket, credentials, the curl handles and
 * their shared DNS and TLS caches, the statistics (client.h has the
 * thread-safety rules).  The requests themselves are http.c's.
 */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "client.h"
#include "http.h"
#include "log.h"

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_global_setup(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void share_lock(CURL *h, curl_lock_data data, curl_lock_access access,
		       void *userp)
{
	struct s3_client *c = userp;

	pthread_mutex_lock(&c->share_locks[data]);
}

static void share_unlock(CURL *h, curl_lock_data data, void *userp)
{
	struct s3_client *c = userp;

	pthread_mutex_unlock(&c->share_locks[data]);
}

static int dup_creds(struct s3_creds *dst, const struct s3_creds *src)
{
	memset(dst, 0, sizeof(*dst));
	dst->access_key = strdup(src->access_key ? src->access_key : "");
	dst->secret_key = strdup(src->secret_key ? src->secret_key : "");
	if (src->session_token)
		dst->session_token = strdup(src->session_token);
	if (src->source)
		dst->source = strdup(src->source);
	if (!dst->access_key || !dst->secret_key ||
	    (src->session_token && !dst->session_token) ||
	    (src->source && !dst->source))
		return -ENOMEM;
	return 0;
}

static bool bucket_name_valid(const char *b)
{
	size_t n = strlen(b), i;

	if (n < 3 || n > 63)
		return false;
	for (i = 0; i < n; i++) {
		unsigned char ch = b[i];

		if (!(islower(ch) || isdigit(ch) || ch == '.' || ch == '-' ||
		      ch == '_'))
			return false;
	}
	return true;
}

/* Split "scheme://host[:port][/path]" into the client's fields. */
static int parse_endpoint(struct s3_client *c, const char *endpoint,
			  char *errbuf, size_t errlen)
{
	const char *p, *slash;
	size_t hostlen;

	if (!strncmp(endpoint, "http://", 7)) {
		c->scheme = strdup("http");
		p = endpoint + 7;
	} else if (!strncmp(endpoint, "https://", 8)) {
		c->scheme = strdup("https");
		p = endpoint + 8;
	} else {
		snprintf(errbuf, errlen,
			 "endpoint \"%s\" must start with http:// or https://",
			 endpoint);
		return -EINVAL;
	}
	slash = strchr(p, '/');
	hostlen = slash ? (size_t)(slash - p) : strlen(p);
	if (!hostlen || memchr(p, '@', hostlen) || memchr(p, '?', hostlen) ||
	    memchr(p, '#', hostlen)) {
		snprintf(errbuf, errlen, "endpoint \"%s\" has no valid host",
			 endpoint);
		return -EINVAL;
	}
	if (c->addressing == S3_ADDR_VIRTUAL) {
		if (asprintf(&c->host, "%s.%.*s", c->bucket, (int)hostlen, p) < 0)
			c->host = NULL;
	} else {
		c->host = strndup(p, hostlen);
	}
	c->base_path = strdup(slash ? slash : "");
	if (!c->scheme || !c->host || !c->base_path)
		return -ENOMEM;
	/* "http://h/" and "http://h" are the same endpoint */
	hostlen = strlen(c->base_path);
	while (hostlen && c->base_path[hostlen - 1] == '/')
		c->base_path[--hostlen] = '\0';
	return 0;
}

int s3_client_new(const struct s3_config *cfg, const struct s3_creds *creds,
		  struct s3_client **out, char *errbuf, size_t errlen)
{
	struct s3_client *c;
	int i, err;

	*out = NULL;
	if (!cfg->endpoint || !cfg->bucket || !cfg->region) {
		snprintf(errbuf, errlen, "endpoint, bucket and region are required");
		return -EINVAL;
	}
	if (!bucket_name_valid(cfg->bucket)) {
		snprintf(errbuf, errlen, "\"%s\" is not a valid bucket name",
			 cfg->bucket);
		return -EINVAL;
	}
	pthread_once(&curl_once, curl_global_setup);

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->addressing = cfg->addressing;
	pthread_rwlock_init(&c->creds_lock, NULL);
	if (cfg->profile && !(c->profile = strdup(cfg->profile))) {
		free(c);
		return -ENOMEM;
	}
	c->bucket = strdup(cfg->bucket);
	c->region = strdup(cfg->region);
	if (cfg->ca_file)
		c->ca_file = strdup(cfg->ca_file);
	err = -ENOMEM;
	if (!c->bucket || !c->region || (cfg->ca_file && !c->ca_file))
		goto out_free;
	err = parse_endpoint(c, cfg->endpoint, errbuf, errlen);
	if (err)
		goto out_free;
	err = dup_creds(&c->creds, creds);
	if (err)
		goto out_free;
	c->max_retries = cfg->max_retries > 0 ? cfg->max_retries : 5;
	c->connect_timeout_ms = cfg->connect_timeout_ms > 0 ? cfg->connect_timeout_ms : 5000;
	c->low_speed_time_s = cfg->low_speed_time_s > 0 ? cfg->low_speed_time_s : 30;
	c->retry_base_ms = cfg->retry_base_ms > 0 ? cfg->retry_base_ms : 100;
	c->retry_cap_ms = cfg->retry_cap_ms > 0 ? cfg->retry_cap_ms : 5000;
	c->attempt_timeout_ms = cfg->attempt_timeout_ms > 0 ? cfg->attempt_timeout_ms : 0;

	for (i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_init(&c->share_locks[i], NULL);
	pthread_mutex_init(&c->pool_lock, NULL);
	err = -ENOMEM;
	c->share = curl_share_init();
	if (!c->share)
		goto out_free;
	curl_share_setopt(c->share, CURLSHOPT_LOCKFUNC, share_lock);
	curl_share_setopt(c->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
	curl_share_setopt(c->share, CURLSHOPT_USERDATA, c);
	curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);

	*out = c;
	return 0;

out_free:
	s3_client_free(c);
	return err;
}

void s3_client_free(struct s3_client *c)
{
	int i;

	if (!c)
		return;
	for (i = 0; i < c->npool; i++)
		curl_easy_cleanup(c->pool[i]);
	if (c->share)
		curl_share_cleanup(c->share);
	free(c->scheme);
	free(c->host);
	free(c->base_path);
	free(c->region);
	free(c->bucket);
	free(c->ca_file);
	free(c->profile);
	s3_creds_free(&c->creds);
	pthread_rwlock_destroy(&c->creds_lock);
	free(c);
}

int s3_client_reload_creds(struct s3_client *c, char *errbuf, size_t errlen)
{
	struct s3_creds fresh, old;
	int err;

	err = s3_creds_load(c->profile, &fresh, errbuf, errlen);
	if (err)
		return err;
	pthread_rwlock_wrlock(&c->creds_lock);
	old = c->creds;
	c->creds = fresh;
	pthread_rwlock_unlock(&c->creds_lock);
	s3_creds_free(&old);
	return 0;
}

const char *s3_client_bucket(const struct s3_client *c)
{
	return c->bucket;
}

const char *s3_client_host(const struct s3_client *c)
{
	return c->host;
}

void s3_client_stats(struct s3_client *c, struct s3_stats *out)
{
	out->requests = __atomic_load_n(&c->stats.requests, __ATOMIC_RELAXED);
	out->retries = __atomic_load_n(&c->stats.retries, __ATOMIC_RELAXED);
	out->bytes_sent = __atomic_load_n(&c->stats.bytes_sent, __ATOMIC_RELAXED);
	out->bytes_received = __atomic_load_n(&c->stats.bytes_received, __ATOMIC_RELAXED);
}

bool http_etag_unquoted(struct s3_client *c)
{
	return __atomic_load_n(&c->etag_unquoted, __ATOMIC_RELAXED);
}

void http_set_etag_unquoted(struct s3_client *c)
{
	if (!__atomic_exchange_n(&c->etag_unquoted, 1, __ATOMIC_RELAXED))
		log_info("s3: %s wants unquoted ETags in If-Match; sending them so",
			 c->host);
}

CURL *client_handle_get(struct s3_client *c)
{
	CURL *h = NULL;

	pthread_mutex_lock(&c->pool_lock);
	if (c->npool)
		h = c->pool[--c->npool];
	pthread_mutex_unlock(&c->pool_lock);
	if (!h)
		h = curl_easy_init();
	return h;
}

void client_handle_put(struct s3_client *c, CURL *h)
{
	curl_easy_reset(h);
	pthread_mutex_lock(&c->pool_lock);
	if (c->npool < CLIENT_POOL_MAX) {
		c->pool[c->npool++] = h;
		h = NULL;
	}
	pthread_mutex_unlock(&c->pool_lock);
	if (h)
		curl_easy_cleanup(h);
}
