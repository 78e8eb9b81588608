/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Sizes on command lines, shared by daxmap (tools/daxmap.c) and daxkv
 * (examples/kvstore/daxkv.c): "64K" in, "64.0 KiB" out.
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

/*
 * Writes v to buf in the largest binary unit it reaches, with one decimal
 * ("64.0 MiB", "1.5 GiB"), or in bytes below 1 KiB ("512 B"); returns buf.
 * 16 bytes are always enough.
 */
const char *size_human(uint64_t v, char *buf, size_t len);

#endif
