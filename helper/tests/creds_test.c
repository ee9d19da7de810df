// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests for creds.c: environment variables and shared files in a
 * temporary directory, AWS CLI precedence rules, file syntax, errors.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "creds.h"
#include "tests/check.h"

static char tmpdir[] = "/tmp/s3f-creds-test-XXXXXX";
static char cred_path[256], conf_path[256];

static void write_file_len(const char *path, const char *text, size_t len)
{
	FILE *f = fopen(path, "w");

	if (!f) {
		perror(path);
		exit(2);
	}
	fwrite(text, 1, len, f);
	fclose(f);
}

static void write_file(const char *path, const char *text)
{
	write_file_len(path, text, strlen(text));
}

/* Start each case from nothing: no AWS variables, empty files. */
static void reset(void)
{
	static const char *const vars[] = {
		"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
		"AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_REGION",
		"AWS_DEFAULT_REGION",
	};
	size_t i;

	for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		unsetenv(vars[i]);
	setenv("HOME", tmpdir, 1);
	setenv("AWS_SHARED_CREDENTIALS_FILE", cred_path, 1);
	setenv("AWS_CONFIG_FILE", conf_path, 1);
	unlink(cred_path);
	unlink(conf_path);
}

static void set_env_creds(void)
{
	setenv("AWS_ACCESS_KEY_ID", "AKIAENVENVENV", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "envsecret", 1);
}

static const char default_creds[] =
	"[default]\n"
	"aws_access_key_id = AKIADEFAULT\n"
	"aws_secret_access_key = defaultsecret\n"
	"\n"
	"[prod]\n"
	"aws_access_key_id = AKIAPROD\n"
	"aws_secret_access_key = prodsecret\n"
	"aws_session_token = prodtoken\n";

static bool creds_are(const struct s3_creds *c, const char *access,
		      const char *secret, const char *token)
{
	if (!c->access_key || strcmp(c->access_key, access))
		return false;
	if (!c->secret_key || strcmp(c->secret_key, secret))
		return false;
	if (!token)
		return !c->session_token;
	return c->session_token && !strcmp(c->session_token, token);
}

static void test_env(void)
{
	struct s3_creds c;
	char err[256];
	int ret;

	reset();
	set_env_creds();
	ret = s3_creds_load(NULL, &c, err, sizeof(err));
	CHECK("creds env", ret == 0 &&
	      creds_are(&c, "AKIAENVENVENV", "envsecret", NULL), "ret %d %s",
	      ret, err);
	CHECK_STREQ("creds env source", c.source, "environment");
	s3_creds_free(&c);
	CHECK("creds free zeroes", !c.access_key && !c.secret_key &&
	      !c.session_token && !c.source, "not zeroed");
	s3_creds_free(&c);

	setenv("AWS_SESSION_TOKEN", "envtoken", 1);
	ret = s3_creds_load("", &c, err, sizeof(err));
	CHECK("creds env session token", ret == 0 &&
	      creds_are(&c, "AKIAENVENVENV", "envsecret", "envtoken"),
	      "ret %d %s", ret, err);
	s3_creds_free(&c);

	unsetenv("AWS_SECRET_ACCESS_KEY");
	ret = s3_creds_load(NULL, &c, err, sizeof(err));
	CHECK("creds env key id without secret", ret == -EINVAL &&
	      strstr(err, "AWS_SECRET_ACCESS_KEY") && !c.access_key,
	      "ret %d %s", ret, err);

	setenv("AWS_ACCESS_KEY_ID", "", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "envsecret", 1);
	write_file(cred_path, default_creds);
	ret = s3_creds_load(NULL, &c, err, sizeof(err));
	CHECK("creds empty env variable counts as unset", ret == 0 &&
	      creds_are(&c, "AKIADEFAULT", "defaultsecret", NULL),
	      "ret %d %s", ret, err);
	s3_creds_free(&c);
}

