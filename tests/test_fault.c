/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The fault path, one test per case: hole write, hole read, write after a
 * hole read, access inside an allocated extent, EOF (page-rounded), growth
 * past old EOF, kernel-mode access from a syscall, two mappings of one
 * object, mappings at odd offsets, read-only mappings, fork.
 *
 * "Reaches the pool" is always checked the hard way: unmap, close the
 * pool, reopen it and read the bytes back.
 */
#define _GNU_SOURCE
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define MiB (UINT64_C(1) << 20)
#define RW (DAXMAP_PROT_READ | DAXMAP_PROT_WRITE)
#define PS 4096u

static char *xstrdup(const char *s)
{
	char *p = strdup(s);
	CU_ASSERT_FATAL(p != NULL);
	return p;
}

static struct daxmap_pool_stat pstat(daxmap_pool *pool)
{
	struct daxmap_pool_stat st;
	int ret = daxmap_pool_stat(pool, &st);
	CU_ASSERT_FATAL(ret == 0);
	return st;
}

/* ---- a probe that also reports si_code ------------------------------------ */

static sigjmp_buf probe_jb;
static volatile sig_atomic_t probe_armed;
static volatile int probe_sig, probe_code;
static void *volatile probe_addr;

static void probe_handler(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	if (!probe_armed) {
		signal(sig, SIG_DFL);
		raise(sig);
		return;
	}
	probe_sig = sig;
	probe_code = si->si_code;
	probe_addr = si->si_addr;
	siglongjmp(probe_jb, 1);
}

struct probe {
	int sig;   /* 0: the access happened */
	int code;  /* si_code */
	void *addr; /* si_addr */
	uint8_t val;
};

/* One access (write if `write`, else read) with its signal, if any, caught. */
static struct probe probe(volatile uint8_t *p, int write, uint8_t val)
{
	struct sigaction sa, old_bus, old_segv;
	struct probe r = {0, 0, NULL, 0};

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = probe_handler;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigaction(SIGBUS, &sa, &old_bus);
	sigaction(SIGSEGV, &sa, &old_segv);
	probe_sig = 0;
	if (sigsetjmp(probe_jb, 1) == 0) {
		probe_armed = 1;
		if (write)
			*p = val;
		else
			r.val = *p;
		probe_armed = 0;
	} else {
		probe_armed = 0;
		r.sig = probe_sig;
		r.code = probe_code;
		r.addr = probe_addr;
	}
	sigaction(SIGBUS, &old_bus, NULL);
	sigaction(SIGSEGV, &old_segv, NULL);
	return r;
}

/* The access at p must raise SIGBUS, BUS_ADRERR, at exactly p. */
static void expect_sigbus(volatile uint8_t *p, int write)
{
	struct probe r = probe(p, write, 0xbb);
	if (r.sig != SIGBUS || r.addr != (void *)p)
		fprintf(stderr, "%s at %p: signal %d code %d addr %p\n", write ? "write" : "read",
			(void *)p, r.sig, r.code, r.addr);
	CU_ASSERT(r.sig == SIGBUS);
	CU_ASSERT(r.code == BUS_ADRERR);
	CU_ASSERT(r.addr == (void *)p);
}

static void expect_access(volatile uint8_t *p, int write, uint8_t val)
{
	struct probe r = probe(p, write, val);
	if (r.sig)
		fprintf(stderr, "%s at %p: unexpected signal %d code %d addr %p\n",
			write ? "write" : "read", (void *)p, r.sig, r.code, r.addr);
	CU_ASSERT(r.sig == 0);
	if (!write)
		CU_ASSERT(r.val == val);
}

/* ---- pool helpers --------------------------------------------------------- */

struct fx {
	char *path;
	daxmap_pool *pool;
	daxmap_obj *obj;
};

static void fx_open(struct fx *f, const char *name, uint64_t pool_size, uint64_t obj_size)
{
	f->pool = tu_pool_create(name, pool_size);
	f->path = xstrdup(tu_path(name));
	TU_OK(daxmap_obj_open(&f->obj, f->pool, "obj", DAXMAP_CREATE));
	TU_OK(daxmap_obj_truncate(f->obj, obj_size));
}

/* closes everything, reopens the pool and the object */
static void fx_reopen(struct fx *f)
{
	TU_OK(daxmap_obj_close(f->obj));
	TU_OK(daxmap_pool_close(f->pool));
	f->pool = NULL;
	f->obj = NULL;
	TU_OK(daxmap_pool_open(&f->pool, f->path));
	TU_OK(daxmap_obj_open(&f->obj, f->pool, "obj", 0));
}

static void fx_close(struct fx *f)
{
	TU_OK(daxmap_obj_close(f->obj));
	TU_OK(daxmap_pool_close(f->pool));
	unlink(f->path);
	free(f->path);
}

/* bytes [off, off+len) of the object as stored in the pool, read through a
 * fresh read-only mapping */
static void read_back(struct fx *f, uint64_t off, void *buf, size_t len)
{
	uint64_t start = off & ~(uint64_t)(PS - 1);
	size_t mlen = (size_t)(off - start) + len;
	void *addr;

	TU_OK(daxmap_map(&addr, f->obj, start, mlen, DAXMAP_PROT_READ));
	memcpy(buf, (char *)addr + (off - start), len);
	TU_OK(daxmap_unmap(addr, mlen));
}

