/* SPDX-License-Identifier: GPL-2.0 */
/* `s3fctl recover ...`: staged data a node crash left (recovercli.c). */
#ifndef S3F_HELPER_RECOVERCLI_H
#define S3F_HELPER_RECOVERCLI_H

int recover_cli_main(int argc, char **argv);

#endif /* S3F_HELPER_RECOVERCLI_H */
