// SPDX-License-Identifier: GPL-2.0
/*
 * s3fctl s3: a small CLI over the S3 engine, so the engine can be used
 * and tested without the kernel.
 *
 * Configuration comes from options, else the environment: S3F_ENDPOINT,
 * S3F_BUCKET, S3F_ADDRESSING, AWS_REGION/AWS_DEFAULT_REGION/config
 * file; credentials as s3fd finds them (creds.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "commit.h"
#include "log.h"
#include "s3.h"
#include "s3cli.h"
#include "fsops.h"

#define MAX_META	32
#define MAX_DIRTY	256

struct cli {
	struct s3_config cfg;
	const char *profile;
	struct s3_client *client;
	/* put/cp options */
	struct s3_put_opts put;
	struct s3_kv meta[MAX_META];
	uint64_t part_size;
	int jobs;
	bool recursive;
	int max_keys;
	uint64_t range_off, range_len;
	/* commit options */
	const char *base_etag;
	uint64_t base_size;
	bool has_base_size;
	struct commit_range dirty[MAX_DIRTY];
	size_t ndirty;
	bool fail_on_conflict;
	uint64_t commit_id;		/* commit-stage --commit-id */
	bool no_conditions;
	bool complete_conditions;
	bool sparse;
	bool stats;
	const char *exec_before_publish;
	/* write-path options (mkdir, symlink, rename, commit-stage) */
	struct fsop_meta wmeta;
	bool noreplace;
	bool resent;
	const char *etag;
	uint64_t multipart_threshold;
	const char *stage;
	uint64_t size;
	bool has_size;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: s3fctl s3 [OPTIONS] COMMAND [ARGS]\n"
		"\n"
		"Commands:\n"
		"  ls [-r] [--max-keys N] [PREFIX]   list (all pages): SIZE MTIME ETAG KEY,\n"
		"                               tab-separated; \"PRE - - PREFIX\" for prefixes\n"
		"  head KEY                     show size, ETag, dates, metadata\n"
		"  get [--range OFF:LEN] KEY [FILE]   download (FILE default: stdout)\n"
		"  put [PUT OPTIONS] FILE KEY   upload (multipart above --part-size)\n"
		"  cp [PUT OPTIONS] SRC DST     server-side copy (UploadPartCopy with --part-size)\n"
		"  rm KEY...                    delete\n"
		"  mpu-create KEY               start a multipart upload, print its id\n"
		"  mpu-abort KEY UPLOAD_ID      abort a multipart upload\n"
		"  mpu-ls [PREFIX]              multipart uploads in progress: key, id, initiated\n"
		"  commit [COMMIT OPTIONS] [PUT OPTIONS] FILE KEY\n"
		"                               commit a staged file (Documentation/commit.md):\n"
		"                               prints \"committed|conflict<TAB>ETAG<TAB>KEY\",\n"
		"                               KEY being the conflict name when both were kept\n"
		"  probe-conditions KEY         does the server honour conditional writes?\n"
		"                               prints \"put: honoured|ignored\" and\n"
		"                               \"complete: honoured|ignored\" (writes and deletes\n"
		"                               KEY-<random>)\n"
		"The write path's operations, as s3fd runs them for the kernel:\n"
		"  delete KEY                   DeleteObject (a missing key is success)\n"
		"  mkdir [META] DIR/            the directory marker; prints its ETag\n"
		"  setattr-dir [META] DIR/      change the fields META names (and ctime) on\n"
		"                               the marker, copied onto itself: its other\n"
		"                               metadata stays; no marker: PUT one (and an\n"
		"                               old-style DIR object is deleted)\n"
		"  rmdir DIR/                   delete the marker; ENOTEMPTY when keys are under it\n"
		"  rename [--noreplace] [--etag E] [--ctime-ns T] [--multipart-threshold N]\n"
		"         [--part-size N] SRC DST   copy (metadata too) and delete; prints the\n"
		"                               ETag; done again (same --etag and --ctime-ns)\n"
		"                               it succeeds\n"
		"  rename-dir [--noreplace] [--resent] SRC/ DST/   every key under SRC/\n"
		"                               to DST/ (--resent: as the kernel sends it\n"
		"                               again after a helper died);\n"
		"                               prints the number of keys moved\n"
		"  symlink [META] [--assume-no-conditions] KEY TARGET\n"
		"                               s3fs-style link (body TARGET), create-only\n"
		"  commit-stage [--stage FILE] [--size N] [COMMIT OPTIONS] [META] KEY\n"
		"                               a COMMIT upcall: FILE (none: zeros) sparse\n"
		"                               over --base-etag, --dirty ranges as EXTENTS;\n"
		"                               prints like commit\n"
		"\n"
		"Options (default from the environment):\n"
		"  --endpoint URL      S3F_ENDPOINT\n"
		"  --bucket NAME       S3F_BUCKET\n"
		"  --region NAME       AWS_REGION, AWS_DEFAULT_REGION, profile, us-east-1\n"
		"  --profile NAME      credentials profile (AWS_PROFILE)\n"
		"  --addressing path|virtual   S3F_ADDRESSING (default path)\n"
		"  --retries N         retries for transient failures (default 5)\n"
		"  --ca-file FILE      extra CA certificates for https\n"
		"  --log-level L       error (default), warning, info, debug\n"
		"PUT OPTIONS:\n"
		"  --if-match ETAG     replace only that version (412 -> ESTALE)\n"
		"  --if-none-match     create only (412 -> EEXIST)\n"
		"  --meta NAME=VALUE   x-amz-meta-NAME (repeatable)\n"
		"  --content-type T\n"
		"  --part-size BYTES   multipart part size (min 5 MiB; default 8 MiB)\n"
		"  --jobs N            parts in flight (default 4)\n"
		"COMMIT OPTIONS:\n"
		"  --base-etag ETAG    the version FILE is based on (default: a new file)\n"
		"  --base-size N       that version's size (default: from a HEAD)\n"
		"  --dirty OFF:LEN     bytes changed since the base (repeatable; default:\n"
		"                      all; --dirty 0:0 for none); clean parts are copied\n"
		"                      server side\n"
		"  --sparse            FILE holds only the dirty bytes; clean ones are read\n"
		"                      from the base where an uploaded part needs them\n"
		"  --fail-on-conflict  fail (ESTALE / EEXIST) instead of keeping both\n"
		"  --commit-id N       commit-stage: tag the object (x-amz-meta-s3f-commit);\n"
		"                      a retry with the same tag finds its own object\n"
		"  --assume-no-conditions   the server ignores If-Match / If-None-Match:\n"
		"                      HEAD checks only\n"
		"  --complete-conditions    the server also honours them on Complete (AWS):\n"
		"                      no HEAD right before Complete\n"
		"  --stats             then print requests, bytes_sent, bytes_received,\n"
		"                      uploaded, copied, fetched, parts (one per line)\n"
		"  --exec-before-publish CMD   (tests) run CMD with sh right before the\n"
		"                      request that makes the object visible\n"
		"META (s3fs-fuse x-amz-meta-*):\n"
		"  --mode M            st_mode, octal with a leading 0 (0100644) or decimal\n"
		"  --uid N, --gid N\n"
		"  --mtime-ns T, --atime-ns T, --ctime-ns T   nanoseconds since the epoch\n"
		"RENAME OPTIONS:\n"
		"  --noreplace         EEXIST when DST (or DST/...) exists\n"
		"  --etag E            only from that version of SRC (else ESTALE)\n"
		"  --multipart-threshold N   copy larger objects with UploadPartCopy\n"
		"                      (default 5 GiB; --part-size sets the part size)\n");
}

