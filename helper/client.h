/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The S3 client (client.c), for the engine's own files only (client.c,
 * http.c): what s3_client_new() sets up and the transport reads.
 *
 * Thread safety: a struct s3_client is shared by all threads.  Its
 * configuration is written once in s3_client_new() and only read
 * afterwards; the credentials are replaced by s3_client_reload_creds()
 * under creds_lock.  Connections: libcurl does not support sharing its
 * connection cache between threads that run transfers at the same time
 * (CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT), so each easy handle keeps
 * its own connections, and an easy handle is used by one thread at a
 * time: a request takes one from the pool of idle handles (pool_lock)
 * and gives it back with its connections still open.  Only the DNS
 * cache and TLS sessions are shared, through the share object, whose
 * lock classes have a mutex each.  The statistics are atomics.
 */
#ifndef S3F_HELPER_CLIENT_H
#define S3F_HELPER_CLIENT_H

#include <pthread.h>

#include <curl/curl.h>

#include "creds.h"
#include "s3.h"

#define CLIENT_POOL_MAX		64
#define CLIENT_HANDLE_CONNECTS	4	/* idle connections one easy handle keeps */

struct s3_client {
	/* set once in s3_client_new(), read-only afterwards */
	char *scheme;			/* "http" or "https" */
	char *host;			/* "host[:port]" as sent in Host: */
	char *base_path;		/* endpoint's path, "" or "/prefix" */
	char *region;
	char *bucket;
	char *ca_file;
	enum s3_addressing addressing;
	char *profile;			/* where the credentials come from, or NULL */
	pthread_rwlock_t creds_lock;	/* guards creds */
	struct s3_creds creds;
	int max_retries;
	long connect_timeout_ms;
	long low_speed_time_s;
	long retry_base_ms;
	long retry_cap_ms;
	long attempt_timeout_ms;	/* 0: none */

	CURLSH *share;
	pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];

	pthread_mutex_t pool_lock;	/* guards pool[] and npool */
	CURL *pool[CLIENT_POOL_MAX];
	int npool;

	/*
	 * Set (atomically) once the server is seen to refuse a quoted ETag
	 * in If-Match (RGW does): conditions are then sent unquoted.
	 */
	int etag_unquoted;

	struct s3_stats stats;		/* atomics */
};

/* An easy handle for one request (its connections kept), and back. */
CURL *client_handle_get(struct s3_client *c);
void client_handle_put(struct s3_client *c, CURL *h);

#endif /* S3F_HELPER_CLIENT_H */
