// SPDX-License-Identifier: GPL-2.0
/*
 * s3f: module init/exit, the file system type, mount options and the
 * superblock.
 *
 *   mount -t s3f BUCKET[/PREFIX] DIR -o endpoint=URL,region=R,...
 *
 * Documentation/mount-options.md lists the options.  A malformed or
 * unknown option, a bucket the helper cannot reach, or no helper at all
 * fails the mount with a message in the fs_context log (shown by
 * mount.s3f, and in dmesg).
 */
#include <linux/atomic.h>
#include <linux/backing-dev.h>
#include <linux/cred.h>
#include <linux/ctype.h>
#include <linux/fs.h>
#include <linux/fs_context.h>
#include <linux/fs_parser.h>
#include <linux/module.h>
#include <linux/namei.h>
#include <linux/sched/task.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/statfs.h>

#include "s3f.h"

/*
 * Attribute cache, as NFS's actimeo: how long a file's or directory's
 * attributes (and, with lookupcache=all, a negative lookup) are trusted.
 */
#define S3F_DEFAULT_ACTIMEO	1	/* seconds */

/* Live s3f superblocks, for STATUS; mount ids. */
static atomic_t s3f_mounts = ATOMIC_INIT(0);
static atomic_t s3f_next_mount_id = ATOMIC_INIT(0);

unsigned int s3f_mount_count(void)
{
	return atomic_read(&s3f_mounts);
}

/* commit_delay when none is given: 0 (commit in close), 3 with nocto */
#define S3F_NOCTO_COMMIT_DELAY		3	/* seconds */
#define S3F_COMMIT_DELAY_UNSET		UINT_MAX
#define S3F_MAX_SECONDS			86400
/* like an NFS hard mount, but bounded: a restarted s3fd has a minute */
#define S3F_DEFAULT_HELPER_GRACE	60	/* seconds */

/*
 * The credentials staging files are written with (stage.c): the
 * module's own, less CAP_SYS_RESOURCE, so the staging file system's
 * quotas and reserved blocks hold.
 */
const struct cred *s3f_stage_cred;

enum s3f_param {
	Opt_endpoint, Opt_region, Opt_profile, Opt_uid, Opt_gid,
	Opt_file_mode, Opt_dir_mode, Opt_addressing, Opt_actimeo, Opt_ttl,
	Opt_lookupcache, Opt_cto,
	Opt_staging, Opt_commit_delay, Opt_commit_interval, Opt_conflict,
	Opt_meta, Opt_setid, Opt_helper_grace,
};

static const struct constant_table s3f_lookupcache_table[] = {
	{ "all",	S3F_LOOKUPCACHE_ALL },
	{ "positive",	S3F_LOOKUPCACHE_POSITIVE },
	{ "pos",	S3F_LOOKUPCACHE_POSITIVE },
	{ "none",	S3F_LOOKUPCACHE_NONE },
	{}
};

static const struct constant_table s3f_setid_table[] = {
	{ "strip",	0 },
	{ "keep",	1 },
	{}
};

static const struct constant_table s3f_meta_table[] = {
	{ "stat",	0 },
	{ "listing",	1 },
	{}
};

static const struct constant_table s3f_conflict_table[] = {
	{ "keep",	0 },
	{ "fail",	1 },
	{}
};

static const struct constant_table s3f_addressing_table[] = {
	{ "path",	S3F_ADDRESSING_PATH },
	{ "virtual",	S3F_ADDRESSING_VIRTUAL },
	{}
};

