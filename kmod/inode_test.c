// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests for the inode table (inode.c): one live inode per key per
 * mount, whatever happens to the dentries; keys that change (rename,
 * conflict copy) move the inode with them; unlinked, replaced and
 * retyped inodes are never found again.
 *
 * The tests run on a superblock of a test file system type that uses
 * s3f's inode operations and table but asks no helper (no MOUNT upcall):
 * tests/kunit/run builds the whole module into a UML kernel with it.
 */
#include <kunit/test.h>
#include <linux/fs.h>
#include <linux/fs_context.h>
#include <linux/module.h>
#include <linux/mount.h>
#include <linux/slab.h>

#include "s3f.h"

static const struct super_operations s3f_test_sops = {
	.alloc_inode	= s3f_alloc_inode,
	.free_inode	= s3f_free_inode,
	.evict_inode	= s3f_evict_inode,
};

static int s3f_test_fill_super(struct super_block *sb, struct fs_context *fc)
{
	struct s3f_attrs root_attrs = { .type = S3F_TYPE_DIR, .meta_known = true };
	struct s3f_sb_info *sbi;
	struct inode *root;

	sbi = kzalloc(sizeof(*sbi), GFP_KERNEL);
	if (!sbi)
		return -ENOMEM;
	sbi->sb = sb;
	sbi->opts.file_mode = 0644;
	sbi->opts.dir_mode = 0755;
	sbi->opts.actimeo = 5;
	s3f_commit_sb_init(sbi);
	sb->s_fs_info = sbi;
	sb->s_op = &s3f_test_sops;
	sb->s_magic = S3F_MAGIC;
	root = s3f_iget(sb, "", &root_attrs);
	if (IS_ERR(root))
		return PTR_ERR(root);
	sb->s_root = d_make_root(root);
	return sb->s_root ? 0 : -ENOMEM;
}

static int s3f_test_get_tree(struct fs_context *fc)
{
	return get_tree_nodev(fc, s3f_test_fill_super);
}

static const struct fs_context_operations s3f_test_context_ops = {
	.get_tree	= s3f_test_get_tree,
};

static int s3f_test_init_fs_context(struct fs_context *fc)
{
	fc->ops = &s3f_test_context_ops;
	return 0;
}

static void s3f_test_kill_sb(struct super_block *sb)
{
	struct s3f_sb_info *sbi = S3F_SB(sb);

	kill_anon_super(sb);
	kfree(sbi);
}

static struct file_system_type s3f_test_fs_type = {
	.name			= "s3f_kunit",
	.init_fs_context	= s3f_test_init_fs_context,
	.kill_sb		= s3f_test_kill_sb,
};

static int s3f_table_init(struct kunit *test)
{
	struct vfsmount *mnt = kern_mount(&s3f_test_fs_type);

	if (IS_ERR(mnt))
		return PTR_ERR(mnt);
	test->priv = mnt;
	return 0;
}

static void s3f_table_exit(struct kunit *test)
{
	kern_unmount(test->priv);
}

static struct super_block *s3f_test_sb(struct kunit *test)
{
	return ((struct vfsmount *)test->priv)->mnt_sb;
}

static const struct s3f_attrs s3f_file_attrs = {
	.type = S3F_TYPE_FILE, .size = 10, .etag = "e1",
};

static const struct s3f_attrs s3f_dir_attrs = { .type = S3F_TYPE_DIR };

static struct inode *s3f_test_iget(struct kunit *test, const char *key,
				   const struct s3f_attrs *attrs)
{
	struct inode *inode = s3f_iget(s3f_test_sb(test), key, attrs);

	KUNIT_ASSERT_FALSE_MSG(test, IS_ERR(inode), "s3f_iget(%s)", key);
	return inode;
}

/* Two lookups of a key, with no dentry between them: one inode. */
static void s3f_table_same_key_test(struct kunit *test)
{
	struct inode *a = s3f_test_iget(test, "d/f", &s3f_file_attrs);
	struct inode *b = s3f_test_iget(test, "d/f", &s3f_file_attrs);

	KUNIT_EXPECT_PTR_EQ(test, a, b);
	KUNIT_EXPECT_EQ(test, i_size_read(a), 10);
	iput(b);
	iput(a);
}

/* "d/x" (an object) and "d/x/" (a directory) are two inodes. */
static void s3f_table_file_and_dir_test(struct kunit *test)
{
	struct inode *f = s3f_test_iget(test, "d/x", &s3f_file_attrs);
	struct inode *d = s3f_test_iget(test, "d/x/", &s3f_dir_attrs);

	KUNIT_EXPECT_PTR_NE(test, f, d);
	KUNIT_EXPECT_TRUE(test, S_ISREG(f->i_mode));
	KUNIT_EXPECT_TRUE(test, S_ISDIR(d->i_mode));
	iput(d);
	iput(f);
}

/* A fresh listing updates the one inode, unless it has local changes. */
static void s3f_table_refresh_test(struct kunit *test)
{
	struct s3f_attrs bigger = s3f_file_attrs;
	struct inode *a = s3f_test_iget(test, "r", &s3f_file_attrs);
	struct inode *b;

	bigger.size = 20;
	strscpy(bigger.etag, "e2", sizeof(bigger.etag));
	b = s3f_test_iget(test, "r", &bigger);
	KUNIT_EXPECT_PTR_EQ(test, a, b);
	KUNIT_EXPECT_EQ(test, i_size_read(a), 20);
	KUNIT_EXPECT_STREQ(test, S3F_I(a)->etag, "e2");
	iput(b);

	/* a local change not yet committed wins over S3 */
	atomic64_inc(&S3F_I(a)->changes);
	b = s3f_test_iget(test, "r", &s3f_file_attrs);
	KUNIT_EXPECT_PTR_EQ(test, a, b);
	KUNIT_EXPECT_EQ(test, i_size_read(a), 20);
	KUNIT_EXPECT_STREQ(test, S3F_I(a)->etag, "e2");
	S3F_I(a)->committed = atomic64_read(&S3F_I(a)->changes);
	iput(b);
	iput(a);
}

