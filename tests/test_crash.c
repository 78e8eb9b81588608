/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Crash emulation: every persistence point of create, first-touch
 * allocation, grow, shrink, punch hole, zero range and unlink is a crash
 * point, and every crash image must open and hold, for every object, its
 * old or its new state (doc/DESIGN.md, "Crash consistency: how it is
 * tested").
 *
 * How: each scenario runs in a child (this program exec'd again with
 * --child). The child sets a pool up, makes everything durable, then
 * installs the library's crash-test hook (src/crashtest.h) and runs the
 * operation. The hook sees each persist before it happens: it records the
 * crash state at that instant (the shadow durable image, plus every 64-byte
 * line where the live pool differs from it, with its live contents), then
 * applies the persisted range (whole pages: msync) to the shadow. The parent
 * replays that record and, for each point, writes crash images: the shadow
 * plus none, all, and random subsets of the differing lines (lines that the
 * hardware may have evicted, or pages the kernel may have written back), and
 * checks each with the normal library. A few children are also really
 * "crashed" (_exit at a chosen point, writing that image themselves), and
 * their images are checked the same way.
 *
 * Every scenario runs twice: on objects made of extents (a pool of 64 KiB
 * extents, format version 2), and on objects made of blocks (DAXMAP_SMALL
 * in a pool of 128 KiB extents, format version 3: the same 64 KiB unit, so
 * the same expectations, but the units are blocks carved from split
 * extents, and the checks read the block table).
 */
#define _GNU_SOURCE
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "crashtest.h"
#include "layout.h"

#ifdef DAXMAP_CRASHTEST /* else only main(), which reports the test skipped */

#define KiB (UINT64_C(1) << 10)
#define MiB (UINT64_C(1) << 20)
#define E (64 * KiB) /* the objects' unit: the pools' extent, or (blocks) their block */
/* 1: objects made of blocks, the pool's extents 2 * E (DAXMAP_CRASH_BLOCKS=1,
 * which the parent sets for the children of the second pass) */
static int blocks;
#define PE (blocks ? 2 * E : E) /* the pools' extent size */
#define OCREATE (DAXMAP_CREATE | DAXMAP_EXCL | (blocks ? DAXMAP_SMALL : 0))
#define POOLSZ (16 * MiB)
#define POOLMAX (2 * POOLSZ) /* the pools may grow to this; "poolgrow" does */
#define MAXOBJ 32u
#define MAXEXT 256 /* object extents the checker tracks per object */
#define LINE 64u
#define PAGE 4096u
#define MAXMETA 16 /* dirty metadata words tried one by one per crash point */
#define RW (DAXMAP_PROT_READ | DAXMAP_PROT_WRITE)

/* the intent log area (src/log.h): LOG_RECORDS records of 64 bytes, op first */
#define LOG_NREC 64u

static uint64_t page_up(uint64_t x)
{
	return (x + PAGE - 1) & ~(uint64_t)(PAGE - 1);
}

static uint64_t mix(uint64_t h)
{
	h ^= h >> 31;
	h *= UINT64_C(0x7fb5d329728ea185);
	h ^= h >> 27;
	h *= UINT64_C(0x81dadef4bc2dd44d);
	h ^= h >> 33;
	return h;
}

/* ---- data patterns ----------------------------------------------------- */

/*
 * Byte x of data with tag t: never zero, different for every tag and
 * offset, so a byte that is neither zero nor what this object wrote there
 * (stale data, another object's data) is caught.
 */
static uint8_t pat(unsigned tag, uint64_t x)
{
	uint64_t h = mix((x >> 3) * UINT64_C(0x9e3779b97f4a7c15) ^ ((uint64_t)tag << 48));
	uint8_t v = (uint8_t)(h >> ((x & 7) * 8));
	return v ? v : (uint8_t)tag | 1;
}

enum tag {
	T_KEEP = 1, /* bystander object of every scenario */
	T_FRESH,
	T_TOUCH,
	T_GROW,
	T_SHRINK,
	T_PUNCH,
	T_ZERO,
	T_UNLINK,
	T_VICTIM,
	T_JUNK, /* stored past EOF in the last page */
	T_PWRITE,
	T_PGROW,
	T_MAX
};

#define PATLEN (8 * E)
static uint8_t *patbuf[T_MAX]; /* pat(t, x) for x < PATLEN, built on demand */

static const uint8_t *patterns(unsigned tag)
{
	if (!patbuf[tag]) {
		patbuf[tag] = malloc(PATLEN);
		if (!patbuf[tag])
			abort();
		for (uint64_t x = 0; x < PATLEN; x++)
			patbuf[tag][x] = pat(tag, x);
	}
	return patbuf[tag];
}

/* ---- expected states ---------------------------------------------------- */

enum { R_PAT = 1, R_PAT_OR_ZERO };

struct region {
	uint64_t lo, hi;
	int kind;     /* R_PAT: exactly the pattern; R_PAT_OR_ZERO: each byte either */
	unsigned tag; /* elsewhere every byte of the object's extents must be zero */
};

/* One acceptable state of an object, valid while the scenario's stage (how
 * many of its steps had returned at the crash) is in [stage_lo, stage_hi]. */
struct version {
	int stage_lo, stage_hi;
	int exists;
	uint64_t size;
	uint64_t req[MAXEXT / 64], opt[MAXEXT / 64]; /* extents that must / may be allocated */
	int nreg;
	struct region reg[4];
};

struct objexp {
	const char *name;
	int nv;
	struct version v[4];
};

struct expect {
	int nobj;
	struct objexp obj[6];
};

static struct objexp *exp_obj(struct expect *x, const char *name)
{
	struct objexp *o = &x->obj[x->nobj++];
	memset(o, 0, sizeof(*o));
	o->name = name;
	return o;
}

static struct version *exp_ver(struct objexp *o, int stage_lo, int stage_hi, int exists,
			       uint64_t size)
{
	struct version *v = &o->v[o->nv++];
	memset(v, 0, sizeof(*v));
	v->stage_lo = stage_lo;
	v->stage_hi = stage_hi;
	v->exists = exists;
	v->size = size;
	return v;
}

/* extents [lo, hi) must be allocated (req) or may be (opt) */
static void ver_ext(struct version *v, uint64_t lo, uint64_t hi, int required)
{
	for (uint64_t e = lo; e < hi; e++) {
		if (required)
			v->req[e / 64] |= UINT64_C(1) << (e % 64);
		v->opt[e / 64] |= UINT64_C(1) << (e % 64);
	}
}

static void ver_reg(struct version *v, uint64_t lo, uint64_t hi, int kind, unsigned tag)
{
	v->reg[v->nreg++] = (struct region){lo, hi, kind, tag};
}

/* An object that is the same in every state: size, extents [0, next), tag data to size. */
static void exp_const(struct expect *x, const char *name, uint64_t size, uint64_t next,
		      unsigned tag)
{
	struct version *v = exp_ver(exp_obj(x, name), 0, 99, 1, size);
	ver_ext(v, 0, next, 1);
	if (tag)
		ver_reg(v, 0, size, R_PAT, tag);
}

/* ---- scenarios ---------------------------------------------------------- */

#define KEEP_SIZE (2 * E + 777)
#define TOUCH_A_LO (E + 100)
#define TOUCH_A_HI (E + 5000)
#define GROW_OLD (E + 3000)
#define GROW_NEW (3 * E + 500)
#define SHRINK_OLD (4 * E - 100)
#define SHRINK_NEW (E + 3000)
#define PUNCH_SIZE (5 * E)
#define PUNCH_LO (E / 2)
#define PUNCH_HI (3 * E + E / 2)
#define ZERO_SIZE (3 * E)
#define ZERO_LO (E - 1000)
#define ZERO_END (4 * E - 1000)
#define UNLINK_SIZE (3 * E + 10)
#define VICTIM_SIZE (4 * E)
#define PWRITE_OLD (E + 3000)
#define PWRITE_LO (page_up(PWRITE_OLD) + 100)
#define PWRITE_HI (3 * E + 700)

struct child {
	daxmap_pool *pool;
	char path[600];
};

#define CK(expr)                                                                                   \
	do {                                                                                       \
		int ck_ret_ = (expr);                                                              \
		if (ck_ret_ < 0) {                                                                 \
			fprintf(stderr, "child: %s:%d: %s = %d: %s\n", __FILE__, __LINE__, #expr,  \
				ck_ret_, daxmap_errormsg());                                       \
			_exit(2);                                                                  \
		}                                                                                  \
	} while (0)

static void ct_mark(void);
static void ct_slow_zeroing(void);
static int ct_real_crash(void);

/* Writes tag data over [lo, hi) of a mapping at a (object offset 0). */
static void fill(uint8_t *a, uint64_t lo, uint64_t hi, unsigned tag)
{
	const uint8_t *p = patterns(tag);
	memcpy(a + lo, p + lo, hi - lo);
}

/* Object `name` of `size` bytes holding tag data, durable. */
static void mkobj(struct child *c, const char *name, uint64_t size, unsigned tag)
{
	daxmap_obj *o;
	uint8_t *a;

	CK(daxmap_obj_open(&o, c->pool, name, OCREATE));
	CK(daxmap_obj_truncate(o, size));
	if (tag && size) {
		CK(daxmap_map((void **)&a, o, 0, page_up(size), RW));
		fill(a, 0, size, tag);
		CK(daxmap_persist(a, page_up(size)));
		CK(daxmap_unmap(a, page_up(size)));
	}
	CK(daxmap_obj_close(o));
}

/* Writes tag data over [lo, hi) of object `name` again, durably. */
static void refill(struct child *c, const char *name, uint64_t lo, uint64_t hi, unsigned tag)
{
	daxmap_obj *o;
	uint8_t *a;

	CK(daxmap_obj_open(&o, c->pool, name, 0));
	CK(daxmap_map((void **)&a, o, 0, page_up(hi), RW));
	fill(a, lo, hi, tag);
	CK(daxmap_persist(a, page_up(hi)));
	CK(daxmap_unmap(a, page_up(hi)));
	CK(daxmap_obj_close(o));
}

static void op_create(struct child *c)
{
	daxmap_obj *o;
	CK(daxmap_obj_open(&o, c->pool, "new", OCREATE));
	CK(daxmap_obj_close(o));
	ct_mark();
}

static void exp_create(struct expect *x, uint64_t nextents)
{
	struct objexp *o = exp_obj(x, "new");
	(void)nextents;
	exp_ver(o, 0, 0, 0, 0);
	exp_ver(o, 0, 1, 1, 0);
}

static void setup_touch(struct child *c)
{
	mkobj(c, "t", E, T_TOUCH);
	daxmap_obj *o;
	CK(daxmap_obj_open(&o, c->pool, "t", 0));
	CK(daxmap_obj_truncate(o, 4 * E));
	CK(daxmap_obj_close(o));
}

static void op_touch(struct child *c)
{
	daxmap_obj *o;
	uint8_t *a;

	CK(daxmap_obj_open(&o, c->pool, "t", 0));
	CK(daxmap_map((void **)&a, o, 0, 4 * E, RW));
	/* first touches of two holes: two allocations, then the data, then persist */
	fill(a, TOUCH_A_LO, TOUCH_A_HI, T_TOUCH);
	fill(a, 2 * E, 3 * E, T_TOUCH);
	CK(daxmap_persist(a + E, 2 * E));
	ct_mark();
	CK(daxmap_unmap(a, 4 * E));
	CK(daxmap_obj_close(o));
}

static void exp_touch(struct expect *x, uint64_t nextents)
{
	struct objexp *o = exp_obj(x, "t");
	struct version *v;
	(void)nextents;
	/* before the persist returned: either extent may be there, data may be partial */
	v = exp_ver(o, 0, 0, 1, 4 * E);
	ver_ext(v, 0, 1, 1);
	ver_ext(v, 1, 3, 0);
	ver_reg(v, 0, E, R_PAT, T_TOUCH);
	ver_reg(v, TOUCH_A_LO, TOUCH_A_HI, R_PAT_OR_ZERO, T_TOUCH);
	ver_reg(v, 2 * E, 3 * E, R_PAT_OR_ZERO, T_TOUCH);
	v = exp_ver(o, 0, 1, 1, 4 * E);
	ver_ext(v, 0, 3, 1);
	ver_reg(v, 0, E, R_PAT, T_TOUCH);
	ver_reg(v, TOUCH_A_LO, TOUCH_A_HI, R_PAT, T_TOUCH);
	ver_reg(v, 2 * E, 3 * E, R_PAT, T_TOUCH);
}

/* Object `name` of `size` bytes of tag data, with junk stored past EOF in
 * its last page: a grow must make it read zero. */
static void mkobj_junk_tail(struct child *c, const char *name, uint64_t size, unsigned tag)
{
	daxmap_obj *o;
	uint8_t *a;

	mkobj(c, name, size, tag);
	CK(daxmap_obj_open(&o, c->pool, name, 0));
	CK(daxmap_map((void **)&a, o, 0, page_up(size), RW));
	fill(a, size, page_up(size), T_JUNK);
	CK(daxmap_persist(a, page_up(size)));
	CK(daxmap_unmap(a, page_up(size)));
	CK(daxmap_obj_close(o));
}

static void setup_grow(struct child *c)
{
	mkobj_junk_tail(c, "g", GROW_OLD, T_GROW);
}

static void op_grow(struct child *c)
{
	daxmap_obj *o;
	CK(daxmap_obj_open(&o, c->pool, "g", 0));
	CK(daxmap_obj_truncate(o, GROW_NEW));
	ct_mark();
	CK(daxmap_obj_close(o));
}

static void exp_grow(struct expect *x, uint64_t nextents)
{
	struct objexp *o = exp_obj(x, "g");
	struct version *v;
	(void)nextents;
	v = exp_ver(o, 0, 0, 1, GROW_OLD);
	ver_ext(v, 0, 2, 1);
	ver_reg(v, 0, GROW_OLD, R_PAT, T_GROW);
	ver_reg(v, GROW_OLD, page_up(GROW_OLD), R_PAT_OR_ZERO, T_JUNK);
	v = exp_ver(o, 0, 1, 1, GROW_NEW);
	ver_ext(v, 0, 2, 1);
	ver_reg(v, 0, GROW_OLD, R_PAT, T_GROW);
}

static void op_truncate(struct child *c, const char *name, uint64_t size)
{
	daxmap_obj *o;
	CK(daxmap_obj_open(&o, c->pool, name, 0));
	CK(daxmap_obj_truncate(o, size));
	ct_mark();
	CK(daxmap_obj_close(o));
}

/*
 * The setups of shrink, punch and zero range run the same kind of operation
 * on the object once before, with other arguments, and then restore its
 * data: the log record that the operation under test reuses held that
 * earlier, completed operation.
 */
static void setup_shrink(struct child *c)
{
	daxmap_obj *o;

	mkobj(c, "s", SHRINK_OLD, T_SHRINK);
	CK(daxmap_obj_open(&o, c->pool, "s", 0));
	CK(daxmap_obj_truncate(o, E / 2));
	CK(daxmap_obj_truncate(o, SHRINK_OLD));
	CK(daxmap_obj_close(o));
	refill(c, "s", E / 2, SHRINK_OLD, T_SHRINK);
}

static void op_shrink(struct child *c)
{
	op_truncate(c, "s", SHRINK_NEW);
}

static void exp_shrink(struct expect *x, uint64_t nextents)
{
	struct objexp *o = exp_obj(x, "s");
	struct version *v;
	(void)nextents;
	v = exp_ver(o, 0, 0, 1, SHRINK_OLD);
	ver_ext(v, 0, 4, 1);
	ver_reg(v, 0, SHRINK_OLD, R_PAT, T_SHRINK);
	/* new: the rest of the last extent reads zero (it shows if the object grows) */
	v = exp_ver(o, 0, 1, 1, SHRINK_NEW);
	ver_ext(v, 0, 2, 1);
	ver_reg(v, 0, SHRINK_NEW, R_PAT, T_SHRINK);
}

static void setup_punch(struct child *c)
{
	daxmap_obj *o;

	mkobj(c, "p", PUNCH_SIZE, T_PUNCH);
	CK(daxmap_obj_open(&o, c->pool, "p", 0));
	CK(daxmap_obj_punch_hole(o, 4 * E, E / 2));
	CK(daxmap_obj_close(o));
	refill(c, "p", 4 * E, 4 * E + E / 2, T_PUNCH);
}

static void op_punch(struct child *c)
{
	daxmap_obj *o;
	CK(daxmap_obj_open(&o, c->pool, "p", 0));
	CK(daxmap_obj_punch_hole(o, PUNCH_LO, PUNCH_HI - PUNCH_LO));
	ct_mark();
	CK(daxmap_obj_close(o));
}

static void exp_punch(struct expect *x, uint64_t nextents)
{
	struct objexp *o = exp_obj(x, "p");
	struct version *v;
	(void)nextents;
	v = exp_ver(o, 0, 0, 1, PUNCH_SIZE);
	ver_ext(v, 0, 5, 1);
	ver_reg(v, 0, PUNCH_SIZE, R_PAT, T_PUNCH);
	v = exp_ver(o, 0, 1, 1, PUNCH_SIZE);
	ver_ext(v, 0, 1, 1);
	ver_ext(v, 3, 5, 1);
	ver_reg(v, 0, PUNCH_LO, R_PAT, T_PUNCH);
	ver_reg(v, PUNCH_HI, PUNCH_SIZE, R_PAT, T_PUNCH);
}

static void setup_zero(struct child *c)
{
	daxmap_obj *o;

	mkobj(c, "z", ZERO_SIZE, T_ZERO);
	CK(daxmap_obj_open(&o, c->pool, "z", 0));
	CK(daxmap_obj_zero_range(o, 2 * E, 100));
	CK(daxmap_obj_close(o));
	refill(c, "z", 2 * E, 2 * E + 100, T_ZERO);
}

static void op_zero(struct child *c)
{
	daxmap_obj *o;
	CK(daxmap_obj_open(&o, c->pool, "z", 0));
	/* crosses EOF: zeroes in place up to EOF, then extends the size */
	CK(daxmap_obj_zero_range(o, ZERO_LO, ZERO_END - ZERO_LO));
	ct_mark();
	CK(daxmap_obj_close(o));
}

static void exp_zero(struct expect *x, uint64_t nextents)
{
	struct objexp *o = exp_obj(x, "z");
	struct version *v;
	(void)nextents;
	v = exp_ver(o, 0, 0, 1, ZERO_SIZE);
	ver_ext(v, 0, 3, 1);
	ver_reg(v, 0, ZERO_SIZE, R_PAT, T_ZERO);
	/* zeroed in place, not yet extended: the operation has two steps */
	v = exp_ver(o, 0, 0, 1, ZERO_SIZE);
	ver_ext(v, 0, 3, 1);
	ver_reg(v, 0, ZERO_LO, R_PAT, T_ZERO);
	v = exp_ver(o, 0, 1, 1, ZERO_END);
	ver_ext(v, 0, 3, 1);
	ver_reg(v, 0, ZERO_LO, R_PAT, T_ZERO);
}

static void setup_unlink(struct child *c)
{
	mkobj(c, "u", UNLINK_SIZE, T_UNLINK);
}

static void op_unlink(struct child *c)
{
	CK(daxmap_obj_unlink(c->pool, "u"));
	ct_mark();
}

static void exp_unlink(struct expect *x, uint64_t nextents)
{
	struct objexp *o = exp_obj(x, "u");
	struct version *v;
	(void)nextents;
	v = exp_ver(o, 0, 0, 1, UNLINK_SIZE);
	ver_ext(v, 0, 4, 1);
	ver_reg(v, 0, UNLINK_SIZE, R_PAT, T_UNLINK);
	exp_ver(o, 0, 1, 0, 0);
}

/*
 * Reuse: the pool is full; an object full of data is unlinked and a new
 * one is written at once, so it gets the freed extents (zeroed by the
 * zeroer, or by the fault path when none is zeroed yet). Its bytes must
 * never show the old object's data.
 */
#define REUSE_OTHER (3 + 4) /* extents of keep and victim */

static void setup_reuse(struct child *c)
{
	struct daxmap_pool_stat st;
	daxmap_obj *o;

	mkobj(c, "victim", VICTIM_SIZE, T_VICTIM);
	mkobj(c, "fresh", 0, 0);
	CK(daxmap_pool_stat(c->pool, &st));
	CK(daxmap_obj_open(&o, c->pool, "filler", OCREATE));
	/* blocks: also the free blocks of the extents keep and victim split */
	CK(daxmap_obj_allocate(o, 0, st.free + st.blocks_split - st.blocks_used));
	CK(daxmap_obj_close(o));
	CK(daxmap_pool_stat(c->pool, &st));
	if (st.free != 0 || st.used / E != st.data_size / E || st.data_size / E - REUSE_OTHER > MAXEXT ||
	    st.blocks_used != st.blocks_split) {
		fprintf(stderr, "child: reuse setup: pool not full as planned\n");
		_exit(2);
	}
}

static void op_reuse(struct child *c)
{
	daxmap_obj *o;
	uint8_t *a;

	struct daxmap_pool_stat st;

	ct_slow_zeroing();
	CK(daxmap_obj_unlink(c->pool, "victim"));
	ct_mark();
	CK(daxmap_obj_open(&o, c->pool, "fresh", 0));
	CK(daxmap_obj_truncate(o, VICTIM_SIZE));
	CK(daxmap_map((void **)&a, o, 0, VICTIM_SIZE, RW));
	fill(a, 0, VICTIM_SIZE, T_FRESH);
	CK(daxmap_persist(a, VICTIM_SIZE));
	ct_mark();
	CK(daxmap_unmap(a, VICTIM_SIZE));
	CK(daxmap_obj_close(o));
	CK(daxmap_pool_stat(c->pool, &st));
	if (!ct_real_crash())
		printf("\n  reuse: %llu of %llu bytes zeroed on the fault path",
		       (unsigned long long)st.bytes_zeroed_fault, (unsigned long long)VICTIM_SIZE);
}

static void exp_reuse(struct expect *x, uint64_t nextents)
{
	struct objexp *o;
	struct version *v;

	exp_const(x, "filler", (nextents - REUSE_OTHER) * E, nextents - REUSE_OTHER, 0);
	o = exp_obj(x, "victim");
	v = exp_ver(o, 0, 0, 1, VICTIM_SIZE);
	ver_ext(v, 0, 4, 1);
	ver_reg(v, 0, VICTIM_SIZE, R_PAT, T_VICTIM);
	exp_ver(o, 0, 2, 0, 0);
	o = exp_obj(x, "fresh");
	exp_ver(o, 0, 1, 1, 0);
	v = exp_ver(o, 1, 1, 1, VICTIM_SIZE);
	ver_ext(v, 0, 4, 0);
	ver_reg(v, 0, VICTIM_SIZE, R_PAT_OR_ZERO, T_FRESH);
	v = exp_ver(o, 1, 2, 1, VICTIM_SIZE);
	ver_ext(v, 0, 4, 1);
	ver_reg(v, 0, VICTIM_SIZE, R_PAT, T_FRESH);
}

/*
 * pwrite: a DAXMAP_DSYNC write past EOF into two holes (two allocations,
 * the data, then the size); stores past EOF in the old last page must read
 * zero once the size covers them, and the size never covers bytes that
 * are not yet durable.
 */
static void setup_pwrite(struct child *c)
{
	mkobj_junk_tail(c, "w", PWRITE_OLD, T_PWRITE);
}

/* pwrite of the tag's pattern over [lo, hi), DAXMAP_DSYNC; a failure ends the child */
static void ck_pwrite(daxmap_obj *o, unsigned tag, uint64_t lo, uint64_t hi)
{
	if (daxmap_obj_pwrite(o, patterns(tag) + lo, hi - lo, lo, DAXMAP_DSYNC) !=
	    (ssize_t)(hi - lo)) {
		fprintf(stderr, "child: pwrite: %s\n", daxmap_errormsg());
		_exit(2);
	}
}

static void op_pwrite(struct child *c)
{
	daxmap_obj *o;

	CK(daxmap_obj_open(&o, c->pool, "w", 0));
	ck_pwrite(o, T_PWRITE, PWRITE_LO, PWRITE_HI);
	ct_mark();
	CK(daxmap_obj_close(o));
}

static void exp_pwrite(struct expect *x, uint64_t nextents)
{
	struct objexp *o = exp_obj(x, "w");
	struct version *v;
	(void)nextents;
	/* old size: the new extents may be allocated, their bytes zero or written */
	v = exp_ver(o, 0, 0, 1, PWRITE_OLD);
	ver_ext(v, 0, 2, 1);
	ver_ext(v, 2, 4, 0);
	ver_reg(v, 0, PWRITE_OLD, R_PAT, T_PWRITE);
	ver_reg(v, PWRITE_OLD, page_up(PWRITE_OLD), R_PAT_OR_ZERO, T_JUNK);
	ver_reg(v, PWRITE_LO, PWRITE_HI, R_PAT_OR_ZERO, T_PWRITE);
	/* new size: every written byte durable, the old tail zero */
	v = exp_ver(o, 0, 1, 1, PWRITE_HI);
	ver_ext(v, 0, 4, 1);
	ver_reg(v, 0, PWRITE_OLD, R_PAT, T_PWRITE);
	ver_reg(v, PWRITE_LO, PWRITE_HI, R_PAT, T_PWRITE);
}

/* A pool grown while full-ish; then an object written into the new space. */
#define PGROW_SIZE (2 * E + 100)
static void setup_poolgrow(struct child *c)
{
	(void)c;
}

static void op_poolgrow(struct child *c)
{
	daxmap_obj *o;

	CK(daxmap_pool_grow(c->pool, POOLMAX));
	ct_mark();
	CK(daxmap_obj_open(&o, c->pool, "g", OCREATE));
	ck_pwrite(o, T_PGROW, 0, PGROW_SIZE);
	ct_mark();
	CK(daxmap_obj_close(o));
}

static void exp_poolgrow(struct expect *x, uint64_t nextents)
{
	struct objexp *o = exp_obj(x, "g");
	struct version *v;
	(void)nextents;
	/* before the object's pwrite returned: none, empty, or being written */
	exp_ver(o, 0, 1, 0, 0);
	v = exp_ver(o, 1, 1, 1, 0); /* extents may be allocated before the size */
	ver_ext(v, 0, 3, 0);
	v = exp_ver(o, 1, 1, 1, PGROW_SIZE);
	ver_ext(v, 0, 3, 1);
	ver_reg(v, 0, PGROW_SIZE, R_PAT, T_PGROW);
	/* after: all of it */
	v = exp_ver(o, 2, 2, 1, PGROW_SIZE);
	ver_ext(v, 0, 3, 1);
	ver_reg(v, 0, PGROW_SIZE, R_PAT, T_PGROW);
}

struct scenario {
	const char *name;
	void (*setup)(struct child *c);
	void (*op)(struct child *c);
	void (*expect)(struct expect *x, uint64_t nextents);
};

static const struct scenario scenarios[] = {
	{"create", NULL, op_create, exp_create},
	{"touch", setup_touch, op_touch, exp_touch},
	{"grow", setup_grow, op_grow, exp_grow},
	{"shrink", setup_shrink, op_shrink, exp_shrink},
	{"punch", setup_punch, op_punch, exp_punch},
	{"zero", setup_zero, op_zero, exp_zero},
	{"unlink", setup_unlink, op_unlink, exp_unlink},
	{"reuse", setup_reuse, op_reuse, exp_reuse},
	{"pwrite", setup_pwrite, op_pwrite, exp_pwrite},
	{"poolgrow", setup_poolgrow, op_poolgrow, exp_poolgrow},
};
#define NSCEN (int)(sizeof(scenarios) / sizeof(scenarios[0]))

static void scenario_expect(int si, struct expect *x, uint64_t nextents)
{
	memset(x, 0, sizeof(*x));
	exp_const(x, "keep", KEEP_SIZE, 3, T_KEEP);
	scenarios[si].expect(x, nextents);
}

/* ---- which dirty bytes reach the crash image ------------------------------ */

/*
 * A crash image is the shadow plus some of the 8-byte words where the live
 * pool differed from it at the crash. Variant 0: none of them (only what
 * was persisted); 1: all; from 2 on, a random half, chosen by (variant - 2)
 * % 3 in units of cache lines (eviction), pages (kernel writeback of whole
 * dirty pages) or words (lines torn at 8-byte granularity; an aligned
 * 8-byte store itself is never torn). V_ONLY and V_ALLBUT take exactly one
 * metadata word `target`, or all but it: every way a metadata update can
 * be half-durable word by word, for the small updates that metadata makes.
 */
#define V_ONLY (-1)
#define V_ALLBUT (-2)

static int word_survives(uint64_t seed, uint64_t point, int variant, uint64_t target, uint64_t off)
{
	uint64_t unit;

	if (variant == V_ONLY)
		return off == target;
	if (variant == V_ALLBUT)
		return off != target;
	if (variant <= 1)
		return variant;
	switch ((variant - 2) % 3) {
	case 0:
		unit = off / LINE;
		break;
	case 1:
		unit = off / PAGE;
		break;
	default:
		unit = off / 8;
		break;
	}
	return (int)(mix(seed ^ mix(point * 1000 + (uint64_t)variant) ^ mix(unit + 0x5bd1e995)) & 1);
}

/* ---- the child: runs a scenario with the hook installed ------------------ */

struct rec {
	uint64_t type; /* 'S': shadow update, 'P': crash point, 'R': the file is a bytes long now */
	uint64_t a, b, c;
};

struct line {
	uint64_t off;
	uint8_t data[LINE];
};

static struct {
	pthread_mutex_t lock;
	char path[600], dir[512];
	char *shadow;
	size_t len;
	FILE *log;
	uint64_t points;
	uint64_t stage;
	struct line *lines;
	size_t nlines, cap;
	uint64_t crash_at, seed; /* real crash at this point, with this variant */
	int variant;
	pthread_t main_thread;
	_Atomic int slow_zeroing; /* delay extent zeroing off the main thread */
} ct = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void put(const void *p, size_t n)
{
	if (fwrite(p, 1, n, ct.log) != n) {
		perror("child: log write");
		_exit(2);
	}
}

/* Lines where the live pool differs from the shadow, with their live bytes. */
static void collect(const char *base)
{
	ct.nlines = 0;
	for (size_t pg = 0; pg < ct.len; pg += PAGE) {
		if (memcmp(ct.shadow + pg, base + pg, PAGE) == 0)
			continue;
		for (size_t l = pg; l < pg + PAGE; l += LINE) {
			if (memcmp(ct.shadow + l, base + l, LINE) == 0)
				continue;
			if (ct.nlines == ct.cap) {
				ct.cap = ct.cap ? 2 * ct.cap : 4096;
				ct.lines = realloc(ct.lines, ct.cap * sizeof(*ct.lines));
				if (!ct.lines)
					abort();
			}
			ct.lines[ct.nlines].off = l;
			memcpy(ct.lines[ct.nlines].data, base + l, LINE);
			ct.nlines++;
		}
	}
}

static int write_all(int fd, const void *p, size_t n, off_t off)
{
	while (n > 0) {
		ssize_t w = pwrite(fd, p, n, off);
		if (w <= 0)
			return -1;
		p = (const char *)p + w;
		n -= (size_t)w;
		off += w;
	}
	return 0;
}

/*
 * Builds the crash image in buf: the shadow, then the surviving differing
 * words over it. Returns a hash of the set of surviving words (images with
 * the same set are the same image).
 */
static uint64_t build_image(char *buf, const char *shadow, size_t len, const struct line *lines,
			    size_t nlines, uint64_t seed, uint64_t point, int variant, uint64_t target)
{
	uint64_t h = 0;

	memcpy(buf, shadow, len);
	for (size_t i = 0; i < nlines; i++)
		for (unsigned w = 0; w < LINE; w += 8) {
			uint64_t off = lines[i].off + w;
			if (memcmp(shadow + off, lines[i].data + w, 8) != 0 &&
			    word_survives(seed, point, variant, target, off)) {
				memcpy(buf + off, lines[i].data + w, 8);
				h += mix(off + 1);
			}
		}
	return h;
}

/* Writes the image file, overwritten in place (cheaper on tmpfs than a new file). */
static int write_image(const char *path, const char *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600), ret;

	if (fd < 0)
		return -1;
	ret = write_all(fd, buf, len, 0);
	if (ret == 0 && ftruncate(fd, (off_t)len) < 0)
		ret = -1;
	close(fd);
	return ret;
}