static const struct fs_parameter_spec s3f_fs_parameters[] = {
	fsparam_string("endpoint",	Opt_endpoint),
	fsparam_string("region",	Opt_region),
	fsparam_string("profile",	Opt_profile),
	fsparam_u32("uid",		Opt_uid),
	fsparam_u32("gid",		Opt_gid),
	fsparam_u32oct("file_mode",	Opt_file_mode),
	fsparam_u32oct("dir_mode",	Opt_dir_mode),
	fsparam_enum("addressing",	Opt_addressing, s3f_addressing_table),
	fsparam_u32("actimeo",		Opt_actimeo),
	fsparam_u32("ttl",		Opt_ttl),	/* actimeo's old name */
	fsparam_enum("lookupcache",	Opt_lookupcache, s3f_lookupcache_table),
	fsparam_flag_no("cto",		Opt_cto),
	fsparam_string("staging",	Opt_staging),
	fsparam_u32("commit_delay",	Opt_commit_delay),
	fsparam_u32("commit_interval",	Opt_commit_interval),
	fsparam_enum("conflict",	Opt_conflict, s3f_conflict_table),
	fsparam_enum("meta",		Opt_meta, s3f_meta_table),
	fsparam_enum("setid",		Opt_setid, s3f_setid_table),
	fsparam_u32("helper_grace",	Opt_helper_grace),
	{}
};

/* The fs_context's private data until fill_super takes the options. */
struct s3f_fs_context {
	struct s3f_mount_opts opts;
};

static void s3f_opts_free(struct s3f_mount_opts *o)
{
	kfree(o->bucket);
	kfree(o->prefix);
	kfree(o->endpoint);
	kfree(o->region);
	kfree(o->profile);
	kfree(o->staging);
	memset(o, 0, sizeof(*o));
}

/*
 * "bucket" or "bucket/a/b[/]": the prefix becomes "a/b/".  Every prefix
 * component must itself be a valid file name.
 */
static int s3f_parse_source(struct fs_context *fc, const char *src,
			    struct s3f_mount_opts *o)
{
	const char *slash = strchr(src, '/'), *p;
	size_t blen = slash ? slash - src : strlen(src), plen;

	if (!s3f_bucket_valid(src, blen))
		return invalfc(fc, "\"%.*s\" is not a valid bucket name", (int)blen, src);
	p = slash ? slash + 1 : "";
	if (!s3f_prefix_valid(p, &plen))
		return invalfc(fc, "prefix \"%s\" has an empty, \".\" or \"..\" component", p);
	if (plen + 1 > S3F_MAX_KEY_LEN / 2)
		return invalfc(fc, "prefix is too long");
	o->bucket = kstrndup(src, blen, GFP_KERNEL);
	o->prefix = kasprintf(GFP_KERNEL, "%.*s%s", (int)plen, p, plen ? "/" : "");
	if (!o->bucket || !o->prefix)
		return -ENOMEM;
	return 0;
}

/* A string option: replace the old value; check its characters. */
static int s3f_set_string(struct fs_context *fc, char **dst,
			  struct fs_parameter *param, const char *allowed)
{
	const char *v = param->string;
	size_t i;

	for (i = 0; v[i]; i++) {
		if (!isalnum(v[i]) && !strchr(allowed, v[i]))
			return invalfc(fc, "%s: character '%c' not allowed", param->key, v[i]);
	}
	kfree(*dst);
	*dst = param->string;
	param->string = NULL;
	return 0;
}

