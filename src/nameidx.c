/* SPDX-License-Identifier: BSD-3-Clause */
/* Name hash -> object slot multimap: linear probing, backward-shift deletion. */
#include "nameidx.h"

#include <errno.h>
#include <stdlib.h>

/* FNV-1a is weak in its low bits for short, similar names: mix before masking */
static uint64_t nameidx_home(const struct nameidx *x, uint64_t h)
{
	h ^= h >> 33;
	h *= UINT64_C(0xff51afd7ed558ccd);
	h ^= h >> 33;
	return h & (x->cap - 1);
}

void nameidx_init(struct nameidx *x)
{
	x->ents = NULL;
	x->cap = x->count = 0;
}

void nameidx_free(struct nameidx *x)
{
	free(x->ents);
	nameidx_init(x);
}

static void nameidx_insert_raw(struct nameidx *x, uint64_t hash, uint32_t slot1)
{
	uint64_t i = nameidx_home(x, hash);

	while (x->ents[i].slot1 != 0)
		i = (i + 1) & (x->cap - 1);
	x->ents[i].hash = hash;
	x->ents[i].slot1 = slot1;
}

int nameidx_reserve(struct nameidx *x, uint64_t n)
{
	struct nameidx_ent *old = x->ents;
	uint64_t old_cap = x->cap, cap = x->cap ? x->cap : 64;

	while ((x->count + n) * 2 > cap)
		cap *= 2;
	if (cap == x->cap)
		return 0;
	if (!(x->ents = calloc(cap, sizeof(*x->ents)))) {
		x->ents = old;
		return -ENOMEM;
	}
	x->cap = cap;
	for (uint64_t i = 0; i < old_cap; i++)
		if (old[i].slot1)
			nameidx_insert_raw(x, old[i].hash, old[i].slot1);
	free(old);
	return 0;
}

void nameidx_add(struct nameidx *x, uint64_t hash, uint32_t slot)
{
	nameidx_insert_raw(x, hash, slot + 1);
	x->count++;
}

void nameidx_del(struct nameidx *x, uint64_t hash, uint32_t slot)
{
	uint64_t mask = x->cap - 1, i, j;

	if (x->cap == 0)
		return;
	for (i = nameidx_home(x, hash);; i = (i + 1) & mask) {
		if (x->ents[i].slot1 == 0)
			return;
		if (x->ents[i].slot1 == slot + 1 && x->ents[i].hash == hash)
			break;
	}
	/* backward shift: move later entries of the run into the gap when
	 * their home bucket does not lie cyclically in (i, j] */
	for (j = (i + 1) & mask; x->ents[j].slot1 != 0; j = (j + 1) & mask) {
		uint64_t home = nameidx_home(x, x->ents[j].hash);
		if (((j - home) & mask) >= ((j - i) & mask)) {
			x->ents[i] = x->ents[j];
			i = j;
		}
	}
	x->ents[i].slot1 = 0;
	x->count--;
}

int nameidx_next(const struct nameidx *x, uint64_t hash, uint64_t *pos, uint32_t *slot)
{
	uint64_t mask = x->cap - 1, i;

	if (x->cap == 0)
		return 0;
	/* *pos counts buckets probed from the home bucket */
	for (i = (nameidx_home(x, hash) + *pos) & mask; *pos <= mask; i = (i + 1) & mask) {
		const struct nameidx_ent *e = &x->ents[i];
		if (e->slot1 == 0)
			return 0;
		++*pos;
		if (e->hash == hash) {
			*slot = e->slot1 - 1;
			return 1;
		}
	}
	return 0;
}
