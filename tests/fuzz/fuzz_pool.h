/* SPDX-License-Identifier: BSD-3-Clause */
/* The fuzz target's parts, shared with the replay driver and the seed maker. */
#ifndef DAXMAP_FUZZ_POOL_H
#define DAXMAP_FUZZ_POOL_H

#include <stddef.h>
#include <stdint.h>

#define FUZZ_POOL_SIZE (UINT64_C(16) << 20)
#define FUZZ_MAX_SIZE (UINT64_C(32) << 20) /* the growable base (strategy bit 3) */
#define FUZZ_EXTENT (UINT64_C(64) << 10)
#define FUZZ_BLOCKS_EXTENT (UINT64_C(128) << 10) /* the base with blocks (strategy bit 4) */
#define FUZZ_MAX_OBJECTS 8u
/* metadata of that pool: everything before the 2 MiB-aligned data */
#define FUZZ_META (UINT64_C(2) << 20)
/* bytes of an input that reach the image: header, log, object table and the
 * whole extent table (it ends below 72 KiB) */
#define FUZZ_PREFIX (72u << 10)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int fuzz_pool_init(void);
void fuzz_pool_fini(void);
const char *fuzz_pool_path(void);
void fuzz_pool_write(const uint8_t *data, size_t size);
void fuzz_pool_exercise(void);

#endif