static int s3f_parse_param(struct fs_context *fc, struct fs_parameter *param)
{
	struct s3f_mount_opts *o = &((struct s3f_fs_context *)fc->fs_private)->opts;
	struct fs_parse_result result;
	int opt;

	if (!strcmp(param->key, "source")) {
		if (param->type != fs_value_is_string)
			return invalfc(fc, "source must be BUCKET[/PREFIX]");
		if (o->bucket)
			return invalfc(fc, "more than one source");
		return s3f_parse_source(fc, param->string, o);
	}
	opt = fs_parse(fc, s3f_fs_parameters, param, &result);
	if (opt < 0)
		return opt;	/* fs_parse logged "Unknown parameter" etc. */

	switch (opt) {
	case Opt_endpoint:
		if (strncmp(param->string, "http://", 7) &&
		    strncmp(param->string, "https://", 8))
			return invalfc(fc, "endpoint must be an http:// or https:// URL");
		if (strlen(param->string) >= S3F_MAX_URL_LEN)
			return invalfc(fc, "endpoint is too long");
		return s3f_set_string(fc, &o->endpoint, param, ":/.-_[]%~");
	case Opt_region:
		return s3f_set_string(fc, &o->region, param, "-_");
	case Opt_profile:
		return s3f_set_string(fc, &o->profile, param, "-_.@+");
	case Opt_uid:
		o->uid = make_kuid(current_user_ns(), result.uint_32);
		if (!uid_valid(o->uid))
			return invalfc(fc, "uid=%u is not valid here", result.uint_32);
		return 0;
	case Opt_gid:
		o->gid = make_kgid(current_user_ns(), result.uint_32);
		if (!gid_valid(o->gid))
			return invalfc(fc, "gid=%u is not valid here", result.uint_32);
		return 0;
	case Opt_file_mode:
	case Opt_dir_mode:
		if (result.uint_32 & ~07777)
			return invalfc(fc, "%s must be permission bits (at most 07777)",
				       param->key);
		if (opt == Opt_file_mode)
			o->file_mode = result.uint_32;
		else
			o->dir_mode = result.uint_32;
		return 0;
	case Opt_addressing:
		o->addressing = result.uint_32;
		return 0;
	case Opt_lookupcache:
		o->lookupcache = result.uint_32;
		return 0;
	case Opt_cto:
		o->nocto = result.negated;
		return 0;
	case Opt_actimeo:
	case Opt_ttl:
	case Opt_commit_delay:
	case Opt_commit_interval:
	case Opt_helper_grace:
		if (result.uint_32 > S3F_MAX_SECONDS)
			return invalfc(fc, "%s is at most %u seconds", param->key,
				       S3F_MAX_SECONDS);
		if (opt == Opt_actimeo || opt == Opt_ttl)
			o->actimeo = result.uint_32;
		else if (opt == Opt_commit_delay)
			o->commit_delay = result.uint_32;
		else if (opt == Opt_helper_grace)
			o->helper_grace = result.uint_32;
		else
			o->commit_interval = result.uint_32;
		return 0;
	case Opt_staging:
		if (param->string[0] != '/' || strstr(param->string, "/../") ||
		    strlen(param->string) >= PATH_MAX / 2)
			return invalfc(fc, "staging must be an absolute directory path");
		return s3f_set_string(fc, &o->staging, param, "/._-+@");
	case Opt_conflict:
		o->conflict_fail = result.uint_32;
		return 0;
	case Opt_meta:
		o->meta_listing = result.uint_32;
		return 0;
	case Opt_setid:
		o->keep_setid = result.uint_32;
		return 0;
	}
	return -EINVAL;
}

/*
 * S3 has no capacity to report, but what can be written before it is
 * committed is bounded by the staging file system: report its blocks,
 * so df shows the room left for uncommitted data.  Without one (a
 * read-only mount) nothing can be written: no free blocks.
 */
static int s3f_statfs(struct dentry *dentry, struct kstatfs *buf)
{
	struct s3f_sb_info *sbi = S3F_SB(dentry->d_sb);
	struct kstatfs st;

	buf->f_type = S3F_MAGIC;
	buf->f_bsize = PAGE_SIZE;
	buf->f_frsize = PAGE_SIZE;
	buf->f_files = 1ULL << 32;
	buf->f_ffree = buf->f_files;
	buf->f_namelen = S3F_MAX_NAME_LEN;
	if (sbi->staging_dir.dentry && !vfs_statfs(&sbi->staging_dir, &st)) {
		buf->f_bsize = st.f_bsize;
		buf->f_frsize = st.f_frsize ?: st.f_bsize;
		buf->f_blocks = st.f_blocks;
		buf->f_bfree = st.f_bavail;
		buf->f_bavail = st.f_bavail;
	}
	return 0;
}

