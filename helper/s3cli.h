/* SPDX-License-Identifier: GPL-2.0 */
/* `s3fctl s3 ...`: the S3 engine from the command line, without the kernel. */
#ifndef S3F_HELPER_S3CLI_H
#define S3F_HELPER_S3CLI_H

#include "s3.h"

int s3cli_main(int argc, char **argv);

/*
 * An S3 client for cfg with credentials of profile (NULL: the default
 * chain), the region from the profile when cfg has none.  0, or -1 with
 * the reason on stderr.
 */
int s3cli_client(struct s3_config *cfg, const char *profile,
		 struct s3_client **out);

#endif /* S3F_HELPER_S3CLI_H */