/* A crash point: record it (or, in a real-crash child, crash here). Under ct.lock. */
static void ct_point(const char *base)
{
	struct rec r;

	ct.points++;
	if (ct.crash_at && ct.points != ct.crash_at)
		return;
	collect(base);
	if (ct.crash_at) {
		char img[600], st[600];
		FILE *f;
		snprintf(img, sizeof(img), "%s/crash", ct.dir);
		snprintf(st, sizeof(st), "%s/crash.stage", ct.dir);
		char *buf = malloc(ct.len);
		if (!buf)
			abort();
		build_image(buf, ct.shadow, ct.len, ct.lines, ct.nlines, ct.seed, ct.points,
			    ct.variant, 0);
		if (write_image(img, buf, ct.len) < 0 || !(f = fopen(st, "w"))) {
			perror("child: crash image");
			_exit(2);
		}
		fprintf(f, "%llu %zu\n", (unsigned long long)ct.stage, ct.nlines);
		fclose(f);
		_exit(0); /* the crash: nothing after this point happens */
	}
	r = (struct rec){'P', ct.points, ct.stage, ct.nlines};
	put(&r, sizeof(r));
	for (size_t i = 0; i < ct.nlines; i++)
		put(&ct.lines[i], sizeof(ct.lines[i]));
}