/* An unlinked inode (still open) is never found again by its key. */
static void s3f_table_unlinked_test(struct kunit *test)
{
	struct inode *old = s3f_test_iget(test, "u", &s3f_file_attrs);
	struct inode *new;

	WRITE_ONCE(S3F_I(old)->unlinked, true);
	new = s3f_test_iget(test, "u", &s3f_file_attrs);
	KUNIT_EXPECT_PTR_NE(test, old, new);
	iput(new);
	new = s3f_test_iget(test, "u", &s3f_file_attrs);
	KUNIT_EXPECT_PTR_NE(test, old, new);
	iput(new);
	iput(old);
}

/* A rename re-keys the inode: found by the new key, not the old. */
static void s3f_table_rekey_test(struct kunit *test)
{
	struct inode *a = s3f_test_iget(test, "old", &s3f_file_attrs);
	struct inode *b;

	KUNIT_ASSERT_EQ(test, s3f_set_key(a, "new/name"), 0);
	KUNIT_EXPECT_STREQ(test, S3F_I(a)->key, "new/name");
	b = s3f_test_iget(test, "new/name", &s3f_file_attrs);
	KUNIT_EXPECT_PTR_EQ(test, a, b);
	iput(b);
	b = s3f_test_iget(test, "old", &s3f_file_attrs);
	KUNIT_EXPECT_PTR_NE(test, a, b);
	iput(b);
	/* and back again: the inode follows its key both ways */
	KUNIT_ASSERT_EQ(test, s3f_set_key(a, "old2"), 0);
	b = s3f_test_iget(test, "old2", &s3f_file_attrs);
	KUNIT_EXPECT_PTR_EQ(test, a, b);
	iput(b);
	iput(a);
}

/* S3 now has a symbolic link where the inode was a file: a new inode. */
static void s3f_table_retype_test(struct kunit *test)
{
	struct s3f_attrs link = {
		.type = S3F_TYPE_FILE, .has_meta = true, .meta_known = true,
		.mode = S_IFLNK | 0777, .size = 3, .etag = "e3",
	};
	struct inode *file = s3f_test_iget(test, "t", &s3f_file_attrs);
	struct inode *l = s3f_test_iget(test, "t", &link);
	struct inode *again;

	KUNIT_EXPECT_PTR_NE(test, file, l);
	KUNIT_EXPECT_TRUE(test, S_ISLNK(l->i_mode));
	KUNIT_EXPECT_TRUE(test, S_ISREG(file->i_mode));
	again = s3f_test_iget(test, "t", &link);
	KUNIT_EXPECT_PTR_EQ(test, again, l);
	iput(again);
	iput(l);
	iput(file);
}

/* A create supersedes whatever inode the table had for the key. */
static void s3f_table_create_test(struct kunit *test)
{
	struct s3f_attrs fresh = { .type = S3F_TYPE_FILE, .meta_known = true };
	struct inode *old = s3f_test_iget(test, "c", &s3f_file_attrs);
	struct inode *new = s3f_new_inode(s3f_test_sb(test), "c", &fresh);
	struct inode *found;

	KUNIT_ASSERT_FALSE(test, IS_ERR(new));
	KUNIT_EXPECT_PTR_NE(test, old, new);
	found = s3f_test_iget(test, "c", &s3f_file_attrs);
	KUNIT_EXPECT_PTR_EQ(test, found, new);
	iput(found);
	iput(new);
	iput(old);
}

/* Set-id bits from S3 are dropped unless the mount says setid=keep. */
static void s3f_table_setid_test(struct kunit *test)
{
	struct s3f_attrs suid = {
		.type = S3F_TYPE_FILE, .has_meta = true, .meta_known = true,
		.mode = S_IFREG | 04755, .uid = 0, .etag = "e4",
	};
	struct inode *inode = s3f_test_iget(test, "suid", &suid);

	KUNIT_EXPECT_EQ(test, inode->i_mode, (umode_t)(S_IFREG | 0755));
	iput(inode);
}

static struct kunit_case s3f_table_test_cases[] = {
	KUNIT_CASE(s3f_table_same_key_test),
	KUNIT_CASE(s3f_table_file_and_dir_test),
	KUNIT_CASE(s3f_table_refresh_test),
	KUNIT_CASE(s3f_table_unlinked_test),
	KUNIT_CASE(s3f_table_rekey_test),
	KUNIT_CASE(s3f_table_retype_test),
	KUNIT_CASE(s3f_table_create_test),
	KUNIT_CASE(s3f_table_setid_test),
	{}
};

static struct kunit_suite s3f_table_test_suite = {
	.name = "s3f_inode_table",
	.init = s3f_table_init,
	.exit = s3f_table_exit,
	.test_cases = s3f_table_test_cases,
};

kunit_test_suite(s3f_table_test_suite);

MODULE_DESCRIPTION("KUnit tests for s3f's inode table");
MODULE_LICENSE("GPL");
