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

#define CHECK_MAX_DAMAGE 1000                      /* listed; the rest are counted */
#define CHECK_CHUNK (UINT64_C(1) << 20)           /* bytes read at a time */
#define CHECK_PROGRESS_STEPS 100                  /* progress lines per table: whole percents */

enum { ST_FREE, ST_LIVE, ST_DYING, ST_BAD };

/*
 * Bytes of data extent `pidx` from `from` to its end that lie past the EOF
 * of live object `slot` (index `e`). Nothing the library does leaves data
 * there: a shrink zeroes what stays allocated and logs itself, stores past
 * the page holding EOF are SIGBUS, an allocate past EOF takes zeroed
 * extents. Non-zero bytes there mean a damaged size word, and a later grow
 * would show them.
 */
struct past_eof {
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
	uint64_t npresent;           /* extents within the file's current size: the
					table's others (version 2) lie past its end */
	struct log_record log[LOG_RECORDS];
	char *buf;                   /* CHECK_CHUNK bytes for reads */
	uint8_t *state;              /* ST_* per object slot */
	uint64_t *size;              /* per slot: EOF of a live object */
	struct slot_name_key *names; /* live slots' name hashes */
	uint64_t *owned, *dups;      /* entries of allocated extents; those held twice */
	uint8_t *freebits;           /* bit per extent: free and zeroed */
	uint8_t *logged;             /* per slot: a log record to replay names it */
	struct past_eof *past;       /* allocated bytes past a live object's EOF (for --data) */
	uint64_t npastdata, pastcap;
	uint64_t nnames, nlive, ndying, nfree, ndirty, npast, npending, nowned, ndups;
};

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

/* Reads the chunk of the extent table that starts at entry i, and ends at
 * entry `end` at the latest, into c->buf; *n is how many entries it holds. */
