/*
 * Sizes on command lines, shared by daxmap (tools/daxmap.c) and daxkv
 * (examples/kvstore/daxkv.c).
 */
#ifndef DAXMAP_TOOLS_SIZE_H
#define DAXMAP_TOOLS_SIZE_H

#include <stddef.h>
#include <stdint.h>

/*
 * Parses a decimal number with an optional K, M, G or T suffix (powers of
 * 1024, either case) into *out. Rejects signs, spaces, empty strings,
 * hexadecimal, other suffixes and anything that does not fit 64 bits:
 * 0 on success, -1 then.
 */
int size_parse(const char *s, uint64_t *out);

#endif
