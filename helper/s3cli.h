/* SPDX-License-Identifier: GPL-2.0 */
/* `s3fctl s3 ...`: the S3 engine from the command line, without the kernel. */
#ifndef S3F_HELPER_S3CLI_H
#define S3F_HELPER_S3CLI_H

int s3cli_main(int argc, char **argv);

#endif /* S3F_HELPER_S3CLI_H */