static void ct_hook(void *arg, const char *path, const char *base, size_t pool_len, size_t off,
		    size_t len)
{
	(void)arg;
	if (strcmp(path, ct.path) != 0)
		return;
	if (len == 0) {
		/* a grow made the file's new size durable: a crash point at the
		 * old size, then the shadow grows (the new bytes read zero) */
		if (pool_len > ct.len) {
			pthread_mutex_lock(&ct.lock);
			ct_point(base);
			char *ns = realloc(ct.shadow, pool_len);
			if (!ns)
				abort();
			memset(ns + ct.len, 0, pool_len - ct.len);
			ct.shadow = ns;
			ct.len = pool_len;
			if (ct.log) {
				struct rec r = {'R', pool_len, 0, 0};
				put(&r, sizeof(r));
			}
			pthread_mutex_unlock(&ct.lock);
		}
		return;
	}
	if (pool_len != ct.len)
		return;
	/* a schedule perturbation, not part of the crash model: holds the
	 * zeroer back so that the fault path finds only dirty free extents */
	if (atomic_load(&ct.slow_zeroing) && len % E == 0 && !pthread_equal(pthread_self(), ct.main_thread))
		usleep(20000);
	pthread_mutex_lock(&ct.lock);
	ct_point(base);
	/* the persist: exactly these bytes become durable, as they are now */
	memcpy(ct.shadow + off, base + off, len);
	if (ct.log) {
		struct rec r = {'S', off, len, 0};
		put(&r, sizeof(r));
		put(ct.shadow + off, len);
	}
	pthread_mutex_unlock(&ct.lock);
}

