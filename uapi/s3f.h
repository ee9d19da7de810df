/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * s3f: the generic netlink protocol between s3f.ko and its helper s3fd.
 *
 * This header is the only thing the kernel module and the helper share.
 * Documentation/protocol.md describes each message, who sends it, and
 * what happens on timeout or when the helper dies.
 *
 * Roles:
 *   - The helper opens a generic netlink socket, resolves the family
 *     S3F_GENL_NAME and sends S3F_CMD_HELLO.  From then on the kernel
 *     sends it requests (upcalls) by unicast to that socket's port id.
 *   - Every upcall carries S3F_ATTR_REQ_ID; the helper answers with
 *     S3F_CMD_REPLY carrying the same id, S3F_ATTR_ERRNO and the
 *     command's result attributes.
 *   - Only a process with CAP_NET_ADMIN in the initial user namespace
 *     may send HELLO, GOODBYE or REPLY (GENL_ADMIN_PERM); STATUS too.
 */
#ifndef _UAPI_LINUX_S3F_H
#define _UAPI_LINUX_S3F_H

#include <linux/types.h>

#define S3F_GENL_NAME		"s3f"
#define S3F_GENL_VERSION	1

/* statfs(2) f_type of an s3f mount ("S3FS") */
#define S3F_MAGIC		0x53334653

/* The release both sides are built from (dkms.conf's PACKAGE_VERSION). */
#define S3F_RELEASE		"0.2.0"

/*
 * Protocol versions: each side speaks every version from
 * S3F_PROTOCOL_MIN to S3F_PROTOCOL_VERSION, so a module and a helper of
 * adjacent releases work together (upgrade either first).  HELLO
 * carries the newest version the helper speaks; the module answers with
 * the version both speak from then on: the older of the two newest
 * versions, refused with EPROTO when that is older than the module's
 * S3F_PROTOCOL_MIN (the helper says GOODBYE when it is older than its
 * own).  Modules of
 * protocol 8 and before want their own version exactly: told EPROTO,
 * the helper says HELLO again with each older version it speaks.
 *
 * Rules for new versions: a receiver ignores attributes it does not
 * know in upcalls (libnl's parse does), but the module validates
 * what the helper sends strictly: a helper sends an attribute or a
 * command only when the negotiated version has it.
 *
 *   8  STAGE_OPEN's journal fields, STAGE_NOTE, CLEAN_SIZE
 *   9  HELLO negotiates; every upcall carries SENDS; STATUS carries
 *      PROTO_MIN and HELPER_PROTO
 */
#define S3F_PROTOCOL_VERSION	9
#define S3F_PROTOCOL_MIN	8

/*
 * S3F_ATTR_XATTRS: an object's extended attributes (s3fs-fuse's
 * x-amz-meta-xattr, which the helper decodes and encodes), as records
 * of: u8 name length, u16 value length (host order), the full name
 * ("user.x"; not NUL terminated), the value.  In a LOOKUP reply only
 * when the object has some; in a COMMIT or MKDIR always (empty: none).
 * S3F_XATTR_MAX bounds the records; S3F_XATTR_HDR_MAX the header they
 * make (names and base64 values URL-encoded at worst 3 bytes a byte),
 * so that with the other s3fs-fuse metadata it stays within AWS's 2 KiB
 * of user metadata.
 */
#define S3F_XATTR_MAX		1024
#define S3F_XATTR_HDR_MAX	1536
#define S3F_XATTR_REC_HDR	3	/* u8 + u16 */

/* Limits shared by both sides. */
#define S3F_MAX_KEY_LEN		1024	/* S3's limit on an object key, bytes */
#define S3F_MAX_NAME_LEN	255	/* one path component */
#define S3F_MAX_BUCKET_LEN	63
#define S3F_MAX_URL_LEN		1024	/* endpoint= */
#define S3F_MAX_OPTS_LEN	4096	/* option string passed to the helper */
/*
 * Largest data payload in one message.  nla_len is a u16, so one
 * attribute carries at most 65531 bytes; keep well under it and under
 * an order-3 kmalloc for the whole skb.
 */
#define S3F_MAX_DATA_CHUNK	(60 * 1024)

