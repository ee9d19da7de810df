// SPDX-License-Identifier: GPL-2.0
/* Log lines cannot be forged by what they quote (helper/log.c). */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "log.h"

/* What one log_info() call writes to stderr. */
static void logged(const char *arg, char *out, size_t outlen)
{
	int fds[2], saved;
	ssize_t n;

	if (pipe(fds)) {
		out[0] = '\0';
		return;
	}
	saved = dup(STDERR_FILENO);
	dup2(fds[1], STDERR_FILENO);
	log_info("key %s done", arg);
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(fds[1]);
	n = read(fds[0], out, outlen - 1);
	out[n > 0 ? n : 0] = '\0';
	close(fds[0]);
}

int main(void)
{
	char line[4096];

	log_init("logtest", false, LOG_LVL_INFO);
	logged("a\nlogtest[1]: error: forged", line, sizeof(line));
	CHECK("log: a newline in a key stays on its line",
	      strchr(line, '\n') == line + strlen(line) - 1 &&
	      strstr(line, "a\\x0alogtest[1]: error: forged done"), "%s", line);
	logged("\033[2J\r", line, sizeof(line));
	CHECK("log: escape sequences and carriage returns are escaped",
	      strstr(line, "key \\x1b[2J\\x0d done"), "%s", line);
	logged("back\\slash", line, sizeof(line));
	CHECK("log: a backslash is escaped (the escaping is unambiguous)",
	      strstr(line, "back\\x5cslash"), "%s", line);
	logged("caf\xc3\xa9/x", line, sizeof(line));
	CHECK("log: UTF-8 names stay readable", strstr(line, "caf\xc3\xa9/x"), "%s", line);
	CHECK_EXIT();
}
