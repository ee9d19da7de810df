/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Body checksums for uploads: CRC32C (Castagnoli, table-driven,
 * slicing-by-8) and MD5 (OpenSSL EVP), base64 as S3 wants them in
 * Content-MD5 and x-amz-checksum-crc32c.  Pure apart from reading the
 * body's file.
 */
#ifndef S3F_HELPER_CHECKSUM_H
#define S3F_HELPER_CHECKSUM_H

#include <stddef.h>
#include <stdint.h>

#include "s3.h"

/*
 * CRC-32C (reflected polynomial 0x82F63B78, init and final xor
 * 0xFFFFFFFF) continued from crc: crc32c(0, "123456789", 9) is
 * 0xE3069283, and crc32c(crc32c(0, a, n), b, m) is the CRC of a||b.
 */
uint32_t crc32c(uint32_t crc, const void *buf, size_t len);

/* base64 of 16 and 4 bytes, NUL terminated */
#define CHECKSUM_MD5_B64	25
#define CHECKSUM_CRC32C_B64	9

struct body_checksums {
	char md5[CHECKSUM_MD5_B64];		/* Content-MD5 value */
	char crc32c[CHECKSUM_CRC32C_B64];	/* x-amz-checksum-crc32c: big-endian CRC, base64 */
};

/*
 * Checksum a request body (its memory, or len bytes of its file from
 * offset, read with pread): MD5 always, CRC32C when want_crc.  Returns
 * 0, -EIO when the file is shorter than the body, or -errno.
 */
int body_checksum(const struct s3_body *body, bool want_crc,
		  struct body_checksums *out);

/* base64 (RFC 4648, padded) of len bytes into out (4 * ceil(len / 3) + 1 bytes). */
void checksum_base64(const unsigned char *in, size_t len, char *out);

#endif /* S3F_HELPER_CHECKSUM_H */