enum s3f_cmd {
	S3F_CMD_UNSPEC,
	/*
	 * helper -> kernel.  Register the sending socket as the helper.
	 * Attrs: PROTO_VERSION (required: the newest the helper speaks).
	 * The reply (same command) carries PROTO_VERSION (the one chosen,
	 * see above) and HELPER_PID.  EPROTO: no version in common.  A
	 * second helper is refused with EBUSY while the first one's socket
	 * is open.
	 */
	S3F_CMD_HELLO,
	/* helper -> kernel.  Orderly unregister; pending requests fail. */
	S3F_CMD_GOODBYE,
	/*
	 * anyone with CAP_NET_ADMIN -> kernel.  Reply (same command):
	 * HELPER_PID (0 when none), PROTO_VERSION and PROTO_MIN (the
	 * module's newest and oldest), HELPER_PROTO (the one spoken with the
	 * helper; absent without one), PENDING, MOUNTS; with
	 * the PING flag the kernel first pings the helper and adds PING_NS
	 * (or fails with the upcall's error).
	 */
	S3F_CMD_STATUS,
	/*
	 * helper -> kernel.  The answer to an upcall: REQ_ID and ERRNO
	 * (0 or a positive errno), plus result attributes for that upcall.
	 * An unknown REQ_ID (the request timed out meanwhile) is answered
	 * with ENOENT and otherwise ignored.
	 */
	S3F_CMD_REPLY,
	/*
	 * kernel -> helper upcall: are you alive?  No attrs besides REQ_ID.
	 * Sent when STATUS carries the PING flag, so `s3fctl status --ping`
	 * proves the whole request/reply path.
	 */
	S3F_CMD_PING,
	/*
	 * kernel -> helper upcall: check that the mount's bucket is usable
	 * (it exists, the credentials are accepted, the endpoint answers).
	 * Attrs: MOUNT.  Reply: ERRNO, and ERRMSG saying what failed; for a
	 * read-write mount, STAGE: the staging directory (absolute, as the
	 * helper sees it), whose free space statfs reports and write(2)
	 * checks.
	 */
	S3F_CMD_MOUNT,
	/*
	 * kernel -> helper upcall: what is KEY?  Attrs: MOUNT, KEY (no
	 * trailing '/'), TYPE FILE when a listing showed KEY as an object
	 * (the metadata prefetch: a HEAD of KEY is enough).  The helper looks
	 * for an object KEY and for keys under KEY/ (a directory wins).  Reply: one ENTRY nest (no NAME)
	 * with TYPE, SIZE, MTIME_NS, ETAG and, from s3fs-fuse metadata when
	 * present, MODE, UID, GID, RDEV, XATTRS, ATIME_NS, CTIME_NS; ERRNO
	 * ENOENT when neither exists.
	 */
	S3F_CMD_LOOKUP,
	/*
	 * kernel -> helper upcall: one ListObjectsV2 page of a directory.
	 * Attrs: MOUNT, KEY (the directory's prefix, "" or ending in '/'),
	 * TOKEN (absent for the first page).  Reply: ENTRY nests (NAME,
	 * TYPE, SIZE, MTIME_NS, ETAG) and TOKEN when more pages follow.
	 * Names are raw key components; the kernel decides which are valid
	 * file names.
	 */
	S3F_CMD_READDIR,
	/*
	 * kernel -> helper upcall: read [OFFSET, OFFSET+LENGTH) of KEY,
	 * version ETAG.  Attrs: MOUNT, KEY, OFFSET, LENGTH, ETAG.  Reply:
	 * DATA_ADDR and DATA_LEN, the address and length of the bytes in the
	 * replying thread's memory: the REPLY handler copies them straight
	 * into the page cache (one copy).  ERRNO ESTALE when the object is
	 * no longer version ETAG.
	 */
	S3F_CMD_READ,
	/*
	 * kernel -> helper upcall: the superblock is gone; drop the mount's
	 * S3 client.  Attrs: MOUNT.  The kernel does not wait for the reply.
	 */
	S3F_CMD_UMOUNT,

	/* ---- the write path (Documentation/design.md, "The write path") ---- */

