// SPDX-License-Identifier: GPL-2.0
/*
 * s3f extended attributes: the "user." namespace, and names in no
 * namespace as FUSE file systems such as s3fs-fuse take them ("key1",
 * macOS's "com.apple.quarantine"), stored as s3fs-fuse stores them, in
 * the object's x-amz-meta-xattr (the helper decodes and encodes that
 * header; the kernel sees S3F_ATTR_XATTRS records, uapi/s3f.h).  The
 * kernel's namespaces security.*, trusted.* and system.*: EOPNOTSUPP
 * (security.capability from a bucket would give a program capabilities,
 * a label would let a bucket writer label files on the node).
 *
 * An inode's set is an immutable, reference-counted blob of records
 * (struct s3f_xattrs), replaced whole: a LOOKUP brings the object's
 * (s3f_set_attrs), a setxattr makes a new one.  s3f_inode.lock protects
 * the pointer; whoever reads the records (getxattr, a commit's snapshot)
 * takes a reference under it.  Records of the kernel's namespaces found
 * on an object (s3fs keeps POSIX ACLs there) are kept and written back,
 * never shown.
 *
 * A change is committed as chmod's is (inode.c, s3f_setattr): before
 * setxattr returns when no writer has the file open, else with its
 * data; a directory's goes to its marker at once.
 */
#include <linux/kref.h>
#include <linux/slab.h>
#include <linux/xattr.h>

#include "s3f.h"

static void s3f_xattrs_release(struct kref *ref)
{
	kfree(container_of(ref, struct s3f_xattrs, ref));
}

void s3f_xattrs_put(struct s3f_xattrs *x)
{
	if (x)
		kref_put(&x->ref, s3f_xattrs_release);
}

/* One record: the name (not NUL terminated) and the value. */
struct s3f_xattr_rec {
	const char *name;
	const void *value;
	u8 name_len;
	u16 value_len;
};

/* The record at *@pos of @data, @len bytes; false at the end or on garbage. */
static bool s3f_xattr_next(const u8 *data, size_t len, size_t *pos,
			   struct s3f_xattr_rec *r)
{
	size_t p = *pos;

	if (p + S3F_XATTR_REC_HDR > len)
		return false;
	r->name_len = data[p];
	r->value_len = get_unaligned((const u16 *)(data + p + 1));
	p += S3F_XATTR_REC_HDR;
	if (!r->name_len || p + r->name_len + r->value_len > len)
		return false;
	r->name = (const char *)data + p;
	r->value = data + p + r->name_len;
	*pos = p + r->name_len + r->value_len;
	return true;
}

/*
 * The worst-case size of the x-amz-meta-xattr header @data makes:
 * {"name":"base64",...} URL-encoded, 3 bytes for every byte.
 */
static size_t s3f_xattr_hdr_size(const u8 *data, size_t len)
{
	struct s3f_xattr_rec r;
	size_t pos = 0, n = 2;

	while (s3f_xattr_next(data, len, &pos, &r))
		n += 3 * (r.name_len + 4 * DIV_ROUND_UP(r.value_len, 3) + 6);
	return n;
}

/*
 * A set from the helper (LOOKUP reply): every record whole, names
 * without NUL or '"' (they go in a JSON string); else NULL, with the
 * reason logged: the object's attributes are then not shown.
 */
struct s3f_xattrs *s3f_xattrs_parse(const void *data, size_t len)
{
	struct s3f_xattr_rec r;
	struct s3f_xattrs *x;
	size_t pos = 0;

	if (len > S3F_XATTR_MAX)
		return NULL;
	while (s3f_xattr_next(data, len, &pos, &r))
		if (memchr(r.name, '\0', r.name_len) || memchr(r.name, '"', r.name_len))
			return NULL;
	if (pos != len)
		return NULL;
	x = kmalloc(struct_size(x, data, len), GFP_KERNEL);
	if (!x)
		return NULL;
	kref_init(&x->ref);
	x->len = len;
	memcpy(x->data, data, len);
	return x;
}

/* A reference to @inode's set (NULL: none). */
struct s3f_xattrs *s3f_inode_xattrs(struct inode *inode)
{
	struct s3f_inode *si = S3F_I(inode);
	struct s3f_xattrs *x;

