/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Reads the lock chart of doc/LOCKING.md: the indented block under
 * "## Lock order", one lock per line, nesting by indentation (two spaces a
 * level), the lock's name being the line's first word. Used by test_lockdoc
 * (the chart names exactly the validator's classes) and test_lockdep (every
 * order the library shows at run time is one the chart allows).
 */
#ifndef DAXMAP_LOCKCHART_H
#define DAXMAP_LOCKCHART_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHART_MAX 64

struct chart_line {
	char name[96];
	int depth;
	int leaf_anywhere; /* top-level line marked "leaf": may be taken under any lock */
};

struct chart {
	int n;
	struct chart_line l[CHART_MAX];
};

/* Returns the number of lines read (0: no chart found). */
static inline int chart_read(struct chart *c, const char *path)
{
	FILE *f = fopen(path, "r");
	char buf[512];
	int in_section = 0, in_block = 0;

	c->n = 0;
	if (!f)
		return 0;
	while (fgets(buf, sizeof(buf), f)) {
		if (!in_section) {
			in_section = strncmp(buf, "## Lock order", 13) == 0;
			continue;
		}
		if (strncmp(buf, "    ", 4) == 0) {
			int sp = 0;
			struct chart_line *l;

			in_block = 1;
			if (c->n == CHART_MAX)
				break;
			l = &c->l[c->n++];
			while (buf[sp] == ' ')
				sp++;
			l->depth = (sp - 4) / 2;
			sscanf(buf + sp, "%95s", l->name);
			l->leaf_anywhere = l->depth == 0 && strstr(buf + sp, "leaf") != NULL;
		} else if (in_block && buf[0] != '\n') {
			break; /* the first unindented line ends the chart */
		}
	}
	fclose(f);
	return c->n;
}

static inline int chart_has(const struct chart *c, const char *name)
{
	for (int i = 0; i < c->n; i++)
		if (strcmp(c->l[i].name, name) == 0)
			return 1;
	return 0;
}

/* May `b` be taken while `a` is held? Yes when some line of a has a line of b
 * in its subtree, or b is a top-level leaf. */
static inline int chart_allows(const struct chart *c, const char *a, const char *b)
{
	for (int j = 0; j < c->n; j++)
		if (strcmp(c->l[j].name, b) == 0 && c->l[j].leaf_anywhere)
			return 1;
	for (int i = 0; i < c->n; i++) {
		if (strcmp(c->l[i].name, a) != 0)
			continue;
		for (int j = i + 1; j < c->n && c->l[j].depth > c->l[i].depth; j++)
			if (strcmp(c->l[j].name, b) == 0)
				return 1;
	}
	return 0;
}

#endif
