/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The read-only integrity checker: daxmap_pool_check(). It reads the pool
 * file with pread(2) (no mapping, no userfaultfd, nothing written) and
 * applies the same validators as open (layout.h), then the cross-structure checks that open
 * does while it builds its in-memory state: owners live, no (object, index)
 * held twice, log records replayable. A growable pool (format version 2)
 * has a table laid out for its maximum size: only the extents within the
 * file's current size are checked as extents (and their data read); the
 * entries of the others must be 0, and an interrupted grow is a notice.
 * Version 3 adds the block table: its entries are checked as the extent
 * table's are (struct table: the same steps, with 64 KiB units), those of
 * an extent that is not split must be 0, and each table's owners must be
 * objects of its kind (SLOT_F_SMALL: blocks only).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "layout.h"
#include "libdaxmap.h"
#include "out.h"
#include "shared.h"

#define CHECK_MAX_DAMAGE 1000                      /* listed; the rest are counted */
#define CHECK_CHUNK (UINT64_C(1) << 20)           /* bytes read at a time */
#define CHECK_PROGRESS_STEPS 100                  /* progress lines per table: whole percents */

enum { ST_FREE, ST_LIVE, ST_DYING, ST_BAD };

/*
 * One table of allocation units and what its check found: the extent
 * table, or (version 3) the block table, whose units are the 64 KiB blocks
 * of every extent (block b lies in extent b / bpe, at data_off + b * 64 KiB).
 */
struct table {
	const char *what;            /* "extent" or "block" */
	uint64_t off, n;             /* its offset in the file; its entries */
	uint64_t npresent;           /* units within the file's current size: the
					others' entries (version 2 and 3) lie past its end */
	uint64_t unit;               /* bytes per unit */
	unsigned shift;              /* log2(unit) */
	int small;                   /* the block table: owners are SLOT_F_SMALL objects */
	uint64_t *owned, *dups;      /* entries of allocated units; those held twice */
	uint8_t *freebits;           /* bit per unit: free and zeroed (blocks: of split
					extents only) */
	uint64_t nowned, ndups, nfree, ndirty, npast;
};

/*
 * Bytes of unit `pidx` of table t (a data extent, or a block) from `from`
 * to its end that lie past the EOF of live object `slot` (its unit `e`).
 * Nothing the library does leaves data there: a shrink zeroes what stays
 * allocated and logs itself, stores past the page holding EOF are SIGBUS,
 * an allocate past EOF takes zeroed units. Non-zero bytes there mean a
 * damaged size word, and a later grow would show them.
 */
struct past_eof {
	const struct table *t; /* the unit's: an extent or a block */
	uint64_t pidx, from, e;
	uint32_t slot;
};

/* One check of one file: what the steps found so far, for the steps after them. */
struct check {
	const char *path;
	int fd, flags;
	void (*report)(const char *msg, void *arg);
	void *arg;
	uint64_t damaged, notices;
	int stop; /* set by a step after which nothing can be trusted to be where it says */

	struct pool_hdr h;
	struct table ext, blk;       /* blk: version 3 only (bpe != 0) */
	uint64_t bpe;                /* blocks per extent; 0: no blocks */
	struct log_record log[LOG_RECORDS];
	char *buf;                   /* CHECK_CHUNK bytes for reads */
	uint8_t *state;              /* ST_* per object slot */
	uint8_t *small;              /* per slot: SLOT_F_SMALL (made of blocks) */
	uint64_t *size;              /* per slot: EOF of a live object */
	struct slot_name_key *names; /* live slots' name hashes */
	uint8_t *splitbits;          /* bit per extent: split into blocks */
	uint8_t *logged;             /* per slot: a log record to replay names it */
	struct past_eof *past;       /* allocated bytes past a live object's EOF (for --data) */
	uint64_t npastdata, pastcap;
	uint64_t nnames, nlive, ndying, nsplit, npending;
};

