/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A randomized exerciser in the manner of xfstests' fsx (generic/075): one
 * object is driven with random writes and reads through mappings, truncates
 * up and down, punch hole, zero range, allocate, remaps (at other offsets,
 * read-only), persist and reopen of the whole pool, and checked after every
 * operation against a model of its bytes, its size and the pool space it
 * holds. A second test runs punch/refault cycles over a large sparse object
 * and checks that the process's VMA count over the mapping stays bounded.
 *
 * Environment: DAXMAP_TEST_SEED=S replays seed S; DAXMAP_FSX_OPS=N runs N
 * operations (with a clock seed unless DAXMAP_TEST_SEED is set);
 * DAXMAP_FSX_TRACE=1 prints every operation. Without either, seeds 1 and 2
 * run 50,000 operations each. A failure prints the seed, the operation
 * number and the last operations.
 */
#define _GNU_SOURCE
#include "testutil.h"

#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define KiB (UINT64_C(1) << 10)
#define MiB (UINT64_C(1) << 20)
#define GiB (UINT64_C(1) << 30)
#define RW (DAXMAP_PROT_READ | DAXMAP_PROT_WRITE)

#define FSX_EXT (64 * KiB)          /* extent size of the fsx pool: the object's unit */
/* DAXMAP_TEST_BLOCKS=1: the random run on an object made of blocks (a pool of
 * 2 * FSX_EXT extents, version 3, the object DAXMAP_SMALL: the unit stays
 * FSX_EXT, and the space model counts blocks) */
static int blocks;
#define FSX_POOL (64 * MiB)         /* pool size */
#define FSX_MAXLEN (8 * MiB)        /* largest object size; the main mapping's length */
#define FSX_NEXT (FSX_MAXLEN / FSX_EXT)
#define FSX_FULL_EVERY 1000         /* whole-object check every this many ops */
#define FSX_LOG 24                  /* operations kept for a failure report */
#define FSX_DEFAULT_OPS 50000

/* ---- protected copies: a fault in a mapping is a failure, not a crash --- */

static sigjmp_buf *fx_jmp;
static volatile int fx_sig;
static void *volatile fx_addr;
static struct sigaction fx_old_bus, fx_old_segv;