/* A step of the scenario returned: later crash states must show its effect. */
static void ct_mark(void)
{
	pthread_mutex_lock(&ct.lock);
	ct.stage++;
	pthread_mutex_unlock(&ct.lock);
}

static void ct_slow_zeroing(void)
{
	atomic_store(&ct.slow_zeroing, 1);
}

static int ct_real_crash(void)
{
	return ct.crash_at != 0;
}

/* Waits until the zeroer has nothing left to do (no persists in flight from it). */
static void quiesce(daxmap_pool *pool)
{
	struct daxmap_pool_stat st;
	for (int i = 0; i < 10000; i++) {
		CK(daxmap_pool_stat(pool, &st));
		if (st.free_unzeroed == 0 && st.blocks_unzeroed == 0)
			return;
		usleep(1000);
	}
	fprintf(stderr, "child: the zeroer did not finish\n");
	_exit(2);
}

static int read_file(const char *path, char **buf, size_t *len)
{
	struct stat sb;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0 || fstat(fd, &sb) < 0)
		return -1;
	*len = (size_t)sb.st_size;
	*buf = malloc(*len);
	n = *buf ? pread(fd, *buf, *len, 0) : -1;
	close(fd);
	return n == (ssize_t)*len ? 0 : -1;
}

static void child_opts(struct daxmap_pool_opts *o)
{
	daxmap_pool_opts_init(o);
	o->extent_size = PE;
	o->max_objects = MAXOBJ;
	o->fault_threads = 2;
	/* every scenario on a growable pool (format version 2, or 3 with
	 * blocks), which one grows */
	o->max_size = POOLMAX;
}