static int read_exttab_chunk(struct check *c, uint64_t i, uint64_t end, uint64_t *n)
{
	*n = CHECK_CHUNK / sizeof(uint64_t);
	if (*n > end - i)
		*n = end - i;
	return read_at(c, c->buf, (size_t)(*n * sizeof(uint64_t)),
		       c->h.exttab_off + i * sizeof(uint64_t));
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
	c->npresent = layout_present(&c->h, layout_cur_size(&c->h));
	if (c->h.version >= 2 && c->h.grow_to != 0)
		say(c, "notice", "header at offset %zu: a grow from %llu to %llu bytes was "
		    "interrupted (the file has %llu bytes): %s on the next open",
		    offsetof(struct pool_hdr, grow_to), (unsigned long long)c->h.cur_size,
		    (unsigned long long)c->h.grow_to, (unsigned long long)st.st_size,
		    (uint64_t)st.st_size >= c->h.grow_to ? "finished"
							 : "undone (the file is cut back)");
	c->state = calloc(c->h.max_objects, 1);
	c->size = calloc(c->h.max_objects, sizeof(*c->size));
	c->names = calloc(c->h.max_objects, sizeof(*c->names));
	c->owned = malloc((c->h.nextents ? c->h.nextents : 1) * sizeof(*c->owned));
	c->freebits = calloc((c->h.nextents + 7) / 8, 1);
	c->logged = calloc(c->h.max_objects, 1);
	c->buf = malloc(CHECK_CHUNK);
	if (!c->state || !c->size || !c->names || !c->owned || !c->freebits || !c->logged ||
	    !c->buf)
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
			if ((ret = layout_slot_check(s, i, off, c->h.nextents)) < 0) {
				say_err(c, ret);
				c->state[i] = ST_BAD;
			} else if (s->state == SLOT_LIVE) {
				c->state[i] = ST_LIVE;
				c->size[i] = s->size;
				c->names[c->nnames].hash = layout_name_hash(s);
				c->names[c->nnames++].slot = i;
				c->nlive++;
			} else if (s->state == SLOT_DYING) {
				c->state[i] = ST_DYING;
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

/* Remembers the part of extent pidx (object extent e) past the object's
 * EOF, page-rounded, for check_data; nothing when EOF is at its end. */
static void check_note_past_eof(struct check *c, uint64_t pidx, uint32_t slot, uint64_t e)
{
	uint64_t es = c->h.extent_size, start = e * es, eof = c->size[slot];
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
	c->past[c->npastdata++] = (struct past_eof){.pidx = pidx, .from = from, .e = e,
						    .slot = slot};
}

/* One allocated extent-table entry against its owner. */
static void check_owner(struct check *c, uint64_t i, uint64_t ent)
{
	uint64_t off = c->h.exttab_off + i * sizeof(uint64_t), e = ext_entry_index(ent), eof_ext;
	uint32_t slot = ext_entry_slot(ent);

	if (c->state[slot] == ST_BAD)
		return; /* reported with the slot */
	if (c->state[slot] == ST_FREE) {
		say(c, "damaged", "extent table entry %llu at offset %llu: owner slot %u is not a "
		    "live object", (unsigned long long)i, (unsigned long long)off, slot);
		return;
	}
	c->owned[c->nowned++] = ent;
	if (c->state[slot] == ST_DYING)
		return; /* freed with its object on the next open */
	eof_ext = (c->size[slot] + c->h.extent_size - 1) / c->h.extent_size;
	if (e >= eof_ext && c->npast++ < 16)
		say(c, "notice", "extent table entry %llu at offset %llu: extent %llu of object "
		    "slot %u lies past its EOF (%llu bytes), %s: freed on the next open",
		    (unsigned long long)i, (unsigned long long)off, (unsigned long long)e, slot,
		    (unsigned long long)c->size[slot],
		    c->logged[slot] ? "left by an interrupted shrink"
				    : "left by an interrupted allocate, or the object's size "
				      "word is damaged (--data tells: an allocate leaves zeros)");
	if (e + 1 >= eof_ext && !c->logged[slot])
		check_note_past_eof(c, i, slot, e);
}

/* The entry of an extent past the file's end (version 2: a grow adds it)
 * is 0 until the grow: open refuses any other value. */
static void check_absent(struct check *c, uint64_t i, uint64_t ent)
{
	say(c, "damaged", "extent table entry %llu at offset %llu: the extent lies past the "
	    "pool's current size (%llu bytes, %llu extents) but the entry is %#llx, not 0 "
	    "(free): the pool cannot be opened", (unsigned long long)i,
	    (unsigned long long)(c->h.exttab_off + i * sizeof(uint64_t)),
	    (unsigned long long)layout_cur_size(&c->h), (unsigned long long)c->npresent,
	    (unsigned long long)ent);
}

/* Extent-table entry i: on its own, then against its owner. */
static void check_entry(struct check *c, uint64_t i, uint64_t ent, unsigned shift)
{
	uint64_t off = c->h.exttab_off + i * sizeof(uint64_t);
	int r;

	if (i >= c->npresent) {
		if (ent != 0)
			check_absent(c, i, ent);
		return;
	}
	r = layout_ext_check(ent, i, off, c->h.max_objects, shift);
	if (r < 0) {
		say_err(c, r);
	} else if (r > 0) {
		check_owner(c, i, ent);
	} else if (ent == 0) {
		c->nfree++;
		c->freebits[i >> 3] |= (uint8_t)(1u << (i & 7));
	} else {
		c->ndirty++;
	}
}

/* Each extent-table entry on its own and against its owner; those of
 * extents past the file's end must be 0. */
static int check_exttab(struct check *c)
{
	uint64_t next = 0, n;
	unsigned shift = (unsigned)__builtin_ctzll(c->h.extent_size);
	int ret;

	for (uint64_t i = 0; i < c->h.nextents;) {
		const uint64_t *ents = (const uint64_t *)c->buf;
		if ((ret = read_exttab_chunk(c, i, c->h.nextents, &n)) < 0)
			return ret;
		for (uint64_t k = 0; k < n; k++, i++)
			check_entry(c, i, ents[k], shift);
		progress(c, "extent table", i * sizeof(uint64_t), c->h.nextents * sizeof(uint64_t),
			 &next);
	}
	if (c->npast > 16)
		say(c, "notice", "%llu extents past EOF in all (not all listed)",
		    (unsigned long long)c->npast);
	return 0;
}

/* Each (object, index) is held by one extent only. */
static int check_accounting(struct check *c)
{
	uint64_t n;
	int ret;

	qsort(c->owned, c->nowned, sizeof(*c->owned), u64_cmp);
	for (uint64_t i = 1; i < c->nowned; i++)
		if (c->owned[i] == c->owned[i - 1] &&
		    (c->ndups == 0 || c->dups[c->ndups - 1] != c->owned[i])) {
			if (!c->dups && !(c->dups = malloc(c->nowned * sizeof(*c->dups))))
				return ERR(-ENOMEM, "out of memory checking %s", c->path);
			c->dups[c->ndups++] = c->owned[i];
		}
	for (uint64_t i = 0; c->ndups && i < c->npresent;) {
		const uint64_t *ents = (const uint64_t *)c->buf;
		if ((ret = read_exttab_chunk(c, i, c->npresent, &n)) < 0)
			return ret;
		for (uint64_t k = 0; k < n; k++, i++)
			if (ext_entry_tag(ents[k]) == EXT_TAG_ALLOC &&
			    bsearch(&ents[k], c->dups, c->ndups, sizeof(*c->dups), u64_cmp))
				say(c, "damaged", "extent table entry %llu at offset %llu: extent "
				    "%llu of object slot %u is held by more than one entry",
				    (unsigned long long)i,
				    (unsigned long long)(c->h.exttab_off + i * sizeof(uint64_t)),
				    (unsigned long long)ext_entry_index(ents[k]),
				    ext_entry_slot(ents[k]));
	}
	return 0;
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
		uint64_t off = c->h.data_off + p->pidx * c->h.extent_size;
		int ret = check_zero(c, off + p->from, c->h.extent_size - p->from);

		if (ret < 0)
			return ret;
		if (ret == 0)
			say(c, "damaged", "data extent %llu at offset %llu: extent %llu of object slot "
			    "%u holds non-zero bytes past the object's EOF (%llu bytes), where "
			    "nothing is ever stored: its size word is damaged (open frees or "
			    "zeroes them; the bytes past EOF are lost)",
			    (unsigned long long)p->pidx, (unsigned long long)(off + p->from),
			    (unsigned long long)p->e, p->slot, (unsigned long long)c->size[p->slot]);
	}
	return 0;
}

/* With DAXMAP_CHECK_DATA: every free, zeroed extent must read zero (it is
 * handed out without zeroing). Only the extents within the file. */
static int check_data(struct check *c)
{
	const struct pool_hdr *h = &c->h;
	uint64_t next = 0, total = c->npresent * h->extent_size;
	int ret;

	if (!(c->flags & DAXMAP_CHECK_DATA))
		return 0;
	for (uint64_t i = 0; i < c->npresent; i++) {
		uint64_t off = h->data_off + i * h->extent_size;
		if (!(c->freebits[i >> 3] & (1u << (i & 7))))
			continue;
		if ((ret = check_zero(c, off, h->extent_size)) < 0)
			return ret;
		if (ret == 0)
			say(c, "damaged", "data extent %llu at offset %llu: free and marked zeroed "
			    "but holds non-zero bytes (they would show up in an object)",
			    (unsigned long long)i, (unsigned long long)off);
		progress(c, "free data", (i + 1) * h->extent_size, total, &next);
	}
	return check_data_past_eof(c);
}

static int check_summary(struct check *c)
{
	if (c->damaged > CHECK_MAX_DAMAGE && c->report) {
		char msg[128];
		snprintf(msg, sizeof(msg), "damaged: %llu more problems not listed",
			 (unsigned long long)(c->damaged - CHECK_MAX_DAMAGE));
		c->report(msg, c->arg);
	}
	say(c, "summary", "%llu objects (%llu being unlinked), %llu of %llu extents allocated, "
	    "%llu free (%llu waiting to be zeroed), %llu log records to replay; %llu problems, "
	    "%llu notices", (unsigned long long)c->nlive, (unsigned long long)c->ndying,
	    (unsigned long long)c->nowned, (unsigned long long)c->npresent,
	    (unsigned long long)(c->nfree + c->ndirty), (unsigned long long)c->ndirty,
	    (unsigned long long)c->npending, (unsigned long long)c->damaged,
	    (unsigned long long)c->notices);
	return 0;
}

/* The steps, in order (libpmempool's check steps are the model): each reads
 * what it needs and leaves in struct check what later steps use. */
static int (*const check_steps[])(struct check *c) = {
	check_header, check_log, check_objtab, check_log_owners,
	check_exttab, check_accounting, check_data, check_summary,
};

static int check_run(struct check *c)
{
	int ret = 0;

	for (size_t i = 0; i < sizeof(check_steps) / sizeof(check_steps[0]) && !c->stop; i++)
		if ((ret = check_steps[i](c)) < 0)
			break;
	free(c->state);
	free(c->size);
	free(c->names);
	free(c->owned);
	free(c->dups);
	free(c->freebits);
	free(c->logged);
	free(c->past);
	free(c->buf);
	return ret;
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
	ret = check_run(&c);
	if (ret == 0)
		ret = c.damaged ? 1 : 0;
out:
	close(c.fd);
	return ret;
}
