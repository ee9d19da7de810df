// SPDX-License-Identifier: GPL-2.0
/*
 * CRC32C and MD5 of request bodies, for Content-MD5 (which S3 and RGW
 * verify) and x-amz-checksum-crc32c.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "bufbudget.h"
#include "checksum.h"

#define CRC32C_POLY	0x82F63B78u	/* Castagnoli, reflected */
#define READ_CHUNK	(1 << 20)

/* crc_table[k][b]: the CRC of byte b followed by k zero bytes */
static uint32_t crc_table[8][256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void)
{
	uint32_t crc;
	int b, k, i;

	for (b = 0; b < 256; b++) {
		crc = b;
		for (i = 0; i < 8; i++)
			crc = (crc >> 1) ^ (CRC32C_POLY & -(crc & 1));
		crc_table[0][b] = crc;
	}
	for (b = 0; b < 256; b++)
		for (k = 1; k < 8; k++)
			crc_table[k][b] = (crc_table[k - 1][b] >> 8) ^
					  crc_table[0][crc_table[k - 1][b] & 0xff];
}

uint32_t crc32c(uint32_t crc, const void *buf, size_t len)
{
	const unsigned char *p = buf;
	uint32_t lo, hi;

	pthread_once(&crc_once, crc_init);
	crc = ~crc;
	/* slicing-by-8: eight table lookups per 8 bytes */
	while (len >= 8) {
		lo = crc ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 |
			    (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
		hi = (uint32_t)p[4] | (uint32_t)p[5] << 8 |
		     (uint32_t)p[6] << 16 | (uint32_t)p[7] << 24;
		crc = crc_table[7][lo & 0xff] ^ crc_table[6][(lo >> 8) & 0xff] ^
		      crc_table[5][(lo >> 16) & 0xff] ^ crc_table[4][lo >> 24] ^
		      crc_table[3][hi & 0xff] ^ crc_table[2][(hi >> 8) & 0xff] ^
		      crc_table[1][(hi >> 16) & 0xff] ^ crc_table[0][hi >> 24];
		p += 8;
		len -= 8;
	}
	while (len--)
		crc = (crc >> 8) ^ crc_table[0][(crc ^ *p++) & 0xff];
	return ~crc;
}

void checksum_base64(const unsigned char *in, size_t len, char *out)
{
	EVP_EncodeBlock((unsigned char *)out, in, len);
}

int body_checksum(const struct s3_body *body, bool want_crc,
		  struct body_checksums *out)
{
	unsigned char md5[EVP_MAX_MD_SIZE], be[4];
	unsigned int mdlen = 0;
	uint32_t crc = 0;
	uint64_t done = 0;
	unsigned char *buf = NULL;
	size_t chunk = 0;
	EVP_MD_CTX *ctx;
	ssize_t n;
	int err = 0;

	memset(out, 0, sizeof(*out));
	ctx = EVP_MD_CTX_new();
	if (!ctx || !EVP_DigestInit_ex(ctx, EVP_md5(), NULL)) {
		EVP_MD_CTX_free(ctx);
		return -ENOMEM;
	}
	if (body->buf) {
		EVP_DigestUpdate(ctx, body->buf, body->len);
		if (want_crc)
			crc = crc32c(0, body->buf, body->len);
	} else if (body->len) {
		chunk = body->len < READ_CHUNK ? body->len : READ_CHUNK;
		buf = bufbudget_alloc(chunk);
		if (!buf)
			err = -ENOMEM;
		while (!err && done < body->len) {
			size_t want = body->len - done < READ_CHUNK ?
				      body->len - done : READ_CHUNK;

			n = pread(body->fd, buf, want, body->offset + done);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				err = -errno;
			else if (n == 0)
				err = -EIO;	/* the file is shorter than the body */
			else {
				EVP_DigestUpdate(ctx, buf, n);
				if (want_crc)
					crc = crc32c(crc, buf, n);
				done += n;
			}
		}
		bufbudget_free(buf, chunk);
	}
	if (!err && !EVP_DigestFinal_ex(ctx, md5, &mdlen))
		err = -EIO;
	EVP_MD_CTX_free(ctx);
	if (err)
		return err;
	checksum_base64(md5, mdlen, out->md5);
	if (want_crc) {
		be[0] = crc >> 24;
		be[1] = crc >> 16;
		be[2] = crc >> 8;
		be[3] = crc;
		checksum_base64(be, 4, out->crc32c);
	}
	return 0;
}
