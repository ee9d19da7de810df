// SPDX-License-Identifier: GPL-2.0
/*
 * Fault points for tests (kernels with CONFIG_FAULT_INJECTION, like the
 * debug kernel of tests/run): under /sys/kernel/debug/s3f/,
 *
 *   fail_upcall   an upcall fails with EIO as if the helper had said so
 *                 (any command: LOOKUP, READ, STAGE_OPEN, COMMIT, ...)
 *   fail_stage    writing a page into its staging file fails with ENOSPC
 *
 * each with the usual fault-injection knobs (probability, interval,
 * times, task-filter; Documentation/fault-injection/).  They also count
 * for /proc/<pid>/fail-nth, with failslab and fail_page_alloc.  Without
 * CONFIG_FAULT_INJECTION they compile to nothing.
 */
#include <linux/debugfs.h>
#include <linux/fault-inject.h>

#include "s3f.h"

#ifdef CONFIG_FAULT_INJECTION

static DECLARE_FAULT_ATTR(s3f_fail_upcall);
static DECLARE_FAULT_ATTR(s3f_fail_stage);
static struct dentry *s3f_debugfs;

bool s3f_fault_upcall(void)
{
	return should_fail(&s3f_fail_upcall, 1);
}

bool s3f_fault_stage(void)
{
	return should_fail(&s3f_fail_stage, 1);
}

void s3f_fault_init(void)
{
	s3f_debugfs = debugfs_create_dir("s3f", NULL);
	fault_create_debugfs_attr("fail_upcall", s3f_debugfs, &s3f_fail_upcall);
	fault_create_debugfs_attr("fail_stage", s3f_debugfs, &s3f_fail_stage);
}

void s3f_fault_exit(void)
{
	debugfs_remove_recursive(s3f_debugfs);
}

#else

bool s3f_fault_upcall(void)
{
	return false;
}

bool s3f_fault_stage(void)
{
	return false;
}

void s3f_fault_init(void)
{
}

void s3f_fault_exit(void)
{
}

#endif