enum {
	OPT_ENDPOINT = 256, OPT_BUCKET, OPT_REGION, OPT_PROFILE, OPT_ADDRESSING,
	OPT_RETRIES, OPT_LOG_LEVEL, OPT_IF_MATCH, OPT_IF_NONE_MATCH, OPT_META,
	OPT_CONTENT_TYPE, OPT_PART_SIZE, OPT_JOBS, OPT_RANGE, OPT_MAX_KEYS,
	OPT_CA_FILE, OPT_BASE_ETAG, OPT_BASE_SIZE, OPT_DIRTY, OPT_FAIL_ON_CONFLICT,
	OPT_COMMIT_ID,
	OPT_NO_CONDITIONS, OPT_COMPLETE_CONDITIONS, OPT_SPARSE, OPT_STATS,
	OPT_EXEC_BEFORE_PUBLISH, OPT_MODE, OPT_UID, OPT_GID, OPT_MTIME_NS,
	OPT_ATIME_NS, OPT_CTIME_NS, OPT_NOREPLACE, OPT_RESENT, OPT_ETAG,
	OPT_MULTIPART_THRESHOLD, OPT_STAGE, OPT_SIZE,
};

static int parse_u32(const char *s, uint32_t *out)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno || end == s || *end || v > UINT32_MAX || s[0] == '-')
		return -1;
	*out = v;
	return 0;
}

static int parse_ns(const char *s, int64_t *out)
{
	long long v;
	char *end;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || *end)
		return -1;
	*out = v;
	return 0;
}

static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -1;
	switch (*end) {
	case 'k': case 'K': v <<= 10; end++; break;
	case 'm': case 'M': v <<= 20; end++; break;
	case 'g': case 'G': v <<= 30; end++; break;
	default: break;
	}
	if (*end)
		return -1;
	*out = v;
	return 0;
}

static int add_meta(struct cli *cli, const char *arg)
{
	const char *eq = strchr(arg, '=');

	if (!eq || eq == arg || cli->put.nmeta >= MAX_META)
		return -1;
	cli->meta[cli->put.nmeta].name = strndup(arg, eq - arg);
	cli->meta[cli->put.nmeta].value = strdup(eq + 1);
	cli->put.nmeta++;
	cli->put.meta = cli->meta;
	return 0;
}