static void test_precedence(void)
{
	char want[300];
	struct s3_creds c;
	char err[256];
	int ret;

	reset();
	set_env_creds();
	write_file(cred_path, default_creds);
	ret = s3_creds_load(NULL, &c, err, sizeof(err));
	CHECK("creds env wins when no profile named", ret == 0 &&
	      creds_are(&c, "AKIAENVENVENV", "envsecret", NULL),
	      "ret %d %s", ret, err);
	s3_creds_free(&c);

	ret = s3_creds_load("prod", &c, err, sizeof(err));
	CHECK("creds explicit profile ignores env", ret == 0 &&
	      creds_are(&c, "AKIAPROD", "prodsecret", "prodtoken"),
	      "ret %d %s", ret, err);
	snprintf(want, sizeof(want), "%s [prod]", cred_path);
	CHECK_STREQ("creds file source", c.source, want);
	s3_creds_free(&c);

	ret = s3_creds_load("default", &c, err, sizeof(err));
	CHECK("creds explicit default ignores env", ret == 0 &&
	      creds_are(&c, "AKIADEFAULT", "defaultsecret", NULL),
	      "ret %d %s", ret, err);
	s3_creds_free(&c);

	setenv("AWS_PROFILE", "prod", 1);
	ret = s3_creds_load(NULL, &c, err, sizeof(err));
	CHECK("creds env wins over AWS_PROFILE", ret == 0 &&
	      creds_are(&c, "AKIAENVENVENV", "envsecret", NULL),
	      "ret %d %s", ret, err);
	s3_creds_free(&c);

	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	ret = s3_creds_load(NULL, &c, err, sizeof(err));
	CHECK("creds AWS_PROFILE", ret == 0 &&
	      creds_are(&c, "AKIAPROD", "prodsecret", "prodtoken"),
	      "ret %d %s", ret, err);
	s3_creds_free(&c);

	unsetenv("AWS_PROFILE");
	ret = s3_creds_load(NULL, &c, err, sizeof(err));
	CHECK("creds default profile", ret == 0 &&
	      creds_are(&c, "AKIADEFAULT", "defaultsecret", NULL),
	      "ret %d %s", ret, err);
	s3_creds_free(&c);
}

static void test_config_file(void)
{
	struct s3_creds c;
	char err[256], want[300];
	int ret;

	reset();
	write_file(cred_path, default_creds);
	write_file(conf_path,
		   "[default]\n"
		   "aws_access_key_id = AKIACONFIGDEFAULT\n"
		   "aws_secret_access_key = configsecret\n"
		   "region = eu-west-1\n"
		   "[profile x]\n"
		   "aws_access_key_id = AKIACONFIGX\n"
		   "aws_secret_access_key = xsecret\n"
		   "aws_session_token = xtoken\n"
		   "[y]\n"
		   "aws_access_key_id = AKIABAREY\n"
		   "aws_secret_access_key = ysecret\n");
	ret = s3_creds_load("default", &c, err, sizeof(err));
	CHECK("creds credentials file wins over config file", ret == 0 &&
	      creds_are(&c, "AKIADEFAULT", "defaultsecret", NULL),
	      "ret %d %s", ret, err);
	s3_creds_free(&c);

	ret = s3_creds_load("x", &c, err, sizeof(err));
	CHECK("creds [profile x] in config", ret == 0 &&
	      creds_are(&c, "AKIACONFIGX", "xsecret", "xtoken"),
	      "ret %d %s", ret, err);
	snprintf(want, sizeof(want), "%s [x]", conf_path);
	CHECK_STREQ("creds config source", c.source, want);
	s3_creds_free(&c);

	ret = s3_creds_load("y", &c, err, sizeof(err));
	CHECK("creds bare [y] in config is not profile y", ret == -ENOENT &&
	      !c.access_key, "ret %d %s", ret, err);

	unlink(cred_path);
	ret = s3_creds_load(NULL, &c, err, sizeof(err));
	CHECK("creds [default] in config", ret == 0 &&
	      creds_are(&c, "AKIACONFIGDEFAULT", "configsecret", NULL),
	      "ret %d %s", ret, err);
	s3_creds_free(&c);

	write_file(conf_path,
		   "[profile default]\n"
		   "aws_access_key_id = AKIAPROFILEDEFAULT\n"
		   "aws_secret_access_key = s\n");
	ret = s3_creds_load(NULL, &c, err, sizeof(err));
	CHECK("creds [profile default] in config", ret == 0 &&
	      creds_are(&c, "AKIAPROFILEDEFAULT", "s", NULL),
	      "ret %d %s", ret, err);
	s3_creds_free(&c);
}

static void test_syntax(void)
{
	struct s3_creds c;
	char err[256];
	int ret;

	reset();
	write_file(cred_path,
		   "\xef\xbb\xbf# a comment\n"
		   "; another comment\n"
		   "   \n"
		   "  [  spaced  ]   # trailing comment\n"
		   "\tAWS_Access_Key_ID\t=\t AKIASPACED  \r\n"
		   "  # indented comment\n"
		   "aws_secret_access_key:sec=ret:with;odd#chars \r\n"
		   "aws_session_token =\n"
		   "[other]\n"
		   "aws_access_key_id = AKIAOTHER\n"
		   "aws_secret_access_key = othersecret\n"
		   "s3 =\n"
		   "    max_concurrent_requests = 20\n"
		   "    region = nested-not-a-region\n"
		   "\n"
		   "    addressing_style = path\n"
		   "aws_session_token = t2");
	ret = s3_creds_load("spaced", &c, err, sizeof(err));
	CHECK("creds comments and white space", ret == 0 &&
	      creds_are(&c, "AKIASPACED", "sec=ret:with;odd#chars", NULL),
	      "ret %d %s", ret, err);
	s3_creds_free(&c);

	ret = s3_creds_load("other", &c, err, sizeof(err));
	CHECK("creds continuation lines, no final newline", ret == 0 &&
	      creds_are(&c, "AKIAOTHER", "othersecret", "t2"),
	      "ret %d %s", ret, err);
	s3_creds_free(&c);

	write_file(cred_path,
		   "[default]\n"
		   "  aws_access_key_id = AKIAINDENTED\n"
		   "  aws_secret_access_key = indented\n");
	ret = s3_creds_load(NULL, &c, err, sizeof(err));
	CHECK("creds evenly indented keys", ret == 0 &&
	      creds_are(&c, "AKIAINDENTED", "indented", NULL),
	      "ret %d %s", ret, err);
	s3_creds_free(&c);
}

