/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The lock chart of doc/LOCKING.md and the classes of the run-time lock
 * validator (src/lockdep.c) name the same locks, exactly: every class the
 * validator knows is a line of the chart, and every line of the chart is a
 * class. Doc and code cannot drift apart.
 */
#include "testutil.h"

#include "../src/lockdep.h"
#include "lockchart.h"

#include <stdio.h>
#include <string.h>

#define LOCKING_MD DAXMAP_SOURCE_DIR "/doc/LOCKING.md"

static struct chart chart;

static void test_chart_is_found(void)
{
	CU_ASSERT_FATAL(chart_read(&chart, LOCKING_MD) > 0);
}

static void test_every_class_is_in_the_chart(void)
{
	for (struct lockclass *const *c = lockdep_library_classes; *c; c++) {
		int found = chart_has(&chart, (*c)->name);
		if (!found)
			fprintf(stderr, "\nclass %s is missing from the chart of %s\n", (*c)->name,
				LOCKING_MD);
		CU_ASSERT(found);
	}
}

static void test_every_chart_lock_is_a_class(void)
{
	for (int i = 0; i < chart.n; i++) {
		int found = 0;
		for (struct lockclass *const *c = lockdep_library_classes; *c; c++)
			found |= strcmp((*c)->name, chart.l[i].name) == 0;
		if (!found)
			fprintf(stderr, "\nchart line %s of %s is no lock class of src/lockdep.c\n",
				chart.l[i].name, LOCKING_MD);
		CU_ASSERT(found);
	}
}

static void test_class_names_are_unique(void)
{
	for (struct lockclass *const *c = lockdep_library_classes; *c; c++)
		for (struct lockclass *const *d = c + 1; *d; d++)
			CU_ASSERT(strcmp((*c)->name, (*d)->name) != 0);
}

int main(void)
{
	static const struct tu_test tests[] = {
		{"chart is found", test_chart_is_found},
		{"every class is in the chart", test_every_class_is_in_the_chart},
		{"every chart lock is a class", test_every_chart_lock_is_a_class},
		{"class names are unique", test_class_names_are_unique},
		{NULL, NULL},
	};
	return tu_run("lockdoc", tests);
}