static int parse_opts(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "endpoint", required_argument, NULL, OPT_ENDPOINT },
		{ "bucket", required_argument, NULL, OPT_BUCKET },
		{ "region", required_argument, NULL, OPT_REGION },
		{ "profile", required_argument, NULL, OPT_PROFILE },
		{ "addressing", required_argument, NULL, OPT_ADDRESSING },
		{ "retries", required_argument, NULL, OPT_RETRIES },
		{ "log-level", required_argument, NULL, OPT_LOG_LEVEL },
		{ "if-match", required_argument, NULL, OPT_IF_MATCH },
		{ "if-none-match", no_argument, NULL, OPT_IF_NONE_MATCH },
		{ "meta", required_argument, NULL, OPT_META },
		{ "content-type", required_argument, NULL, OPT_CONTENT_TYPE },
		{ "part-size", required_argument, NULL, OPT_PART_SIZE },
		{ "jobs", required_argument, NULL, OPT_JOBS },
		{ "range", required_argument, NULL, OPT_RANGE },
		{ "max-keys", required_argument, NULL, OPT_MAX_KEYS },
		{ "ca-file", required_argument, NULL, OPT_CA_FILE },
		{ "base-etag", required_argument, NULL, OPT_BASE_ETAG },
		{ "base-size", required_argument, NULL, OPT_BASE_SIZE },
		{ "dirty", required_argument, NULL, OPT_DIRTY },
		{ "fail-on-conflict", no_argument, NULL, OPT_FAIL_ON_CONFLICT },
		{ "commit-id", required_argument, NULL, OPT_COMMIT_ID },
		{ "assume-no-conditions", no_argument, NULL, OPT_NO_CONDITIONS },
		{ "complete-conditions", no_argument, NULL, OPT_COMPLETE_CONDITIONS },
		{ "sparse", no_argument, NULL, OPT_SPARSE },
		{ "stats", no_argument, NULL, OPT_STATS },
		{ "exec-before-publish", required_argument, NULL, OPT_EXEC_BEFORE_PUBLISH },
		{ "mode", required_argument, NULL, OPT_MODE },
		{ "uid", required_argument, NULL, OPT_UID },
		{ "gid", required_argument, NULL, OPT_GID },
		{ "mtime-ns", required_argument, NULL, OPT_MTIME_NS },
		{ "atime-ns", required_argument, NULL, OPT_ATIME_NS },
		{ "ctime-ns", required_argument, NULL, OPT_CTIME_NS },
		{ "noreplace", no_argument, NULL, OPT_NOREPLACE },
		{ "resent", no_argument, NULL, OPT_RESENT },
		{ "etag", required_argument, NULL, OPT_ETAG },
		{ "multipart-threshold", required_argument, NULL, OPT_MULTIPART_THRESHOLD },
		{ "stage", required_argument, NULL, OPT_STAGE },
		{ "size", required_argument, NULL, OPT_SIZE },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	enum log_level level;
	char *colon;
	int ch;

	while ((ch = getopt_long(argc, argv, "+rh", longopts, NULL)) != -1) {
		switch (ch) {
		case OPT_ENDPOINT: cli->cfg.endpoint = optarg; break;
		case OPT_BUCKET: cli->cfg.bucket = optarg; break;
		case OPT_REGION: cli->cfg.region = optarg; break;
		case OPT_PROFILE: cli->profile = optarg; break;
		case OPT_ADDRESSING:
			if (!strcmp(optarg, "virtual"))
				cli->cfg.addressing = S3_ADDR_VIRTUAL;
			else if (!strcmp(optarg, "path"))
				cli->cfg.addressing = S3_ADDR_PATH;
			else
				goto bad;
			break;
		case OPT_RETRIES:
			cli->cfg.max_retries = atoi(optarg);
			if (cli->cfg.max_retries < 0)
				goto bad;
			if (!cli->cfg.max_retries)
				cli->cfg.max_retries = -1;	/* explicit "none" */
			break;
		case OPT_LOG_LEVEL:
			if (log_parse_level(optarg, &level))
				goto bad;
			log_set_level(level);
			break;
		case OPT_IF_MATCH: cli->put.if_match = optarg; break;
		case OPT_IF_NONE_MATCH: cli->put.if_none_match = true; break;
		case OPT_META:
			if (add_meta(cli, optarg))
				goto bad;
			break;
		case OPT_CONTENT_TYPE: cli->put.content_type = optarg; break;
		case OPT_PART_SIZE:
			if (parse_size(optarg, &cli->part_size))
				goto bad;
			break;
		case OPT_JOBS: cli->jobs = atoi(optarg); break;
		case OPT_RANGE:
			colon = strchr(optarg, ':');
			if (!colon)
				goto bad;
			*colon = '\0';
			if (parse_size(optarg, &cli->range_off) ||
			    parse_size(colon + 1, &cli->range_len))
				goto bad;
			break;
		case OPT_MAX_KEYS:
			cli->max_keys = atoi(optarg);
			if (cli->max_keys <= 0)
				goto bad;
			break;
		case OPT_CA_FILE: cli->cfg.ca_file = optarg; break;
		case OPT_BASE_ETAG: cli->base_etag = optarg; break;
		case OPT_BASE_SIZE:
			if (parse_size(optarg, &cli->base_size))
				goto bad;
			cli->has_base_size = true;
			break;
		case OPT_DIRTY:
			colon = strchr(optarg, ':');
			if (!colon || cli->ndirty >= MAX_DIRTY)
				goto bad;
			*colon = '\0';
			if (parse_size(optarg, &cli->dirty[cli->ndirty].off) ||
			    parse_size(colon + 1, &cli->dirty[cli->ndirty].len))
				goto bad;
			cli->ndirty++;
			break;
		case OPT_FAIL_ON_CONFLICT: cli->fail_on_conflict = true; break;
		case OPT_COMMIT_ID:
			if (parse_size(optarg, &cli->commit_id) || !cli->commit_id)
				goto bad;
			break;
		case OPT_NO_CONDITIONS: cli->no_conditions = true; break;
		case OPT_COMPLETE_CONDITIONS: cli->complete_conditions = true; break;
		case OPT_SPARSE: cli->sparse = true; break;
		case OPT_STATS: cli->stats = true; break;
		case OPT_EXEC_BEFORE_PUBLISH: cli->exec_before_publish = optarg; break;
		case OPT_MODE:
			if (parse_u32(optarg, &cli->wmeta.mode))
				goto bad;
			cli->wmeta.has_mode = true;
			break;
		case OPT_UID:
			if (parse_u32(optarg, &cli->wmeta.uid))
				goto bad;
			cli->wmeta.has_uid = true;
			break;
		case OPT_GID:
			if (parse_u32(optarg, &cli->wmeta.gid))
				goto bad;
			cli->wmeta.has_gid = true;
			break;
		case OPT_MTIME_NS:
			if (parse_ns(optarg, &cli->wmeta.mtime_ns))
				goto bad;
			cli->wmeta.has_mtime = true;
			break;
		case OPT_ATIME_NS:
			if (parse_ns(optarg, &cli->wmeta.atime_ns))
				goto bad;
			cli->wmeta.has_atime = true;
			break;
		case OPT_CTIME_NS:
			if (parse_ns(optarg, &cli->wmeta.ctime_ns))
				goto bad;
			cli->wmeta.has_ctime = true;
			break;
		case OPT_NOREPLACE: cli->noreplace = true; break;
		case OPT_RESENT: cli->resent = true; break;
		case OPT_ETAG: cli->etag = optarg; break;
		case OPT_MULTIPART_THRESHOLD:
			if (parse_size(optarg, &cli->multipart_threshold))
				goto bad;
			break;
		case OPT_STAGE: cli->stage = optarg; break;
		case OPT_SIZE:
			if (parse_size(optarg, &cli->size))
				goto bad;
			cli->has_size = true;
			break;
		case 'r': cli->recursive = true; break;
		case 'h': usage(stdout); exit(0);
		default: goto bad;
		}
	}
	return 0;