static void test_missing(void)
{
	struct s3_creds c;
	char err[512];
	int ret;

	reset();
	ret = s3_creds_load(NULL, &c, err, sizeof(err));
	CHECK("creds nothing anywhere", ret == -ENOENT && !c.access_key &&
	      strstr(err, cred_path) && strstr(err, conf_path) &&
	      strstr(err, "AWS_ACCESS_KEY_ID") && strstr(err, "no such file"),
	      "ret %d %s", ret, err);

	write_file(cred_path, default_creds);
	ret = s3_creds_load("staging", &c, err, sizeof(err));
	CHECK("creds missing profile", ret == -ENOENT && !c.access_key &&
	      strstr(err, "'staging'") && strstr(err, cred_path) &&
	      strstr(err, "no such profile"), "ret %d %s", ret, err);
	CHECK("creds missing profile message holds no secret",
	      !strstr(err, "secret"), "%s", err);

	setenv("AWS_PROFILE", "staging", 1);
	ret = s3_creds_load(NULL, &c, err, sizeof(err));
	CHECK("creds missing AWS_PROFILE names the variable",
	      ret == -ENOENT && strstr(err, "AWS_PROFILE"), "ret %d %s", ret,
	      err);
	unsetenv("AWS_PROFILE");

	write_file(cred_path, "[default]\nregion = x\n");
	ret = s3_creds_load(NULL, &c, err, sizeof(err));
	CHECK("creds profile without key id", ret == -ENOENT &&
	      strstr(err, "no aws_access_key_id"), "ret %d %s", ret, err);

	write_file(cred_path, "[default]\naws_access_key_id = AKIAONLY\n");
	ret = s3_creds_load(NULL, &c, err, sizeof(err));
	CHECK("creds key id without secret in file", ret == -EINVAL &&
	      strstr(err, "aws_secret_access_key") && !c.access_key,
	      "ret %d %s", ret, err);

	ret = s3_creds_load(NULL, &c, NULL, 0);
	CHECK("creds no errbuf", ret == -EINVAL, "ret %d", ret);
	ret = s3_creds_load(NULL, &c, err, 8);
	CHECK("creds tiny errbuf", ret == -EINVAL && strlen(err) == 7,
	      "ret %d %s", ret, err);
}

/* A string literal, NUL bytes included. */
#define MALFORMED(name, text, line) \
	check_malformed(name, text, sizeof(text) - 1, line)

static void check_malformed(const char *name, const char *text, size_t len,
			    unsigned int line)
{
	struct s3_creds c;
	char err[512], where[300];
	int ret;

	write_file_len(cred_path, text, len);
	snprintf(where, sizeof(where), "%s:%u:", cred_path, line);
	ret = s3_creds_load("prod", &c, err, sizeof(err));
	CHECK(name, ret == -EINVAL && !c.access_key && strstr(err, where) &&
	      !strstr(err, "SECRETXYZ"), "ret %d \"%s\", want \"%s\"", ret,
	      err, where);
}

static void test_malformed(void)
{
	reset();
	MALFORMED("creds malformed line names file:line",
			"[prod]\n"
			"aws_access_key_id = AKIAPROD\n"
			"# fine\n"
			"aws_secret_access_key SECRETXYZ\n", 4);
	MALFORMED("creds malformed line in another profile",
			"[prod]\n"
			"aws_access_key_id = AKIAPROD\n"
			"aws_secret_access_key = prodsecret\n"
			"[dev]\n"
			"SECRETXYZ\n", 5);
	MALFORMED("creds unterminated section",
			"[prod SECRETXYZ\n", 1);
	MALFORMED("creds text after section",
			"[prod] SECRETXYZ\n", 1);
	MALFORMED("creds empty section name", "[ ]\n", 1);
	MALFORMED("creds key before any section",
			"aws_secret_access_key = SECRETXYZ\n[prod]\n", 1);
	MALFORMED("creds empty key name", "[prod]\n = SECRETXYZ\n", 2);
	MALFORMED("creds NUL byte", "[prod]\nkey = SECRET\0XYZ\n", 2);
}

