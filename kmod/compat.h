/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kernel API differences between the kernels s3f builds for: Debian
 * 12's 6.1 and 6.12 series (and what lies between).  Every version test
 * of the module is here; the code uses the names below.
 *
 *   6.3   inode operations take a struct mnt_idmap, not a user_namespace;
 *         writepage_t takes a folio
 *   6.5   generic_file_splice_read gone: filemap_splice_read
 *   6.6   inode timestamps behind accessors; generic_fillattr takes the
 *         request mask
 *   6.8   a dentry's children in an hlist (d_children, d_sib)
 *   6.12  write_begin/write_end take folios; <linux/unaligned.h>
 */
#ifndef S3F_COMPAT_H
#define S3F_COMPAT_H

#include <linux/dcache.h>
#include <linux/fs.h>
#include <linux/version.h>

#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 12, 0)
#include <linux/unaligned.h>
#else
#include <asm/unaligned.h>
#endif

/* ---- idmapped mounts: what inode operations are handed ---- */

#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
typedef struct mnt_idmap s3f_idmap;
#define s3f_nop_idmap		(&nop_mnt_idmap)
#else
typedef struct user_namespace s3f_idmap;
#define s3f_nop_idmap		(&init_user_ns)
#endif

static inline void s3f_fillattr(s3f_idmap *idmap, u32 request_mask,
				struct inode *inode, struct kstat *stat)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 6, 0)
	generic_fillattr(idmap, request_mask, inode, stat);
#else
	generic_fillattr(idmap, inode, stat);
#endif
}

/* ---- inode timestamps ---- */

#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 6, 0)
#define s3f_inode_mtime(inode)		inode_get_mtime(inode)
#define s3f_inode_atime(inode)		inode_get_atime(inode)
#define s3f_inode_ctime(inode)		inode_get_ctime(inode)
#define s3f_set_mtime(inode, ts)	inode_set_mtime_to_ts(inode, ts)
#define s3f_set_atime(inode, ts)	inode_set_atime_to_ts(inode, ts)
#define s3f_set_ctime(inode, ts)	inode_set_ctime_to_ts(inode, ts)
#else
static inline struct timespec64 s3f_inode_mtime(const struct inode *inode)
{
	return inode->i_mtime;
}

static inline struct timespec64 s3f_inode_atime(const struct inode *inode)
{
	return inode->i_atime;
}

static inline struct timespec64 s3f_inode_ctime(const struct inode *inode)
{
	return inode->i_ctime;
}

static inline struct timespec64 s3f_set_mtime(struct inode *inode,
					      struct timespec64 ts)
{
	inode->i_mtime = ts;
	return ts;
}

static inline struct timespec64 s3f_set_atime(struct inode *inode,
					      struct timespec64 ts)
{
	inode->i_atime = ts;
	return ts;
}

static inline struct timespec64 s3f_set_ctime(struct inode *inode,
					      struct timespec64 ts)
{
	inode->i_ctime = ts;
	return ts;
}
#endif

static inline s64 s3f_mtime_ns(const struct inode *inode)
{
	struct timespec64 ts = s3f_inode_mtime(inode);

	return timespec64_to_ns(&ts);
}

static inline s64 s3f_atime_ns(const struct inode *inode)
{
	struct timespec64 ts = s3f_inode_atime(inode);

	return timespec64_to_ns(&ts);
}

static inline s64 s3f_ctime_ns(const struct inode *inode)
{
	struct timespec64 ts = s3f_inode_ctime(inode);

	return timespec64_to_ns(&ts);
}

/* ---- the dcache: a directory's children, under its d_lock ---- */

#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 8, 0)
#define s3f_for_each_child(child, parent) \
	hlist_for_each_entry(child, &(parent)->d_children, d_sib)
#else
#define s3f_for_each_child(child, parent) \
	list_for_each_entry(child, &(parent)->d_subdirs, d_child)
#endif

/* ---- the page cache ---- */

#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 5, 0)
#define s3f_splice_read		filemap_splice_read
#else
#define s3f_splice_read		generic_file_splice_read
#endif

/* write_begin hands back, and write_end takes, a folio (6.12) or a page */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 12, 0)
typedef struct folio s3f_wb_page;
#define s3f_wb_folio(p)		(p)
#define s3f_wb_page_of(folio)	(folio)
#else
typedef struct page s3f_wb_page;
#define s3f_wb_folio(p)		page_folio(p)
#define s3f_wb_page_of(folio)	(&(folio)->page)
#endif

/* what write_cache_pages() hands its callback: a folio (6.3) or a page */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
typedef struct folio s3f_wcp_page;
#define s3f_wcp_folio(p)	(p)
#else
typedef struct page s3f_wcp_page;
#define s3f_wcp_folio(p)	page_folio(p)
#endif

#endif /* S3F_COMPAT_H */