bad:
	fprintf(stderr, "s3fctl s3: bad option or value (see --help)\n");
	return -1;
}

static void fail(const char *what, const char *key, int err,
		 const struct s3_result *res)
{
	char buf[512];

	if (res && (res->http_status || res->code[0]))
		fprintf(stderr, "s3fctl: %s %s: %s (%s)\n", what, key ? key : "",
			s3_result_str(res, buf, sizeof(buf)), strerror(-err));
	else
		fprintf(stderr, "s3fctl: %s %s: %s\n", what, key ? key : "",
			strerror(-err));
}

static void print_time(const struct timespec *ts)
{
	struct tm tm;
	char buf[32];

	gmtime_r(&ts->tv_sec, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	fputs(buf, stdout);
}

static int cmd_ls(struct cli *cli, int argc, char **argv)
{
	const char *prefix = argc > 0 ? argv[0] : "";
	struct s3_list_result page;
	struct s3_result res;
	char *token = NULL;
	size_t i;
	int err;

	do {
		err = s3_list(cli->client, prefix, cli->recursive ? NULL : "/",
			      token, cli->max_keys, &page, &res);
		free(token);
		token = NULL;
		if (err) {
			fail("ls", prefix, err, &res);
			return 1;
		}
		for (i = 0; i < page.nprefixes; i++)
			printf("PRE\t-\t-\t%s\n", page.prefixes[i]);
		for (i = 0; i < page.nentries; i++) {
			printf("%" PRIu64 "\t", page.entries[i].size);
			print_time(&page.entries[i].last_modified);
			printf("\t%s\t%s\n", page.entries[i].etag,
			       page.entries[i].key);
		}
		if (page.truncated && page.next_token)
			token = strdup(page.next_token);
		s3_list_result_free(&page);
	} while (token);
	return 0;
}

static int cmd_head(struct cli *cli, int argc, char **argv)
{
	struct s3_object obj;
	struct s3_result res;
	size_t i;
	int err;

	if (argc != 1)
		return -1;
	err = s3_head(cli->client, argv[0], &obj, &res);
	if (err) {
		fail("head", argv[0], err, &res);
		return 1;
	}
	printf("size: %" PRIu64 "\netag: %s\nlast-modified: ", obj.size, obj.etag);
	print_time(&obj.last_modified);
	printf("\ncontent-type: %s\n", obj.content_type ? obj.content_type : "");
	for (i = 0; i < obj.nmeta; i++)
		printf("meta-%s: %s\n", obj.meta[i].name, obj.meta[i].value);
	s3_object_free(&obj);
	return 0;
}

static int cmd_get(struct cli *cli, int argc, char **argv)
{
	struct s3_result res;
	uint64_t written;
	int fd = STDOUT_FILENO, err;

	if (argc < 1 || argc > 2)
		return -1;
	if (argc == 2 && strcmp(argv[1], "-")) {
		fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0) {
			fprintf(stderr, "s3fctl: %s: %s\n", argv[1], strerror(errno));
			return 1;
		}
	}
	err = s3_get_to_fd(cli->client, argv[0], cli->range_off, cli->range_len,
			   fd, &written, NULL, &res);
	if (fd != STDOUT_FILENO && close(fd) && !err)
		err = -errno;
	if (err) {
		fail("get", argv[0], err, &res);
		return 1;
	}
	return 0;
}