static uint8_t read_back8(struct fx *f, uint64_t off)
{
	uint8_t b;
	read_back(f, off, &b, 1);
	return b;
}

static size_t count_nonzero(const void *p, size_t len)
{
	const uint8_t *b = p;
	size_t n = 0;
	for (size_t i = 0; i < len; i++)
		n += b[i] != 0;
	return n;
}

/* ---- tests ---------------------------------------------------------------- */

static void test_write_to_hole_inside_eof_reaches_pool(void)
{
	struct fx f;
	struct daxmap_pool_stat st0, st;
	uint8_t *p;
	void *addr;

	fx_open(&f, "holewrite.pool", 32 * MiB, 6 * MiB);
	TU_OK(daxmap_map(&addr, f.obj, 0, 6 * MiB, RW));
	p = addr;
	st0 = pstat(f.pool);
	CU_ASSERT(st0.used == 0 && st0.extents_allocated == 0);

	memcpy(p + 100, "first store", 11);
	st = pstat(f.pool);
	CU_ASSERT(st.extents_allocated == 1);
	CU_ASSERT(st.used == st.extent_size);
	CU_ASSERT(st.free == st0.free - st.extent_size);
	CU_ASSERT(st.faults_write >= 1);
	CU_ASSERT(st.faults_hole_read == 0);
	CU_ASSERT(st.faults_sigbus == 0);
	/* the rest of the new extent reads zero */
	CU_ASSERT(count_nonzero(p, 100) == 0);
	CU_ASSERT(count_nonzero(p + 111, 2 * MiB - 111) == 0);
	/* a store in the third extent: one more extent, not two */
	p[4 * MiB + 7] = 0xd7;
	st = pstat(f.pool);
	CU_ASSERT(st.extents_allocated == 2);
	CU_ASSERT(st.used == 2 * st.extent_size);
	TU_OK(daxmap_unmap(addr, 6 * MiB));

	fx_reopen(&f);
	char buf[11];
	read_back(&f, 100, buf, 11);
	CU_ASSERT(memcmp(buf, "first store", 11) == 0);
	CU_ASSERT(read_back8(&f, 4 * MiB + 7) == 0xd7);
	CU_ASSERT(read_back8(&f, 4 * MiB + 6) == 0);
	st = pstat(f.pool);
	CU_ASSERT(st.used == 2 * st.extent_size);
	fx_close(&f);
}

static void test_read_of_hole_inside_eof_is_zero_and_allocates_nothing(void)
{
	struct fx f;
	struct daxmap_pool_stat st;
	uint8_t *p;
	void *addr;

	fx_open(&f, "holeread.pool", 32 * MiB, 6 * MiB);
	TU_OK(daxmap_map(&addr, f.obj, 0, 6 * MiB, RW));
	p = addr;
	CU_ASSERT(count_nonzero(p, 6 * MiB) == 0);
	st = pstat(f.pool);
	CU_ASSERT(st.used == 0);
	CU_ASSERT(st.extents_allocated == 0);
	CU_ASSERT(st.faults_hole_read >= 1);
	CU_ASSERT(st.faults_write == 0);
	CU_ASSERT(st.faults_sigbus == 0);
	/* read again: still nothing allocated, no new faults needed */
	uint64_t faults = st.faults;
	CU_ASSERT(count_nonzero(p, 6 * MiB) == 0);
	st = pstat(f.pool);
	CU_ASSERT(st.used == 0 && st.faults == faults);
	/* through a read-only mapping too */
	void *ro;
	TU_OK(daxmap_map(&ro, f.obj, 2 * MiB, 2 * MiB, DAXMAP_PROT_READ));
	CU_ASSERT(count_nonzero(ro, 2 * MiB) == 0);
	CU_ASSERT(pstat(f.pool).used == 0);
	TU_OK(daxmap_unmap(ro, 2 * MiB));
	TU_OK(daxmap_unmap(addr, 6 * MiB));
	fx_reopen(&f);
	CU_ASSERT(pstat(f.pool).used == 0);
	fx_close(&f);
}

static void test_write_after_read_of_hole_reaches_pool(void)
{
	struct fx f;
	struct daxmap_pool_stat st;
	uint8_t *p;
	void *addr;

	fx_open(&f, "readwrite.pool", 32 * MiB, 4 * MiB);
	TU_OK(daxmap_map(&addr, f.obj, 0, 4 * MiB, RW));
	p = addr;
	/* read pages of extent 0 (hole: zeros, write-protected) */
	CU_ASSERT(((volatile uint8_t *)p)[0] == 0);
	CU_ASSERT(((volatile uint8_t *)p)[5 * PS + 9] == 0);
	CU_ASSERT(((volatile uint8_t *)p)[2 * MiB - 1] == 0);
	CU_ASSERT(pstat(f.pool).used == 0);
	/* the first write to a page that was read */
	p[5 * PS + 9] = 0x42;
	st = pstat(f.pool);
	CU_ASSERT(st.extents_allocated == 1);
	CU_ASSERT(st.used == st.extent_size);
	CU_ASSERT(p[5 * PS + 9] == 0x42);
	/* another page of the same extent that was read as a hole: now pool */
	p[2 * MiB - 1] = 0x43;
	p[0] = 0x44;
	CU_ASSERT(pstat(f.pool).extents_allocated == 1);
	/* a byte next to the store is still zero */
	CU_ASSERT(p[5 * PS + 10] == 0);
	TU_OK(daxmap_unmap(addr, 4 * MiB));

	fx_reopen(&f);
	CU_ASSERT(read_back8(&f, 5 * PS + 9) == 0x42);
	CU_ASSERT(read_back8(&f, 2 * MiB - 1) == 0x43);
	CU_ASSERT(read_back8(&f, 0) == 0x44);
	fx_close(&f);
}