/* test_crash --child SCENARIO DIR [CRASH_AT VARIANT SEED] */
static int child_main(int argc, char **argv)
{
	struct daxmap_pool_opts o;
	struct child c;
	const struct scenario *s = NULL;
	char p[600];

	for (int i = 0; i < NSCEN; i++)
		if (strcmp(argv[2], scenarios[i].name) == 0)
			s = &scenarios[i];
	if (!s || argc < 4)
		return 2;
	snprintf(ct.dir, sizeof(ct.dir), "%s", argv[3]);
	ct.main_thread = pthread_self();
	if (argc >= 7) {
		ct.crash_at = strtoull(argv[4], NULL, 0);
		ct.variant = atoi(argv[5]);
		ct.seed = strtoull(argv[6], NULL, 0);
	}
	snprintf(c.path, sizeof(c.path), "%s/pool", ct.dir);
	unlink(c.path);
	child_opts(&o);
	CK(daxmap_pool_create_opts(&c.pool, c.path, POOLSZ, 0600, &o));
	mkobj(&c, "keep", KEEP_SIZE, T_KEEP);
	if (s->setup)
		s->setup(&c);
	quiesce(c.pool);

	/* everything is durable now: the shadow starts as the file */
	snprintf(ct.path, sizeof(ct.path), "%s", c.path);
	if (read_file(c.path, &ct.shadow, &ct.len) < 0) {
		perror("child: read pool");
		return 2;
	}
	if (!ct.crash_at) {
		int fd;
		snprintf(p, sizeof(p), "%s/base", ct.dir);
		fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd < 0 || write_all(fd, ct.shadow, ct.len, 0) < 0) {
			perror("child: base");
			return 2;
		}
		close(fd);
		snprintf(p, sizeof(p), "%s/log", ct.dir);
		if (!(ct.log = fopen(p, "w"))) {
			perror("child: log");
			return 2;
		}
	}
	daxmap_crashtest_set_hook(ct_hook, NULL);

	s->op(&c);
	quiesce(c.pool);

	/* the last crash state: after the operation, nothing in flight */
	pthread_mutex_lock(&ct.lock);
	char *live = malloc(ct.len);
	int fd = open(c.path, O_RDONLY | O_CLOEXEC);
	if (!live || fd < 0 || pread(fd, live, ct.len, 0) != (ssize_t)ct.len) {
		perror("child: read pool");
		_exit(2);
	}
	close(fd);
	ct_point(live);
	pthread_mutex_unlock(&ct.lock);
	daxmap_crashtest_set_hook(NULL, NULL);
	CK(daxmap_pool_close(c.pool));
	if (ct.log && fclose(ct.log) != 0) {
		perror("child: log");
		return 2;
	}
	free(live);
	return ct.crash_at ? 3 : 0; /* 3: the real crash point was never reached */
}

/* ---- the parent: checks crash images ------------------------------------- */

struct listed {
	int n;
	char name[MAXOBJ][DAXMAP_MAX_NAME + 1];
	uint64_t size[MAXOBJ];
};

static int list_cb(const char *name, uint64_t size, void *arg)
{
	struct listed *l = arg;
	if (l->n == MAXOBJ)
		return -1;
	snprintf(l->name[l->n], sizeof(l->name[0]), "%s", name);
	l->size[l->n++] = size;
	return 0;
}

static int all_zero(const uint8_t *p, size_t n)
{
	static const uint8_t zero[PAGE];
	while (n > 0) {
		size_t k = n < PAGE ? n : PAGE;
		if (memcmp(p, zero, k) != 0)
			return 0;
		p += k;
		n -= k;
	}
	return 1;
}

#define FAIL(...)                                                                                  \
	do {                                                                                       \
		snprintf(msg, msgsz, __VA_ARGS__);                                                 \
		goto out;                                                                          \
	} while (0)

/* Checks one object extent's bytes (at object offset x0) against a version. */
static int ext_content_ok(const struct version *v, uint64_t x0, const uint8_t *b, char *why,
			  size_t whysz)
{
	uint64_t x = x0, end = x0 + E;

	while (x < end) {
		const struct region *r = NULL;
		uint64_t stop = end;
		for (int i = 0; i < v->nreg; i++) {
			if (v->reg[i].lo <= x && x < v->reg[i].hi) {
				r = &v->reg[i];
				stop = r->hi < end ? r->hi : end;
				break;
			}
			if (v->reg[i].lo > x && v->reg[i].lo < stop)
				stop = v->reg[i].lo;
		}
		const uint8_t *p = b + (x - x0);
		size_t n = (size_t)(stop - x);
		if (!r) {
			if (!all_zero(p, n))
				goto bad;
		} else if (r->kind == R_PAT) {
			if (memcmp(p, patterns(r->tag) + x, n) != 0)
				goto bad;
		} else {
			const uint8_t *q = patterns(r->tag) + x;
			for (size_t i = 0; i < n; i++)
				if (p[i] != 0 && p[i] != q[i])
					goto bad;
		}
		x = stop;
		continue;
bad:
		for (size_t i = 0; i < n; i++) {
			uint8_t want = r ? patterns(r->tag)[x + i] : 0;
			if (p[i] != want && !(r && r->kind == R_PAT_OR_ZERO && p[i] == 0)) {
				snprintf(why, whysz, "byte %llu is %#x, want %#x%s",
					 (unsigned long long)(x + i), p[i], want,
					 r && r->kind == R_PAT_OR_ZERO ? " or 0" : "");
				break;
			}
		}
		return 0;
	}
	return 1;
}

struct image_ctx {
	char *raw;
	size_t len;
	uint8_t *view[MAXOBJ]; /* what the library's mapping shows, [0, page_up(size)) */
};

/*
 * Opens a crash image with the library (recovery runs), then checks the
 * recovered file against the scenario's expected states at this stage.
 * Returns 1 when good; else 0 with a message.
 */
/* The checker's first "damaged" finding, into msg (at most 1024 bytes). */
static void check_report(const char *m, void *arg)
{
	char *msg = arg;
	if (!msg[0] && strstr(m, "damaged"))
		snprintf(msg, 1024, "%s", m);
}