	/*
	 * kernel -> helper upcall: make a staging file for KEY.  Attrs:
	 * MOUNT, KEY, UID and GID (the file's owner: the staging file is
	 * given to them, so quotas count it), MODE, MTIME_NS, and what a
	 * journal needs to rebuild the file after a node crash (protocol
	 * 8): ETAG and BASE_SIZE of the base version (ETAG absent: a new
	 * object), CLEAN_SIZE (unstaged bytes below it are the base's,
	 * above it zeros).  The helper creates an empty
	 * file, mode 0600, in its staging directory (the mount's STAGING when
	 * given), writes its journal (Documentation/recovery.md) durably,
	 * and replies with FD, a
	 * descriptor of it open read-write in the replying process, and
	 * STAGE, its path.  The REPLY handler takes its own reference to
	 * the file (fget in the helper's sendmsg): the helper closes its
	 * descriptor once the reply is sent.  The kernel writes dirty pages
	 * into the file at their own offsets and keeps its size equal to
	 * the file's; a restarted helper finds the file again by STAGE.
	 */
	S3F_CMD_STAGE_OPEN,
	/*
	 * kernel -> helper upcall: commit KEY.  Attrs: MOUNT, KEY, SIZE (of
	 * the new object); STAGE (absent: no byte was staged, read it as
	 * zeros); ETAG and BASE_SIZE of the version the file is based on
	 * (absent for a new object: If-None-Match: *); EXTENTS, the byte
	 * ranges that differ from the base (struct s3f_extent[], any
	 * number of attributes; bytes past BASE_SIZE differ by definition);
	 * MODE, UID, GID, MTIME_NS, ATIME_NS, CTIME_NS (written as s3fs-fuse
	 * metadata); FLAGS (S3F_COMMIT_*); COMMIT_SESSION and COMMIT_ID,
	 * stored with the object (x-amz-meta-s3f-commit: "SESSION-ID", 16
	 * hex digits each).  COMMIT_ID names this attempt (a COMMIT resent
	 * to a new helper keeps it): an object carrying it is this very
	 * commit, published by an attempt whose answer was lost, and counts
	 * as success.  COMMIT_SESSION is the same for every attempt since
	 * the inode's base version: an object carrying it but another
	 * COMMIT_ID is an earlier attempt of this writer that failed after
	 * publishing, and becomes the base (no conflict).  Bytes outside EXTENTS below
	 * BASE_SIZE are the base object's: the staging file has holes there.
	 * DATA instead of STAGE and EXTENTS (protocol 3): the whole new
	 * object, SIZE bytes, at most S3F_COMMIT_INLINE_MAX (a small file
	 * committed without a staging file).
	 * Reply: ETAG of the new object; CONFLICT, the key it was written
	 * under when another writer had replaced the base (both kept);
	 * BYTES_UPLOADED, BYTES_COPIED.  ERRNO ESTALE (base replaced) or
	 * EEXIST (new object exists) with S3F_COMMIT_FAIL_ON_CONFLICT, or
	 * when the clean bytes are gone with the base.
	 */
	S3F_CMD_COMMIT,
	/*
	 * kernel -> helper upcall: the staging file STAGE is no longer
	 * needed; delete it.  Attrs: MOUNT, STAGE.  Not waited for.
	 */
	S3F_CMD_STAGE_RELEASE,
	/* kernel -> helper upcall: DeleteObject KEY.  Attrs: MOUNT, KEY. */
	S3F_CMD_DELETE,
	/*
	 * kernel -> helper upcall: make directory KEY (ending in '/'): PUT
	 * the empty marker with MODE, UID, GID, MTIME_NS, ATIME_NS, CTIME_NS,
	 * XATTRS as metadata; or, FLAGS S3F_MKDIR_SETATTR, change an existing
	 * directory's (see S3F_MKDIR_*).  Reply: ETAG.
	 */
	S3F_CMD_MKDIR,
	/*
	 * kernel -> helper upcall: remove directory KEY (ending in '/').
	 * ERRNO ENOTEMPTY when any key other than the marker lies under it;
	 * else the marker (if any) is deleted, and an old-style directory
	 * object (KEY without the '/') too.
	 */
	S3F_CMD_RMDIR,
	/*
	 * kernel -> helper upcall: rename KEY to NEW_KEY.  Attrs: MOUNT, KEY,
	 * NEW_KEY, TYPE, FLAGS (S3F_RENAME_NOREPLACE), ETAG (a file's
	 * version, for x-amz-copy-source-if-match), CTIME_NS (a file's: the
	 * copy's x-amz-meta-ctime).  A file: CopyObject
	 * (UploadPartCopy above 5 GiB) then DeleteObject; reply ETAG of the
	 * copy.  A directory (keys ending in '/'): every key under KEY is
	 * copied under NEW_KEY, then deleted; not atomic.  ERRNO EEXIST when
	 * NOREPLACE and NEW_KEY exists, ESTALE when the file is no longer
	 * version ETAG.
	 */
	S3F_CMD_RENAME,
	/*
	 * kernel -> helper upcall: make symbolic link KEY to TARGET, the
	 * s3fs-fuse way (the object's body is TARGET, MODE has S_IFLNK).
	 * Attrs: MOUNT, KEY, TARGET, MODE, UID, GID, MTIME_NS, ATIME_NS,
	 * CTIME_NS, XATTRS.  Reply: ETAG.
	 */
	S3F_CMD_SYMLINK,
	/*
	 * kernel -> helper (protocol 4): stop working on upcall REQ_ID as
	 * soon as it is safe, because its waiter gave up (its deadline
	 * passed, or the process was killed).  Not answered itself.  The
	 * helper still answers REQ_ID: with its result when the work was
	 * done (for a COMMIT: the object was published), else ECANCELED,
	 * which promises that the work has stopped and has no effect.  The
	 * kernel does not touch a staging file while a COMMIT reading it is
	 * unanswered, so a CANCEL only saves time.
	 */
	S3F_CMD_CANCEL,
	/*
	 * kernel -> helper upcall (protocol 8): what the journal of staging
	 * file STAGE records changed.  Attrs: MOUNT, STAGE, KEY, ETAG
	 * (absent: a new object), BASE_SIZE, CLEAN_SIZE, FLAGS
	 * (S3F_STAGE_GONE: the key is no longer the file's, unlinked or
	 * replaced: never recover it).  Sent, and waited for, before a
	 * truncation lowers CLEAN_SIZE, after a rename gave the file a new
	 * KEY and ETAG, and when the file is unlinked.  A COMMIT's own
	 * changes (new ETAG and sizes, a conflict copy's key) the helper
	 * records itself.
	 */
	S3F_CMD_STAGE_NOTE,