static int s3f_show_options(struct seq_file *m, struct dentry *root)
{
	struct s3f_mount_opts *o = &S3F_SB(root->d_sb)->opts;

	if (o->endpoint[0])
		seq_show_option(m, "endpoint", o->endpoint);
	if (o->region[0])
		seq_show_option(m, "region", o->region);
	if (o->profile[0])
		seq_show_option(m, "profile", o->profile);
	seq_printf(m, ",addressing=%s",
		   o->addressing == S3F_ADDRESSING_VIRTUAL ? "virtual" : "path");
	seq_printf(m, ",uid=%u,gid=%u,file_mode=%04o,dir_mode=%04o,%s,actimeo=%u,lookupcache=%s",
		   from_kuid_munged(&init_user_ns, o->uid),
		   from_kgid_munged(&init_user_ns, o->gid),
		   o->file_mode, o->dir_mode, o->nocto ? "nocto" : "cto",
		   o->actimeo,
		   o->lookupcache == S3F_LOOKUPCACHE_ALL ? "all" :
		   o->lookupcache == S3F_LOOKUPCACHE_NONE ? "none" : "positive");
	if (o->staging[0])
		seq_show_option(m, "staging", o->staging);
	seq_printf(m, ",commit_delay=%u,commit_interval=%u,conflict=%s,meta=%s,setid=%s,helper_grace=%u",
		   o->commit_delay, o->commit_interval,
		   o->conflict_fail ? "fail" : "keep",
		   o->meta_listing ? "listing" : "stat",
		   o->keep_setid ? "keep" : "strip", o->helper_grace);
	return 0;
}

static int s3f_show_devname(struct seq_file *m, struct dentry *root)
{
	struct s3f_mount_opts *o = &S3F_SB(root->d_sb)->opts;

	seq_escape(m, o->bucket, " \t\n\\");
	if (o->prefix[0]) {
		seq_putc(m, '/');
		seq_escape(m, o->prefix, " \t\n\\");
	}
	return 0;
}

/* /proc/self/mountstats: what this mount asked of S3. */
static int s3f_show_stats(struct seq_file *m, struct dentry *root)
{
	struct s3f_sb_info *sbi = S3F_SB(root->d_sb);

	seq_printf(m, " lookups %lld readdirs %lld reads %lld read_bytes %lld",
		   (long long)atomic64_read(&sbi->lookups),
		   (long long)atomic64_read(&sbi->readdirs),
		   (long long)atomic64_read(&sbi->reads),
		   (long long)atomic64_read(&sbi->read_bytes));
	seq_printf(m, " commits %lld commit_bytes %lld copied_bytes %lld conflicts %lld commit_errors %lld",
		   (long long)atomic64_read(&sbi->commits),
		   (long long)atomic64_read(&sbi->commit_bytes),
		   (long long)atomic64_read(&sbi->copied_bytes),
		   (long long)atomic64_read(&sbi->conflicts),
		   (long long)atomic64_read(&sbi->commit_errors));
	return 0;
}

static const struct super_operations s3f_sops = {
	.alloc_inode	= s3f_alloc_inode,
	.free_inode	= s3f_free_inode,
	.evict_inode	= s3f_evict_inode,
	.sync_fs	= s3f_sync_fs,
	.statfs		= s3f_statfs,
	.show_options	= s3f_show_options,
	.show_devname	= s3f_show_devname,
	.show_stats	= s3f_show_stats,
};

