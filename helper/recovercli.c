// SPDX-License-Identifier: GPL-2.0
/*
 * `s3fctl recover`: what earlier boots staged and never committed.
 *
 *   s3fctl recover [--staging DIR]... list
 *   s3fctl recover [--staging DIR]... [--this-boot] commit NAME|all...
 *   s3fctl recover [--staging DIR]... [--this-boot] discard NAME|all...
 *
 * The directories: each --staging, else s3fd's default and the staging=
 * of every s3f mount.  NAME is a staging file's name (s3f-3-a8Zk2Q) or
 * path.  A commit uses the journal's endpoint, bucket, region and
 * profile, with credentials as `s3fctl s3` finds them.  Files staged in
 * this boot are s3f.ko's (still open, or kept by an umount whose helper
 * was gone): --this-boot acts on them anyway.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <mntent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "recover.h"
#include "recovercli.h"
#include "s3cli.h"
#include "staging.h"

#define RECOVER_MAX_DIRS	64

struct rcli {
	const char *dirs[RECOVER_MAX_DIRS];
	int ndirs;
	bool this_boot;
	char **names;		/* commit/discard: what to act on */
	int nnames;
	int failed;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: s3fctl recover [--staging DIR]... list\n"
		"       s3fctl recover [--staging DIR]... [--this-boot] commit NAME|all...\n"
		"       s3fctl recover [--staging DIR]... [--this-boot] discard NAME|all...\n"
		"\n"
		"Staged data a node crash kept from being committed (s3fd commits it\n"
		"by itself when a mount of its bucket starts, unless --no-recover).\n"
		"  list      every staging journal: NAME, state, size, s3://bucket/key\n"
		"  commit    commit it as s3f would have (a conflict copy when another\n"
		"            writer replaced the object), then delete it\n"
		"  discard   delete it without committing\n"
		"  --staging DIR   look in DIR (default: s3fd's and every mount's)\n"
		"  --this-boot     also act on files staged in this boot (s3f.ko's\n"
		"                  unless an umount without a helper left them)\n");
}

static void add_dir(struct rcli *r, const char *dir)
{
	int i;

	for (i = 0; i < r->ndirs; i++)
		if (!strcmp(r->dirs[i], dir))
			return;
	if (r->ndirs < RECOVER_MAX_DIRS)
		r->dirs[r->ndirs++] = strdup(dir);
}

