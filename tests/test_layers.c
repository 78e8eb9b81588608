/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The layering of src/ stays true: doc/DESIGN.md's module table gives each
 * module a layer and the modules it may use, and this test holds the code
 * to it, in the manner of test_lockdoc for the lock chart:
 *  - every module of src/ is a row of the table, and every row a module;
 *  - every include of a src/ header is of a module the row lists under
 *    "may use", and of a lower layer;
 *  - no module calls a function of a module of its own or a higher layer
 *    (a call is a token <module>_<name>( outside comments and strings);
 *  - the include graph has no cycle (a loop is printed).
 */
#include "testutil.h"

#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DESIGN_MD DAXMAP_SOURCE_DIR "/doc/DESIGN.md"
#define SRC_DIR DAXMAP_SOURCE_DIR "/src"
#define MAX_MODULES 64
#define MAX_USES 32

struct module {
	char name[32];
	int layer;          /* from the table; -1: not in the table */
	int in_src;         /* has a file in src/ */
	int all_below;      /* "may use" says every module below */
	int nuses;
	char uses[MAX_USES][32];
	int nincl;
	int incl[MAX_USES]; /* indexes of the src modules it includes */
	char *code;         /* its .c and .h, comments and strings blanked */
};

static struct module mods[MAX_MODULES];
static int nmods;

static struct module *mod_find(const char *name)
{
	for (int i = 0; i < nmods; i++)
		if (!strcmp(mods[i].name, name))
			return &mods[i];
	return NULL;
}

static struct module *mod_get(const char *name)
{
	struct module *m = mod_find(name);

	if (m || nmods == MAX_MODULES)
		return m;
	m = &mods[nmods++];
	snprintf(m->name, sizeof(m->name), "%s", name);
	m->layer = -1;
	return m;
}

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s) || *s == '`')
		s++;
	e = s + strlen(s);
	while (e > s && (isspace((unsigned char)e[-1]) || e[-1] == '`'))
		*--e = 0;
	return s;
}

/* Rows "| layer | `module` | what | may use |" under "## Modules". */
static int read_table(void)
{
	FILE *f = fopen(DESIGN_MD, "r");
	char buf[1024];
	int in_section = 0, rows = 0;

	if (!f)
		return 0;
	while (fgets(buf, sizeof(buf), f)) {
		char *col[5], *p = buf;
		int n = 0;

		if (!strncmp(buf, "## ", 3)) {
			in_section = !strncmp(buf, "## Modules", 10);
			continue;
		}
		if (!in_section || buf[0] != '|')
			continue;
		p++;
		while (n < 5 && (col[n] = strsep(&p, "|")) != NULL)
			n++;
		if (n < 4 || !isdigit((unsigned char)*trim(col[0])))
			continue;
		struct module *m = mod_get(trim(col[1]));
		CU_ASSERT_FATAL(m != NULL);
		m->layer = atoi(trim(col[0]));
		char *uses = trim(col[3]);
		m->all_below = strstr(uses, "every module below") != NULL;
		for (char *u; !m->all_below && (u = strsep(&uses, ",")) != NULL;) {
			u = trim(u);
			if (*u && strcmp(u, "—") && m->nuses < MAX_USES)
				snprintf(m->uses[m->nuses++], sizeof(m->uses[0]), "%s", u);
		}
		rows++;
	}
	fclose(f);
	return rows;
}

/* Blanks comments, string and character literals (keeps #include "x.h"). */
static void strip(char *s)
{
	for (char *p = s; *p; p++) {
		if (p[0] == '/' && p[1] == '*') {
			char *e = strstr(p + 2, "*/");
			char *stop = e ? e + 2 : p + strlen(p);
			while (p < stop)
				*p++ = ' ';
			p--;
		} else if (p[0] == '/' && p[1] == '/') {
			while (*p && *p != '\n')
				*p++ = ' ';
			p--;
		} else if (*p == '"' || *p == '\'') {
			char q = *p;
			char *line = p;
			while (line > s && line[-1] != '\n')
				line--;
			if (!strncmp(line, "#include", 8)) {
				char *e = strchr(p + 1, q);
				p = e ? e : p + strlen(p) - 1;
				continue;
			}
			for (p++; *p && *p != q; p++) {
				if (*p == '\\' && p[1])
					*p++ = ' ';
				*p = ' ';
			}
			if (!*p)
				p--;
		}
	}
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

static void read_src(void)
{
	DIR *d = opendir(SRC_DIR);
	struct dirent *de;

	CU_ASSERT_FATAL(d != NULL);
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);
		char name[32], path[512];
		struct module *m;
		char *text;

		if (len < 3 || len - 2 >= sizeof(name) || de->d_name[len - 2] != '.' ||
		    (de->d_name[len - 1] != 'c' && de->d_name[len - 1] != 'h'))
			continue;
		snprintf(name, sizeof(name), "%.*s", (int)(len - 2), de->d_name);
		m = mod_get(name);
		CU_ASSERT_FATAL(m != NULL);
		m->in_src = 1;
		snprintf(path, sizeof(path), "%s/%s", SRC_DIR, de->d_name);
		text = slurp(path);
		CU_ASSERT_FATAL(text != NULL);
		strip(text);
		if (m->code) {
			char *both = malloc(strlen(m->code) + strlen(text) + 2);
			CU_ASSERT_FATAL(both != NULL);
			sprintf(both, "%s\n%s", m->code, text);
			free(m->code);
			free(text);
			text = both;
		}
		m->code = text;
	}
	closedir(d);
	/* the includes of src/ headers, module by module */
	for (int i = 0; i < nmods; i++) {
		struct module *m = &mods[i];
		for (char *p = m->code; p && (p = strstr(p, "#include \"")) != NULL; p++) {
			char inc[32];
			if (sscanf(p + 10, "%31[a-z_0-9].h\"", inc) != 1 || !strcmp(inc, m->name))
				continue;
			struct module *t = mod_find(inc);
			if (t && t->in_src && m->nincl < MAX_USES)
				m->incl[m->nincl++] = (int)(t - mods);
		}
	}
}

