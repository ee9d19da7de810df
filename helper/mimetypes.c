// SPDX-License-Identifier: GPL-2.0
/*
 * Content-Type by file name extension, from a mime.types file: lines of
 * "type ext ext ...", '#' comments.  The table is read once and sorted
 * by extension; lookups bsearch it, case-insensitively.
 */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "mimetypes.h"

#define MIME_TYPES_PATH	"/etc/mime.types"
#define MIME_EXT_MAX	32	/* longer "extensions" are not looked up */

struct mime_entry {
	char *ext;
	char *type;
	size_t pos;		/* in the file: the first type for an extension wins */
};

/*
 * The table: written once, by mime_types_load() (under mime_once, or by
 * a test before any lookup), read-only after.
 */
static struct mime_entry *mime_table;
static size_t mime_count;
static pthread_once_t mime_once = PTHREAD_ONCE_INIT;

static int mime_cmp(const void *a, const void *b)
{
	return strcasecmp(((const struct mime_entry *)a)->ext,
			  ((const struct mime_entry *)b)->ext);
}

static int mime_sort_cmp(const void *a, const void *b)
{
	const struct mime_entry *x = a, *y = b;
	int c = mime_cmp(a, b);

	return c ? c : (x->pos > y->pos) - (x->pos < y->pos);
}

/* Add one (type, ext) pair. */
static int mime_add(struct mime_entry **tab, size_t *n, size_t *cap,
		    const char *type, const char *ext)
{
	struct mime_entry *e;

	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 256;

		e = realloc(*tab, ncap * sizeof(**tab));
		if (!e)
			return -ENOMEM;
		*tab = e;
		*cap = ncap;
	}
	e = &(*tab)[*n];
	e->pos = *n;
	e->ext = strdup(ext);
	e->type = strdup(type);
	if (!e->ext || !e->type) {
		free(e->ext);
		free(e->type);
		return -ENOMEM;
	}
	(*n)++;
	return 0;
}

/* Drop the later duplicates of each extension (sorted by ext, position). */
static void mime_dedup(struct mime_entry *tab, size_t *n)
{
	size_t i, out = 0;

	for (i = 0; i < *n; i++) {
		if (out && !strcasecmp(tab[out - 1].ext, tab[i].ext)) {
			free(tab[i].ext);
			free(tab[i].type);
			continue;
		}
		tab[out++] = tab[i];
	}
	*n = out;
}

int mime_types_load(const char *path)
{
	struct mime_entry *tab = NULL;
	size_t n = 0, cap = 0, len = 0;
	char *line = NULL, *save, *type, *ext;
	int err = 0;
	FILE *f;

	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (!err && getline(&line, &len, f) >= 0) {
		line[strcspn(line, "#\n")] = '\0';
		type = strtok_r(line, " \t", &save);
		if (!type || !strchr(type, '/'))
			continue;
		while (!err && (ext = strtok_r(NULL, " \t", &save)))
			err = mime_add(&tab, &n, &cap, type, ext);
	}
	free(line);
	fclose(f);
	if (err) {
		while (n--) {
			free(tab[n].ext);
			free(tab[n].type);
		}
		free(tab);
		return err;
	}
	qsort(tab, n, sizeof(*tab), mime_sort_cmp);
	mime_dedup(tab, &n);
	mime_table = tab;
	mime_count = n;
	return 0;
}

static void mime_load_default(void)
{
	int err;

	if (mime_table)
		return;		/* a test loaded its own */
	err = mime_types_load(MIME_TYPES_PATH);
	if (err)
		log_warn("%s: %s; new objects get Content-Type %s", MIME_TYPES_PATH,
			 strerror(-err), MIME_DEFAULT);
}

const char *mime_type_for(const char *key)
{
	const char *name = strrchr(key, '/'), *dot;
	struct mime_entry q, *e;

	pthread_once(&mime_once, mime_load_default);
	name = name ? name + 1 : key;
	dot = strrchr(name, '.');
	if (!dot || dot == name || !dot[1] || strlen(dot + 1) > MIME_EXT_MAX)
		return MIME_DEFAULT;
	q.ext = (char *)(dot + 1);
	e = bsearch(&q, mime_table, mime_count, sizeof(*mime_table), mime_cmp);
	return e ? e->type : MIME_DEFAULT;
}