static void test_unreadable(void)
{
	char dir[300], err[512];
	struct s3_creds c;
	int ret;

	reset();
	snprintf(dir, sizeof(dir), "%s/adir", tmpdir);
	mkdir(dir, 0700);
	setenv("AWS_SHARED_CREDENTIALS_FILE", dir, 1);
	ret = s3_creds_load("prod", &c, err, sizeof(err));
	CHECK("creds directory as credentials file", ret == -EISDIR &&
	      strstr(err, dir), "ret %d %s", ret, err);
	rmdir(dir);
}

static void test_home(void)
{
	char dir[300], path[320], want[340];
	struct s3_creds c;
	char err[512];
	int ret;

	reset();
	unsetenv("AWS_SHARED_CREDENTIALS_FILE");
	unsetenv("AWS_CONFIG_FILE");
	snprintf(dir, sizeof(dir), "%s/.aws", tmpdir);
	mkdir(dir, 0700);
	snprintf(path, sizeof(path), "%s/credentials", dir);
	write_file(path, default_creds);
	ret = s3_creds_load(NULL, &c, err, sizeof(err));
	snprintf(want, sizeof(want), "%s [default]", path);
	CHECK("creds ~/.aws/credentials from HOME", ret == 0 &&
	      creds_are(&c, "AKIADEFAULT", "defaultsecret", NULL) &&
	      !strcmp(c.source, want), "ret %d %s", ret, err);
	s3_creds_free(&c);

	setenv("AWS_SHARED_CREDENTIALS_FILE", "~/.aws/credentials", 1);
	ret = s3_creds_load("prod", &c, err, sizeof(err));
	CHECK("creds ~ in AWS_SHARED_CREDENTIALS_FILE", ret == 0 &&
	      creds_are(&c, "AKIAPROD", "prodsecret", "prodtoken"),
	      "ret %d %s", ret, err);
	s3_creds_free(&c);

	unsetenv("HOME");
	unsetenv("AWS_SHARED_CREDENTIALS_FILE");
	ret = s3_creds_load("prod", &c, err, sizeof(err));
	CHECK("creds HOME unset falls back to passwd", ret == -ENOENT ||
	      ret == 0, "ret %d %s", ret, err);
	s3_creds_free(&c);
	setenv("HOME", tmpdir, 1);
	unlink(path);
	rmdir(dir);
}

static void check_region(const char *name, const char *profile,
			 const char *want)
{
	char *region = s3_region_load(profile);

	CHECK_STREQ(name, region, want);
	free(region);
}

static void test_region(void)
{
	reset();
	check_region("creds region default", NULL, "us-east-1");
	write_file(cred_path, "[default]\nregion = from-credentials\n");
	check_region("creds region not read from credentials file", NULL,
		     "us-east-1");
	write_file(conf_path,
		   "[default]\n"
		   "region = eu-west-1\n"
		   "[profile prod]\n"
		   "region = ap-south-1\n"
		   "[profile noregion]\n"
		   "output = json\n");
	check_region("creds region from config default", NULL, "eu-west-1");
	check_region("creds region from explicit profile", "prod",
		     "ap-south-1");
	check_region("creds region profile without region", "noregion",
		     "us-east-1");
	setenv("AWS_PROFILE", "prod", 1);
	check_region("creds region from AWS_PROFILE", NULL, "ap-south-1");
	setenv("AWS_DEFAULT_REGION", "us-west-2", 1);
	check_region("creds AWS_DEFAULT_REGION beats config", "prod",
		     "us-west-2");
	setenv("AWS_REGION", "ca-central-1", 1);
	check_region("creds AWS_REGION beats AWS_DEFAULT_REGION", "prod",
		     "ca-central-1");
	unsetenv("AWS_REGION");
	unsetenv("AWS_DEFAULT_REGION");
	write_file(conf_path, "[profile prod\nregion = eu-west-1\n");
	check_region("creds region with malformed config", "prod",
		     "us-east-1");
}

int main(void)
{
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 2;
	}
	snprintf(cred_path, sizeof(cred_path), "%s/credentials", tmpdir);
	snprintf(conf_path, sizeof(conf_path), "%s/config", tmpdir);

	test_env();
	test_precedence();
	test_config_file();
	test_syntax();
	test_missing();
	test_malformed();
	test_unreadable();
	test_home();
	test_region();

	unlink(cred_path);
	unlink(conf_path);
	rmdir(tmpdir);
	CHECK_EXIT();
}