static int s3f_fill_super(struct super_block *sb, struct fs_context *fc)
{
	struct s3f_fs_context *ctx = fc->fs_private;
	/* the root is no object: its attributes are the mount's */
	struct s3f_attrs root_attrs = { .type = S3F_TYPE_DIR, .meta_known = true };
	struct s3f_sb_info *sbi;
	struct inode *root;
	char errmsg[256];
	int err;

	sbi = kzalloc(sizeof(*sbi), GFP_KERNEL);
	if (!sbi)
		return -ENOMEM;
	sbi->opts = ctx->opts;
	memset(&ctx->opts, 0, sizeof(ctx->opts));
	sbi->sb = sb;
	sbi->mount_id = atomic_inc_return(&s3f_next_mount_id);
	sbi->mount_time_ns = ktime_get_real_ns();
	s3f_commit_sb_init(sbi);
	sb->s_fs_info = sbi;

	sb->s_magic = S3F_MAGIC;
	sb->s_op = &s3f_sops;
	sb->s_d_op = &s3f_dentry_ops;
	sb->s_xattr = s3f_xattr_handlers;
	/* an object ends at 5 TiB: larger files fail early with EFBIG */
	sb->s_maxbytes = S3F_MAX_OBJECT_SIZE;
	sb->s_time_gran = 1;
	sb->s_flags |= SB_NOSEC;
	/* no device nodes: S3 cannot hold one, and a bucket must not open one */
	sb->s_iflags |= SB_I_NODEV;

	err = super_setup_bdi(sb);
	if (err)
		return err;
	sb->s_bdi->ra_pages = S3F_READAHEAD / PAGE_SIZE;
	sb->s_bdi->io_pages = S3F_READAHEAD / PAGE_SIZE;
	/*
	 * Dirty pages wait in memory for the flusher to stage them: bound
	 * them per mount, so a fast writer is throttled, not the machine.
	 */
	sb->s_bdi->capabilities |= BDI_CAP_STRICTLIMIT;
	bdi_set_max_ratio(sb->s_bdi, 20);

	err = s3f_op_mount(sb, errmsg, sizeof(errmsg));
	if (err == -ENOTCONN)
		return errorfc(fc, "no s3fd helper is running (start s3fd)"), -ENOTCONN;
	if (err)
		return errorfc(fc, "%s: %s", sbi->opts.bucket,
			       errmsg[0] ? errmsg : "the helper refused the mount"), err;

	root = s3f_iget(sb, sbi->opts.prefix, &root_attrs);
	if (IS_ERR(root))
		return PTR_ERR(root);
	sb->s_root = d_make_root(root);
	if (!sb->s_root)
		return -ENOMEM;
	atomic_inc(&s3f_mounts);
	return 0;
}

static int s3f_get_tree(struct fs_context *fc)
{
	struct s3f_mount_opts *o = &((struct s3f_fs_context *)fc->fs_private)->opts;

	if (!o->bucket)
		return invalfc(fc, "no bucket: mount -t s3f BUCKET[/PREFIX] DIR");
	/* close-to-open commits in close; nocto, as before, a little later */
	if (o->commit_delay == S3F_COMMIT_DELAY_UNSET)
		o->commit_delay = o->nocto ? S3F_NOCTO_COMMIT_DELAY : 0;
	if (!o->endpoint)
		o->endpoint = kstrdup("", GFP_KERNEL);
	if (!o->region)
		o->region = kstrdup("", GFP_KERNEL);
	if (!o->profile)
		o->profile = kstrdup("", GFP_KERNEL);
	if (!o->staging)
		o->staging = kstrdup("", GFP_KERNEL);
	if (!o->endpoint || !o->region || !o->profile || !o->staging)
		return -ENOMEM;
	return get_tree_nodev(fc, s3f_fill_super);
}

static void s3f_free_fc(struct fs_context *fc)
{
	struct s3f_fs_context *ctx = fc->fs_private;

	if (ctx) {
		s3f_opts_free(&ctx->opts);
		kfree(ctx);
	}
}

static const struct fs_context_operations s3f_context_ops = {
	.parse_param	= s3f_parse_param,
	.get_tree	= s3f_get_tree,
	.free		= s3f_free_fc,
};

