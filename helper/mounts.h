/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The mounts s3fd serves: an S3 client per s3f superblock, made from the
 * parameters every file system upcall carries (so a restarted helper
 * needs no state from its predecessor) and cached by mount id.
 */
#ifndef S3F_HELPER_MOUNTS_H
#define S3F_HELPER_MOUNTS_H

#include <stdbool.h>
#include <stdint.h>

#include <netlink/attr.h>

#include "commit.h"
#include "s3.h"

struct mount_params {
	uint32_t id;
	char *bucket;
	char *prefix;		/* "" or ending in '/' */
	char *endpoint;		/* "" = AWS's endpoint for the region */
	char *region;		/* "" = from the environment/profile */
	char *profile;		/* "" = default credential chain */
	int addressing;		/* enum s3f_addressing */
	char *staging;		/* "" = s3fd's staging directory */
	bool rw;		/* read-write: MOUNT probes conditional writes */
};

/* Parse the S3F_ATTR_MOUNT nest.  0 or -EINVAL. */
int mount_params_parse(struct nlattr *nest, struct mount_params *mp);
void mount_params_free(struct mount_params *mp);

struct mount_entry;

/*
 * The client for mp, made on first use (credentials loaded then).
 * Returns a referenced entry, or NULL with *err set and errbuf saying
 * why.  Release with mounts_put().
 */
struct mount_entry *mounts_get(const struct mount_params *mp, char *errbuf,
			       size_t errlen, int *err);
void mounts_put(struct mount_entry *me);
struct s3_client *mount_client(struct mount_entry *me);
const char *mount_endpoint(struct mount_entry *me);
const char *mount_creds_source(struct mount_entry *me);

/*
 * Which conditional writes the mount's server honours: stated by the
 * admin (mounts_state_conditions), known from another mount of the same
 * endpoint and bucket, or probed (commit_probe_conditions() on
 * PREFIX.s3f-probe) by the first write that needs it; callers racing for
 * it wait for the one probe.  A probe that fails (permissions, ...)
 * counts as "nothing honoured": HEAD checks.
 */
void mount_conditions(struct mount_entry *me, struct commit_conditions *out);

/* s3fd --conditions: the answer, instead of probing (before workers start). */
void mounts_state_conditions(const struct commit_conditions *cond);
/*
 * Check that the mount can work: the bucket exists, the credentials are
 * accepted, the endpoint answers.  Fails fast (short timeouts, one
 * retry).  0, or -errno with errbuf saying which.
 */
int mounts_probe(const struct mount_params *mp, char *errbuf, size_t errlen);

/* UMOUNT: forget the client of mount id. */
void mounts_forget(uint32_t id);
/* s3fd --allow-http: plain http to endpoints other than this node. */
void mounts_allow_http(bool allow);
/*
 * s3fd --no-recover: a read-write MOUNT does not recover what earlier
 * boots staged for its bucket (mounts_recover).
 */
void mounts_set_recover(bool on);
/*
 * At a read-write MOUNT: commit, in the background, what earlier boots
 * staged in dir for me's endpoint and bucket (recover.h).
 */
void mounts_recover(struct mount_entry *me, const char *dir);
/* SIGHUP: every mount's client loads its credentials again. */
void mounts_reload_creds(void);
void mounts_cleanup(void);

#endif /* S3F_HELPER_MOUNTS_H */