static int cmd_put(struct cli *cli, int argc, char **argv)
{
	char etag[S3_ETAG_MAX];
	struct s3_result res;
	struct stat st;
	int fd, err;

	if (argc != 2)
		return -1;
	fd = open(argv[0], O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st)) {
		fprintf(stderr, "s3fctl: %s: %s\n", argv[0], strerror(errno));
		return 1;
	}
	err = s3_upload_fd(cli->client, argv[1], fd, st.st_size,
			   cli->part_size ? cli->part_size : 8 << 20,
			   cli->jobs ? cli->jobs : 4, &cli->put, etag, &res);
	close(fd);
	if (err) {
		fail("put", argv[1], err, &res);
		return 1;
	}
	printf("%s\n", etag);
	return 0;
}

/* Copy through UploadPartCopy, part_size bytes per part. */
static int copy_multipart(struct cli *cli, const char *src, const char *dst,
			  char etag[S3_ETAG_MAX], struct s3_result *res)
{
	struct s3_part *parts = NULL;
	struct s3_object obj;
	char *upload_id = NULL;
	uint64_t off, n;
	size_t nparts = 0, i;
	int err;

	err = s3_head(cli->client, src, &obj, res);
	if (err)
		return err;
	n = (obj.size + cli->part_size - 1) / cli->part_size;
	if (!n)
		n = 1;
	parts = calloc(n, sizeof(*parts));
	err = -ENOMEM;
	if (!parts)
		goto out_free;
	err = s3_mpu_create(cli->client, dst, &cli->put, &upload_id, res);
	if (err)
		goto out_free;
	for (off = 0, i = 0; i < n; i++, off += cli->part_size) {
		uint64_t len = obj.size - off < cli->part_size ?
			       obj.size - off : cli->part_size;

		parts[i].number = i + 1;
		err = s3_mpu_upload_part_copy(cli->client, dst, upload_id, i + 1,
					      src, off, len, obj.etag,
					      parts[i].etag, res);
		if (err)
			goto out_abort;
		nparts++;
	}
	err = s3_mpu_complete(cli->client, dst, upload_id, parts, nparts,
			      &cli->put, etag, res);
	if (!err)
		goto out_free;
out_abort:
	s3_mpu_abort(cli->client, dst, upload_id, NULL);
out_free:
	free(upload_id);
	free(parts);
	s3_object_free(&obj);
	return err;
}

static int cmd_cp(struct cli *cli, int argc, char **argv)
{
	char etag[S3_ETAG_MAX];
	struct s3_result res;
	int err;

	if (argc != 2)
		return -1;
	if (cli->part_size)
		err = copy_multipart(cli, argv[0], argv[1], etag, &res);
	else
		err = s3_copy(cli->client, argv[0], argv[1], &cli->put, etag, &res);
	if (err) {
		fail("cp", argv[1], err, &res);
		return 1;
	}
	printf("%s\n", etag);
	return 0;
}

static int cmd_rm(struct cli *cli, int argc, char **argv)
{
	struct s3_result res;
	int i, err, status = 0;

	if (argc < 1)
		return -1;
	for (i = 0; i < argc; i++) {
		err = s3_delete(cli->client, argv[i], &res);
		if (err) {
			fail("rm", argv[i], err, &res);
			status = 1;
		}
	}
	return status;
}