static int check_image(int si, const char *img, uint64_t stage, char *msg, size_t msgsz)
{
	struct daxmap_pool_opts o;
	struct daxmap_pool_stat st;
	struct listed l;
	struct expect x;
	struct image_ctx ic;
	daxmap_pool *pool = NULL;
	uint64_t nalloc = 0, nfree = 0, nlive = 0;
	uint64_t *emap[MAXOBJ]; /* per slot: bitmap of allocated object extents */
	uint64_t *epool[MAXOBJ]; /* per slot: pool extent of each object extent */
	int ok = 0;

	memset(&ic, 0, sizeof(ic));
	memset(emap, 0, sizeof(emap));
	memset(epool, 0, sizeof(epool));
	l.n = 0;
	msg[0] = 0;
	child_opts(&o);
	o.extent_size = 0;
	o.max_objects = 0;
	/* the checker, before the open's recovery: a crash state is never
	 * damage (notices of what the open finishes are) */
	char cmsg[1024] = "";
	int cr = daxmap_pool_check(img, DAXMAP_CHECK_DATA, check_report, cmsg);
	if (cr != 0)
		FAIL("daxmap check --data: %d: %s", cr, cmsg);
	if (daxmap_pool_open_opts(&pool, img, &o) < 0) {
		pool = NULL;
		FAIL("open failed: %s", daxmap_errormsg());
	}
	if (daxmap_pool_stat(pool, &st) < 0 || daxmap_pool_list(pool, list_cb, &l) < 0)
		FAIL("stat/list failed: %s", daxmap_errormsg());
	/* what the library serves: read each object through a mapping */
	for (int i = 0; i < l.n; i++) {
		daxmap_obj *obj;
		uint64_t size;
		void *a;
		if (daxmap_obj_open(&obj, pool, l.name[i], 0) < 0 || daxmap_obj_size(obj, &size) < 0)
			FAIL("object %s: open failed: %s", l.name[i], daxmap_errormsg());
		if (size != l.size[i])
			FAIL("object %s: size %llu, listed as %llu", l.name[i],
			     (unsigned long long)size, (unsigned long long)l.size[i]);
		if (size > 0 && size <= 8 * E) {
			ic.view[i] = malloc(page_up(size));
			if (!ic.view[i] || daxmap_map(&a, obj, 0, page_up(size), DAXMAP_PROT_READ) < 0)
				FAIL("object %s: map failed: %s", l.name[i], daxmap_errormsg());
			memcpy(ic.view[i], a, page_up(size));
			daxmap_unmap(a, page_up(size));
		}
		daxmap_obj_close(obj);
	}
	if (daxmap_pool_close(pool) < 0)
		FAIL("close failed: %s", daxmap_errormsg());
	pool = NULL;

	/* the recovered file itself */
	if (read_file(img, &ic.raw, &ic.len) < 0)
		FAIL("cannot read the image back");
	const struct pool_hdr *h = (const struct pool_hdr *)ic.raw;
	const struct obj_slot *slots = (const struct obj_slot *)(ic.raw + h->objtab_off);
	const uint64_t *exttab = (const uint64_t *)(ic.raw + h->exttab_off);
	if (h->extent_size != PE || h->max_objects != MAXOBJ || h->version != (blocks ? 3u : 2u) ||
	    h->pool_size != POOLMAX || (blocks != 0) != (h->blktab_off != 0))
		FAIL("unexpected header");
	/* the objects' units: extents, or blocks (their table, two per extent) */
	const uint64_t *utab = blocks ? (const uint64_t *)(ic.raw + h->blktab_off) : exttab;
	const uint64_t upe = PE / E;
	/* the size: the old one or, for a grow, the new one once it returned */
	int grows = strcmp(scenarios[si].name, "poolgrow") == 0;
	if (h->grow_to != 0 || h->cur_size != ic.len || st.size != ic.len ||
	    (h->cur_size != POOLSZ && !(grows && h->cur_size == POOLMAX)) ||
	    (grows && stage >= 1 && h->cur_size != POOLMAX))
		FAIL("pool size %llu (file %zu, grow_to %llu) at stage %llu",
		     (unsigned long long)h->cur_size, ic.len, (unsigned long long)h->grow_to,
		     (unsigned long long)stage);
	/* only the extents inside the file are there; the others' entries are 0 */
	uint64_t present = (h->cur_size - h->data_off) / PE;
	if (present > h->nextents)
		present = h->nextents;
	for (uint64_t i = present; i < h->nextents; i++)
		if (exttab[i] != 0)
			FAIL("extent %llu past the pool's size has entry %#llx",
			     (unsigned long long)i, (unsigned long long)exttab[i]);
	for (uint64_t i = present * upe; blocks && i < h->nextents * upe; i++)
		if (utab[i] != 0)
			FAIL("block %llu past the pool's size has entry %#llx",
			     (unsigned long long)i, (unsigned long long)utab[i]);
	for (unsigned i = 0; i < LOG_NREC; i++) {
		uint64_t op;
		memcpy(&op, ic.raw + POOL_LOG_OFF + i * 64, sizeof(op));
		if (op != 0)
			FAIL("log record %u still set after open", i);
	}
	for (uint32_t s = 0; s < MAXOBJ; s++) {
		if (slots[s].state == SLOT_DYING)
			FAIL("slot %u still DYING after open", s);
		if (slots[s].state == SLOT_LIVE) {
			nlive++;
			emap[s] = calloc(MAXEXT / 64, sizeof(uint64_t));
			epool[s] = calloc(MAXEXT, sizeof(uint64_t));
			if (!emap[s] || !epool[s])
				abort();
			if ((slots[s].flags == SLOT_F_SMALL) != (blocks != 0))
				FAIL("slot %u has flags %#x", s, slots[s].flags);
		}
	}
	uint64_t nsplit = 0;
	for (uint64_t i = 0; i < present * upe; i++) {
		uint64_t xtag = ext_entry_tag(exttab[i / upe]);
		uint64_t ent = utab[i], tag = ext_entry_tag(ent);
		const uint8_t *data = (const uint8_t *)ic.raw + h->data_off + i * E;
		if (blocks && i % upe == 0)
			nsplit += xtag == EXT_TAG_SPLIT;
		if (blocks && xtag != EXT_TAG_SPLIT) {
			/* a whole extent: no object of extents here, so free */
			if (xtag == EXT_TAG_ALLOC)
				FAIL("extent %llu is allocated in a pool of blocks only",
				     (unsigned long long)(i / upe));
			if (ent != 0)
				FAIL("block %llu of extent %llu, which is not split, has entry %#llx",
				     (unsigned long long)i, (unsigned long long)(i / upe),
				     (unsigned long long)ent);
			if (i % upe == 0)
				nfree++;
			if (xtag == EXT_TAG_FREE && !all_zero(data, E))
				FAIL("extent %llu is marked free and zeroed but holds data",
				     (unsigned long long)(i / upe));
			continue;
		}
		if (tag == EXT_TAG_ALLOC) {
			uint32_t s = ext_entry_slot(ent);
			uint64_t e = ext_entry_index(ent);
			nalloc++;
			if (s >= MAXOBJ || !emap[s])
				FAIL("unit %llu belongs to slot %u, which is not live",
				     (unsigned long long)i, s);
			if (e >= MAXEXT)
				FAIL("unit %llu: object unit %llu of slot %u is beyond what "
				     "any scenario allocates", (unsigned long long)i,
				     (unsigned long long)e, s);
			if (emap[s][e / 64] >> (e % 64) & 1)
				FAIL("slot %u unit %llu allocated twice", s, (unsigned long long)e);
			emap[s][e / 64] |= UINT64_C(1) << (e % 64);
			epool[s][e] = i;
		} else {
			if (!blocks)
				nfree++;
			/* free-and-zeroed must be zero: it is handed out as it is */
			if (tag == EXT_TAG_FREE && !all_zero(data, E))
				FAIL("unit %llu is marked free and zeroed but holds data",
				     (unsigned long long)i);
		}
	}
	/* free-space accounting: the library's counts are the tables' (a
	 * split extent counts as used, its blocks in blocks_used; the block
	 * zeroer may give back an extent whose blocks recovery freed, before
	 * or after the counts were taken: it shows as free in the table, and
	 * blocks_split, counted after used, may miss it while used has it) */
	if (!blocks ? st.used != nalloc * E || st.free != nfree * E
		    : st.blocks_split > st.used || st.blocks_split < nsplit * PE ||
			      st.used < nsplit * PE ||
			      st.free + (st.used - nsplit * PE) != nfree * PE ||
			      st.blocks_used != nalloc * E)
		FAIL("accounting: used %llu free %llu data %llu (blocks: split %llu used %llu), "
		     "tables have %llu allocated units, %llu free and %llu split extents",
		     (unsigned long long)st.used, (unsigned long long)st.free,
		     (unsigned long long)st.data_size, (unsigned long long)st.blocks_split,
		     (unsigned long long)st.blocks_used, (unsigned long long)nalloc,
		     (unsigned long long)nfree, (unsigned long long)nsplit);
	if (st.used + st.free != st.data_size || st.data_size != present * PE)
		FAIL("accounting: used %llu + free %llu is not data %llu of %llu extents",
		     (unsigned long long)st.used, (unsigned long long)st.free,
		     (unsigned long long)st.data_size, (unsigned long long)present);
	if (st.objects != nlive || (uint64_t)l.n != nlive)
		FAIL("%llu live slots, stat says %llu objects, list gives %d",
		     (unsigned long long)nlive, (unsigned long long)st.objects, l.n);

	/* every object: old or new state as this stage allows */
	scenario_expect(si, &x, present * upe);
	for (uint32_t s = 0; s < MAXOBJ; s++) {
		int known = 0;
		if (!emap[s])
			continue;
		for (int k = 0; k < x.nobj; k++)
			if (slots[s].name_len == strlen(x.obj[k].name) &&
			    memcmp(slots[s].name, x.obj[k].name, slots[s].name_len) == 0)
				known = 1;
		if (!known)
			FAIL("unexpected object in slot %u", s);
	}
	for (int k = 0; k < x.nobj; k++) {
		const struct objexp *oe = &x.obj[k];
		char why[4][200];
		int slot = -1, li = -1, matched = 0, tried = 0;
		for (uint32_t s = 0; s < MAXOBJ; s++)
			if (emap[s] && slots[s].name_len == strlen(oe->name) &&
			    memcmp(slots[s].name, oe->name, slots[s].name_len) == 0) {
				if (slot >= 0)
					FAIL("object %s is live twice", oe->name);
				slot = (int)s;
			}
		for (int i = 0; i < l.n; i++)
			if (strcmp(l.name[i], oe->name) == 0)
				li = i;
		for (int vi = 0; vi < oe->nv && !matched; vi++) {
			const struct version *v = &oe->v[vi];
			char *w = why[vi];
			w[0] = 0;
			if ((int)stage < v->stage_lo || (int)stage > v->stage_hi)
				continue;
			tried++;
			if (!v->exists) {
				if (slot < 0)
					matched = 1;
				else
					snprintf(w, 200, "exists");
				continue;
			}
			if (slot < 0) {
				snprintf(w, 200, "missing");
				continue;
			}
			if (slots[slot].size != v->size) {
				snprintf(w, 200, "size %llu, want %llu",
					 (unsigned long long)slots[slot].size,
					 (unsigned long long)v->size);
				continue;
			}
			int bad = 0;
			for (int wd = 0; wd < MAXEXT / 64 && !bad; wd++)
				if ((emap[slot][wd] & v->req[wd]) != v->req[wd] ||
				    (emap[slot][wd] & ~v->opt[wd]))
					bad = 1;
			if (bad) {
				snprintf(w, 200, "allocated extents %#llx, want %#llx (may %#llx)",
					 (unsigned long long)emap[slot][0],
					 (unsigned long long)v->req[0],
					 (unsigned long long)v->opt[0]);
				continue;
			}
			/* contents of every allocated extent (also past EOF); a hole
			 * reads zero, which every region but R_PAT accepts */
			for (uint64_t e = 0; e < MAXEXT && !bad; e++) {
				if (emap[slot][e / 64] >> (e % 64) & 1) {
					const uint8_t *b = (const uint8_t *)ic.raw + h->data_off +
							   epool[slot][e] * E;
					if (!ext_content_ok(v, e * E, b, w, 200))
						bad = 1;
				} else {
					for (int r = 0; r < v->nreg; r++)
						if (v->reg[r].kind == R_PAT && v->reg[r].lo < (e + 1) * E &&
						    v->reg[r].hi > e * E) {
							snprintf(w, 200, "extent %llu is a hole, "
								 "want data", (unsigned long long)e);
							bad = 1;
						}
				}
			}
			if (!bad)
				matched = 1;
		}
		if (!matched) {
			int n = snprintf(msg, msgsz, "object %s matches no state of stage %llu:",
					 oe->name, (unsigned long long)stage);
			for (int vi = 0; vi < oe->nv && n < (int)msgsz; vi++)
				if (why[vi][0])
					n += snprintf(msg + n, msgsz - (size_t)n, " [%d] %s;", vi,
						      why[vi]);
			if (!tried)
				snprintf(msg + n, msgsz - (size_t)n, " (no state for this stage)");
			goto out;
		}
		/* the library's mapping shows exactly what the extent table says */
		if (slot >= 0 && li >= 0 && ic.view[li]) {
			for (uint64_t x0 = 0; x0 < slots[slot].size; x0 += E) {
				uint64_t e = x0 / E, n = slots[slot].size - x0 < E ? slots[slot].size - x0 : E;
				const uint8_t *want = (emap[slot][e / 64] >> (e % 64) & 1)
							      ? (const uint8_t *)ic.raw + h->data_off +
									epool[slot][e] * E
							      : NULL;
				if (want ? memcmp(ic.view[li] + x0, want, n) != 0
					 : !all_zero(ic.view[li] + x0, n))
					FAIL("object %s: the mapping shows other bytes than the pool "
					     "in extent %llu", oe->name, (unsigned long long)e);
			}
		}
	}
	ok = 1;
out:
	if (pool)
		daxmap_pool_close(pool);
	free(ic.raw);
	for (unsigned i = 0; i < MAXOBJ; i++) {
		free(ic.view[i]);
		free(emap[i]);
		free(epool[i]);
	}
	return ok;
}