static void test_access_inside_allocated_extent_allocates_nothing_more(void)
{
	struct fx f;
	struct daxmap_pool_stat st, st1;
	uint8_t *p;
	void *addr;

	fx_open(&f, "inside.pool", 32 * MiB, 8 * MiB);
	TU_OK(daxmap_map(&addr, f.obj, 0, 8 * MiB, RW));
	p = addr;
	p[0] = 1;
	st1 = pstat(f.pool);
	CU_ASSERT(st1.extents_allocated == 1);
	/* the whole extent is mapped by that one fault: no more faults in it */
	for (uint64_t off = PS; off < 2 * MiB; off += 64 * 1024 + PS) {
		CU_ASSERT(p[off] == 0);
		p[off] = (uint8_t)(off >> 12);
	}
	p[2 * MiB - 1] = 0xee;
	st = pstat(f.pool);
	CU_ASSERT(st.extents_allocated == 1);
	CU_ASSERT(st.used == st.extent_size);
	CU_ASSERT(st.faults == st1.faults);
	/* the next extent is a new allocation */
	p[2 * MiB] = 2;
	st = pstat(f.pool);
	CU_ASSERT(st.extents_allocated == 2);
	/* after a reopen, the existing extents are found, not allocated */
	TU_OK(daxmap_unmap(addr, 8 * MiB));
	fx_reopen(&f);
	TU_OK(daxmap_map(&addr, f.obj, 0, 8 * MiB, RW));
	p = addr;
	CU_ASSERT(p[2 * MiB - 1] == 0xee);
	p[PS * 3] = 3;
	p[2 * MiB + 5] = 5;
	st = pstat(f.pool);
	CU_ASSERT(st.extents_allocated == 0);
	CU_ASSERT(st.used == 2 * st.extent_size);
	CU_ASSERT(p[0] == 1 && p[2 * MiB] == 2);
	TU_OK(daxmap_unmap(addr, 8 * MiB));
	fx_close(&f);
}

static void test_access_at_and_beyond_eof_is_sigbus(void)
{
	struct fx f;
	struct daxmap_pool_stat st0, st;
	uint8_t *p;
	void *addr;

	/* EOF at 5000: page-rounded to 8192 */
	fx_open(&f, "eof.pool", 32 * MiB, 5000);
	TU_OK(daxmap_map(&addr, f.obj, 0, 6 * MiB, RW));
	p = addr;
	st0 = pstat(f.pool);

	/* reads first, while everything is a hole */
	expect_access(p + 4999, 0, 0);
	expect_access(p + 5000, 0, 0);
	expect_access(p + 8191, 0, 0);
	expect_sigbus(p + 8192, 0);
	expect_sigbus(p + 8192 + 123, 0);
	expect_sigbus(p + 3 * PS + 7, 0);
	expect_sigbus(p + 2 * MiB, 0);
	expect_sigbus(p + 5 * MiB + 1, 0);
	st = pstat(f.pool);
	CU_ASSERT(st.used == 0);
	CU_ASSERT(st.faults_sigbus > st0.faults_sigbus);
	/* writes */
	expect_access(p + 8191, 1, 0x81);
	expect_access(p + 8191, 0, 0x81);
	expect_sigbus(p + 8192, 1);
	expect_sigbus(p + 8192 + 4000, 1);
	expect_sigbus(p + 2 * MiB + 1, 1);
	expect_sigbus(p + 6 * MiB - 1, 1);
	st = pstat(f.pool);
	CU_ASSERT(st.extents_allocated == 1); /* extent 0 only, for the store at 8191 */
	/* again: the markers stay */
	expect_sigbus(p + 8192, 0);
	expect_sigbus(p + 8192, 1);
	TU_OK(daxmap_unmap(addr, 6 * MiB));

	/* the same with writes first, in a fresh mapping */
	TU_OK(daxmap_map(&addr, f.obj, 0, 6 * MiB, RW));
	p = addr;
	expect_sigbus(p + 3 * MiB, 1);
	expect_sigbus(p + 8192, 1);
	expect_access(p + 8191, 0, 0x81);
	expect_sigbus(p + 8192, 0);
	TU_OK(daxmap_unmap(addr, 6 * MiB));
	/* and in a read-only mapping */
	TU_OK(daxmap_map(&addr, f.obj, 0, 6 * MiB, DAXMAP_PROT_READ));
	expect_sigbus((uint8_t *)addr + 8192, 0);
	expect_access((uint8_t *)addr + 8191, 0, 0x81);
	TU_OK(daxmap_unmap(addr, 6 * MiB));
	CU_ASSERT(pstat(f.pool).extents_allocated == 1);
	fx_close(&f);
}