static int may_use(const struct module *m, const struct module *t)
{
	if (t->layer < 0 || m->layer < 0 || t->layer >= m->layer)
		return 0;
	if (m->all_below)
		return 1;
	for (int k = 0; k < m->nuses; k++)
		if (!strcmp(m->uses[k], t->name))
			return 1;
	return 0;
}

static void test_table_is_found(void)
{
	CU_ASSERT_FATAL(read_table() > 0);
	read_src();
}

static void test_every_module_has_a_row_and_every_row_a_module(void)
{
	for (int i = 0; i < nmods; i++) {
		if (mods[i].in_src && mods[i].layer < 0)
			fprintf(stderr, "\nsrc/%s.[ch] has no row in the module table of %s\n",
				mods[i].name, DESIGN_MD);
		if (!mods[i].in_src)
			fprintf(stderr, "\nmodule table row %s names no file of src/\n",
				mods[i].name);
		CU_ASSERT(mods[i].in_src && mods[i].layer >= 0);
	}
}

static void test_includes_go_down_to_listed_modules(void)
{
	for (int i = 0; i < nmods; i++)
		for (int k = 0; k < mods[i].nincl; k++) {
			const struct module *t = &mods[mods[i].incl[k]];
			int ok = may_use(&mods[i], t);
			if (!ok)
				fprintf(stderr, "\n%s (layer %d) includes %s (layer %d), which its row "
					"does not allow\n", mods[i].name, mods[i].layer, t->name,
					t->layer);
			CU_ASSERT(ok);
		}
}

static void test_no_call_goes_up(void)
{
	for (int i = 0; i < nmods; i++)
		for (int j = 0; j < nmods; j++) {
			char pfx[40];
			size_t n;

			if (i == j || mods[j].layer < mods[i].layer || !mods[i].code)
				continue;
			n = (size_t)snprintf(pfx, sizeof(pfx), "%s_", mods[j].name);
			for (char *p = mods[i].code; (p = strstr(p, pfx)) != NULL; p += n) {
				char *q = p + n;
				if (p > mods[i].code && (isalnum((unsigned char)p[-1]) || p[-1] == '_'))
					continue;
				while (isalnum((unsigned char)*q) || *q == '_')
					q++;
				while (*q == ' ' || *q == '\t')
					q++;
				if (*q != '(')
					continue;
				fprintf(stderr, "\n%s (layer %d) calls %.*s of %s (layer %d)\n",
					mods[i].name, mods[i].layer, (int)(q - p), p, mods[j].name,
					mods[j].layer);
				CU_FAIL("a call goes up the layers");
			}
		}
}

static int color[MAX_MODULES], stack[MAX_MODULES], depth;

static int dfs(int v)
{
	color[v] = 1;
	stack[depth++] = v;
	for (int k = 0; k < mods[v].nincl; k++) {
		int w = mods[v].incl[k];
		if (color[w] == 1) {
			fprintf(stderr, "\ninclude cycle:");
			for (int s = 0; s < depth; s++)
				if (stack[s] == w)
					for (; s < depth; s++)
						fprintf(stderr, " %s ->", mods[stack[s]].name);
			fprintf(stderr, " %s\n", mods[w].name);
			return 1;
		}
		if (color[w] == 0 && dfs(w))
			return 1;
	}
	color[v] = 2;
	depth--;
	return 0;
}

static void test_include_graph_has_no_cycle(void)
{
	int cycle = 0;

	memset(color, 0, sizeof(color));
	for (int i = 0; i < nmods && !cycle; i++)
		if (color[i] == 0) {
			depth = 0;
			cycle = dfs(i);
		}
	CU_ASSERT(!cycle);
}

int main(void)
{
	static const struct tu_test tests[] = {
		{"module table is found", test_table_is_found},
		{"every module has a row and every row a module",
		 test_every_module_has_a_row_and_every_row_a_module},
		{"includes go down to listed modules", test_includes_go_down_to_listed_modules},
		{"no call goes up", test_no_call_goes_up},
		{"include graph has no cycle", test_include_graph_has_no_cycle},
		{NULL, NULL},
	};
	return tu_run("layers", tests);
}
