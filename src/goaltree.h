/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Placement of new objects: the goals (pool extent index of object extent
 * 0) of the live objects, in a treap ordered by (goal, slot) whose nodes
 * also keep, for their subtree, the smallest and largest goal and the
 * widest gap between consecutive goals (the leftmost of equal ones). The
 * goal of a new object, the middle of the widest gap (or 0 when no object
 * starts there), is then read at the root instead of sorting every goal.
 * Nodes are indexed by object slot. Not thread-safe: the object table's
 * lock protects it.
 */
#ifndef DAXMAP_GOALTREE_H
#define DAXMAP_GOALTREE_H

#include <stdint.h>

struct goalnode {
	uint64_t goal;
	uint64_t min, max;          /* of the subtree */
	uint64_t best_lo, best_len; /* widest gap inside the subtree (best_len 0: none) */
	uint32_t left, right;       /* slot + 1 of the children, 0 for none */
	uint32_t prio;
	int used;
};

struct goaltree {
	struct goalnode *nodes; /* by slot */
	uint32_t cap;
	uint32_t root; /* slot + 1, 0 when empty */
	uint64_t count;
	uint64_t rng;
};

void goaltree_init(struct goaltree *t);
void goaltree_free(struct goaltree *t);
/* Makes room for a node of `slot`, so that goaltree_insert of it cannot fail. -ENOMEM. */
int goaltree_reserve(struct goaltree *t, uint32_t slot);
/* Adds the goal of `slot` (not in the tree; reserved). */
void goaltree_insert(struct goaltree *t, uint32_t slot, uint64_t goal);
/* Removes the goal of `slot` if it is in the tree. */
void goaltree_remove(struct goaltree *t, uint32_t slot);
/*
 * The goal for a new object in a pool of `nextents` extents: 0 when there
 * are no goals, else the gaps are taken in address order, [0, min goal)
 * first (its goal is 0), then between consecutive goals, then [max goal,
 * nextents); the first widest one wins and gives its middle.
 */
uint64_t goaltree_pick(const struct goaltree *t, uint64_t nextents);

#endif
