// SPDX-License-Identifier: GPL-2.0
/* Content-Type by extension (helper/mimetypes.c). */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "mimetypes.h"

static const char table[] =
	"# comment line\n"
	"text/plain\t\t\ttxt text conf\n"
	"application/x-bam\tbam\n"
	"text/x-other\t\ttxt\n"		/* a later type for txt: ignored */
	"image/jpeg jpeg jpg # trailing comment\n"
	"broken-line-without-slash xyz\n"
	"application/gzip gz\n";

int main(void)
{
	char path[] = "/tmp/s3f-mime-XXXXXX";
	int fd = mkstemp(path);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;

	if (!f || fputs(table, f) < 0 || fclose(f)) {
		printf("FAIL: mimetypes: cannot write %s\n", path);
		return 1;
	}
	CHECK("mimetypes: the table loads", mime_types_load(path) == 0, "load failed");
	unlink(path);
	CHECK_STREQ("mimetypes: an extension", mime_type_for("a/b/c.txt"), "text/plain");
	CHECK_STREQ("mimetypes: any case", mime_type_for("X.BAM"), "application/x-bam");
	CHECK_STREQ("mimetypes: the first type listed wins", mime_type_for("t.txt"), "text/plain");
	CHECK_STREQ("mimetypes: a comment after the extensions", mime_type_for("p.jpg"), "image/jpeg");
	CHECK_STREQ("mimetypes: the last extension counts", mime_type_for("x.tar.gz"), "application/gzip");
	CHECK_STREQ("mimetypes: unknown", mime_type_for("x.unknownext"), MIME_DEFAULT);
	CHECK_STREQ("mimetypes: no extension", mime_type_for("dir.d/README"), MIME_DEFAULT);
	CHECK_STREQ("mimetypes: a dot file is no extension", mime_type_for("d/.bashrc"), MIME_DEFAULT);
	CHECK_STREQ("mimetypes: a trailing dot", mime_type_for("x."), MIME_DEFAULT);
	CHECK_STREQ("mimetypes: a line without a type is skipped", mime_type_for("q.xyz"), MIME_DEFAULT);
	CHECK_EXIT();
}