static void test_access_to_size_zero_object_is_sigbus(void)
{
	struct fx f;
	uint8_t *p;
	void *addr;

	fx_open(&f, "size0.pool", 32 * MiB, 0);
	TU_OK(daxmap_map(&addr, f.obj, 0, 4 * MiB, RW));
	p = addr;
	expect_sigbus(p, 0);
	expect_sigbus(p, 1);
	expect_sigbus(p + 1, 1);
	expect_sigbus(p + PS - 1, 0);
	expect_sigbus(p + 3 * MiB, 1);
	CU_ASSERT(pstat(f.pool).used == 0);
	TU_OK(daxmap_unmap(addr, 4 * MiB));
	/* a mapping at a non-zero offset of it */
	TU_OK(daxmap_map(&addr, f.obj, 2 * MiB + PS, PS, DAXMAP_PROT_READ));
	expect_sigbus((uint8_t *)addr + 17, 0);
	TU_OK(daxmap_unmap(addr, PS));
	CU_ASSERT(pstat(f.pool).used == 0);
	CU_ASSERT(pstat(f.pool).extents_allocated == 0);
	fx_close(&f);
}

static void test_pages_past_old_eof_work_after_growing(void)
{
	struct fx f;
	uint8_t *p;
	void *addr;

	fx_open(&f, "regrow.pool", 32 * MiB, 5000);
	TU_OK(daxmap_map(&addr, f.obj, 0, 6 * MiB, RW));
	p = addr;
	/* make SIGBUS markers: read and write past EOF, in extent 0 and beyond */
	expect_sigbus(p + 8192, 0);
	expect_sigbus(p + 3 * PS, 1);
	expect_sigbus(p + 2 * MiB + 5, 0);
	expect_sigbus(p + 4 * MiB, 1);
	expect_access(p + 10, 1, 0x10); /* extent 0 allocated and mapped up to EOF */

	TU_OK(daxmap_obj_truncate(f.obj, 5 * MiB));
	/* every page that gave SIGBUS works now */
	expect_access(p + 8192, 0, 0);
	expect_access(p + 3 * PS, 1, 0x33);
	expect_access(p + 3 * PS, 0, 0x33);
	expect_access(p + 2 * MiB + 5, 0, 0);
	expect_access(p + 2 * MiB + 5, 1, 0x25);
	expect_access(p + 4 * MiB, 1, 0x40);
	expect_access(p + 5 * MiB - 1, 1, 0x4f);
	expect_access(p + 10, 0, 0x10);
	/* the new EOF is enforced */
	expect_sigbus(p + 5 * MiB, 1);
	expect_sigbus(p + 5 * MiB + PS, 0);
	struct daxmap_pool_stat st = pstat(f.pool);
	CU_ASSERT(st.extents_allocated == 3);

	/* grow from a size-0 object with SIGBUS markers on page 0 */
	daxmap_obj *o2;
	void *a2;
	TU_OK(daxmap_obj_open(&o2, f.pool, "zero", DAXMAP_CREATE));
	TU_OK(daxmap_map(&a2, o2, 0, 2 * MiB, RW));
	expect_sigbus((uint8_t *)a2, 0);
	expect_sigbus((uint8_t *)a2 + 1, 1);
	TU_OK(daxmap_obj_truncate(o2, 1));
	expect_access((uint8_t *)a2, 0, 0);
	expect_access((uint8_t *)a2, 1, 0x01);
	expect_access((uint8_t *)a2 + PS - 1, 1, 0xff); /* rest of the EOF page */
	expect_sigbus((uint8_t *)a2 + PS, 1);
	TU_OK(daxmap_unmap(a2, 2 * MiB));
	TU_OK(daxmap_obj_close(o2));
	TU_OK(daxmap_unmap(addr, 6 * MiB));

	fx_reopen(&f);
	CU_ASSERT(read_back8(&f, 10) == 0x10);
	CU_ASSERT(read_back8(&f, 3 * PS) == 0x33);
	CU_ASSERT(read_back8(&f, 2 * MiB + 5) == 0x25);
	CU_ASSERT(read_back8(&f, 4 * MiB) == 0x40);
	CU_ASSERT(read_back8(&f, 5 * MiB - 1) == 0x4f);
	TU_OK(daxmap_obj_open(&o2, f.pool, "zero", 0));
	TU_OK(daxmap_map(&a2, o2, 0, PS, DAXMAP_PROT_READ));
	CU_ASSERT(((uint8_t *)a2)[0] == 0x01);
	TU_OK(daxmap_unmap(a2, PS));
	TU_OK(daxmap_obj_close(o2));
	fx_close(&f);
}