	spin_lock(&si->lock);
	x = si->xattrs;
	if (x)
		kref_get(&x->ref);
	spin_unlock(&si->lock);
	return x;
}

/* Give @inode the set @x (a reference of its own); caller holds si->lock. */
void s3f_inode_set_xattrs_locked(struct inode *inode, struct s3f_xattrs *x)
{
	struct s3f_inode *si = S3F_I(inode);
	struct s3f_xattrs *old = si->xattrs;

	if (x)
		kref_get(&x->ref);
	si->xattrs = x;
	s3f_xattrs_put(old);	/* a kfree at most: fine under the spinlock */
}

/*
 * The set after setting @name (full, with its namespace) to @value, or
 * removing it (@value NULL), honouring XATTR_CREATE / XATTR_REPLACE.
 */
static struct s3f_xattrs *s3f_xattrs_edit(const struct s3f_xattrs *old,
					  const char *name, const void *value,
					  size_t size, int flags)
{
	size_t nlen = strlen(name), olen = old ? old->len : 0, pos = 0, out = 0;
	struct s3f_xattr_rec r;
	struct s3f_xattrs *x;
	bool found = false;

	if (nlen > XATTR_NAME_MAX)
		return ERR_PTR(-ERANGE);
	if (size > S3F_XATTR_MAX)
		return ERR_PTR(-ENOSPC);
	x = kmalloc(struct_size(x, data, olen + S3F_XATTR_REC_HDR + nlen + size),
		    GFP_KERNEL);
	if (!x)
		return ERR_PTR(-ENOMEM);
	while (old && s3f_xattr_next(old->data, olen, &pos, &r)) {
		if (r.name_len == nlen && !memcmp(r.name, name, nlen)) {
			found = true;
			continue;
		}
		memcpy(x->data + out, r.name - S3F_XATTR_REC_HDR,
		       S3F_XATTR_REC_HDR + r.name_len + r.value_len);
		out += S3F_XATTR_REC_HDR + r.name_len + r.value_len;
	}
	if ((flags & XATTR_CREATE) && found) {
		kfree(x);
		return ERR_PTR(-EEXIST);
	}
	if (((flags & XATTR_REPLACE) || !value) && !found) {
		kfree(x);
		return ERR_PTR(-ENODATA);
	}
	if (value) {
		x->data[out] = nlen;
		put_unaligned((u16)size, (u16 *)(x->data + out + 1));
		memcpy(x->data + out + S3F_XATTR_REC_HDR, name, nlen);
		memcpy(x->data + out + S3F_XATTR_REC_HDR + nlen, value, size);
		out += S3F_XATTR_REC_HDR + nlen + size;
	}
	/* S3 keeps little metadata: what does not fit is refused, not lost */
	if (out > S3F_XATTR_MAX || s3f_xattr_hdr_size(x->data, out) > S3F_XATTR_HDR_MAX) {
		kfree(x);
		return ERR_PTR(-ENOSPC);
	}
	kref_init(&x->ref);
	x->len = out;
	return x;
}

/*
 * Before reading the set: ask S3 when stat would (getattr's rule: after
 * actimeo, or an inode known only from a listing under meta=stat), so
 * that `ls -l`, which lists every file's attributes, costs what its
 * stat does.  Before changing it (@for_set): the set must be known.
 */
static int s3f_xattr_load(struct inode *inode, bool for_set)
{
	bool known = READ_ONCE(S3F_I(inode)->meta_checked);
	int err;

	if (s3f_inode_fresh(inode) && !s3f_stat_needs_meta(inode) &&
	    (known || !for_set))
		return 0;
	err = s3f_inode_revalidate(inode);
	if (err == -ESTALE)
		return -ENOENT;
	/* unreachable: what we know, unless a change needs what we do not */
	return READ_ONCE(S3F_I(inode)->meta_checked) || !for_set ? 0 : err;
}

/*
 * A name (@len bytes) in the kernel's own namespaces: never read from or
 * set in S3 (records of them found on an object are kept, not shown).
 */
