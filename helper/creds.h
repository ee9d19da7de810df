/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Credentials and region, AWS CLI conventions.
 *
 * Order when no profile is named: the environment (AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), then the shared files with
 * the profile from AWS_PROFILE or "default".  When a profile is named
 * explicitly (mount option profile=), only the shared files are read.
 *
 * Files: AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials ("[name]"
 * sections) and AWS_CONFIG_FILE or ~/.aws/config ("[profile name]", or
 * "[default]"); a key in the credentials file wins over the config file.
 */
#ifndef S3F_HELPER_CREDS_H
#define S3F_HELPER_CREDS_H

#include <stddef.h>

struct s3_creds {
	char *access_key;
	char *secret_key;	/* never logged; freed with explicit_bzero */
	char *session_token;	/* NULL when none; never logged */
	char *source;		/* for logs: "environment", "/root/.aws/credentials [prod]" */
};

/*
 * Returns 0, -ENOENT when no credentials were found (errbuf says where
 * it looked), -EINVAL for a malformed file (errbuf names file and line)
 * or for a key id without its secret, -ENOMEM, or the -errno of a file
 * that exists but cannot be read (-EACCES, -EISDIR; -EFBIG above 1 MiB).
 * errbuf never contains a secret.
 */
int s3_creds_load(const char *profile, struct s3_creds *out,
		  char *errbuf, size_t errlen);
void s3_creds_free(struct s3_creds *creds);

/*
 * Region: AWS_REGION, AWS_DEFAULT_REGION, then "region" of the profile
 * (profile, else AWS_PROFILE, else "default") in the config file, then
 * "us-east-1" (also when the config file cannot be read or parsed).
 * Returns a malloc'd string, NULL when out of memory.
 */
char *s3_region_load(const char *profile);

#endif /* S3F_HELPER_CREDS_H */