static void test_syscall_reading_into_untouched_page_reaches_pool(void)
{
	struct fx f;
	struct daxmap_pool_stat st;
	const size_t n = 3 * PS + 100;
	char *src = xstrdup(tu_path("syscall.src"));
	uint8_t *buf = malloc(n), *p;
	void *addr;
	int fd;

	CU_ASSERT_FATAL(buf != NULL);
	for (size_t i = 0; i < n; i++)
		buf[i] = (uint8_t)(i * 7 + 3);
	fd = open(src, O_RDWR | O_CREAT | O_TRUNC, 0600);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_FATAL(write(fd, buf, n) == (ssize_t)n);

	fx_open(&f, "syscall.pool", 32 * MiB, 8 * MiB);
	TU_OK(daxmap_map(&addr, f.obj, 0, 8 * MiB, RW));
	p = addr;
	st = pstat(f.pool);
	/* crossing an extent boundary, into pages never touched */
	uint8_t *dst = p + 2 * MiB - 2 * PS + 50;
	ssize_t got = pread(fd, dst, n, 0);
	if (st.user_mode_only) {
		/* documented: without kernel-mode fault handling the syscall
		 * fails with EFAULT; nothing may land in anonymous memory */
		CU_ASSERT(got == -1 && errno == EFAULT);
	} else {
		CU_ASSERT(got == (ssize_t)n);
		CU_ASSERT(memcmp(dst, buf, n) == 0);
		CU_ASSERT(pstat(f.pool).extents_allocated == 2);
	}
	/* into a page that was read as a hole (zeros, write-protected) */
	uint8_t *dst2 = p + 5 * MiB + 10;
	CU_ASSERT(((volatile uint8_t *)dst2)[0] == 0);
	got = pread(fd, dst2, n, 0);
	if (!st.user_mode_only) {
		CU_ASSERT(got == (ssize_t)n);
		CU_ASSERT(memcmp(dst2, buf, n) == 0);
	}
	/* and write(2) from a hole page (kernel-mode read of a hole) */
	CU_ASSERT(lseek(fd, 0, SEEK_SET) == 0);
	CU_ASSERT(write(fd, p + 7 * MiB, PS) == (ssize_t)PS);
	TU_OK(daxmap_unmap(addr, 8 * MiB));
	close(fd);

	if (!st.user_mode_only) {
		uint8_t *back = malloc(n);
		fx_reopen(&f);
		read_back(&f, 2 * MiB - 2 * PS + 50, back, n);
		CU_ASSERT(memcmp(back, buf, n) == 0);
		read_back(&f, 5 * MiB + 10, back, n);
		CU_ASSERT(memcmp(back, buf, n) == 0);
		free(back);
	}
	fx_close(&f);
	unlink(src);
	free(src);
	free(buf);
}

static void test_two_mappings_of_one_object_see_the_same_bytes(void)
{
	struct fx f;
	uint8_t *a, *b;
	void *va, *vb;

	fx_open(&f, "twomaps.pool", 32 * MiB, 8 * MiB);
	TU_OK(daxmap_map(&va, f.obj, 0, 8 * MiB, RW));
	TU_OK(daxmap_map(&vb, f.obj, 0, 8 * MiB, RW));
	CU_ASSERT_FATAL(va != vb);
	a = va;
	b = vb;

	/* write through A to a hole, read through B (untouched in B) */
	a[100] = 0xa1;
	CU_ASSERT(b[100] == 0xa1);
	/* write through B to a hole, read through A */
	b[2 * MiB + 200] = 0xb2;
	CU_ASSERT(a[2 * MiB + 200] == 0xb2);
	/* both ways inside a shared extent */
	b[101] = 0xb1;
	CU_ASSERT(a[101] == 0xb1);
	a[2 * MiB + 201] = 0xa2;
	CU_ASSERT(b[2 * MiB + 201] == 0xa2);
	CU_ASSERT(pstat(f.pool).extents_allocated == 2);

	/* B read the hole first (zeros in B), then A writes: B must see it */
	CU_ASSERT(((volatile uint8_t *)b)[4 * MiB + 300] == 0);
	a[4 * MiB + 300] = 0xa4;
	CU_ASSERT(((volatile uint8_t *)b)[4 * MiB + 300] == 0xa4);
	/* and the other way round */
	CU_ASSERT(((volatile uint8_t *)a)[6 * MiB + 400] == 0);
	b[6 * MiB + 400] = 0xb6;
	CU_ASSERT(((volatile uint8_t *)a)[6 * MiB + 400] == 0xb6);
	/* B's hole page, now written through B too, is the same memory */
	b[4 * MiB + 301] = 0xb4;
	CU_ASSERT(((volatile uint8_t *)a)[4 * MiB + 301] == 0xb4);
	CU_ASSERT(pstat(f.pool).extents_allocated == 4);
	TU_OK(daxmap_unmap(va, 8 * MiB));
	TU_OK(daxmap_unmap(vb, 8 * MiB));

	fx_reopen(&f);
	CU_ASSERT(read_back8(&f, 100) == 0xa1);
	CU_ASSERT(read_back8(&f, 101) == 0xb1);
	CU_ASSERT(read_back8(&f, 2 * MiB + 200) == 0xb2);
	CU_ASSERT(read_back8(&f, 2 * MiB + 201) == 0xa2);
	CU_ASSERT(read_back8(&f, 4 * MiB + 300) == 0xa4);
	CU_ASSERT(read_back8(&f, 4 * MiB + 301) == 0xb4);
	CU_ASSERT(read_back8(&f, 6 * MiB + 400) == 0xb6);
	fx_close(&f);
}

