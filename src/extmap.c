/* SPDX-License-Identifier: BSD-3-Clause */
/* Object extent index -> pool extent index: linear probing, backward-shift deletion. */
#include "extmap.h"

#include <errno.h>
#include <stdlib.h>

static uint64_t extmap_hash(uint64_t k)
{
	k ^= k >> 33;
	k *= UINT64_C(0xff51afd7ed558ccd);
	k ^= k >> 33;
	return k;
}

void extmap_init(struct extmap *m)
{
	m->keys = m->vals = NULL;
	m->cap = m->count = 0;
}

void extmap_free(struct extmap *m)
{
	free(m->keys);
	free(m->vals);
	extmap_init(m);
}

uint64_t extmap_get(const struct extmap *m, uint64_t key)
{
	if (m->cap == 0)
		return EXTMAP_NONE;
	for (uint64_t i = extmap_hash(key) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
		if (m->keys[i] == 0)
			return EXTMAP_NONE;
		if (m->keys[i] == key + 1)
			return m->vals[i];
	}
}

static void extmap_insert_raw(struct extmap *m, uint64_t k1, uint64_t val)
{
	uint64_t i = extmap_hash(k1 - 1) & (m->cap - 1);

	while (m->keys[i] != 0 && m->keys[i] != k1)
		i = (i + 1) & (m->cap - 1);
	if (m->keys[i] == 0)
		m->count++;
	m->keys[i] = k1;
	m->vals[i] = val;
}

int extmap_reserve(struct extmap *m, uint64_t n)
{
	uint64_t need = m->count + n, cap = m->cap ? m->cap : 16;
	struct extmap grown;

	while (need * 4 > cap * 3) /* keep the load factor at most 3/4 */
		cap *= 2;
	if (cap == m->cap)
		return 0;
	grown.keys = calloc(cap, sizeof(uint64_t));
	grown.vals = calloc(cap, sizeof(uint64_t));
	if (!grown.keys || !grown.vals) {
		free(grown.keys);
		free(grown.vals);
		return -ENOMEM;
	}
	grown.cap = cap;
	grown.count = 0;
	for (uint64_t i = 0; i < m->cap; i++)
		if (m->keys[i])
			extmap_insert_raw(&grown, m->keys[i], m->vals[i]);
	free(m->keys);
	free(m->vals);
	*m = grown;
	return 0;
}

void extmap_put(struct extmap *m, uint64_t key, uint64_t val)
{
	extmap_insert_raw(m, key + 1, val);
}

uint64_t extmap_del(struct extmap *m, uint64_t key)
{
	uint64_t i, j, val;

	if (m->cap == 0)
		return EXTMAP_NONE;
	for (i = extmap_hash(key) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
		if (m->keys[i] == 0)
			return EXTMAP_NONE;
		if (m->keys[i] == key + 1)
			break;
	}
	val = m->vals[i];
	m->keys[i] = 0;
	m->count--;
	/* shift back later members of the probe run so lookups still find them */
	for (j = (i + 1) & (m->cap - 1); m->keys[j] != 0; j = (j + 1) & (m->cap - 1)) {
		uint64_t home = extmap_hash(m->keys[j] - 1) & (m->cap - 1);
		/* move j to i if its home is not in the cyclic range (i, j] */
		if ((j > i && (home <= i || home > j)) || (j < i && (home <= i && home > j))) {
			m->keys[i] = m->keys[j];
			m->vals[i] = m->vals[j];
			m->keys[j] = 0;
			i = j;
		}
	}
	return val;
}
