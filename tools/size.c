/* SPDX-License-Identifier: BSD-3-Clause */
/* Sizes on command lines: parsing "64K", printing "64.0 KiB" (size.h). */
#include "size.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

int size_parse(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	unsigned shift = 0;

	if (!s || !isdigit((unsigned char)s[0]))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -1;
	switch (*end) {
	case 'K': case 'k': shift = 10; end++; break;
	case 'M': case 'm': shift = 20; end++; break;
	case 'G': case 'g': shift = 30; end++; break;
	case 'T': case 't': shift = 40; end++; break;
	default: break;
	}
	if (*end != 0 || (shift && v > (UINT64_MAX >> shift)))
		return -1;
	*out = (uint64_t)v << shift;
	return 0;
}

const char *size_human(uint64_t v, char *buf, size_t len)
{
	static const char units[] = "KMGTPE";
	unsigned u = 0;
	uint64_t whole, tenths;

	if (v < 1024) {
		snprintf(buf, len, "%llu B", (unsigned long long)v);
		return buf;
	}
	/* the unit is 1024^(u+1); exact integer arithmetic, rounded to a tenth */
	while (u + 1 < sizeof(units) - 1 && v >> (10 * (u + 2)) != 0)
		u++;
	whole = v >> (10 * (u + 1));
	tenths = ((v & ((UINT64_C(1) << (10 * (u + 1))) - 1)) * 10 + (UINT64_C(1) << (10 * (u + 1) - 1))) >>
		 (10 * (u + 1));
	if (tenths == 10) {
		whole++;
		tenths = 0;
	}
	if (whole == 1024 && u + 1 < sizeof(units) - 1) {
		u++;
		whole = 1;
	}
	snprintf(buf, len, "%llu.%llu %ciB", (unsigned long long)whole, (unsigned long long)tenths,
		 units[u]);
	return buf;
}
