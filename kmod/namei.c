// SPDX-License-Identifier: GPL-2.0
/*
 * s3f lookup and dentry revalidation.
 *
 * A name resolves to a directory when there are keys under "name/" (a
 * "name/" marker counts), else to a file when the object "name" exists.
 * Positive and negative dentries are trusted for the mount's ttl; after
 * that a path walk asks the helper again, so objects created, replaced or
 * deleted by other S3 clients show up within ttl seconds.
 */
#include <linux/fs.h>
#include <linux/jiffies.h>
#include <linux/namei.h>
#include <linux/slab.h>

#include "s3f.h"

struct dentry *s3f_lookup(struct inode *dir, struct dentry *dentry,
			  unsigned int flags)
{
	struct super_block *sb = dir->i_sb;
	struct inode *inode = NULL;
	struct s3f_attrs attrs;
	char *key;
	int err;

	if (dentry->d_name.len > S3F_MAX_NAME_LEN)
		return ERR_PTR(-ENAMETOOLONG);
	key = s3f_child_key(dir, dentry->d_name.name, dentry->d_name.len, false);
	if (!key)
		return ERR_PTR(-ENOMEM);
	if (strlen(key) > S3F_MAX_KEY_LEN - 1) {
		kfree(key);
		return ERR_PTR(-ENAMETOOLONG);
	}

	err = s3f_op_lookup(sb, key, &attrs);
	kfree(key);
	if (err && err != -ENOENT)
		return ERR_PTR(err);

	dentry->d_time = jiffies;
	if (!err) {
		key = s3f_child_key(dir, dentry->d_name.name, dentry->d_name.len,
				    attrs.type == S3F_TYPE_DIR);
		if (!key)
			return ERR_PTR(-ENOMEM);
		inode = s3f_new_inode(sb, key, &attrs);
		kfree(key);
		if (IS_ERR(inode))
			return ERR_CAST(inode);
	}
	return d_splice_alias(inode, dentry);
}

static int s3f_d_revalidate(struct dentry *dentry, unsigned int flags)
{
	unsigned int ttl = S3F_SB(dentry->d_sb)->opts.ttl;
	struct inode *inode;
	int err;

	inode = d_inode_rcu(dentry);
	if (!inode)	/* negative: trusted for ttl */
		return time_before(jiffies, dentry->d_time + ttl * HZ);
	if (s3f_inode_fresh(inode))
		return 1;
	if (flags & LOOKUP_RCU)
		return -ECHILD;

	err = s3f_inode_revalidate(inode);
	if (err == -ESTALE)
		return 0;	/* gone or changed type: look it up again */
	/* the helper is unreachable: keep what we know rather than fail the walk */
	return 1;
}

const struct dentry_operations s3f_dentry_ops = {
	.d_revalidate	= s3f_d_revalidate,
};