/* Bit i of a byte array (the checker uses only layout and out: doc/DESIGN.md). */
static int bit_test(const uint8_t *bits, uint64_t i)
{
	return (bits[i >> 3] >> (i & 7)) & 1;
}

static void bit_set(uint8_t *bits, uint64_t i)
{
	bits[i >> 3] |= (uint8_t)(1u << (i & 7));
}

static void say(struct check *c, const char *kind, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void say(struct check *c, const char *kind, const char *fmt, ...)
{
	char msg[768];
	va_list ap;
	int n;

	if (!strcmp(kind, "damaged") && c->damaged++ >= CHECK_MAX_DAMAGE)
		return;
	if (!strcmp(kind, "notice"))
		c->notices++;
	if (!c->report)
		return;
	n = snprintf(msg, sizeof(msg), "%s: ", kind);
	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	va_end(ap);
	c->report(msg, c->arg);
}

/* A problem found by one of the shared validators: its message, without the
 * " (strerror)" that ERR() appends for daxmap_errormsg(). */
static void say_err(struct check *c, int code)
{
	char msg[600], suffix[128];
	size_t n, k;

	snprintf(suffix, sizeof(suffix), " (%s)", strerror(-code));
	k = strlen(suffix);
	snprintf(msg, sizeof(msg), "%s", daxmap_errormsg());
	n = strlen(msg);
	if (n > k && !strcmp(msg + n - k, suffix))
		msg[n - k] = 0;
	say(c, "damaged", "%s", msg);
}

static int read_at(struct check *c, void *buf, size_t len, uint64_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(c->fd, (char *)buf + done, len - done, (off_t)(off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return ERR(-errno, "cannot read %s at offset %llu", c->path,
				   (unsigned long long)(off + done));
		if (n == 0)
			return ERR(-EIO, "%s: unexpected end of file at offset %llu (the file "
					 "shrank during the check?)", c->path,
				   (unsigned long long)(off + done));
		done += (size_t)n;
	}
	return 0;
}

static void progress(struct check *c, const char *what, uint64_t done, uint64_t total,
		     uint64_t *next)
{
	if (!(c->flags & DAXMAP_CHECK_PROGRESS) || (done < *next && done < total))
		return;
	say(c, "progress", "%s: %llu of %llu bytes (%llu%%)", what, (unsigned long long)done,
	    (unsigned long long)total, (unsigned long long)(total ? done * 100 / total : 100));
	*next = done + (total / CHECK_PROGRESS_STEPS ? total / CHECK_PROGRESS_STEPS : 1);
}

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Live objects must have distinct names: open finds the first one only. */
static int check_names(struct check *c)
{
	struct slot_name_key *keys = c->names;
	struct obj_slot a, b;
	int ret;

	qsort(keys, c->nnames, sizeof(*keys), layout_name_key_cmp);
	for (uint64_t i = 1; i < c->nnames; i++) {
		if (keys[i].hash != keys[i - 1].hash)
			continue;
		/* same hash: compare the names themselves */
		for (uint64_t j = i; j-- > 0 && keys[j].hash == keys[i].hash;) {
			uint64_t off_a = c->h.objtab_off + (uint64_t)keys[j].slot * SLOT_SIZE;
			uint64_t off_b = c->h.objtab_off + (uint64_t)keys[i].slot * SLOT_SIZE;
			if ((ret = read_at(c, &a, sizeof(a), off_a)) < 0 ||
			    (ret = read_at(c, &b, sizeof(b), off_b)) < 0)
				return ret;
			if (a.name_len == b.name_len && !memcmp(a.name, b.name, a.name_len)) {
				say(c, "damaged", "object slot %u at offset %llu: name \"%.*s\" is "
				    "also the name of slot %u (only one of them can be opened)",
				    keys[i].slot, (unsigned long long)off_b, (int)b.name_len,
				    b.name, keys[j].slot);
				break;
			}
		}
	}
	return 0;
}

/* Reads the chunk of table t that starts at entry i, and ends at entry
 * `end` at the latest, into c->buf; *n is how many entries it holds. */
static int read_table_chunk(struct check *c, const struct table *t, uint64_t i, uint64_t end,
			    uint64_t *n)
{
	*n = CHECK_CHUNK / sizeof(uint64_t);
	if (*n > end - i)
		*n = end - i;
	return read_at(c, c->buf, (size_t)(*n * sizeof(uint64_t)), t->off + i * sizeof(uint64_t));
}

/* The file and its header: nothing past a bad header can be trusted. */
static int check_header(struct check *c)
{
	struct stat st;
	int ret;

	if (fstat(c->fd, &st) < 0)
		return ERR(-errno, "cannot stat %s", c->path);
	if (!S_ISREG(st.st_mode))
		return ERR(-EINVAL, "%s is not a regular file", c->path);
	if ((uint64_t)st.st_size < POOL_HDR_SIZE) {
		say(c, "damaged", "%s is not a daxmap pool: %lld bytes is smaller than a pool header "
		    "(empty or truncated file)", c->path, (long long)st.st_size);
		c->stop = 1;
		return 0;
	}
	if ((ret = read_at(c, &c->h, sizeof(c->h), 0)) < 0)
		return ret;
	ret = layout_hdr_check(&c->h, (uint64_t)st.st_size, c->path);
	if (ret == -EPROTONOSUPPORT)
		return ret;
	if (ret < 0) {
		say_err(c, ret);
		c->stop = 1;
		return 0;
	}
	c->ext = (struct table){.what = "extent", .off = c->h.exttab_off, .n = c->h.nextents,
				.npresent = layout_present(&c->h, layout_cur_size(&c->h)),
				.unit = c->h.extent_size,
				.shift = (unsigned)__builtin_ctzll(c->h.extent_size)};
	if ((c->bpe = layout_blocks_per_extent(&c->h)) != 0)
		c->blk = (struct table){.what = "block", .off = c->h.blktab_off,
					.n = c->h.nextents * c->bpe,
					.npresent = c->ext.npresent * c->bpe, .unit = POOL_BLOCK_SIZE,
					.shift = POOL_BLOCK_SHIFT, .small = 1};
	if (c->h.version >= 2 && c->h.grow_to != 0)
		say(c, "notice", "header at offset %zu: a grow from %llu to %llu bytes was "
		    "interrupted (the file has %llu bytes): %s on the next open",
		    offsetof(struct pool_hdr, grow_to), (unsigned long long)c->h.cur_size,
		    (unsigned long long)c->h.grow_to, (unsigned long long)st.st_size,
		    (uint64_t)st.st_size >= c->h.grow_to ? "finished"
							 : "undone (the file is cut back)");
	c->state = calloc(c->h.max_objects, 1);
	c->small = calloc(c->h.max_objects, 1);
	c->size = calloc(c->h.max_objects, sizeof(*c->size));
	c->names = calloc(c->h.max_objects, sizeof(*c->names));
	c->ext.owned = malloc((c->h.nextents ? c->h.nextents : 1) * sizeof(*c->ext.owned));
	c->ext.freebits = calloc((c->h.nextents + 7) / 8 + 1, 1);
	c->splitbits = calloc((c->h.nextents + 7) / 8 + 1, 1);
	c->logged = calloc(c->h.max_objects, 1);
	c->buf = malloc(CHECK_CHUNK);
	if (!c->state || !c->small || !c->size || !c->names || !c->ext.owned ||
	    !c->ext.freebits || !c->splitbits || !c->logged || !c->buf)
		return ERR(-ENOMEM, "out of memory checking %s", c->path);
	return 0;
}

/* Each log record on its own. */
static int check_log(struct check *c)
{
	int ret;

	if ((ret = read_at(c, c->log, sizeof(c->log), POOL_LOG_OFF)) < 0)
		return ret;
	for (unsigned i = 0; i < LOG_RECORDS; i++) {
		ret = layout_log_check(&c->log[i], i, c->h.max_objects);
		if (ret < 0)
			say_err(c, ret);
		else if (ret == 0 && c->log[i].op != LOG_OP_NONE)
			say(c, "notice", "log record %u at offset %zu: torn (never committed): "
			    "cleared on the next open", i, POOL_LOG_OFF + i * sizeof(c->log[i]));
		else if (ret > 0)
			c->npending++;
	}
	return 0;
}

/* Each object slot on its own, then the names of the live ones. */
static int check_objtab(struct check *c)
{
	uint64_t next = 0;
	int ret;

	for (uint32_t i = 0; i < c->h.max_objects;) {
		uint32_t n = (uint32_t)(CHECK_CHUNK / SLOT_SIZE);
		if (n > c->h.max_objects - i)
			n = c->h.max_objects - i;
		if ((ret = read_at(c, c->buf, (size_t)n * SLOT_SIZE,
				   c->h.objtab_off + (uint64_t)i * SLOT_SIZE)) < 0)
			return ret;
		for (uint32_t k = 0; k < n; k++, i++) {
			const struct obj_slot *s =
				(const struct obj_slot *)(c->buf + (size_t)k * SLOT_SIZE);
			uint64_t off = c->h.objtab_off + (uint64_t)i * SLOT_SIZE;
			if ((ret = layout_slot_check(s, i, off, c->h.nextents,
						     layout_has_blocks(&c->h))) < 0) {
				say_err(c, ret);
				c->state[i] = ST_BAD;
			} else if (s->state == SLOT_LIVE) {
				c->state[i] = ST_LIVE;
				c->small[i] = (s->flags & SLOT_F_SMALL) != 0;
				c->size[i] = s->size;
				c->names[c->nnames].hash = layout_name_hash(s);
				c->names[c->nnames++].slot = i;
				c->nlive++;
			} else if (s->state == SLOT_DYING) {
				c->state[i] = ST_DYING;
				c->small[i] = (s->flags & SLOT_F_SMALL) != 0;
				c->ndying++;
				say(c, "notice", "object slot %u at offset %llu: unlink of \"%.*s\" was "
				    "interrupted: finished on the next open", i,
				    (unsigned long long)off, (int)s->name_len, s->name);
			}
		}
		progress(c, "object table", (uint64_t)i * SLOT_SIZE,
			 (uint64_t)c->h.max_objects * SLOT_SIZE, &next);
	}
	return check_names(c);
}

/* Log records must name a live object: replay at open fails otherwise. */
static int check_log_owners(struct check *c)
{
	for (unsigned i = 0; i < LOG_RECORDS; i++) {
		const struct log_record *r = &c->log[i];
		if (layout_log_check(r, i, c->h.max_objects) <= 0)
			continue;
		c->logged[r->slot] = 1;
		if (c->state[r->slot] != ST_LIVE)
			say(c, "damaged", "log record %u at offset %zu: %s of object slot %llu, "
			    "which is not a live object: the next open cannot replay it", i,
			    POOL_LOG_OFF + i * sizeof(*r), layout_log_op_name(r->op),
			    (unsigned long long)r->slot);
		else
			say(c, "notice", "log record %u at offset %zu: pending %s of object slot "
			    "%llu [%llu, %llu): will be replayed on the next open", i,
			    POOL_LOG_OFF + i * sizeof(*r), layout_log_op_name(r->op),
			    (unsigned long long)r->slot, (unsigned long long)r->a,
			    (unsigned long long)r->b);
	}
	return 0;
}

/* Remembers the part of unit pidx of table t (object unit e) past the
 * object's EOF, page-rounded, for check_data; nothing when EOF is at its end. */
static void check_note_past_eof(struct check *c, const struct table *t, uint64_t pidx,
				uint32_t slot, uint64_t e)
{
	uint64_t es = t->unit, start = e * es, eof = c->size[slot];
	uint64_t from = eof <= start ? 0 : ((eof - start + 4095) & ~UINT64_C(4095));

	if (!(c->flags & DAXMAP_CHECK_DATA) || from >= es)
		return;
	if (c->npastdata == c->pastcap) {
		uint64_t cap = c->pastcap ? 2 * c->pastcap : 64;
		struct past_eof *n = realloc(c->past, cap * sizeof(*n));
		if (!n)
			return; /* no memory: that extent goes unchecked */
		c->past = n;
		c->pastcap = cap;
	}
	c->past[c->npastdata++] = (struct past_eof){.t = t, .pidx = pidx, .from = from, .e = e,
						    .slot = slot};
}

/* One allocated entry of table t against its owner, which must be an
 * object of the table's kind: open loads each table's units into the
 * objects made of them only. */
static void check_owner(struct check *c, struct table *t, uint64_t i, uint64_t ent)
{
	uint64_t off = t->off + i * sizeof(uint64_t), e = ext_entry_index(ent), eof_units;
	uint32_t slot = ext_entry_slot(ent);

	if (c->state[slot] == ST_BAD)
		return; /* reported with the slot */
	if (c->state[slot] == ST_FREE) {
		say(c, "damaged", "%s table entry %llu at offset %llu: owner slot %u is not a "
		    "live object", t->what, (unsigned long long)i, (unsigned long long)off, slot);
		return;
	}
	if (c->small[slot] != t->small) {
		say(c, "damaged", "%s table entry %llu at offset %llu: owner slot %u is an object "
		    "made of %s: the pool cannot be opened", t->what, (unsigned long long)i,
		    (unsigned long long)off, slot, c->small[slot] ? "blocks" : "extents");
		return;
	}
	t->owned[t->nowned++] = ent;
	if (c->state[slot] == ST_DYING)
		return; /* freed with its object on the next open */
	eof_units = (c->size[slot] + t->unit - 1) >> t->shift;
	if (e >= eof_units && t->npast++ < 16)
		say(c, "notice", "%s table entry %llu at offset %llu: %s %llu of object slot %u "
		    "lies past its EOF (%llu bytes), %s: freed on the next open", t->what,
		    (unsigned long long)i, (unsigned long long)off, t->what, (unsigned long long)e,
		    slot, (unsigned long long)c->size[slot],
		    c->logged[slot] ? "left by an interrupted shrink"
				    : "left by an interrupted allocate, or the object's size "
				      "word is damaged (--data tells: an allocate leaves zeros)");
	if (e + 1 >= eof_units && !c->logged[slot])
		check_note_past_eof(c, t, i, slot, e);
}

/* The entry of a unit past the file's end (version 2 and 3: a grow adds
 * it) is 0 until the grow: open refuses any other value. */
static void check_absent(struct check *c, const struct table *t, uint64_t i, uint64_t ent)
{
	say(c, "damaged", "%s table entry %llu at offset %llu: the %s lies past the pool's "
	    "current size (%llu bytes, %llu %ss) but the entry is %#llx, not 0 (free): the pool "
	    "cannot be opened", t->what, (unsigned long long)i,
	    (unsigned long long)(t->off + i * sizeof(uint64_t)), t->what,
	    (unsigned long long)layout_cur_size(&c->h), (unsigned long long)t->npresent, t->what,
	    (unsigned long long)ent);
}

/*
 * Entry i of table t: on its own, then against its owner. A split extent
 * (version 3) is neither free nor owned: its blocks are, in the block
 * table, where the entries of the blocks of any other extent must be 0
 * (splitting does not write them: they must be 0 already).
 */
static void check_entry(struct check *c, struct table *t, uint64_t i, uint64_t ent)
{
	uint64_t off = t->off + i * sizeof(uint64_t);
	int r;

	if (i >= t->npresent) {
		if (ent != 0)
			check_absent(c, t, i, ent);
		return;
	}
	if (t->small && !bit_test(c->splitbits, i / c->bpe)) {
		if (ent != 0)
			say(c, "damaged", "block table entry %llu at offset %llu is %#llx, not 0, but "
			    "extent %llu is not split into blocks: the pool cannot be opened",
			    (unsigned long long)i, (unsigned long long)off, (unsigned long long)ent,
			    (unsigned long long)(i / c->bpe));
		return;
	}
	r = layout_ext_check(ent, i, off, c->h.max_objects, t->shift,
			     t->small ? LAYOUT_BLOCKS
				      : layout_has_blocks(&c->h) ? LAYOUT_EXTENTS_SPLIT : LAYOUT_EXTENTS);
	if (r < 0) {
		say_err(c, r);
	} else if (r == 2) {
		c->nsplit++;
		bit_set(c->splitbits, i);
	} else if (r > 0) {
		check_owner(c, t, i, ent);
	} else if (ent == 0) {
		t->nfree++;
		bit_set(t->freebits, i);
	} else {
		t->ndirty++;
	}
}

/* Each entry of table t on its own and against its owner; those of units
 * past the file's end must be 0. */
static int check_table(struct check *c, struct table *t)
{
	char what[32];
	uint64_t next = 0, n;
	int ret;

	snprintf(what, sizeof(what), "%s table", t->what);
	for (uint64_t i = 0; i < t->n;) {
		const uint64_t *ents = (const uint64_t *)c->buf;
		if ((ret = read_table_chunk(c, t, i, t->n, &n)) < 0)
			return ret;
		for (uint64_t k = 0; k < n; k++, i++)
			check_entry(c, t, i, ents[k]);
		progress(c, what, i * sizeof(uint64_t), t->n * sizeof(uint64_t), &next);
	}
	if (t->npast > 16)
		say(c, "notice", "%llu %ss past EOF in all (not all listed)",
		    (unsigned long long)t->npast, t->what);
	return 0;
}

static int check_exttab(struct check *c)
{
	return check_table(c, &c->ext);
}

/* Version 3: the block table, after the extent table has said which
 * extents are split; only their blocks can be owned. */
static int check_blktab(struct check *c)
{
	struct table *t = &c->blk;
	uint64_t most = c->nsplit * c->bpe;

	if (!c->bpe)
		return 0;
	t->owned = malloc((most ? most : 1) * sizeof(*t->owned));
	t->freebits = calloc((t->n + 7) / 8 + 1, 1);
	if (!t->owned || !t->freebits)
		return ERR(-ENOMEM, "out of memory checking %s", c->path);
	return check_table(c, t);
}

/* Each (object, index) of table t is held by one of its entries only. */
static int check_accounting_table(struct check *c, struct table *t)
{
	uint64_t n;
	int ret;

	qsort(t->owned, t->nowned, sizeof(*t->owned), u64_cmp);
	for (uint64_t i = 1; i < t->nowned; i++)
		if (t->owned[i] == t->owned[i - 1] &&
		    (t->ndups == 0 || t->dups[t->ndups - 1] != t->owned[i])) {
			if (!t->dups && !(t->dups = malloc(t->nowned * sizeof(*t->dups))))
				return ERR(-ENOMEM, "out of memory checking %s", c->path);
			t->dups[t->ndups++] = t->owned[i];
		}
	for (uint64_t i = 0; t->ndups && i < t->npresent;) {
		const uint64_t *ents = (const uint64_t *)c->buf;
		if ((ret = read_table_chunk(c, t, i, t->npresent, &n)) < 0)
			return ret;
		for (uint64_t k = 0; k < n; k++, i++)
			if (ext_entry_tag(ents[k]) == EXT_TAG_ALLOC &&
			    bsearch(&ents[k], t->dups, t->ndups, sizeof(*t->dups), u64_cmp))
				say(c, "damaged", "%s table entry %llu at offset %llu: %s %llu of "
				    "object slot %u is held by more than one entry", t->what,
				    (unsigned long long)i,
				    (unsigned long long)(t->off + i * sizeof(uint64_t)), t->what,
				    (unsigned long long)ext_entry_index(ents[k]),
				    ext_entry_slot(ents[k]));
	}
	return 0;
}

static int check_accounting(struct check *c)
{
	int ret = check_accounting_table(c, &c->ext);

	if (ret == 0 && c->bpe)
		ret = check_accounting_table(c, &c->blk);
	return ret;
}

/* 1 when [off, off+len) of the file reads zero, 0 when not, or a negative error. */
static int check_zero(struct check *c, uint64_t off, uint64_t len)
{
	for (uint64_t done = 0; done < len; done += CHECK_CHUNK) {
		size_t n = (size_t)(len - done < CHECK_CHUNK ? len - done : CHECK_CHUNK);
		int ret = read_at(c, c->buf, n, off + done);
		if (ret < 0)
			return ret;
		if (c->buf[0] != 0 || memcmp(c->buf, c->buf + 1, n - 1))
			return 0;
	}
	return 1;
}

/* With DAXMAP_CHECK_DATA: allocated bytes past a live object's EOF must
 * read zero (see struct past_eof). */
static int check_data_past_eof(struct check *c)
{
	for (uint64_t k = 0; k < c->npastdata; k++) {
		const struct past_eof *p = &c->past[k];
		const struct table *t = p->t;
		uint64_t off = c->h.data_off + p->pidx * t->unit;
		int ret = check_zero(c, off + p->from, t->unit - p->from);

		if (ret < 0)
			return ret;
		if (ret == 0)
			say(c, "damaged", "data %s %llu at offset %llu: %s %llu of object slot %u "
			    "holds non-zero bytes past the object's EOF (%llu bytes), where "
			    "nothing is ever stored: its size word is damaged (open frees or "
			    "zeroes them; the bytes past EOF are lost)", t->what,
			    (unsigned long long)p->pidx, (unsigned long long)(off + p->from), t->what,
			    (unsigned long long)p->e, p->slot, (unsigned long long)c->size[p->slot]);
	}
	return 0;
}

/* With DAXMAP_CHECK_DATA: every free, zeroed unit of table t must read
 * zero (it is handed out without zeroing). Only the units within the file;
 * of the block table, only those of split extents are marked. */
static int check_data_table(struct check *c, const struct table *t, const char *what)
{
	uint64_t next = 0, total = t->npresent * t->unit;
	int ret;

	for (uint64_t i = 0; i < t->npresent; i++) {
		uint64_t off = c->h.data_off + i * t->unit;
		if (bit_test(t->freebits, i)) {
			if ((ret = check_zero(c, off, t->unit)) < 0)
				return ret;
			if (ret == 0)
				say(c, "damaged", "data %s %llu at offset %llu: free and marked "
				    "zeroed but holds non-zero bytes (they would show up in an "
				    "object)", t->what, (unsigned long long)i,
				    (unsigned long long)off);
		}
		/* every unit, read or not: the last line is the 100% one */
		progress(c, what, (i + 1) * t->unit, total, &next);
	}
	return 0;
}

static int check_data(struct check *c)
{
	int ret;

	if (!(c->flags & DAXMAP_CHECK_DATA))
		return 0;
	if ((ret = check_data_table(c, &c->ext, "free data")) < 0 ||
	    (c->bpe && (ret = check_data_table(c, &c->blk, "free blocks")) < 0))
		return ret;
	return check_data_past_eof(c);
}

static int check_summary(struct check *c)
{
	const struct table *e = &c->ext, *b = &c->blk;
	char blocks[192] = "";

	if (c->damaged > CHECK_MAX_DAMAGE && c->report) {
		char msg[128];
		snprintf(msg, sizeof(msg), "damaged: %llu more problems not listed",
			 (unsigned long long)(c->damaged - CHECK_MAX_DAMAGE));
		c->report(msg, c->arg);
	}
	/* version 3: split extents are neither allocated nor free; their blocks are */
	if (c->bpe)
		snprintf(blocks, sizeof(blocks), ", %llu split into %llu blocks: %llu allocated, "
			 "%llu free (%llu waiting to be zeroed)", (unsigned long long)c->nsplit,
			 (unsigned long long)(c->nsplit * c->bpe), (unsigned long long)b->nowned,
			 (unsigned long long)(b->nfree + b->ndirty), (unsigned long long)b->ndirty);
	say(c, "summary", "%llu objects (%llu being unlinked), %llu of %llu extents allocated, "
	    "%llu free (%llu waiting to be zeroed)%s, %llu log records to replay; %llu problems, "
	    "%llu notices", (unsigned long long)c->nlive, (unsigned long long)c->ndying,
	    (unsigned long long)e->nowned, (unsigned long long)e->npresent,
	    (unsigned long long)(e->nfree + e->ndirty), (unsigned long long)e->ndirty, blocks,
	    (unsigned long long)c->npending, (unsigned long long)c->damaged,
	    (unsigned long long)c->notices);
	return 0;
}

/* The steps, in order (libpmempool's check steps are the model): each reads
 * what it needs and leaves in struct check what later steps use. */
static int (*const check_steps[])(struct check *c) = {
	check_header, check_log, check_objtab, check_log_owners,
	check_exttab, check_blktab, check_accounting, check_data, check_summary,
};

static int check_run(struct check *c)
{
	int ret = 0;

	for (size_t i = 0; i < sizeof(check_steps) / sizeof(check_steps[0]) && !c->stop; i++)
		if ((ret = check_steps[i](c)) < 0)
			break;
	free(c->state);
	free(c->small);
	free(c->size);
	free(c->names);
	for (int k = 0; k < 2; k++) {
		struct table *t = k ? &c->blk : &c->ext;
		free(t->owned);
		free(t->dups);
		free(t->freebits);
	}
	free(c->splitbits);
	free(c->logged);
	free(c->past);
	free(c->buf);
	return ret;
}

/* Whether processes have the pool open shared (its header's uuid names
 * their run file); a notice when they do. */
static int check_shared_openers(struct check *c)
{
	struct pool_hdr h;
	struct stat st;

	if (pread(c->fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h) || fstat(c->fd, &st) < 0 ||
	    !shared_in_use(h.uuid, &st))
		return 0;
	say(c, "notice", "in use: %s is open shared by other processes: results may be "
			 "inconsistent", c->path);
	return 1;
}

int daxmap_pool_check(const char *path, int flags, void (*report)(const char *msg, void *arg),
		      void *arg)
{
	struct check c = {.path = path, .flags = flags, .report = report, .arg = arg, .fd = -1};
	int ret;

	if (!path)
		return ERR(-EINVAL, "path is NULL");
	if (flags & ~(DAXMAP_CHECK_FORCE | DAXMAP_CHECK_PROGRESS | DAXMAP_CHECK_DATA))
		return ERR(-EINVAL, "unknown check flags %#x", flags);
	c.fd = open(path, O_RDONLY | O_CLOEXEC);
	if (c.fd < 0)
		return ERR(-errno, "cannot open %s", path);
	/* shared: other checks may run; an open (exclusive) may not */
	if (flock(c.fd, LOCK_SH | LOCK_NB) < 0) {
		if (errno != EWOULDBLOCK) {
			ret = ERR(-errno, "cannot lock %s", path);
			goto out;
		}
		if (!(flags & DAXMAP_CHECK_FORCE)) {
			ret = ERR(-EBUSY, "pool %s is open elsewhere: check it when it is closed, "
					  "or force the check", path);
			goto out;
		}
		say(&c, "notice", "in use: %s is open elsewhere: results may be inconsistent", path);
	}
	/* shared openers share the lock with us: their run file tells */
	if (check_shared_openers(&c) && !(flags & DAXMAP_CHECK_FORCE)) {
		ret = ERR(-EBUSY, "pool %s is open shared by other processes: check it when they "
				  "have closed it, or force the check", path);
		goto out;
	}
	ret = check_run(&c);
	if (ret == 0)
		ret = c.damaged ? 1 : 0;
out:
	close(c.fd);
	return ret;
}