	__S3F_CMD_MAX,
};
#define S3F_CMD_MAX (__S3F_CMD_MAX - 1)

enum s3f_attr {
	S3F_ATTR_UNSPEC,
	S3F_ATTR_PROTO_VERSION,		/* u32 */
	S3F_ATTR_HELPER_PID,		/* u32, tgid of the helper */
	S3F_ATTR_REQ_ID,		/* u64, unique per upcall */
	S3F_ATTR_ERRNO,			/* u32, 0 or a positive errno */
	S3F_ATTR_PENDING,		/* u32, upcalls awaiting a reply */
	S3F_ATTR_MOUNTS,		/* u32, s3f superblocks alive */
	S3F_ATTR_PAD,
	S3F_ATTR_PING,			/* flag: STATUS also pings the helper */
	S3F_ATTR_PING_NS,		/* u64, PING round trip in ns */
	S3F_ATTR_MOUNT,			/* nest: S3F_MOUNT_ATTR_*, in every fs upcall */
	S3F_ATTR_ERRMSG,		/* string: why a MOUNT failed */
	S3F_ATTR_KEY,			/* string, object key, bucket-relative */
	S3F_ATTR_TYPE,			/* u8, enum s3f_type */
	S3F_ATTR_SIZE,			/* u64 */
	S3F_ATTR_MTIME_NS,		/* s64, ns since the epoch */
	S3F_ATTR_ETAG,			/* string, quotes stripped */
	S3F_ATTR_MODE,			/* u32, full st_mode (s3fs x-amz-meta-mode) */
	S3F_ATTR_UID,			/* u32 */
	S3F_ATTR_GID,			/* u32 */
	S3F_ATTR_ENTRY,			/* nest: NAME TYPE SIZE MTIME_NS ETAG */
	S3F_ATTR_NAME,			/* string, one key component */
	S3F_ATTR_TOKEN,			/* string, ListObjectsV2 continuation */
	S3F_ATTR_OFFSET,		/* u64 */
	S3F_ATTR_LENGTH,		/* u64 */
	S3F_ATTR_DATA_ADDR,		/* u64, user address in the replying thread */
	S3F_ATTR_DATA_LEN,		/* u64 */
	S3F_ATTR_FD,			/* u32, descriptor in the replying process */
	S3F_ATTR_STAGE,			/* string, staging file path */
	S3F_ATTR_BASE_SIZE,		/* u64 */
	S3F_ATTR_EXTENTS,		/* binary, struct s3f_extent[] */
	S3F_ATTR_ATIME_NS,		/* s64 */
	S3F_ATTR_CTIME_NS,		/* s64 */
	S3F_ATTR_FLAGS,			/* u32, S3F_COMMIT_*, S3F_RENAME_*, S3F_MKDIR_* */
	S3F_ATTR_CONFLICT,		/* string, key a conflicting commit went to */
	S3F_ATTR_BYTES_UPLOADED,	/* u64 */
	S3F_ATTR_BYTES_COPIED,		/* u64 */
	S3F_ATTR_NEW_KEY,		/* string */
	S3F_ATTR_TARGET,		/* string, symbolic link target */
	S3F_ATTR_COMMIT_ID,		/* u64, random, the same when a COMMIT is resent */
	S3F_ATTR_DATA,			/* binary, an inline COMMIT's bytes */
	S3F_ATTR_COMMIT_SESSION,	/* u64, the same for every attempt on one base */
	S3F_ATTR_RDEV,			/* u64, a device node's (s3fs x-amz-meta-rdev) */
	S3F_ATTR_XATTRS,		/* binary, extended attributes: see below */
	S3F_ATTR_WAITING,		/* u32, STATUS: upcalls waiting for a helper to come back */
	S3F_ATTR_TIMEOUT_MS,		/* u32, every upcall: ms the kernel still waits for it; 0: until CANCEL */
	S3F_ATTR_CLEAN_SIZE,		/* u64, STAGE_OPEN/NOTE: unstaged bytes past it are zeros */
	/* protocol 9 */
	S3F_ATTR_SENDS,			/* u32, every upcall: times sent before (to helpers that died) */
	S3F_ATTR_PROTO_MIN,		/* u32, STATUS: the module's oldest protocol */
	S3F_ATTR_HELPER_PROTO,		/* u32, STATUS: the protocol spoken with the helper */