static void test_mapping_at_unaligned_page_offset_works(void)
{
	struct fx f;
	uint8_t *full, *part;
	void *vf, *vp;
	/* 3 pages past an extent start, crossing two extent boundaries */
	const uint64_t off = 2 * MiB + 3 * PS;
	const size_t len = 4 * MiB;

	fx_open(&f, "offset.pool", 32 * MiB, 10 * MiB);
	TU_OK(daxmap_map(&vf, f.obj, 0, 10 * MiB, RW));
	full = vf;
	full[off] = 0x01;		/* allocated before the partial mapping exists */
	full[off + MiB] = 0x02;
	TU_OK(daxmap_map(&vp, f.obj, off, len, RW));
	part = vp;
	/* byte i of the partial mapping is byte off+i of the object */
	CU_ASSERT(part[0] == 0x01);
	CU_ASSERT(part[MiB] == 0x02);
	CU_ASSERT(part[1] == 0);
	/* stores through the partial mapping into holes, in three extents */
	part[2 * MiB - 3 * PS - 1] = 0x03; /* last byte of object extent 1 */
	part[2 * MiB - 3 * PS] = 0x04;     /* first byte of object extent 2 */
	part[len - 1] = 0x05;              /* in object extent 3 */
	CU_ASSERT(full[4 * MiB - 1] == 0x03);
	CU_ASSERT(full[4 * MiB] == 0x04);
	CU_ASSERT(full[off + len - 1] == 0x05);
	/* bytes of the object before the partial mapping are not in it */
	full[off - 1] = 0x06;
	CU_ASSERT(part[0] == 0x01);
	CU_ASSERT(pstat(f.pool).extents_allocated == 3);
	TU_OK(daxmap_unmap(vp, len));
	TU_OK(daxmap_unmap(vf, 10 * MiB));

	/* a partial mapping made first, on a fresh extent */
	TU_OK(daxmap_map(&vp, f.obj, 6 * MiB + 5 * PS, 2 * PS, RW));
	part = vp;
	part[PS + 1] = 0x07;
	TU_OK(daxmap_unmap(vp, 2 * PS));

	fx_reopen(&f);
	CU_ASSERT(read_back8(&f, off) == 0x01);
	CU_ASSERT(read_back8(&f, 4 * MiB - 1) == 0x03);
	CU_ASSERT(read_back8(&f, 4 * MiB) == 0x04);
	CU_ASSERT(read_back8(&f, off + len - 1) == 0x05);
	CU_ASSERT(read_back8(&f, off - 1) == 0x06);
	CU_ASSERT(read_back8(&f, 6 * MiB + 6 * PS + 1) == 0x07);
	CU_ASSERT(read_back8(&f, 6 * MiB + 6 * PS) == 0);
	fx_close(&f);
}

static void test_read_only_mapping_reads_data_and_write_is_sigsegv(void)
{
	struct fx f;
	struct daxmap_pool_stat st;
	uint8_t *w, *r;
	void *vw, *vr;

	fx_open(&f, "ro.pool", 32 * MiB, 6 * MiB);
	TU_OK(daxmap_map(&vw, f.obj, 0, 6 * MiB, RW));
	w = vw;
	memcpy(w + 1000, "written", 7);
	TU_OK(daxmap_map(&vr, f.obj, 0, 6 * MiB, DAXMAP_PROT_READ));
	r = vr;
	/* data written before the read-only mapping existed */
	CU_ASSERT(memcmp(r + 1000, "written", 7) == 0);
	/* data written after it resolved the page */
	w[1007] = '!';
	CU_ASSERT(r[1007] == '!');
	st = pstat(f.pool);

	/* a write through it: SIGSEGV, on a resolved page, a page read as a
	 * hole, and a page never touched; nothing stored, nothing allocated */
	struct probe pr = probe(r + 1000, 1, 'X');
	CU_ASSERT(pr.sig == SIGSEGV);
	CU_ASSERT(pr.addr == (void *)(r + 1000));
	CU_ASSERT(r[2 * MiB + 5] == 0); /* hole read */
	pr = probe(r + 2 * MiB + 5, 1, 'Y');
	CU_ASSERT(pr.sig == SIGSEGV);
	pr = probe(r + 4 * MiB + 5, 1, 'Z'); /* never touched */
	CU_ASSERT(pr.sig == SIGSEGV);
	CU_ASSERT(pr.addr == (void *)(r + 4 * MiB + 5));
	CU_ASSERT(memcmp(w + 1000, "written!", 8) == 0);
	CU_ASSERT(w[2 * MiB + 5] == 0);
	CU_ASSERT(w[4 * MiB + 5] == 0);
	CU_ASSERT(pstat(f.pool).extents_allocated == st.extents_allocated);
	/* the read-only mapping still reads, and sees later stores */
	w[2 * MiB + 6] = 0x26;
	CU_ASSERT(r[2 * MiB + 6] == 0x26);
	/* write through it via a syscall: EFAULT, not a store */
	int fd = open("/dev/zero", O_RDONLY);
	CU_ASSERT(fd >= 0);
	CU_ASSERT(read(fd, r + 1000, 7) == -1 && errno == EFAULT);
	close(fd);
	CU_ASSERT(memcmp(r + 1000, "written!", 8) == 0);
	TU_OK(daxmap_unmap(vr, 6 * MiB));
	TU_OK(daxmap_unmap(vw, 6 * MiB));

	fx_reopen(&f);
	char buf[8];
	read_back(&f, 1000, buf, 8);
	CU_ASSERT(memcmp(buf, "written!", 8) == 0);
	CU_ASSERT(read_back8(&f, 2 * MiB + 6) == 0x26);
	CU_ASSERT(read_back8(&f, 4 * MiB + 5) == 0);
	fx_close(&f);
}