/* s3fd's default directory and each s3f mount's staging= option */
static void default_dirs(struct rcli *r)
{
	struct mntent *m;
	char *opt, *end;
	FILE *f;

	add_dir(r, STAGING_DEFAULT_DIR);
	f = setmntent("/proc/self/mounts", "re");
	while (f && (m = getmntent(f))) {
		if (strcmp(m->mnt_type, "s3f"))
			continue;
		opt = hasmntopt(m, "staging");
		if (!opt || opt[7] != '=')
			continue;
		opt = strdup(opt + 8);
		if (!opt)
			continue;
		end = strchr(opt, ',');
		if (end)
			*end = '\0';
		add_dir(r, opt);
		free(opt);
	}
	if (f)
		endmntent(f);
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

static int list_item(const struct recover_item *it, void *arg)
{
	const char *state = it->j.gone ? "unlinked" :
			    !it->has_stage ? "no-data" :
			    it->this_boot ? "this-boot" : "to-recover";

	(void)arg;
	printf("%s\t%s\t%llu\ts3://%s/%s\t%s\n", base_name(it->stage), state,
	       it->has_stage ? it->stage_size : 0ULL, it->j.bucket, it->j.key,
	       it->j.base_etag ? it->j.base_etag : "new");
	return 0;
}

static bool wanted(const struct rcli *r, const char *stage)
{
	int i;

	for (i = 0; i < r->nnames; i++)
		if (!strcmp(r->names[i], "all") || !strcmp(r->names[i], stage) ||
		    !strcmp(r->names[i], base_name(stage)))
			return true;
	return false;
}

/* "dir/.s3f-probe" beside key: where its writer may write */
static char *probe_key(const char *key)
{
	const char *slash = strrchr(key, '/');
	char *probe;

	if (asprintf(&probe, "%.*s.s3f-probe", slash ? (int)(slash - key + 1) : 0,
		     key) < 0)
		return NULL;
	return probe;
}

static int commit_item(const struct recover_item *it, void *arg)
{
	struct rcli *r = arg;
	struct s3_config cfg = {
		.endpoint = it->j.endpoint,
		.bucket = it->j.bucket,
		.region = it->j.region,
		.addressing = it->j.virtual_hosted ? S3_ADDR_VIRTUAL : S3_ADDR_PATH,
	};
	struct commit_conditions cond = { 0 };
	struct recover_result out;
	struct s3_client *c = NULL;
	char *endpoint = NULL, *probe;

	if (!wanted(r, it->stage) || (it->this_boot && !r->this_boot))
		return 0;
	if (!cfg.endpoint || !cfg.endpoint[0]) {
		if (!cfg.region || !cfg.region[0] ||
		    asprintf(&endpoint, "https://s3.%s.amazonaws.com", cfg.region) < 0) {
			fprintf(stderr, "s3fctl: recover %s: no endpoint or region recorded\n",
				base_name(it->stage));
			r->failed++;
			return 0;
		}
		cfg.endpoint = endpoint;
	}
	if (s3cli_client(&cfg, it->j.profile && it->j.profile[0] ? it->j.profile : NULL, &c)) {
		r->failed++;
		free(endpoint);
		return 0;
	}
	/* which conditional writes the server honours: asked, as s3fd does */
	probe = probe_key(it->j.key);
	if (probe)
		commit_probe_conditions(c, probe, &cond);
	free(probe);
	recover_one(c, it->stage, &cond, r->this_boot, &out);
	printf("%s\t%s\ts3://%s/%s\t%s\n", base_name(it->stage),
	       recover_outcome_name(out.outcome), it->j.bucket, out.key, out.why);
	if (out.outcome == RECOVER_HELD || out.outcome == RECOVER_FAILED ||
	    out.outcome == RECOVER_BUSY)
		r->failed++;
	s3_client_free(c);
	free(endpoint);
	return 0;
}

static int discard_item(const struct recover_item *it, void *arg)
{
	struct rcli *r = arg;
	int err;

	if (!wanted(r, it->stage) || (it->this_boot && !r->this_boot))
		return 0;
	err = recover_discard(it->stage);
	printf("%s\t%s\ts3://%s/%s\n", base_name(it->stage),
	       err ? strerror(-err) : "discarded", it->j.bucket, it->j.key);
	if (err)
		r->failed++;
	return 0;
}

int recover_cli_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "staging", required_argument, NULL, 's' },
		{ "this-boot", no_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int (*fn)(const struct recover_item *it, void *arg);
	struct rcli r = { 0 };
	int ch, i, err, status = 0;

	log_init("s3fctl", false, LOG_LVL_WARN);
	optind = 1;
	while ((ch = getopt_long(argc, argv, "+s:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 's':
			add_dir(&r, optarg);
			break;
		case 'T':
			r.this_boot = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[optind], "list") && optind + 1 == argc) {
		fn = list_item;
	} else if (!strcmp(argv[optind], "commit") && optind + 1 < argc) {
		fn = commit_item;
	} else if (!strcmp(argv[optind], "discard") && optind + 1 < argc) {
		fn = discard_item;
	} else {
		usage(stderr);
		return 2;
	}
	r.names = argv + optind + 1;
	r.nnames = argc - optind - 1;
	if (!r.ndirs)
		default_dirs(&r);
	for (i = 0; i < r.ndirs; i++) {
		char why[256];

		/* a journal names keys, owners and modes: only s3fd's own */
		err = staging_trusted(r.dirs[i], why, sizeof(why));
		if (err && err != -ENOENT) {
			fprintf(stderr, "s3fctl: recover: %s refused: it %s\n", r.dirs[i], why);
			status = 1;
			free((char *)r.dirs[i]);
			continue;
		}
		err = recover_scan(r.dirs[i], fn, &r);
		if (err && err != -ENOENT) {
			fprintf(stderr, "s3fctl: recover: %s: %s\n", r.dirs[i], strerror(-err));
			status = 1;
		}
		free((char *)r.dirs[i]);
	}
	return status || r.failed ? 1 : 0;
}