/* ---- driving ------------------------------------------------------------ */

static char self_exe[4096];
static uint64_t base_seed;
/* random subsets per crash point, as many of lines, pages and words (DAXMAP_CRASH_SEEDS) */
static int nrandom = 6;
/* real-crash children per scenario (DAXMAP_CRASH_REAL) */
static int nreal = 3;
static uint64_t total_states, total_points, total_real;

static int run_child(const char *scen, const char *dir, const char *crash_at, const char *variant,
		     const char *seed)
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return -1;
	if (pid == 0) {
		/* exec at once: no pool, uffd or thread of the parent is used here */
		char *argv[] = {self_exe, (char *)"--child", (char *)scen, (char *)dir,
				(char *)crash_at, (char *)variant, (char *)seed, NULL};
		if (!crash_at)
			argv[4] = NULL;
		execv(self_exe, argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int report_failure(const char *scen, const char *img, uint64_t point, int variant,
			  uint64_t stage, const char *msg, int *nfail)
{
	char keep[700];
	if (++*nfail > 5)
		return 0;
	snprintf(keep, sizeof(keep), "%s.fail-%llu-%d", img, (unsigned long long)point, variant);
	rename(img, keep);
	fprintf(stderr, "crash %s: point %llu, variant %d, stage %llu: %s (image %s; keep it with "
		"DAXMAP_TEST_KEEP=1)\n", scen, (unsigned long long)point, variant,
		(unsigned long long)stage, msg, keep);
	return 0;
}

static void run_scenario(int si)
{
	const char *scen = scenarios[si].name;
	char dir[600], p[700], img[700], msg[1024];
	char *shadow = NULL;
	size_t len = 0;
	uint64_t points = 0, states = 0, maxlines = 0, real = 0;
	struct line *lines = NULL;
	size_t cap = 0;
	int nfail = 0, rc;
	double t0 = now();
	FILE *f;

	snprintf(dir, sizeof(dir), "%s%s", tu_path(scen), blocks ? "-blocks" : "");
	CU_ASSERT_FATAL(mkdir(dir, 0700) == 0);
	rc = run_child(scen, dir, NULL, NULL, NULL);
	if (rc != 0)
		fprintf(stderr, "crash %s: child exited with %d\n", scen, rc);
	CU_ASSERT_FATAL(rc == 0);

	snprintf(p, sizeof(p), "%s/base", dir);
	CU_ASSERT_FATAL(read_file(p, &shadow, &len) == 0);
	snprintf(p, sizeof(p), "%s/log", dir);
	f = fopen(p, "r");
	CU_ASSERT_FATAL(f != NULL);
	snprintf(img, sizeof(img), "%s/image", dir);
	char *ibuf = malloc(len);
	CU_ASSERT_FATAL(ibuf != NULL && len >= sizeof(struct pool_hdr));
	uint64_t meta_end = ((const struct pool_hdr *)shadow)->data_off;
	for (;;) {
		struct rec r;
		if (fread(&r, sizeof(r), 1, f) != 1)
			break;
		if (r.type == 'S') {
			CU_ASSERT_FATAL(r.a + r.b <= len && fread(shadow + r.a, 1, r.b, f) == r.b);
			continue;
		}
		if (r.type == 'R') {
			/* a grow: later images are of the longer file */
			CU_ASSERT_FATAL(r.a > len);
			shadow = realloc(shadow, r.a);
			ibuf = realloc(ibuf, r.a);
			CU_ASSERT_FATAL(shadow != NULL && ibuf != NULL);
			memset(shadow + len, 0, r.a - len);
			len = r.a;
			continue;
		}
		CU_ASSERT_FATAL(r.type == 'P');
		if (r.c > cap) {
			cap = r.c;
			lines = realloc(lines, cap * sizeof(*lines));
			CU_ASSERT_FATAL(lines != NULL);
		}
		CU_ASSERT_FATAL(fread(lines, sizeof(*lines), r.c, f) == r.c);
		points++;
		if (r.c > maxlines)
			maxlines = r.c;
		/* none and all dirty words, random subsets, then each dirty
		 * metadata word alone and all but it; each distinct image once */
		int nvar = 2 + nrandom, nmeta = 0;
		uint64_t meta[2 * MAXMETA], seen[2 + 64 + 2 * MAXMETA];
		int nseen = 0;
		for (uint64_t i = 0; i < r.c && nmeta < MAXMETA; i++)
			for (unsigned w = 0; w < LINE && lines[i].off + w < meta_end && nmeta < MAXMETA;
			     w += 8)
				if (memcmp(shadow + lines[i].off + w, lines[i].data + w, 8) != 0)
					meta[nmeta++] = lines[i].off + w;
		for (int vi = 0; vi < nvar + 2 * nmeta; vi++) {
			int v = vi < nvar ? vi : (vi - nvar) % 2 ? V_ALLBUT : V_ONLY;
			uint64_t target = vi < nvar ? 0 : meta[(vi - nvar) / 2], hv;
			int dup = 0;
			hv = build_image(ibuf, shadow, len, lines, r.c, base_seed, r.a, v, target);
			for (int k = 0; k < nseen; k++)
				dup |= seen[k] == hv;
			if (dup)
				continue;
			if (nseen < (int)(sizeof(seen) / sizeof(seen[0])))
				seen[nseen++] = hv;
			CU_ASSERT_FATAL(write_image(img, ibuf, len) == 0);
			states++;
			if (!check_image(si, img, r.b, msg, sizeof(msg))) {
				if (v < 0)
					snprintf(msg + strlen(msg), sizeof(msg) - strlen(msg),
						 " [%s the word at offset %llu]",
						 v == V_ONLY ? "only" : "all but",
						 (unsigned long long)target);
				report_failure(scen, img, r.a, v, r.b, msg, &nfail);
			}
		}
	}
	fclose(f);

	/* real crashes: the child itself dies at a persistence point */
	uint64_t rs = base_seed ^ mix((uint64_t)si + 77);
	for (int k = 0; k < nreal && points > 0; k++) {
		char dir2[700], at[32], var[32], sd[32], st[800];
		uint64_t n = 1 + tu_rand(&rs) % points, stage = 0;
		int v = (int)(tu_rand(&rs) % (uint64_t)(2 + nrandom));
		snprintf(dir2, sizeof(dir2), "%s/real%d", dir, k);
		CU_ASSERT_FATAL(mkdir(dir2, 0700) == 0);
		snprintf(at, sizeof(at), "%llu", (unsigned long long)n);
		snprintf(var, sizeof(var), "%d", v);
		snprintf(sd, sizeof(sd), "%llu", (unsigned long long)base_seed);
		rc = run_child(scen, dir2, at, var, sd);
		if (rc == 3)
			continue; /* this run had fewer points (the zeroer's timing) */
		if (rc != 0)
			fprintf(stderr, "crash %s: real-crash child exited with %d\n", scen, rc);
		CU_ASSERT_FATAL(rc == 0);
		snprintf(st, sizeof(st), "%s/crash.stage", dir2);
		FILE *sf = fopen(st, "r");
		unsigned long long s1 = 0;
		CU_ASSERT_FATAL(sf && fscanf(sf, "%llu", &s1) == 1);
		fclose(sf);
		stage = s1;
		snprintf(st, sizeof(st), "%s/crash", dir2);
		real++;
		states++;
		if (!check_image(si, st, stage, msg, sizeof(msg))) {
			report_failure(scen, st, n, v, stage, msg, &nfail);
		}
	}
	printf("\n  crash %-7s%s %3llu points (up to %llu dirty lines), %4llu crash states checked "
	       "(%llu from real crashes), %.1f s", scen, blocks ? " (blocks)" : "",
	       (unsigned long long)points,
	       (unsigned long long)maxlines, (unsigned long long)states, (unsigned long long)real,
	       now() - t0);
	fflush(stdout);
	if (nfail)
		fprintf(stderr, "crash %s: %d crash states failed their checks\n", scen, nfail);
	CU_ASSERT(nfail == 0);
	total_states += states;
	total_points += points;
	total_real += real;
	free(lines);
	free(shadow);
	free(ibuf);
	/* the images of this scenario are not needed any more */
	if (!nfail) {
		snprintf(p, sizeof(p), "rm -rf '%s'", dir);
		if (system(p) != 0)
			fprintf(stderr, "cannot remove %s\n", dir);
	}
}

/* the same scenario on objects made of blocks: the children see the mode
 * in their environment */
static void run_scenario_blocks(int i)
{
	if (TU_TSAN) {
		/* their threads run under ThreadSanitizer in test_small and
		 * test_mm_blocks; here the pass would double the slowest test */
		printf("\n  skipped under ThreadSanitizer");
		return;
	}
	blocks = 1;
	setenv("DAXMAP_CRASH_BLOCKS", "1", 1);
	run_scenario(i);
	unsetenv("DAXMAP_CRASH_BLOCKS");
	blocks = 0;
}

#define SCEN_TEST(i, n)                                                                            \
	static void test_##n(void)                                                                 \
	{                                                                                          \
		run_scenario(i);                                                                   \
	}                                                                                          \
	static void test_blocks_##n(void)                                                          \
	{                                                                                          \
		run_scenario_blocks(i);                                                            \
	}
SCEN_TEST(0, create)
SCEN_TEST(1, touch)
SCEN_TEST(2, grow)
SCEN_TEST(3, shrink)
SCEN_TEST(4, punch)
SCEN_TEST(5, zero)
SCEN_TEST(6, unlink)
SCEN_TEST(7, reuse)
SCEN_TEST(8, pwrite)
SCEN_TEST(9, poolgrow)

#endif /* DAXMAP_CRASHTEST */

int main(int argc, char **argv)
{
#ifndef DAXMAP_CRASHTEST
	(void)argc;
	(void)argv;
	printf("test_crash: the library was built without DAXMAP_CRASHTEST: skipped\n");
	return 77;
#else
	blocks = getenv("DAXMAP_CRASH_BLOCKS") && atoi(getenv("DAXMAP_CRASH_BLOCKS")) == 1;
	if (argc >= 4 && strcmp(argv[1], "--child") == 0)
		return child_main(argc, argv);
	ssize_t n = readlink("/proc/self/exe", self_exe, sizeof(self_exe) - 1);
	if (n <= 0)
		return 2;
	self_exe[n] = 0;
	/* under ThreadSanitizer every image is many times slower to check (and
	 * the sweep's value there is the code it runs, not the count of
	 * images): none and all dirty words per point, one real crash */
	if (TU_TSAN) {
		nrandom = 0;
		nreal = 1;
	}
	if (getenv("DAXMAP_CRASH_SEEDS"))
		nrandom = atoi(getenv("DAXMAP_CRASH_SEEDS"));
	if (getenv("DAXMAP_CRASH_REAL"))
		nreal = atoi(getenv("DAXMAP_CRASH_REAL"));
	base_seed = tu_seed("test_crash");
	static const struct tu_test tests[] = {
		{"crash_create", test_create}, {"crash_first_touch", test_touch},
		{"crash_grow", test_grow},     {"crash_shrink", test_shrink},
		{"crash_punch", test_punch},   {"crash_zero_range", test_zero},
		{"crash_unlink", test_unlink}, {"crash_reuse_after_unlink", test_reuse},
		{"crash_pwrite_allocates_and_extends", test_pwrite},
		{"crash_pool_grow", test_poolgrow},
		{"crash_blocks_create", test_blocks_create},
		{"crash_blocks_first_touch", test_blocks_touch},
		{"crash_blocks_grow", test_blocks_grow},
		{"crash_blocks_shrink", test_blocks_shrink},
		{"crash_blocks_punch", test_blocks_punch},
		{"crash_blocks_zero_range", test_blocks_zero},
		{"crash_blocks_unlink", test_blocks_unlink},
		{"crash_blocks_reuse_after_unlink", test_blocks_reuse},
		{"crash_blocks_pwrite_allocates_and_extends", test_blocks_pwrite},
		{"crash_blocks_pool_grow", test_blocks_poolgrow},
		{NULL, NULL},
	};
	double t0 = now();
	int ret = tu_run("crash", tests);
	printf("test_crash: %llu crash points, %llu crash states checked (%llu from real crashes) "
	       "in %.1f s\n", (unsigned long long)total_points, (unsigned long long)total_states,
	       (unsigned long long)total_real, now() - t0);
	return ret;
#endif
}