static int cmd_mpu_create(struct cli *cli, int argc, char **argv)
{
	struct s3_result res;
	char *id;
	int err;

	if (argc != 1)
		return -1;
	err = s3_mpu_create(cli->client, argv[0], &cli->put, &id, &res);
	if (err) {
		fail("mpu-create", argv[0], err, &res);
		return 1;
	}
	printf("%s\n", id);
	free(id);
	return 0;
}

static int cmd_mpu_abort(struct cli *cli, int argc, char **argv)
{
	struct s3_result res;
	int err;

	if (argc != 2)
		return -1;
	err = s3_mpu_abort(cli->client, argv[0], argv[1], &res);
	if (err) {
		fail("mpu-abort", argv[0], err, &res);
		return 1;
	}
	return 0;
}

static int cmd_mpu_ls(struct cli *cli, int argc, char **argv)
{
	struct s3_result res;
	struct s3_upload *u;
	size_t n, i;
	int err;

	if (argc > 1)
		return -1;
	err = s3_mpu_list(cli->client, argc ? argv[0] : "", &u, &n, &res);
	if (err) {
		fail("mpu-ls", argc ? argv[0] : "", err, &res);
		return 1;
	}
	for (i = 0; i < n; i++)
		printf("%s\t%s\t%lld\n", u[i].key, u[i].upload_id,
		       (long long)u[i].initiated.tv_sec);
	s3_uploads_free(u, n);
	return 0;
}

static void run_hook(void *arg, const char *key)
{
	const char *cmd = arg;
	int rc;

	rc = system(cmd);
	if (rc)
		fprintf(stderr, "s3fctl: commit %s: hook exited with status %d\n",
			key, rc);
}

static int cmd_commit(struct cli *cli, int argc, char **argv)
{
	struct commit_source src = { 0 };
	struct commit_opts o = { 0 };
	struct commit_result out;
	struct s3_result res;
	struct s3_object obj;
	struct s3_stats st;
	struct stat sb;
	int fd, err;

	if (argc != 2)
		return -1;
	fd = open(argv[0], O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &sb)) {
		fprintf(stderr, "s3fctl: %s: %s\n", argv[0], strerror(errno));
		return 1;
	}
	src.fd = fd;
	src.size = sb.st_size;
	src.base_etag = cli->base_etag;
	src.sparse = cli->sparse;
	if (cli->base_etag && cli->has_base_size) {
		src.base_size = cli->base_size;
	} else if (cli->base_etag) {
		/*
		 * The base's size, when the key still holds the base; else
		 * assume the file kept its size (the commit will find the
		 * conflict either way).
		 */
		src.base_size = src.size;
		if (!s3_head(cli->client, argv[1], &obj, NULL)) {
			if (!strcmp(obj.etag, cli->base_etag))
				src.base_size = obj.size;
			s3_object_free(&obj);
		}
	}
	if (cli->ndirty) {
		src.dirty = cli->dirty;
		src.ndirty = cli->ndirty;
	} else {
		src.all_dirty = true;
	}
	o.put = &cli->put;
	o.part_size = cli->part_size;
	o.jobs = cli->jobs;
	o.on_conflict = cli->fail_on_conflict ? COMMIT_FAIL : COMMIT_KEEP_BOTH;
	o.conditions.put = !cli->no_conditions;
	o.conditions.complete = !cli->no_conditions && cli->complete_conditions;
	if (cli->exec_before_publish) {
		o.before_publish = run_hook;
		o.before_publish_arg = (void *)cli->exec_before_publish;
	}
	err = commit_object(cli->client, argv[1], &src, &o, &out, &res);
	close(fd);
	if (err) {
		fail("commit", argv[1], err, &res);
		return 1;
	}
	printf("%s\t%s\t%s\n", out.conflict ? "conflict" : "committed", out.etag,
	       out.key);
	if (cli->stats) {
		s3_client_stats(cli->client, &st);
		printf("requests %" PRIu64 "\nbytes_sent %" PRIu64
		       "\nbytes_received %" PRIu64 "\nuploaded %" PRIu64
		       "\ncopied %" PRIu64 "\nfetched %" PRIu64 "\nparts %zu\n",
		       st.requests, st.bytes_sent, st.bytes_received,
		       out.bytes_uploaded, out.bytes_copied, out.bytes_fetched,
		       out.nparts);
	}
	commit_result_free(&out);
	return 0;
}

static int cmd_probe_conditions(struct cli *cli, int argc, char **argv)
{
	struct commit_conditions cond;
	int err;

	if (argc != 1)
		return -1;
	err = commit_probe_conditions(cli->client, argv[0], &cond);
	if (err) {
		fail("probe-conditions", argv[0], err, NULL);
		return 1;
	}
	printf("put: %s\ncomplete: %s\n", cond.put ? "honoured" : "ignored",
	       cond.complete ? "honoured" : "ignored");
	return 0;
}