static int s3f_init_fs_context(struct fs_context *fc)
{
	struct s3f_fs_context *ctx;

	ctx = kzalloc(sizeof(*ctx), GFP_KERNEL);
	if (!ctx)
		return -ENOMEM;
	ctx->opts.uid = current_fsuid();
	ctx->opts.gid = current_fsgid();
	ctx->opts.file_mode = 0644;
	ctx->opts.dir_mode = 0755;
	ctx->opts.actimeo = S3F_DEFAULT_ACTIMEO;
	ctx->opts.lookupcache = S3F_LOOKUPCACHE_POSITIVE;
	ctx->opts.commit_delay = S3F_COMMIT_DELAY_UNSET;
	ctx->opts.helper_grace = S3F_DEFAULT_HELPER_GRACE;
	ctx->opts.addressing = S3F_ADDRESSING_PATH;
	fc->fs_private = ctx;
	fc->ops = &s3f_context_ops;
	return 0;
}

static void s3f_kill_sb(struct super_block *sb)
{
	struct s3f_sb_info *sbi = S3F_SB(sb);
	bool mounted = sb->s_root;

	/*
	 * Commit everything while the helper still serves the mount, then
	 * let go of what failed: every inode must be free for
	 * generic_shutdown_super().
	 */
	if (mounted) {
		sync_filesystem(sb);
		s3f_commit_shutdown(sb);
	}
	kill_anon_super(sb);
	if (mounted) {
		atomic_dec(&s3f_mounts);
		s3f_op_umount(sb);
	}
	if (sbi) {
		if (sbi->staging_dir.dentry)
			path_put(&sbi->staging_dir);
		s3f_opts_free(&sbi->opts);
		kfree(sbi);
	}
}

/* Not FS_USERNS_MOUNT: only the initial user namespace may mount s3f. */
static struct file_system_type s3f_fs_type = {
	.owner			= THIS_MODULE,
	.name			= "s3f",
	.init_fs_context	= s3f_init_fs_context,
	.parameters		= s3f_fs_parameters,
	.kill_sb		= s3f_kill_sb,
};
MODULE_ALIAS_FS("s3f");

static int __init s3f_init(void)
{
	struct cred *cred;
	int err;

	/* init's credentials (NULL meant them before 6.2, and warns since) */
	cred = prepare_kernel_cred(&init_task);
	if (!cred)
		return -ENOMEM;
	cap_lower(cred->cap_effective, CAP_SYS_RESOURCE);
	s3f_stage_cred = cred;
	err = s3f_inode_cache_init();
	if (err)
		goto out_cred;
	err = s3f_commit_init();
	if (err)
		goto out_inode_cache;
	err = s3f_upcall_init();
	if (err)
		goto out_commit;
	err = s3f_genl_init();
	if (err)
		goto out_upcall_exit;
	err = register_filesystem(&s3f_fs_type);
	if (err)
		goto out_genl_exit;
	s3f_fault_init();
	pr_info("version %s loaded, protocol %u to %u\n", S3F_RELEASE,
		S3F_PROTOCOL_MIN, S3F_PROTOCOL_VERSION);
	return 0;

out_genl_exit:
	s3f_genl_exit();
out_upcall_exit:
	s3f_upcall_exit();
out_commit:
	s3f_commit_exit();
out_inode_cache:
	s3f_inode_cache_exit();
out_cred:
	put_cred(s3f_stage_cred);
	return err;
}

static void __exit s3f_exit(void)
{
	s3f_fault_exit();
	unregister_filesystem(&s3f_fs_type);
	s3f_genl_exit();
	s3f_upcall_exit();
	s3f_commit_exit();
	s3f_inode_cache_exit();
	put_cred(s3f_stage_cred);
	pr_info("unloaded\n");
}

module_init(s3f_init);
module_exit(s3f_exit);

MODULE_DESCRIPTION("s3f: S3 buckets behind the kernel page cache");
MODULE_AUTHOR("s3f developers");
MODULE_LICENSE("GPL");
MODULE_VERSION(S3F_RELEASE);
MODULE_INFO(protocol, __stringify(S3F_PROTOCOL_MIN) "-" __stringify(S3F_PROTOCOL_VERSION));
/* the helper's lookup of the family loads the module (request_module) */
MODULE_ALIAS_GENL_FAMILY(S3F_GENL_NAME);