/* child exit codes of the fork test: the step that failed */
enum {
	CH_OK = 0,
	CH_RESOLVED_NOT_SEGV = 10,
	CH_HOLE_READ_NOT_SEGV,
	CH_HOLE_WRITE_NOT_SEGV,
	CH_RESOLVED_WRITE_NOT_SEGV,
	CH_STAT_NOT_EINVAL,
	CH_OBJ_OPEN_NOT_EINVAL,
	CH_MAP_NOT_EINVAL,
	CH_TRUNCATE_NOT_EINVAL,
	CH_SIZE_NOT_EINVAL,
	CH_UNMAP_NOT_EINVAL,
	CH_CLOSE_NOT_EINVAL,
	CH_LIST_NOT_EINVAL,
	CH_OWN_CREATE,
	CH_OWN_USE,
	CH_OWN_REOPEN,
	CH_OWN_BYTES,
	CH_OBJ_CLOSE_NOT_EINVAL,
	CH_PERSIST_NOT_EINVAL,
};

static int child_noop_cb(const char *name, uint64_t size, void *arg)
{
	(void)name;
	(void)size;
	(void)arg;
	return 0;
}

static int fork_child(daxmap_pool *pool, daxmap_obj *obj, uint8_t *p, const char *own_path)
{
	struct daxmap_pool_stat st;
	daxmap_obj *o2;
	void *addr;
	uint64_t size;

	/* nothing of the parent's mappings is here: SIGSEGV, never a store */
	if (tu_try_read8(p + 10, &(uint8_t){0}) != SIGSEGV)
		return CH_RESOLVED_NOT_SEGV;
	if (tu_try_write8(p + 10, 0xcc) != SIGSEGV)
		return CH_RESOLVED_WRITE_NOT_SEGV;
	if (tu_try_read8(p + 2 * MiB + 10, &(uint8_t){0}) != SIGSEGV)
		return CH_HOLE_READ_NOT_SEGV;
	if (tu_try_write8(p + 4 * MiB + 10, 0xcc) != SIGSEGV)
		return CH_HOLE_WRITE_NOT_SEGV;
	/* inherited handles are dead */
	if (daxmap_pool_stat(pool, &st) != -EINVAL)
		return CH_STAT_NOT_EINVAL;
	if (daxmap_obj_open(&o2, pool, "obj", 0) != -EINVAL)
		return CH_OBJ_OPEN_NOT_EINVAL;
	if (daxmap_pool_list(pool, child_noop_cb, NULL) != -EINVAL)
		return CH_LIST_NOT_EINVAL;
	if (daxmap_map(&addr, obj, 0, PS, RW) != -EINVAL)
		return CH_MAP_NOT_EINVAL;
	if (daxmap_obj_truncate(obj, 16 * MiB) != -EINVAL)
		return CH_TRUNCATE_NOT_EINVAL;
	if (daxmap_obj_size(obj, &size) != -EINVAL)
		return CH_SIZE_NOT_EINVAL;
	if (daxmap_unmap(p, 8 * MiB) != -EINVAL)
		return CH_UNMAP_NOT_EINVAL;
	if (daxmap_persist(p, PS) != -EINVAL)
		return CH_PERSIST_NOT_EINVAL;
	if (daxmap_obj_close(obj) != -EINVAL)
		return CH_OBJ_CLOSE_NOT_EINVAL;
	if (daxmap_pool_close(pool) != -EINVAL)
		return CH_CLOSE_NOT_EINVAL;

	/* a pool of its own works */
	daxmap_pool *own;
	if (daxmap_pool_create(&own, own_path, 32 * MiB, 0600) < 0)
		return CH_OWN_CREATE;
	if (daxmap_obj_open(&o2, own, "child", DAXMAP_CREATE) < 0 ||
	    daxmap_obj_truncate(o2, 3 * MiB) < 0 || daxmap_map(&addr, o2, 0, 3 * MiB, RW) < 0)
		return CH_OWN_USE;
	if (((volatile uint8_t *)addr)[2 * MiB] != 0)
		return CH_OWN_USE;
	memcpy((char *)addr + 2 * MiB + 1, "from the child", 14);
	if (daxmap_persist(addr, 3 * MiB) < 0 || daxmap_unmap(addr, 3 * MiB) < 0 ||
	    daxmap_obj_close(o2) < 0 || daxmap_pool_close(own) < 0)
		return CH_OWN_USE;
	if (daxmap_pool_open(&own, own_path) < 0 || daxmap_obj_open(&o2, own, "child", 0) < 0 ||
	    daxmap_map(&addr, o2, 2 * MiB, PS, DAXMAP_PROT_READ) < 0)
		return CH_OWN_REOPEN;
	if (memcmp((char *)addr + 1, "from the child", 14) != 0)
		return CH_OWN_BYTES;
	if (daxmap_unmap(addr, PS) < 0 || daxmap_obj_close(o2) < 0 || daxmap_pool_close(own) < 0)
		return CH_OWN_REOPEN;
	return CH_OK;
}