/* ---- the write path's operations (fsops.h) ---- */

static int cmd_delete(struct cli *cli, int argc, char **argv)
{
	struct s3_result res = { 0 };
	int err;

	if (argc != 1)
		return -1;
	err = fsop_delete(cli->client, argv[0], &res);
	if (err) {
		fail("delete", argv[0], err, &res);
		return 1;
	}
	return 0;
}

static int cmd_mkdir(struct cli *cli, int argc, char **argv)
{
	char etag[S3_ETAG_MAX];
	struct s3_result res = { 0 };
	int err;

	if (argc != 1)
		return -1;
	err = fsop_mkdir(cli->client, argv[0], &cli->wmeta, etag, &res);
	if (err) {
		fail("mkdir", argv[0], err, &res);
		return 1;
	}
	printf("%s\n", etag);
	return 0;
}

/* The fields META names change; the marker's other metadata stays. */
static int cmd_setattr_dir(struct cli *cli, int argc, char **argv)
{
	const struct fsop_meta *m = &cli->wmeta;
	unsigned int fields = S3F_MKDIR_SETATTR;
	char etag[S3_ETAG_MAX];
	struct s3_result res = { 0 };
	int err;

	if (argc != 1)
		return -1;
	if (m->has_mode)
		fields |= S3F_MKDIR_MODE;
	if (m->has_uid || m->has_gid)
		fields |= S3F_MKDIR_OWNER;
	if (m->has_mtime)
		fields |= S3F_MKDIR_MTIME;
	if (m->has_atime)
		fields |= S3F_MKDIR_ATIME;
	err = fsop_setattr_dir(cli->client, argv[0], m, fields, etag, &res);
	if (err) {
		fail("setattr-dir", argv[0], err, &res);
		return 1;
	}
	printf("%s\n", etag);
	return 0;
}

static int cmd_rmdir(struct cli *cli, int argc, char **argv)
{
	struct s3_result res = { 0 };
	int err;

	if (argc != 1)
		return -1;
	err = fsop_rmdir(cli->client, argv[0], &res);
	if (err) {
		fail("rmdir", argv[0], err, &res);
		return 1;
	}
	return 0;
}

static void rename_opts(const struct cli *cli, struct fsop_rename_opts *o)
{
	*o = (struct fsop_rename_opts){
		.flags = cli->noreplace ? FSOP_RENAME_NOREPLACE : 0,
		.etag = cli->etag,
		.multipart_threshold = cli->multipart_threshold,
		.part_size = cli->part_size,
		.jobs = cli->jobs,
		.ctime_ns = cli->wmeta.has_ctime ? cli->wmeta.ctime_ns : 0,
		.resent = cli->resent,
	};
}

static int cmd_rename(struct cli *cli, int argc, char **argv)
{
	struct fsop_rename_opts o;
	char etag[S3_ETAG_MAX];
	struct s3_result res = { 0 };
	int err;

	if (argc != 2)
		return -1;
	rename_opts(cli, &o);
	err = fsop_rename_file(cli->client, argv[0], argv[1], &o, etag, &res);
	if (err) {
		fail("rename", argv[0], err, &res);
		return 1;
	}
	printf("%s\n", etag);
	return 0;
}

static int cmd_rename_dir(struct cli *cli, int argc, char **argv)
{
	struct fsop_rename_opts o;
	struct s3_result res = { 0 };
	size_t n;
	int err;

	if (argc != 2)
		return -1;
	rename_opts(cli, &o);
	err = fsop_rename_dir(cli->client, argv[0], argv[1], &o, &n, &res);
	if (err) {
		fail("rename-dir", argv[0], err, &res);
		return 1;
	}
	printf("%zu\n", n);
	return 0;
}

static int cmd_symlink(struct cli *cli, int argc, char **argv)
{
	char etag[S3_ETAG_MAX];
	struct s3_result res = { 0 };
	int err;

	if (argc != 2)
		return -1;
	err = fsop_symlink(cli->client, argv[0], argv[1], &cli->wmeta,
			   !cli->no_conditions, etag, &res);
	if (err) {
		fail("symlink", argv[0], err, &res);
		return 1;
	}
	printf("%s\n", etag);
	return 0;
}

