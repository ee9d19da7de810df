// SPDX-License-Identifier: GPL-2.0
/*
 * s3f: module init/exit and the file system type.
 *
 * The superblock and the read path arrive with the next protocol step;
 * until then a mount attempt fails cleanly, saying so through the
 * fs_context log (visible to mount(8) and in dmesg).
 */
#include <linux/atomic.h>
#include <linux/fs.h>
#include <linux/fs_context.h>
#include <linux/module.h>

#include "s3f.h"

/* Live s3f superblocks, for STATUS. */
static atomic_t s3f_mounts = ATOMIC_INIT(0);

unsigned int s3f_mount_count(void)
{
	return atomic_read(&s3f_mounts);
}

static int s3f_get_tree(struct fs_context *fc)
{
	return invalfc(fc, "mounting is not supported by this version of s3f.ko yet");
}

static const struct fs_context_operations s3f_context_ops = {
	.get_tree	= s3f_get_tree,
};

static int s3f_init_fs_context(struct fs_context *fc)
{
	fc->ops = &s3f_context_ops;
	return 0;
}

/* Not FS_USERNS_MOUNT: only the initial user namespace may mount s3f. */
static struct file_system_type s3f_fs_type = {
	.owner			= THIS_MODULE,
	.name			= "s3f",
	.init_fs_context	= s3f_init_fs_context,
	.kill_sb		= kill_anon_super,
};
MODULE_ALIAS_FS("s3f");

static int __init s3f_init(void)
{
	int err;

	err = s3f_upcall_init();
	if (err)
		return err;
	err = s3f_genl_init();
	if (err)
		goto out_upcall_exit;
	err = register_filesystem(&s3f_fs_type);
	if (err)
		goto out_genl_exit;
	pr_info("loaded, protocol %u\n", S3F_PROTOCOL_VERSION);
	return 0;

out_genl_exit:
	s3f_genl_exit();
out_upcall_exit:
	s3f_upcall_exit();
	return err;
}

static void __exit s3f_exit(void)
{
	unregister_filesystem(&s3f_fs_type);
	s3f_genl_exit();
	s3f_upcall_exit();
	pr_info("unloaded\n");
}

module_init(s3f_init);
module_exit(s3f_exit);

MODULE_DESCRIPTION("s3f: S3 buckets behind the kernel page cache");
MODULE_AUTHOR("s3f developers");
MODULE_LICENSE("GPL");
MODULE_VERSION("0.1");