static void test_fork_child_gets_sigsegv_and_dead_handles(void)
{
	struct fx f;
	struct daxmap_pool_stat st;
	char *own = xstrdup(tu_path("child-own.pool"));
	uint8_t *p;
	void *addr;
	int status;
	pid_t pid;

	fx_open(&f, "fork.pool", 32 * MiB, 8 * MiB);
	TU_OK(daxmap_map(&addr, f.obj, 0, 8 * MiB, RW));
	p = addr;
	p[10] = 0x5a;			   /* resolved page in extent 0 */
	CU_ASSERT(p[2 * MiB + 10] == 0);   /* hole read in extent 1 */
	/* extent 2 never touched */
	unlink(own);
	fflush(NULL);

	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0)
		_exit(fork_child(f.pool, f.obj, p, own)); /* _exit: no atexit cleanup */
	CU_ASSERT_FATAL(waitpid(pid, &status, 0) == pid);
	CU_ASSERT(WIFEXITED(status));
	if (!WIFEXITED(status) || WEXITSTATUS(status) != CH_OK)
		fprintf(stderr, "fork child: %s %d\n", WIFEXITED(status) ? "exit" : "signal",
			WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == CH_OK);

	/* the parent's mapping and handles keep working */
	CU_ASSERT(p[10] == 0x5a); /* the child's store went nowhere */
	CU_ASSERT(p[2 * MiB + 10] == 0);
	p[2 * MiB + 11] = 0x11;	  /* write after a hole read */
	p[4 * MiB + 10] = 0x44;	  /* hole write */
	CU_ASSERT(p[4 * MiB + 10] == 0x44);
	st = pstat(f.pool);
	CU_ASSERT(st.extents_allocated == 3);
	CU_ASSERT(st.mappings == 1);
	TU_OK(daxmap_unmap(addr, 8 * MiB));
	fx_reopen(&f);
	CU_ASSERT(read_back8(&f, 10) == 0x5a);
	CU_ASSERT(read_back8(&f, 2 * MiB + 11) == 0x11);
	CU_ASSERT(read_back8(&f, 4 * MiB + 10) == 0x44);
	fx_close(&f);

	/* the child's pool is a good pool with the child's bytes */
	daxmap_pool *pool;
	daxmap_obj *obj;
	TU_OK(daxmap_pool_open(&pool, own));
	TU_OK(daxmap_obj_open(&obj, pool, "child", 0));
	TU_OK(daxmap_map(&addr, obj, 2 * MiB, PS, DAXMAP_PROT_READ));
	CU_ASSERT(memcmp((char *)addr + 1, "from the child", 14) == 0);
	TU_OK(daxmap_unmap(addr, PS));
	TU_OK(daxmap_obj_close(obj));
	TU_OK(daxmap_pool_close(pool));
	unlink(own);
	free(own);
}

int main(void)
{
	static const struct tu_test tests[] = {
		{"write_to_hole_inside_eof_reaches_pool", test_write_to_hole_inside_eof_reaches_pool},
		{"read_of_hole_inside_eof_is_zero_and_allocates_nothing",
		 test_read_of_hole_inside_eof_is_zero_and_allocates_nothing},
		{"write_after_read_of_hole_reaches_pool", test_write_after_read_of_hole_reaches_pool},
		{"access_inside_allocated_extent_allocates_nothing_more",
		 test_access_inside_allocated_extent_allocates_nothing_more},
		{"access_at_and_beyond_eof_is_sigbus", test_access_at_and_beyond_eof_is_sigbus},
		{"access_to_size_zero_object_is_sigbus", test_access_to_size_zero_object_is_sigbus},
		{"pages_past_old_eof_work_after_growing", test_pages_past_old_eof_work_after_growing},
		{"syscall_reading_into_untouched_page_reaches_pool",
		 test_syscall_reading_into_untouched_page_reaches_pool},
		{"two_mappings_of_one_object_see_the_same_bytes",
		 test_two_mappings_of_one_object_see_the_same_bytes},
		{"mapping_at_unaligned_page_offset_works", test_mapping_at_unaligned_page_offset_works},
		{"read_only_mapping_reads_data_and_write_is_sigsegv",
		 test_read_only_mapping_reads_data_and_write_is_sigsegv},
		{"fork_child_gets_sigsegv_and_dead_handles",
		 test_fork_child_gets_sigsegv_and_dead_handles},
		{NULL, NULL},
	};
	return tu_run("fault", tests);
}
