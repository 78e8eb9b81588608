/* SPDX-License-Identifier: BSD-3-Clause */
/* The goals of live objects: a treap with the widest gap kept per subtree. */
#include "goaltree.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define N(t, i) (&(t)->nodes[(i) - 1])

void goaltree_init(struct goaltree *t)
{
	memset(t, 0, sizeof(*t));
	t->rng = UINT64_C(0x9e3779b97f4a7c15);
}

void goaltree_free(struct goaltree *t)
{
	free(t->nodes);
	goaltree_init(t);
}

int goaltree_reserve(struct goaltree *t, uint32_t slot)
{
	uint32_t cap = t->cap ? t->cap : 64;
	struct goalnode *n;

	if (slot < t->cap)
		return 0;
	while (cap <= slot)
		cap = cap * 2 > cap ? cap * 2 : UINT32_MAX;
	if (!(n = realloc(t->nodes, (size_t)cap * sizeof(*n))))
		return -ENOMEM;
	memset(n + t->cap, 0, (size_t)(cap - t->cap) * sizeof(*n));
	t->nodes = n;
	t->cap = cap;
	return 0;
}

/* (goal, slot) of node a before that of node b */
static int goaltree_less(const struct goaltree *t, uint32_t a, uint32_t b)
{
	const struct goalnode *x = N(t, a), *y = N(t, b);
	return x->goal != y->goal ? x->goal < y->goal : a < b;
}

/* a gap [lo, lo+len) replaces the best so far only when strictly wider:
 * candidates come in address order, so the leftmost widest wins */
static void goaltree_consider(struct goalnode *n, uint64_t lo, uint64_t len)
{
	if (len > n->best_len) {
		n->best_len = len;
		n->best_lo = lo;
	}
}

static void goaltree_pull(struct goaltree *t, uint32_t i)
{
	struct goalnode *n = N(t, i);

	n->min = n->max = n->goal;
	n->best_len = 0;
	n->best_lo = 0;
	if (n->left) {
		const struct goalnode *l = N(t, n->left);
		n->min = l->min;
		goaltree_consider(n, l->best_lo, l->best_len);
		goaltree_consider(n, l->max, n->goal - l->max);
	}
	if (n->right) {
		const struct goalnode *r = N(t, n->right);
		goaltree_consider(n, n->goal, r->min - n->goal);
		goaltree_consider(n, r->best_lo, r->best_len);
		n->max = r->max;
	}
}

/* Splits tree `root` into keys before node k (*l) and the rest (*r). */
static void goaltree_split(struct goaltree *t, uint32_t root, uint32_t k, uint32_t *l, uint32_t *r)
{
	if (!root) {
		*l = *r = 0;
		return;
	}
	if (goaltree_less(t, root, k)) {
		goaltree_split(t, N(t, root)->right, k, &N(t, root)->right, r);
		*l = root;
	} else {
		goaltree_split(t, N(t, root)->left, k, l, &N(t, root)->left);
		*r = root;
	}
	goaltree_pull(t, root);
}

/* Joins trees a and b, every key of a before every key of b. */
static uint32_t goaltree_merge(struct goaltree *t, uint32_t a, uint32_t b)
{
	if (!a || !b)
		return a ? a : b;
	if (N(t, a)->prio > N(t, b)->prio) {
		N(t, a)->right = goaltree_merge(t, N(t, a)->right, b);
		goaltree_pull(t, a);
		return a;
	}
	N(t, b)->left = goaltree_merge(t, a, N(t, b)->left);
	goaltree_pull(t, b);
	return b;
}

void goaltree_insert(struct goaltree *t, uint32_t slot, uint64_t goal)
{
	uint32_t i = slot + 1, l, r;
	struct goalnode *n = N(t, i);

	t->rng ^= t->rng << 13;
	t->rng ^= t->rng >> 7;
	t->rng ^= t->rng << 17;
	memset(n, 0, sizeof(*n));
	n->goal = goal;
	n->prio = (uint32_t)(t->rng >> 32);
	n->used = 1;
	goaltree_pull(t, i);
	goaltree_split(t, t->root, i, &l, &r);
	t->root = goaltree_merge(t, goaltree_merge(t, l, i), r);
	t->count++;
}

/* Removes node i from the subtree at *root (i is in it). */
static void goaltree_unlink(struct goaltree *t, uint32_t *root, uint32_t i)
{
	if (*root == i) {
		*root = goaltree_merge(t, N(t, i)->left, N(t, i)->right);
		return;
	}
	goaltree_unlink(t, goaltree_less(t, i, *root) ? &N(t, *root)->left : &N(t, *root)->right,
			i);
	goaltree_pull(t, *root);
}

void goaltree_remove(struct goaltree *t, uint32_t slot)
{
	if (slot >= t->cap || !t->nodes[slot].used)
		return;
	goaltree_unlink(t, &t->root, slot + 1);
	t->nodes[slot].used = 0;
	t->count--;
}

uint64_t goaltree_pick(const struct goaltree *t, uint64_t nextents)
{
	const struct goalnode *root;
	uint64_t goal = 0, best = 0;

	if (!t->root)
		return 0;
	root = N(t, t->root);
	/* [0, min) has no object at its start: the new one goes there, unless a
	 * wider gap exists further on */
	if (root->min > 0)
		best = root->min;
	if (root->best_len > best) {
		best = root->best_len;
		goal = root->best_lo + root->best_len / 2;
	}
	if (nextents > root->max && nextents - root->max > best)
		goal = root->max + (nextents - root->max) / 2;
	return goal;
}