static void fx_handler(int sig, siginfo_t *si, void *uc)
{
	struct sigaction *old = sig == SIGBUS ? &fx_old_bus : &fx_old_segv;

	if (fx_jmp) {
		fx_sig = sig;
		fx_addr = si->si_addr;
		siglongjmp(*fx_jmp, 1);
	}
	/* not ours: testutil's tu_try_read8/tu_try_write8, or a real crash */
	if ((old->sa_flags & SA_SIGINFO) && old->sa_sigaction) {
		old->sa_sigaction(sig, si, uc);
		return;
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

static void fx_install(void)
{
	static int done;
	struct sigaction sa;
	uint8_t dummy = 0, v;

	if (done)
		return;
	/* testutil installs its handler on first use: let it, then chain to it */
	(void)tu_try_read8(&dummy, &v);
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = fx_handler;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigaction(SIGBUS, &sa, &fx_old_bus);
	sigaction(SIGSEGV, &sa, &fx_old_segv);
	done = 1;
}

/* memcpy that returns 0, or the signal an access raised (fx_addr says where). */
static int fx_copy(void *dst, const void *src, size_t n)
{
	sigjmp_buf jb;

	if (sigsetjmp(jb, 1)) {
		fx_jmp = NULL;
		return fx_sig;
	}
	fx_jmp = &jb;
	memcpy(dst, src, n);
	fx_jmp = NULL;
	return 0;
}

/* ---- the exerciser state -------------------------------------------------- */

struct fsx {
	uint64_t seed, rng;
	unsigned long opno, nops;
	int trace;
	char path[512];
	daxmap_pool *pool;
	daxmap_obj *obj;
	uint8_t *m;         /* RW mapping of [0, FSX_MAXLEN) */
	uint8_t *v;         /* second mapping, or NULL */
	uint64_t voff;      /* its object offset, length and protection */
	size_t vlen;
	int vprot;
	uint8_t *good;      /* model of the bytes of [0, page_up(size)); zero beyond */
	uint8_t *buf;
	uint64_t size;      /* model EOF */
	uint8_t alloc[FSX_NEXT];
	uint64_t nalloc;
	char log[FSX_LOG][200];
	unsigned long counts[16];
};

static size_t pgsz;

static uint64_t page_up(uint64_t x)
{
	return (x + pgsz - 1) & ~(uint64_t)(pgsz - 1);
}

static uint64_t min64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static uint64_t rnd(struct fsx *f, uint64_t n)
{
	return n ? tu_rand(&f->rng) % n : 0;
}

static void fsx_log(struct fsx *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fsx_log(struct fsx *f, const char *fmt, ...)
{
	char *line = f->log[f->opno % FSX_LOG];
	int n = snprintf(line, sizeof(f->log[0]), "%lu: ", f->opno);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(f->log[0]) - (size_t)n, fmt, ap);
	va_end(ap);
	if (f->trace)
		printf("%s\n", line);
}

/* Prints what went wrong, the seed and the last operations, and fails the test. */
static void fsx_fail(struct fsx *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fsx_fail(struct fsx *f, const char *fmt, ...)
{
	struct daxmap_pool_stat st;
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "\nfsx FAILURE: seed %" PRIu64 ", op %lu: ", f->seed, f->opno);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nmodel: size %" PRIu64 " (%#" PRIx64 "), %" PRIu64
			" extents of %" PRIu64 " allocated\n",
		f->size, f->size, f->nalloc, FSX_EXT);
	if (f->pool && daxmap_pool_stat(f->pool, &st) == 0)
		fprintf(stderr, "pool: used %" PRIu64 " (%" PRIu64 " extents)\n", st.used,
			st.used / FSX_EXT);
	fprintf(stderr, "last operations (oldest first):\n");
	for (unsigned long i = f->opno >= FSX_LOG - 1 ? f->opno - (FSX_LOG - 1) : 0; i <= f->opno;
	     i++)
		if (f->log[i % FSX_LOG][0])
			fprintf(stderr, "  %s\n", f->log[i % FSX_LOG]);
	fprintf(stderr, "replay: DAXMAP_TEST_SEED=%" PRIu64 " DAXMAP_FSX_OPS=%lu (add "
			"DAXMAP_FSX_TRACE=1 to print every operation)\n",
		f->seed, f->opno + 1);
	CU_FAIL_FATAL("fsx: object differs from the model (details on stderr)");
}

/* ---- checks --------------------------------------------------------------- */

static void check_space(struct fsx *f, const char *when)
{
	struct daxmap_pool_stat st;
	uint64_t sz = 0;
	int ret;

	if ((ret = daxmap_pool_stat(f->pool, &st)) < 0)
		fsx_fail(f, "daxmap_pool_stat: %d %s", ret, daxmap_errormsg());
	if ((blocks ? st.blocks_used : st.used) != f->nalloc * FSX_EXT)
		fsx_fail(f, "%s: pool used %" PRIu64 " bytes (%" PRIu64
			    " units), model %" PRIu64 " units",
			 when, blocks ? st.blocks_used : st.used,
			 (blocks ? st.blocks_used : st.used) / FSX_EXT, f->nalloc);
	if ((ret = daxmap_obj_size(f->obj, &sz)) < 0 || sz != f->size)
		fsx_fail(f, "%s: object size %" PRIu64 ", model %" PRIu64, when, sz, f->size);
}

/* Compares [off, off+len) of the object, read through mapping `p` (of object
 * offset `base`), with the model. The range must lie in [0, page_up(size)). */
static void check_range(struct fsx *f, const uint8_t *p, uint64_t base, uint64_t off,
			uint64_t len, const char *when)
{
	uint64_t bad = 0, first = 0, last = 0;
	int sig;

	if (len == 0)
		return;
	sig = fx_copy(f->buf, p + (off - base), len);
	if (sig)
		fsx_fail(f, "%s: signal %d reading [%#" PRIx64 ", %#" PRIx64 ") through the %s "
			    "mapping at object offset %#" PRIx64 " (EOF %#" PRIx64 ")",
			 when, sig, off, off + len, p == f->m ? "main" : "second",
			 base + (uint64_t)((uint8_t *)fx_addr - p), f->size);
	if (memcmp(f->buf, f->good + off, len) == 0)
		return;
	for (uint64_t i = 0; i < len; i++) {
		if (f->buf[i] != f->good[off + i]) {
			if (!bad++)
				first = i;
			last = i;
		}
	}
	fsx_fail(f, "%s: %" PRIu64 " bytes differ in [%#" PRIx64 ", %#" PRIx64
		    ") read through the %s mapping; first at %#" PRIx64 " (extent %" PRIu64
		    ", page %#" PRIx64 "): got %#x, expected %#x; last at %#" PRIx64
		    " (got %#x, expected %#x)",
		 when, bad, off + first, off + last + 1, p == f->m ? "main" : "second", off + first,
		 (off + first) / FSX_EXT, (off + first) & ~(uint64_t)(pgsz - 1), f->buf[first],
		 f->good[off + first], off + last, f->buf[last], f->good[off + last]);
}

/* A mapping through which [off, off+len) can be read (or written): the
 * second one when it covers the range and a coin says so. */
static const uint8_t *pick_map(struct fsx *f, uint64_t off, uint64_t len, int write,
			       uint64_t *base)
{
	if (f->v && off >= f->voff && off + len <= f->voff + f->vlen &&
	    (!write || (f->vprot & DAXMAP_PROT_WRITE)) && rnd(f, 2)) {
		*base = f->voff;
		return f->v;
	}
	*base = 0;
	return f->m;
}

/* Checks [lo, hi) clipped to what can be read (page-rounded EOF). */
static void check_around(struct fsx *f, uint64_t lo, uint64_t hi, const char *when)
{
	uint64_t base;
	const uint8_t *p;

	hi = min64(hi, page_up(f->size));
	if (lo >= hi)
		return;
	p = pick_map(f, lo, hi - lo, 0, &base);
	check_range(f, p, base, lo, hi - lo, when);
}

/* The first page past page-rounded EOF (and a random later one) give SIGBUS
 * through every mapping that reaches them; a store there changes nothing. */
static void check_eof_sigbus(struct fsx *f, const char *when)
{
	uint64_t eof = page_up(f->size);
	uint8_t val;
	int sig;

	if (eof < FSX_MAXLEN) {
		uint64_t later = eof + rnd(f, (FSX_MAXLEN - eof) / pgsz) * pgsz;
		if ((sig = tu_try_read8(f->m + eof, &val)) != SIGBUS)
			fsx_fail(f, "%s: read of the first page past EOF (%#" PRIx64
				    ") gave signal %d, not SIGBUS",
				 when, eof, sig);
		if (tu_last_sigaddr() != f->m + eof)
			fsx_fail(f, "%s: SIGBUS si_addr %p, expected %p", when, tu_last_sigaddr(),
				 (void *)(f->m + eof));
		if ((sig = tu_try_write8(f->m + later, 0xee)) != SIGBUS)
			fsx_fail(f, "%s: store at %#" PRIx64 " past EOF gave signal %d, not SIGBUS",
				 when, later, sig);
	}
	if (f->v && eof >= f->voff && eof < f->voff + f->vlen) {
		if ((sig = tu_try_read8(f->v + (eof - f->voff), &val)) != SIGBUS)
			fsx_fail(f, "%s: read of the first page past EOF (%#" PRIx64
				    ") through the second mapping (offset %#" PRIx64
				    ") gave signal %d, not SIGBUS",
				 when, eof, f->voff, sig);
	}
	check_space(f, when);
}

static void check_all(struct fsx *f, const char *when)
{
	uint64_t eof = page_up(f->size);

	/* the model's own invariant: nothing past page-rounded EOF */
	for (uint64_t i = eof; i < FSX_MAXLEN; i++)
		if (f->good[i])
			fsx_fail(f, "%s: model byte %#" PRIx64 " past EOF is not zero", when, i);
	for (uint64_t e = (f->size + FSX_EXT - 1) / FSX_EXT; e < FSX_NEXT; e++)
		if (f->alloc[e])
			fsx_fail(f, "%s: model extent %" PRIu64 " past EOF is allocated", when, e);
	check_range(f, f->m, 0, 0, eof, when);
	if (f->v && f->voff < eof)
		check_range(f, f->v, f->voff, f->voff, min64(eof, f->voff + f->vlen) - f->voff,
			    when);
	check_eof_sigbus(f, when);
}

/* ---- model updates -------------------------------------------------------- */

static void model_alloc(struct fsx *f, uint64_t e_lo, uint64_t e_hi)
{
	for (uint64_t e = e_lo; e < e_hi; e++)
		if (!f->alloc[e]) {
			f->alloc[e] = 1;
			f->nalloc++;
		}
}

static void model_free(struct fsx *f, uint64_t e_lo, uint64_t e_hi)
{
	for (uint64_t e = e_lo; e < e_hi && e < FSX_NEXT; e++)
		if (f->alloc[e]) {
			f->alloc[e] = 0;
			f->nalloc--;
		}
}

/* The size grows to `size`: bytes stored past the old EOF in its last page
 * become part of the object and read zero. */
static void model_grow(struct fsx *f, uint64_t size)
{
	memset(f->good + f->size, 0, min64(page_up(f->size), size) - f->size);
	f->size = size;
}

static void model_shrink(struct fsx *f, uint64_t size)
{
	memset(f->good + size, 0, page_up(f->size) - size);
	model_free(f, (size + FSX_EXT - 1) / FSX_EXT, FSX_NEXT);
	f->size = size;
}

/* ---- random arguments ----------------------------------------------------- */

/* An offset in [0, FSX_MAXLEN): anywhere, near EOF, or on a page or extent edge. */
static uint64_t rand_off(struct fsx *f)
{
	uint64_t off;

	switch (rnd(f, 8)) {
	case 0:
	case 1: /* near EOF */
		off = f->size + rnd(f, 256 * KiB);
		off = off > 128 * KiB ? off - 128 * KiB : rnd(f, 4 * KiB);
		break;
	case 2: /* extent edge, +-1 */
		off = rnd(f, FSX_NEXT) * FSX_EXT + rnd(f, 3);
		off = off ? off - 1 : 0;
		break;
	case 3: /* page aligned */
		off = rnd(f, FSX_MAXLEN / pgsz) * pgsz;
		break;
	default:
		off = rnd(f, FSX_MAXLEN);
	}
	return min64(off, FSX_MAXLEN - 1);
}

/* A length >= 1 such that off + len <= FSX_MAXLEN: mostly small. */
static uint64_t rand_len(struct fsx *f, uint64_t off)
{
	uint64_t r = rnd(f, 100), len;

	if (r < 60)
		len = 1 + rnd(f, 16 * KiB);
	else if (r < 85)
		len = 1 + rnd(f, 256 * KiB);
	else if (r < 95)
		len = FSX_EXT * (1 + rnd(f, 8)); /* whole-extent multiples */
	else
		len = 1 + rnd(f, 2 * MiB);
	return min64(len, FSX_MAXLEN - off);
}

/* A new size: anywhere, near the current one, on an edge, or 0. */
static uint64_t rand_size(struct fsx *f)
{
	uint64_t s;

	switch (rnd(f, 10)) {
	case 0:
		return 0;
	case 1:
	case 2:
		s = f->size + rnd(f, 128 * KiB);
		return min64(s > 64 * KiB ? s - 64 * KiB : rnd(f, 64 * KiB), FSX_MAXLEN);
	case 3:
		return rnd(f, FSX_NEXT + 1) * FSX_EXT;
	case 4:
		return min64(rnd(f, FSX_MAXLEN / pgsz + 1) * pgsz + rnd(f, 3), FSX_MAXLEN);
	default:
		return rnd(f, FSX_MAXLEN + 1);
	}
}

/* ---- operations ----------------------------------------------------------- */

enum {
	OP_READ,
	OP_WRITE,
	OP_TAILWRITE,
	OP_TRUNCATE,
	OP_PUNCH,
	OP_ZERO,
	OP_ALLOCATE,
	OP_REMAP,
	OP_VIEW,
	OP_PERSIST,
	OP_PROBE,
	OP_REOPEN,
	OP_N
};

static const char *const op_names[OP_N] = {"read",  "write",    "tailwrite", "truncate",
					   "punch", "zero",     "allocate",  "remap",
					   "view",  "persist",  "probe",     "reopen"};

/* Cumulative weights out of 1000. */
static int pick_op(struct fsx *f)
{
	static const struct {
		int op, w;
	} table[] = {
		{OP_READ, 200},   {OP_WRITE, 250},  {OP_TAILWRITE, 25}, {OP_TRUNCATE, 120},
		{OP_PUNCH, 110},  {OP_ZERO, 80},    {OP_ALLOCATE, 70},  {OP_REMAP, 20},
		{OP_VIEW, 50},    {OP_PERSIST, 40}, {OP_PROBE, 32},     {OP_REOPEN, 3},
	};
	int r = (int)rnd(f, 1000);

	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		if (r < table[i].w)
			return table[i].op;
		r -= table[i].w;
	}
	return OP_READ;
}

static void do_truncate(struct fsx *f, uint64_t size, const char *why)
{
	int ret = daxmap_obj_truncate(f->obj, size);

	if (ret < 0)
		fsx_fail(f, "%s: daxmap_obj_truncate(%#" PRIx64 "): %d %s", why, size, ret,
			 daxmap_errormsg());
	if (size < f->size)
		model_shrink(f, size);
	else if (size > f->size)
		model_grow(f, size);
}

static void fill_pattern(struct fsx *f, uint64_t off, uint64_t len)
{
	/* like fsx: the byte depends on the op and the offset, so a misplaced
	 * or stale byte tells where it came from */
	uint8_t opb = (uint8_t)(f->opno % 255 + 1);
	for (uint64_t i = 0; i < len; i++)
		f->buf[i] = (uint8_t)(opb + (off + i) % 251);
}

static void op_write(struct fsx *f)
{
	uint64_t off = rand_off(f), len = rand_len(f, off), old = f->size, base;
	uint8_t *p;
	int sig;

	fsx_log(f, "write %#" PRIx64 " len %#" PRIx64 " (size %#" PRIx64 "%s)", off, len, old,
		off + len > old ? ", extends" : "");
	/* a store through a mapping cannot extend: extend first, as fsx's mapwrite */
	if (off + len > f->size)
		do_truncate(f, off + len, "write extend");
	p = (uint8_t *)pick_map(f, off, len, 1, &base);
	fill_pattern(f, off, len);
	sig = fx_copy(p + (off - base), f->buf, len);
	if (sig)
		fsx_fail(f, "signal %d storing to [%#" PRIx64 ", %#" PRIx64 ") through the %s "
			    "mapping, at object offset %#" PRIx64,
			 sig, off, off + len, p == f->m ? "main" : "second",
			 base + (uint64_t)((uint8_t *)fx_addr - p));
	memcpy(f->good + off, f->buf, len);
	model_alloc(f, off / FSX_EXT, (off + len - 1) / FSX_EXT + 1);
	check_around(f, off > 64 ? off - 64 : 0, off + len + 64, "after write");
	check_space(f, "after write");
}

/* Stores past EOF inside its last page: allowed (mmap), kept in the pool,
 * but zero once the object grows over them. */
static void op_tailwrite(struct fsx *f)
{
	uint64_t eof = page_up(f->size), n, off;
	int sig;

	if (eof == f->size) {
		fsx_log(f, "tailwrite: EOF %#" PRIx64 " is page aligned, skipped", f->size);
		return;
	}
	n = 1 + rnd(f, eof - f->size);
	off = f->size + rnd(f, eof - f->size - n + 1);
	fsx_log(f, "tailwrite %#" PRIx64 " len %#" PRIx64 " (size %#" PRIx64 ")", off, n, f->size);
	fill_pattern(f, off, n);
	if ((sig = fx_copy(f->m + off, f->buf, n)))
		fsx_fail(f, "signal %d storing past EOF inside the last page at %#" PRIx64, sig,
			 off);
	memcpy(f->good + off, f->buf, n);
	model_alloc(f, off / FSX_EXT, off / FSX_EXT + 1);
	check_around(f, f->size > 4096 ? f->size - 4096 : 0, eof, "after tailwrite");
	check_space(f, "after tailwrite");
}

static void op_read(struct fsx *f)
{
	uint64_t off = rand_off(f), len = rand_len(f, off), eof = page_up(f->size);

	if (off >= eof) {
		fsx_log(f, "read %#" PRIx64 " past EOF %#" PRIx64 ", skipped", off, f->size);
		return;
	}
	len = min64(len, eof - off);
	fsx_log(f, "read %#" PRIx64 " len %#" PRIx64 " (size %#" PRIx64 ")", off, len, f->size);
	check_around(f, off, off + len, "read");
	check_space(f, "after read"); /* reads never allocate */
}

static void op_truncate(struct fsx *f)
{
	uint64_t size = rand_size(f), old = f->size;

	fsx_log(f, "truncate %#" PRIx64 " -> %#" PRIx64 " (%s)", old, size,
		size < old ? "shrink" : size > old ? "grow" : "same");
	do_truncate(f, size, "truncate");
	/* the bytes around both the old and the new EOF, and the last page */
	check_around(f, (size > 8 * KiB ? size - 8 * KiB : 0), size + 8 * KiB, "after truncate");
	check_around(f, (old > 8 * KiB ? old - 8 * KiB : 0), old + 8 * KiB, "after truncate");
	check_eof_sigbus(f, "after truncate");
}

static void op_punch(struct fsx *f)
{
	uint64_t off = rand_off(f), len = rand_len(f, off), end = min64(off + len, f->size);
	int ret;

	fsx_log(f, "punch %#" PRIx64 " len %#" PRIx64 " (size %#" PRIx64 ")", off, len, f->size);
	if ((ret = daxmap_obj_punch_hole(f->obj, off, len)) < 0)
		fsx_fail(f, "daxmap_obj_punch_hole: %d %s", ret, daxmap_errormsg());
	if (off < end) {
		memset(f->good + off, 0, end - off);
		model_free(f, (off + FSX_EXT - 1) / FSX_EXT, end / FSX_EXT);
	}
	check_around(f, off > 4096 ? off - 4096 : 0, off + len + 4096, "after punch");
	check_eof_sigbus(f, "after punch");
}

static void op_zero(struct fsx *f)
{
	uint64_t off = rand_off(f), len = rand_len(f, off), end = off + len;
	int ret;

	fsx_log(f, "zero %#" PRIx64 " len %#" PRIx64 " (size %#" PRIx64 "%s)", off, len, f->size,
		end > f->size ? ", extends" : "");
	if ((ret = daxmap_obj_zero_range(f->obj, off, len)) < 0)
		fsx_fail(f, "daxmap_obj_zero_range: %d %s", ret, daxmap_errormsg());
	if (off < f->size)
		memset(f->good + off, 0, min64(end, f->size) - off);
	if (end > f->size)
		model_grow(f, end);
	check_around(f, off > 4096 ? off - 4096 : 0, end + 4096, "after zero range");
	check_eof_sigbus(f, "after zero range");
}

static void op_allocate(struct fsx *f)
{
	uint64_t off = rand_off(f), len = rand_len(f, off), end = off + len;
	int ret;

	fsx_log(f, "allocate %#" PRIx64 " len %#" PRIx64 " (size %#" PRIx64 "%s)", off, len,
		f->size, end > f->size ? ", extends" : "");
	if ((ret = daxmap_obj_allocate(f->obj, off, len)) < 0)
		fsx_fail(f, "daxmap_obj_allocate: %d %s", ret, daxmap_errormsg());
	model_alloc(f, off / FSX_EXT, (end + FSX_EXT - 1) / FSX_EXT);
	if (end > f->size)
		model_grow(f, end);
	check_around(f, off > 4096 ? off - 4096 : 0, end + 4096, "after allocate");
	check_eof_sigbus(f, "after allocate");
}

static void map_main(struct fsx *f)
{
	int ret = daxmap_map((void **)&f->m, f->obj, 0, FSX_MAXLEN, RW);
	if (ret < 0)
		fsx_fail(f, "daxmap_map (main): %d %s", ret, daxmap_errormsg());
}

static void map_view(struct fsx *f)
{
	int ret = daxmap_map((void **)&f->v, f->obj, f->voff, f->vlen, f->vprot);
	if (ret < 0)
		fsx_fail(f, "daxmap_map(offset %#" PRIx64 ", len %#zx, prot %d): %d %s", f->voff,
			 f->vlen, f->vprot, ret, daxmap_errormsg());
}

static void unmap_view(struct fsx *f)
{
	int ret;

	if (!f->v)
		return;
	if ((ret = daxmap_unmap(f->v, f->vlen)) < 0)
		fsx_fail(f, "daxmap_unmap (second): %d %s", ret, daxmap_errormsg());
	f->v = NULL;
}

static void op_remap(struct fsx *f)
{
	int ret;
	uint64_t off = rnd(f, page_up(f->size) + 1), len;

	fsx_log(f, "remap main mapping (size %#" PRIx64 ")", f->size);
	if ((ret = daxmap_unmap(f->m, FSX_MAXLEN)) < 0)
		fsx_fail(f, "daxmap_unmap (main): %d %s", ret, daxmap_errormsg());
	f->m = NULL;
	map_main(f);
	len = rand_len(f, off);
	check_around(f, off, off + len, "after remap");
	check_eof_sigbus(f, "after remap");
}

/* A new second mapping: any page-aligned offset, any length (also past
 * FSX_MAXLEN), read-only half of the time; sometimes none. */
static void op_view(struct fsx *f)
{
	uint8_t val;
	int sig;

	unmap_view(f);
	if (rnd(f, 10) == 0) {
		fsx_log(f, "view: none");
		return;
	}
	f->voff = rnd(f, 4) == 0 ? 0 : rnd(f, FSX_MAXLEN / pgsz) * pgsz;
	f->vlen = (size_t)(1 + rnd(f, (FSX_MAXLEN + MiB - f->voff) / pgsz)) * pgsz;
	f->vprot = rnd(f, 2) ? RW : DAXMAP_PROT_READ;
	fsx_log(f, "view offset %#" PRIx64 " len %#zx %s (size %#" PRIx64 ")", f->voff, f->vlen,
		f->vprot == RW ? "rw" : "ro", f->size);
	map_view(f);
	if (f->voff < page_up(f->size)) {
		uint64_t hi = min64(page_up(f->size), f->voff + f->vlen);
		uint64_t off = f->voff + rnd(f, hi - f->voff);
		check_range(f, f->v, f->voff, f->voff, min64(hi - f->voff, 64 * KiB),
			    "new second mapping");
		/* a store through a read-only mapping is refused, changes
		 * nothing and allocates nothing */
		if (f->vprot == DAXMAP_PROT_READ &&
		    (sig = tu_try_write8(f->v + (off - f->voff), 0xa5)) != SIGSEGV)
			fsx_fail(f, "store through a read-only mapping at %#" PRIx64
				    " gave signal %d, not SIGSEGV",
				 off, sig);
		if (tu_try_read8(f->m + off, &val) != 0 || val != f->good[off])
			fsx_fail(f, "byte %#" PRIx64 " reads %#x, expected %#x", off, val,
				 f->good[off]);
	}
	check_eof_sigbus(f, "after new second mapping");
}

static void op_persist(struct fsx *f)
{
	uint64_t eof = page_up(f->size), off, len;
	int ret;

	if (eof == 0) {
		fsx_log(f, "persist: empty object, skipped");
		return;
	}
	off = rnd(f, eof);
	len = 1 + rnd(f, min64(eof - off, 512 * KiB));
	fsx_log(f, "persist %#" PRIx64 " len %#" PRIx64 " (size %#" PRIx64 ")", off, len, f->size);
	if ((ret = daxmap_persist(f->m + off, len)) < 0)
		fsx_fail(f, "daxmap_persist: %d %s", ret, daxmap_errormsg());
	check_space(f, "after persist");
}

static void op_probe(struct fsx *f)
{
	fsx_log(f, "probe past EOF (size %#" PRIx64 ")", f->size);
	check_eof_sigbus(f, "probe");
}

static void fsx_close(struct fsx *f)
{
	int ret;

	unmap_view(f);
	if (f->m && (ret = daxmap_unmap(f->m, FSX_MAXLEN)) < 0)
		fsx_fail(f, "daxmap_unmap (main): %d %s", ret, daxmap_errormsg());
	f->m = NULL;
	if ((ret = daxmap_obj_close(f->obj)) < 0)
		fsx_fail(f, "daxmap_obj_close: %d %s", ret, daxmap_errormsg());
	f->obj = NULL;
	if ((ret = daxmap_pool_close(f->pool)) < 0)
		fsx_fail(f, "daxmap_pool_close: %d %s", ret, daxmap_errormsg());
	f->pool = NULL;
}

static void op_reopen(struct fsx *f)
{
	int had_view = f->v != NULL, ret;

	fsx_log(f, "reopen pool (size %#" PRIx64 ")", f->size);
	fsx_close(f);
	if ((ret = daxmap_pool_open(&f->pool, f->path)) < 0)
		fsx_fail(f, "daxmap_pool_open: %d %s", ret, daxmap_errormsg());
	if ((ret = daxmap_obj_open(&f->obj, f->pool, "fsx", 0)) < 0)
		fsx_fail(f, "daxmap_obj_open: %d %s", ret, daxmap_errormsg());
	map_main(f);
	if (had_view)
		map_view(f);
	check_all(f, "after reopen");
}

static void fsx_run(uint64_t seed, unsigned long nops, int trace)
{
	struct daxmap_pool_opts opts;
	struct fsx *f = calloc(1, sizeof(*f));
	struct timespec t0, t1;
	char name[64];
	int ret;

	CU_ASSERT_FATAL(f != NULL);
	fx_install();
	f->seed = seed;
	f->rng = seed ? seed : 1;
	f->nops = nops;
	f->trace = trace;
	f->good = calloc(1, FSX_MAXLEN + pgsz);
	f->buf = malloc(FSX_MAXLEN + pgsz);
	CU_ASSERT_FATAL(f->good && f->buf);
	snprintf(name, sizeof(name), "fsx-%" PRIu64 ".pool", seed);
	snprintf(f->path, sizeof(f->path), "%s", tu_path(name));
	unlink(f->path);
	daxmap_pool_opts_init(&opts);
	opts.extent_size = blocks ? 2 * FSX_EXT : FSX_EXT;
	ret = daxmap_pool_create_opts(&f->pool, f->path, FSX_POOL, 0600, &opts);
	if (ret < 0)
		fprintf(stderr, "pool create %s: %s\n", f->path, daxmap_errormsg());
	CU_ASSERT_FATAL(ret == 0);
	TU_OK(daxmap_obj_open(&f->obj, f->pool, "fsx",
			      DAXMAP_CREATE | DAXMAP_EXCL | (blocks ? DAXMAP_SMALL : 0)));
	map_main(f);
	clock_gettime(CLOCK_MONOTONIC, &t0);

	for (f->opno = 0; f->opno < nops; f->opno++) {
		int op = pick_op(f);
		f->counts[op]++;
		switch (op) {
		case OP_READ: op_read(f); break;
		case OP_WRITE: op_write(f); break;
		case OP_TAILWRITE: op_tailwrite(f); break;
		case OP_TRUNCATE: op_truncate(f); break;
		case OP_PUNCH: op_punch(f); break;
		case OP_ZERO: op_zero(f); break;
		case OP_ALLOCATE: op_allocate(f); break;
		case OP_REMAP: op_remap(f); break;
		case OP_VIEW: op_view(f); break;
		case OP_PERSIST: op_persist(f); break;
		case OP_PROBE: op_probe(f); break;
		case OP_REOPEN: op_reopen(f); break;
		default: break;
		}
		if ((f->opno + 1) % FSX_FULL_EVERY == 0)
			check_all(f, "periodic whole-object check");
	}
	check_all(f, "final check");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("fsx seed %" PRIu64 ": %lu ops in %.1f s, final size %#" PRIx64 ", %" PRIu64
	       " extents;",
	       seed, nops, (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
	       f->size, f->nalloc);
	for (int i = 0; i < OP_N; i++)
		printf(" %s %lu", op_names[i], f->counts[i]);
	printf("\n");
	fsx_close(f);
	unlink(f->path);
	free(f->good);
	free(f->buf);
	free(f);
}

static void test_random_ops_match_model_of_bytes_size_and_space(void)
{
	const char *ops_env = getenv("DAXMAP_FSX_OPS"), *seed_env = getenv("DAXMAP_TEST_SEED");
	const char *trace_env = getenv("DAXMAP_FSX_TRACE");
	int trace = trace_env && *trace_env && *trace_env != '0';
	unsigned long nops = FSX_DEFAULT_OPS;

	pgsz = (size_t)sysconf(_SC_PAGESIZE);
	if (ops_env && *ops_env)
		nops = strtoul(ops_env, NULL, 0);
	if ((seed_env && *seed_env) || (ops_env && *ops_env)) {
		fsx_run(tu_seed("fsx"), nops, trace);
		return;
	}
	/* CI: fixed seeds, so a failure is the same every run (on blocks: one,
	 * another) */
	for (uint64_t seed = blocks ? 3 : 1; seed <= (blocks ? 3u : 2u); seed++) {
		printf("\nfsx: seed %" PRIu64 " (replay with DAXMAP_TEST_SEED=%" PRIu64 ")\n", seed,
		       seed);
		fsx_run(seed, nops, trace);
	}
}

/* ---- punch/refault cycles and the VMA count ------------------------------- */

#define VMA_EXT DAXMAP_DEFAULT_EXTENT_SIZE
#define VMA_OBJ GiB
#define VMA_NEXT (VMA_OBJ / VMA_EXT)
#define VMA_CYCLES 3000
#define VMA_MAX_LIVE 160 /* above this, one cycle punches everything */

struct vma_state {
	uint8_t *a;
	uint8_t alloc[VMA_NEXT];
	uint8_t val[VMA_NEXT]; /* the byte at mark(e); 0 after a punch over it */
	uint64_t nlive;
	daxmap_pool *pool;
};

/* Each extent's one tracked byte: a fixed, page-varying offset inside it. */
static uint64_t vma_mark(uint64_t e)
{
	return e * VMA_EXT + ((e * 2654435761u) % (VMA_EXT / 64)) * 64;
}

static void vma_touch(struct vma_state *s, uint64_t e, uint8_t v)
{
	CU_ASSERT_EQUAL_FATAL(tu_try_write8(s->a + vma_mark(e), v), 0);
	s->val[e] = v;
	if (!s->alloc[e]) {
		s->alloc[e] = 1;
		s->nlive++;
	}
}

static void vma_check_byte(struct vma_state *s, uint64_t e, uint64_t seed, int cycle)
{
	uint8_t v = 0xff;
	CU_ASSERT_EQUAL_FATAL(tu_try_read8(s->a + vma_mark(e), &v), 0);
	if (v != s->val[e]) {
		fprintf(stderr, "vma: seed %" PRIu64 " cycle %d: extent %" PRIu64 " byte %#" PRIx64
				" reads %#x, expected %#x\n",
			seed, cycle, e, vma_mark(e), v, s->val[e]);
		CU_FAIL_FATAL("punch/refault: a tracked byte differs");
	}
}

static void vma_punch(struct vma_state *s, daxmap_obj *obj, uint64_t off, uint64_t len)
{
	uint64_t end = min64(off + len, VMA_OBJ);

	TU_OK(daxmap_obj_punch_hole(obj, off, len));
	for (uint64_t e = off / VMA_EXT; e < VMA_NEXT && e * VMA_EXT < end; e++) {
		if (vma_mark(e) >= off && vma_mark(e) < end)
			s->val[e] = 0;
		if (e * VMA_EXT >= off && (e + 1) * VMA_EXT <= end && s->alloc[e]) {
			s->alloc[e] = 0;
			s->nlive--;
		}
	}
}

/* Prints the lines of /proc/self/maps over [start, start+len), at most `max`. */
static void dump_vmas(const void *start, size_t len, int max)
{
	FILE *f = fopen("/proc/self/maps", "r");
	uintptr_t s = (uintptr_t)start, e = s + len;
	char line[512];

	if (!f)
		return;
	while (max > 0 && fgets(line, sizeof(line), f)) {
		unsigned long a, b;
		if (sscanf(line, "%lx-%lx", &a, &b) == 2 && a < e && b > s) {
			fprintf(stderr, "  +%#lx..+%#lx %s", (unsigned long)(a - s),
				(unsigned long)(b - s), line);
			max--;
		}
	}
	fclose(f);
}

static void test_punch_refault_cycles_keep_vma_count_bounded(void)
{
	struct vma_state *s = calloc(1, sizeof(*s));
	struct daxmap_pool_stat st;
	uint64_t seed, rng, sum = 0;
	daxmap_obj *obj;
	int vmas, max_vmas = 0, max_excess = -1000, cycles = VMA_CYCLES;
	const char *env = getenv("DAXMAP_FSX_OPS");

	CU_ASSERT_FATAL(s != NULL);
	if (env && *env)
		cycles = (int)(strtoul(env, NULL, 0) / 30 + 1);
	seed = getenv("DAXMAP_TEST_SEED") && *getenv("DAXMAP_TEST_SEED") ? tu_seed("vma") : 3;
	if (seed == 3)
		printf("\nvma: seed 3 (replay with DAXMAP_TEST_SEED=3)\n");
	rng = seed;
	s->pool = tu_pool_create("vma.pool", 3 * GiB / 2);
	TU_OK(daxmap_obj_open(&obj, s->pool, "big", DAXMAP_CREATE));
	TU_OK(daxmap_obj_truncate(obj, VMA_OBJ));
	TU_OK(daxmap_map((void **)&s->a, obj, 0, VMA_OBJ, RW));

	for (int cycle = 0; cycle < cycles; cycle++) {
		uint64_t k = 1 + tu_rand(&rng) % 6, off, len, r;

		/* touch random extents */
		for (uint64_t i = 0; i < k; i++)
			vma_touch(s, tu_rand(&rng) % VMA_NEXT, (uint8_t)(1 + tu_rand(&rng) % 255));
		/* punch a random range: one extent, many, unaligned, inside one */
		r = tu_rand(&rng) % 10;
		if (s->nlive > VMA_MAX_LIVE) {
			off = 0;
			len = VMA_OBJ;
		} else if (r < 3) {
			off = (tu_rand(&rng) % VMA_NEXT) * VMA_EXT;
			len = VMA_EXT;
		} else if (r < 6) {
			off = tu_rand(&rng) % VMA_OBJ;
			len = 1 + tu_rand(&rng) % (64 * MiB);
		} else if (r < 8) {
			off = tu_rand(&rng) % VMA_OBJ;
			len = 1 + tu_rand(&rng) % (VMA_EXT / 2);
		} else {
			off = (tu_rand(&rng) % VMA_NEXT) * VMA_EXT;
			len = (1 + tu_rand(&rng) % 16) * VMA_EXT;
		}
		vma_punch(s, obj, off, len);
		/* re-touch inside the punched range; read a hole elsewhere */
		{
			uint64_t e0 = off / VMA_EXT;
			uint64_t span = min64(len / VMA_EXT + 1, VMA_NEXT - e0);
			vma_check_byte(s, e0, seed, cycle);
			vma_touch(s, e0 + tu_rand(&rng) % span, (uint8_t)(1 + cycle % 255));
			vma_check_byte(s, tu_rand(&rng) % VMA_NEXT, seed, cycle);
		}

		TU_OK(daxmap_pool_stat(s->pool, &st));
		if (st.used != s->nlive * VMA_EXT) {
			fprintf(stderr, "vma: seed %" PRIu64 " cycle %d: used %" PRIu64
					" extents, model %" PRIu64 "\n",
				seed, cycle, st.used / VMA_EXT, s->nlive);
			CU_FAIL_FATAL("punch/refault: pool space differs from the model");
		}
		vmas = tu_vma_count(s->a, VMA_OBJ);
		sum += (uint64_t)vmas;
		if (vmas > max_vmas)
			max_vmas = vmas;
		if (vmas - (int)(2 * s->nlive) > max_excess)
			max_excess = vmas - (int)(2 * s->nlive);
		if (vmas > (int)(2 * s->nlive + 8) || vmas > 30000) {
			fprintf(stderr, "vma: seed %" PRIu64 " cycle %d: %d VMAs over the mapping "
					"with %" PRIu64 " live extents\n",
				seed, cycle, vmas, s->nlive);
			dump_vmas(s->a, VMA_OBJ, 200);
			CU_FAIL_FATAL("punch/refault: VMA count grows past 2 * live extents + 8");
		}
	}
	for (uint64_t e = 0; e < VMA_NEXT; e++)
		vma_check_byte(s, e, seed, cycles);
	printf("vma: %d cycles, live extents at end %" PRIu64 ", VMAs over the mapping: "
	       "now %d, max %d, mean %.1f; most above 2 * live extents: %d\n",
	       cycles, s->nlive, tu_vma_count(s->a, VMA_OBJ), max_vmas,
	       (double)sum / cycles, max_excess);
	TU_OK(daxmap_unmap(s->a, VMA_OBJ));
	TU_OK(daxmap_obj_close(obj));
	TU_OK(daxmap_pool_close(s->pool));
	unlink(tu_path("vma.pool"));
	free(s);
}

/* ---- directed cases found by the exerciser -------------------------------- */

/*
 * A shrink tears the mapping down from the page past the new EOF with a
 * fresh registered range; when the part before it already holds zero pages
 * of a hole read, the kernel does not merge the two VMAs. After a regrow, a
 * read of the hole fills the extent with zeros across that boundary: it must
 * read zero, not raise SIGBUS (seed 1, op 553 of the exerciser).
 */
static void test_hole_read_after_shrink_and_regrow_reads_zero(void)
{
	daxmap_pool *pool = tu_pool_create("holeregrow.pool", 64 * MiB);
	daxmap_obj *obj;
	struct daxmap_pool_stat st;
	uint8_t *a, v = 0xff;

	TU_OK(daxmap_obj_open(&obj, pool, "o", DAXMAP_CREATE));
	TU_OK(daxmap_obj_truncate(obj, 2 * MiB));
	TU_OK(daxmap_map((void **)&a, obj, 0, 4 * MiB, RW));
	CU_ASSERT_EQUAL(tu_try_read8(a, &v), 0); /* zeros over the hole extent */
	CU_ASSERT_EQUAL(v, 0);
	TU_OK(daxmap_obj_truncate(obj, 5000));
	TU_OK(daxmap_obj_truncate(obj, 2 * MiB));
	CU_ASSERT_EQUAL(tu_try_read8(a + 8192, &v), 0);
	CU_ASSERT_EQUAL(v, 0);
	CU_ASSERT_EQUAL(tu_try_read8(a + 2 * MiB - 1, &v), 0);
	CU_ASSERT_EQUAL(v, 0);
	TU_OK(daxmap_pool_stat(pool, &st));
	CU_ASSERT_EQUAL(st.used, 0); /* reads allocate nothing */
	CU_ASSERT_EQUAL(tu_try_write8(a + 8192, 9), 0);
	CU_ASSERT_EQUAL(a[8192], 9);
	TU_OK(daxmap_unmap(a, 4 * MiB));
	TU_OK(daxmap_obj_close(obj));
	TU_OK(daxmap_pool_close(pool));
}

int main(void)
{
	blocks = getenv("DAXMAP_TEST_BLOCKS") && atoi(getenv("DAXMAP_TEST_BLOCKS")) == 1;
	static const struct tu_test tests[] = {
		{"random_ops_match_model_of_bytes_size_and_space",
		 test_random_ops_match_model_of_bytes_size_and_space},
		{"hole_read_after_shrink_and_regrow_reads_zero",
		 test_hole_read_after_shrink_and_regrow_reads_zero},
		{"punch_refault_cycles_keep_vma_count_bounded",
		 test_punch_refault_cycles_keep_vma_count_bounded},
		{NULL, NULL},
	};
	/* the other tests are of objects of extents: once is enough */
	static const struct tu_test tests_blocks[] = {
		{"random_ops_match_model_of_bytes_size_and_space_on_blocks",
		 test_random_ops_match_model_of_bytes_size_and_space},
		{NULL, NULL},
	};
	return tu_run("fsx", blocks ? tests_blocks : tests);
}