	__S3F_ATTR_MAX,
};
#define S3F_ATTR_MAX (__S3F_ATTR_MAX - 1)

/*
 * Every file system upcall carries its mount's parameters, so a helper
 * that restarted needs no state from its predecessor: it builds (and
 * caches, by MOUNT_ID) an S3 client from them.
 */
enum s3f_mount_attr {
	S3F_MOUNT_ATTR_UNSPEC,
	S3F_MOUNT_ATTR_ID,		/* u32, unique per superblock */
	S3F_MOUNT_ATTR_BUCKET,		/* string */
	S3F_MOUNT_ATTR_PREFIX,		/* string, "" or ending in '/' */
	S3F_MOUNT_ATTR_ENDPOINT,	/* string, http:// or https:// URL */
	S3F_MOUNT_ATTR_REGION,		/* string */
	S3F_MOUNT_ATTR_PROFILE,		/* string, credentials profile, optional */
	S3F_MOUNT_ATTR_ADDRESSING,	/* u8, enum s3f_addressing */
	S3F_MOUNT_ATTR_STAGING,		/* string, staging directory, optional */
	S3F_MOUNT_ATTR_RW,		/* flag: read-write (MOUNT probes conditional writes) */

	__S3F_MOUNT_ATTR_MAX,
};
#define S3F_MOUNT_ATTR_MAX (__S3F_MOUNT_ATTR_MAX - 1)

enum s3f_addressing {
	S3F_ADDRESSING_PATH,		/* http://host/bucket/key */
	S3F_ADDRESSING_VIRTUAL,		/* http://bucket.host/key */
};

enum s3f_type {
	S3F_TYPE_FILE = 1,		/* an object */
	S3F_TYPE_DIR,			/* a "dir/" marker or keys under "dir/" */
};

/* Largest read one READ upcall asks for. */
#define S3F_MAX_READ		(8 << 20)

/* One dirty byte range of a COMMIT (host byte order). */
struct s3f_extent {
	__u64 off;
	__u64 len;
};

/* At most this many extents in one COMMIT (all EXTENTS attributes). */
#define S3F_MAX_EXTENTS		4096

/* At most this many bytes in a COMMIT's DATA. */
#define S3F_COMMIT_INLINE_MAX	(16 << 10)

/* COMMIT flags */
#define S3F_COMMIT_FAIL_ON_CONFLICT	(1U << 0)	/* conflict=fail */

/* STAGE_NOTE flags */
#define S3F_STAGE_GONE			(1U << 0)	/* never recover */

/* RENAME flags */
#define S3F_RENAME_NOREPLACE		(1U << 0)

/*
 * MKDIR flags.  SETATTR: a metadata change of an existing directory
 * (chmod, chown, utimes, setxattr): an existing marker is copied onto
 * itself with only the fields named below and CTIME_NS replaced, so that
 * metadata other clients stored stays; without a marker one is made
 * (and an old-style directory object without the '/' is replaced).
 * Without SETATTR: a new directory, its marker PUT with every field.
 */
#define S3F_MKDIR_SETATTR		(1U << 0)
#define S3F_MKDIR_MODE			(1U << 1)
#define S3F_MKDIR_OWNER			(1U << 2)	/* UID and GID */
#define S3F_MKDIR_MTIME			(1U << 3)
#define S3F_MKDIR_ATIME			(1U << 4)
#define S3F_MKDIR_XATTRS		(1U << 5)

#define S3F_MAX_TARGET_LEN	4095	/* symbolic link target */

/* The largest object S3 stores (5 TiB): a file's s_maxbytes. */
#define S3F_MAX_OBJECT_SIZE	(5ULL << 40)

#endif /* _UAPI_LINUX_S3F_H */