static bool s3f_xattr_kernel_name_n(const char *name, size_t len)
{
	static const char *const ns[] = {
		XATTR_SECURITY_PREFIX, XATTR_TRUSTED_PREFIX, XATTR_SYSTEM_PREFIX,
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(ns); i++)
		if (len >= strlen(ns[i]) && !memcmp(name, ns[i], strlen(ns[i])))
			return true;
	return false;
}

static bool s3f_xattr_kernel_name(const char *name)
{
	return s3f_xattr_kernel_name_n(name, strlen(name));
}

static int s3f_xattr_get(const struct xattr_handler *handler,
			 struct dentry *dentry, struct inode *inode,
			 const char *suffix, void *buf, size_t size)
{
	const char *name = xattr_full_name(handler, suffix);
	size_t nlen = strlen(name), pos = 0;
	struct s3f_xattr_rec r;
	struct s3f_xattrs *x;
	int err;

	if (s3f_xattr_kernel_name(name))
		return -EOPNOTSUPP;
	err = s3f_xattr_load(inode, false);
	if (err)
		return err;
	x = s3f_inode_xattrs(inode);
	err = -ENODATA;
	while (x && s3f_xattr_next(x->data, x->len, &pos, &r)) {
		if (r.name_len != nlen || memcmp(r.name, name, nlen))
			continue;
		err = r.value_len;
		if (size && r.value_len > size)
			err = -ERANGE;
		else if (size)
			memcpy(buf, r.value, r.value_len);
		break;
	}
	s3f_xattrs_put(x);
	return err;
}

static int s3f_xattr_set(const struct xattr_handler *handler,
			 s3f_idmap *idmap,
			 struct dentry *dentry, struct inode *inode,
			 const char *suffix, const void *value, size_t size,
			 int flags)
{
	const char *name = xattr_full_name(handler, suffix);
	struct s3f_inode *si = S3F_I(inode);
	struct s3f_xattrs *old, *x;
	int err;

	if (s3f_xattr_kernel_name(name))
		return -EOPNOTSUPP;
	if (inode == d_inode(inode->i_sb->s_root))
		return -EPERM;	/* the mount's root is no object */
	err = s3f_xattr_load(inode, true);
	if (err)
		return err;
	old = s3f_inode_xattrs(inode);
	x = s3f_xattrs_edit(old, name, value, size, flags);
	s3f_xattrs_put(old);
	if (IS_ERR(x))
		return PTR_ERR(x);
	spin_lock(&si->lock);
	s3f_inode_set_xattrs_locked(inode, x);
	s3f_set_ctime(inode, current_time(inode));
	spin_unlock(&si->lock);
	s3f_xattrs_put(x);
	return s3f_meta_changed(inode, 0, S3F_MKDIR_XATTRS);
}

static const struct xattr_handler s3f_xattr_user_handler = {
	.prefix	= XATTR_USER_PREFIX,
	.get	= s3f_xattr_get,
	.set	= s3f_xattr_set,
};

/* Last: every name no handler before took (the kernel's refused). */
static const struct xattr_handler s3f_xattr_other_handler = {
	.prefix	= "",
	.get	= s3f_xattr_get,
	.set	= s3f_xattr_set,
};

const struct xattr_handler *s3f_xattr_handlers[] = {
	&s3f_xattr_user_handler,
	&s3f_xattr_other_handler,
	NULL,
};

/* The names shown (not the kernel's), NUL terminated, one after the other. */
ssize_t s3f_listxattr(struct dentry *dentry, char *buf, size_t size)
{
	struct inode *inode = d_inode(dentry);
	struct s3f_xattr_rec r;
	struct s3f_xattrs *x;
	size_t pos = 0;
	ssize_t n;

	n = s3f_xattr_load(inode, false);
	if (n)
		return n;
	x = s3f_inode_xattrs(inode);
	while (x && s3f_xattr_next(x->data, x->len, &pos, &r)) {
		if (!r.name_len || memchr(r.name, '\0', r.name_len) ||
		    s3f_xattr_kernel_name_n(r.name, r.name_len))
			continue;
		if (size) {
			if (n + r.name_len + 1 > size) {
				n = -ERANGE;
				break;
			}
			memcpy(buf + n, r.name, r.name_len);
			buf[n + r.name_len] = '\0';
		}
		n += r.name_len + 1;
	}
	s3f_xattrs_put(x);
	return n;
}