static int cmd_commit_stage(struct cli *cli, int argc, char **argv)
{
	struct fsop_commit_req req = {
		.stage = cli->stage,
		.base_etag = cli->base_etag,
		.base_size = cli->base_size,
		.extents = cli->dirty,
		.nextents = cli->ndirty,
		.meta = cli->wmeta,
		.fail_on_conflict = cli->fail_on_conflict,
		.commit_id = cli->commit_id,
		.conditions = {
			.put = !cli->no_conditions,
			.complete = !cli->no_conditions && cli->complete_conditions,
		},
	};
	struct commit_result out;
	struct s3_result res = { 0 };
	struct stat sb;
	int err;

	if (argc != 1 || (cli->base_etag && !cli->has_base_size))
		return -1;
	if (cli->has_size)
		req.size = cli->size;
	else if (cli->stage && !stat(cli->stage, &sb))
		req.size = sb.st_size;
	err = fsop_commit(cli->client, argv[0], &req, &out, &res);
	if (err) {
		fail("commit-stage", argv[0], err, &res);
		return 1;
	}
	printf("%s\t%s\t%s\n", out.conflict ? "conflict" : "committed", out.etag,
	       out.key);
	if (cli->stats)
		printf("uploaded %" PRIu64 "\ncopied %" PRIu64 "\nfetched %" PRIu64
		       "\n", out.bytes_uploaded, out.bytes_copied,
		       out.bytes_fetched);
	commit_result_free(&out);
	return 0;
}

static const struct {
	const char *name;
	int (*fn)(struct cli *cli, int argc, char **argv);
} commands[] = {
	{ "ls", cmd_ls },
	{ "head", cmd_head },
	{ "get", cmd_get },
	{ "put", cmd_put },
	{ "cp", cmd_cp },
	{ "rm", cmd_rm },
	{ "mpu-create", cmd_mpu_create },
	{ "mpu-abort", cmd_mpu_abort },
	{ "mpu-ls", cmd_mpu_ls },
	{ "commit", cmd_commit },
	{ "probe-conditions", cmd_probe_conditions },
	{ "delete", cmd_delete },
	{ "mkdir", cmd_mkdir },
	{ "setattr-dir", cmd_setattr_dir },
	{ "rmdir", cmd_rmdir },
	{ "rename", cmd_rename },
	{ "rename-dir", cmd_rename_dir },
	{ "symlink", cmd_symlink },
	{ "commit-stage", cmd_commit_stage },
};

int s3cli_client(struct s3_config *cfg, const char *profile,
		 struct s3_client **out)
{
	struct s3_creds creds;
	char errbuf[512];
	char *region = NULL;
	int err;

	if (!cfg->region || !cfg->region[0]) {
		region = s3_region_load(profile);
		cfg->region = region;
	}
	err = s3_creds_load(profile, &creds, errbuf, sizeof(errbuf));
	if (err) {
		fprintf(stderr, "s3fctl: credentials: %s\n", errbuf);
		free(region);
		cfg->region = NULL;
		return -1;
	}
	if (cfg->max_retries < 0)
		cfg->max_retries = 0;
	err = s3_client_new(cfg, &creds, out, errbuf, sizeof(errbuf));
	s3_creds_free(&creds);
	if (err)
		fprintf(stderr, "s3fctl: %s\n", err == -ENOMEM ? "out of memory" : errbuf);
	/* the client keeps its own copy of the region */
	free(region);
	if (region)
		cfg->region = NULL;
	return err ? -1 : 0;
}

static int open_client(struct cli *cli)
{
	const char *env;

	if (!cli->cfg.endpoint)
		cli->cfg.endpoint = getenv("S3F_ENDPOINT");
	if (!cli->cfg.bucket)
		cli->cfg.bucket = getenv("S3F_BUCKET");
	env = getenv("S3F_ADDRESSING");
	if (env && !strcmp(env, "virtual"))
		cli->cfg.addressing = S3_ADDR_VIRTUAL;
	if (!cli->cfg.endpoint || !cli->cfg.bucket) {
		fprintf(stderr, "s3fctl: need --endpoint and --bucket (or S3F_ENDPOINT, S3F_BUCKET)\n");
		return -1;
	}
	return s3cli_client(&cli->cfg, cli->profile, &cli->client);
}

int s3cli_main(int argc, char **argv)
{
	struct cli cli = { 0 };
	size_t i;
	int status = 2, ret;

	/* failures are reported once, by the command itself */
	log_init("s3fctl", false, LOG_LVL_ERR);
	if (parse_opts(&cli, argc, argv))
		return 2;
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[optind], commands[i].name))
			break;
	if (i == sizeof(commands) / sizeof(commands[0])) {
		fprintf(stderr, "s3fctl s3: unknown command \"%s\"\n", argv[optind]);
		return 2;
	}
	/* command options may follow the command name */
	argc -= optind;
	argv += optind;
	optind = 0;	/* glibc: re-initialise getopt for the second pass */
	if (parse_opts(&cli, argc, argv))
		return 2;
	if (open_client(&cli))
		goto out_free;
	ret = commands[i].fn(&cli, argc - optind, argv + optind);
	if (ret < 0) {
		fprintf(stderr, "s3fctl s3 %s: wrong arguments (see --help)\n",
			commands[i].name);
		status = 2;
	} else {
		status = ret;
	}
	s3_client_free(cli.client);
out_free:
	for (i = 0; i < cli.put.nmeta; i++) {
		free(cli.meta[i].name);
		free(cli.meta[i].value);
	}
	return status;
}
