/*
 * The read-only integrity checker: daxmap_pool_check(). It reads the pool
 * file with pread(2) (no mapping, no userfaultfd, nothing written) and
 * applies the same validators as open (layout.h), then the cross-structure checks that open
 * does while it builds its in-memory state: owners live, no (object, index)
 * held twice, log records replayable.
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
#define CHECK_PROGRESS_EVERY (UINT64_C(8) << 20)  /* bytes of table between progress lines */

enum { ST_FREE, ST_LIVE, ST_DYING, ST_BAD };

struct check {
	const char *path;
	int fd, flags;
	void (*report)(const char *msg, void *arg);
	void *arg;
	uint64_t damaged, notices;
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
	*next = done + CHECK_PROGRESS_EVERY;
}

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Live objects must have distinct names: open finds the first one only. */
static int check_names(struct check *c, struct slot_name_key *keys, uint64_t n, uint64_t objtab_off)
{
	struct obj_slot a, b;
	int ret;

	qsort(keys, n, sizeof(*keys), layout_name_key_cmp);
	for (uint64_t i = 1; i < n; i++) {
		if (keys[i].hash != keys[i - 1].hash)
			continue;
		/* same hash: compare the names themselves */
		for (uint64_t j = i; j-- > 0 && keys[j].hash == keys[i].hash;) {
			uint64_t off_a = objtab_off + (uint64_t)keys[j].slot * SLOT_SIZE;
			uint64_t off_b = objtab_off + (uint64_t)keys[i].slot * SLOT_SIZE;
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

/* Every free, zeroed extent must read zero: it is handed out without zeroing. */
static int check_data(struct check *c, const struct pool_hdr *h, const uint8_t *freebits,
		      char *buf)
{
	uint64_t next = 0, total = h->nextents * h->extent_size;
	int ret;

	for (uint64_t i = 0; i < h->nextents; i++) {
		uint64_t off = h->data_off + i * h->extent_size;
		if (!(freebits[i >> 3] & (1u << (i & 7))))
			continue;
		for (uint64_t done = 0; done < h->extent_size; done += CHECK_CHUNK) {
			size_t len = (size_t)(h->extent_size - done < CHECK_CHUNK ?
					      h->extent_size - done : CHECK_CHUNK);
			if ((ret = read_at(c, buf, len, off + done)) < 0)
				return ret;
			if (buf[0] == 0 && !memcmp(buf, buf + 1, len - 1))
				continue;
			say(c, "damaged", "data extent %llu at offset %llu: free and marked zeroed "
			    "but holds non-zero bytes (they would show up in an object)",
			    (unsigned long long)i, (unsigned long long)off);
			break;
		}
		progress(c, "free data", (i + 1) * h->extent_size, total, &next);
	}
	return 0;
}

static int check_run(struct check *c)
{
	struct stat st;
	struct pool_hdr h;
	struct log_record log[LOG_RECORDS];
	uint8_t *state = NULL, *freebits = NULL;
	uint64_t *size = NULL, *owned = NULL, nowned = 0, *dups = NULL, ndups = 0;
	struct slot_name_key *names = NULL;
	uint64_t nnames = 0, nlive = 0, ndying = 0, nfree = 0, ndirty = 0, npast = 0, npending = 0;
	char *buf = NULL;
	uint64_t next;
	int ret;

	if (fstat(c->fd, &st) < 0)
		return ERR(-errno, "cannot stat %s", c->path);
	if (!S_ISREG(st.st_mode))
		return ERR(-EINVAL, "%s is not a regular file", c->path);
	if ((uint64_t)st.st_size < POOL_HDR_SIZE) {
		say(c, "damaged", "%s is not a daxmap pool: %lld bytes is smaller than a pool header "
		    "(empty or truncated file)", c->path, (long long)st.st_size);
		return 0;
	}
	if ((ret = read_at(c, &h, sizeof(h), 0)) < 0)
		return ret;
	ret = layout_hdr_check(&h, (uint64_t)st.st_size, c->path);
	if (ret == -EPROTONOSUPPORT)
		return ret;
	if (ret < 0) {
		say_err(c, ret); /* nothing past the header can be trusted to be where it says */
		return 0;
	}

	/* the intent log */
	if ((ret = read_at(c, log, sizeof(log), POOL_LOG_OFF)) < 0)
		return ret;
	for (unsigned i = 0; i < LOG_RECORDS; i++) {
		ret = layout_log_check(&log[i], i, h.max_objects);
		if (ret < 0)
			say_err(c, ret);
		else if (ret == 0 && log[i].op != LOG_OP_NONE)
			say(c, "notice", "log record %u at offset %zu: torn (never committed): "
			    "cleared on the next open", i, POOL_LOG_OFF + i * sizeof(log[i]));
		else if (ret > 0)
			npending++;
	}

	/* the object table */
	state = calloc(h.max_objects, 1);
	size = calloc(h.max_objects, sizeof(*size));
	names = calloc(h.max_objects, sizeof(*names));
	buf = malloc(CHECK_CHUNK);
	if (!state || !size || !names || !buf) {
		ret = ERR(-ENOMEM, "out of memory checking %s", c->path);
		goto out;
	}
	next = CHECK_PROGRESS_EVERY;
	for (uint32_t i = 0; i < h.max_objects;) {
		uint32_t n = (uint32_t)(CHECK_CHUNK / SLOT_SIZE);
		if (n > h.max_objects - i)
			n = h.max_objects - i;
		if ((ret = read_at(c, buf, (size_t)n * SLOT_SIZE,
				   h.objtab_off + (uint64_t)i * SLOT_SIZE)) < 0)
			goto out;
		for (uint32_t k = 0; k < n; k++, i++) {
			const struct obj_slot *s = (const struct obj_slot *)(buf + (size_t)k * SLOT_SIZE);
			uint64_t off = h.objtab_off + (uint64_t)i * SLOT_SIZE;
			if ((ret = layout_slot_check(s, i, off, h.nextents)) < 0) {
				say_err(c, ret);
				state[i] = ST_BAD;
			} else if (s->state == SLOT_LIVE) {
				state[i] = ST_LIVE;
				size[i] = s->size;
				names[nnames].hash = layout_name_hash(s);
				names[nnames++].slot = i;
				nlive++;
			} else if (s->state == SLOT_DYING) {
				state[i] = ST_DYING;
				ndying++;
				say(c, "notice", "object slot %u at offset %llu: unlink of \"%.*s\" was "
				    "interrupted: finished on the next open", i,
				    (unsigned long long)off, (int)s->name_len, s->name);
			}
		}
		progress(c, "object table", (uint64_t)i * SLOT_SIZE,
			 (uint64_t)h.max_objects * SLOT_SIZE, &next);
	}
	if ((ret = check_names(c, names, nnames, h.objtab_off)) < 0)
		goto out;

	/* log records must name a live object: replay at open fails otherwise */
	for (unsigned i = 0; i < LOG_RECORDS; i++) {
		const struct log_record *r = &log[i];
		if (layout_log_check(r, i, h.max_objects) <= 0)
			continue;
		if (state[r->slot] != ST_LIVE)
			say(c, "damaged", "log record %u at offset %zu: %s of object slot %llu, "
			    "which is not a live object: the next open cannot replay it", i,
			    POOL_LOG_OFF + i * sizeof(*r), layout_log_op_name(r->op), (unsigned long long)r->slot);
		else
			say(c, "notice", "log record %u at offset %zu: pending %s of object slot "
			    "%llu [%llu, %llu): will be replayed on the next open", i,
			    POOL_LOG_OFF + i * sizeof(*r), layout_log_op_name(r->op), (unsigned long long)r->slot,
			    (unsigned long long)r->a, (unsigned long long)r->b);
	}

	/* the extent table */
	owned = malloc((h.nextents ? h.nextents : 1) * sizeof(*owned));
	freebits = calloc((h.nextents + 7) / 8, 1);
	if (!owned || !freebits) {
		ret = ERR(-ENOMEM, "out of memory checking %s", c->path);
		goto out;
	}
	next = CHECK_PROGRESS_EVERY;
	for (uint64_t i = 0; i < h.nextents;) {
		uint64_t n = CHECK_CHUNK / sizeof(uint64_t);
		const uint64_t *ents = (const uint64_t *)buf;
		if (n > h.nextents - i)
			n = h.nextents - i;
		if ((ret = read_at(c, buf, (size_t)(n * sizeof(uint64_t)),
				   h.exttab_off + i * sizeof(uint64_t))) < 0)
			goto out;
		for (uint64_t k = 0; k < n; k++, i++) {
			uint64_t ent = ents[k], off = h.exttab_off + i * sizeof(uint64_t), e, eof_ext;
			uint32_t slot;
			int r = layout_ext_check(ent, i, off, h.max_objects,
						(unsigned)__builtin_ctzll(h.extent_size));
			if (r < 0) {
				say_err(c, r);
				continue;
			}
			if (r == 0) {
				if (ent == 0) {
					nfree++;
					freebits[i >> 3] |= (uint8_t)(1u << (i & 7));
				} else {
					ndirty++;
				}
				continue;
			}
			slot = ext_entry_slot(ent);
			e = ext_entry_index(ent);
			if (state[slot] == ST_BAD)
				continue; /* reported with the slot */
			if (state[slot] == ST_FREE) {
				say(c, "damaged", "extent table entry %llu at offset %llu: owner slot "
				    "%u is not a live object", (unsigned long long)i,
				    (unsigned long long)off, slot);
				continue;
			}
			owned[nowned++] = ent;
			if (state[slot] == ST_DYING)
				continue; /* freed with its object on the next open */
			eof_ext = (size[slot] + h.extent_size - 1) / h.extent_size;
			if (e >= eof_ext) {
				if (npast++ < 16)
					say(c, "notice", "extent table entry %llu at offset %llu: "
					    "extent %llu of object slot %u lies past its EOF (%llu "
					    "bytes), left by an interrupted shrink: freed on the next "
					    "open", (unsigned long long)i, (unsigned long long)off,
					    (unsigned long long)e, slot, (unsigned long long)size[slot]);
			}
		}
		progress(c, "extent table", i * sizeof(uint64_t), h.nextents * sizeof(uint64_t),
			 &next);
	}
	if (npast > 16)
		say(c, "notice", "%llu extents past EOF in all (not all listed)",
		    (unsigned long long)npast);

	/* accounting: each (object, index) is held by one extent only */
	qsort(owned, nowned, sizeof(*owned), u64_cmp);
	for (uint64_t i = 1; i < nowned; i++)
		if (owned[i] == owned[i - 1] && (ndups == 0 || dups[ndups - 1] != owned[i])) {
			if (!dups && !(dups = malloc(nowned * sizeof(*dups)))) {
				ret = ERR(-ENOMEM, "out of memory checking %s", c->path);
				goto out;
			}
			dups[ndups++] = owned[i];
		}
	for (uint64_t i = 0; ndups && i < h.nextents;) {
		uint64_t n = CHECK_CHUNK / sizeof(uint64_t);
		const uint64_t *ents = (const uint64_t *)buf;
		if (n > h.nextents - i)
			n = h.nextents - i;
		if ((ret = read_at(c, buf, (size_t)(n * sizeof(uint64_t)),
				   h.exttab_off + i * sizeof(uint64_t))) < 0)
			goto out;
		for (uint64_t k = 0; k < n; k++, i++)
			if (ext_entry_tag(ents[k]) == EXT_TAG_ALLOC &&
			    bsearch(&ents[k], dups, ndups, sizeof(*dups), u64_cmp))
				say(c, "damaged", "extent table entry %llu at offset %llu: extent "
				    "%llu of object slot %u is held by more than one entry",
				    (unsigned long long)i,
				    (unsigned long long)(h.exttab_off + i * sizeof(uint64_t)),
				    (unsigned long long)ext_entry_index(ents[k]),
				    ext_entry_slot(ents[k]));
	}

	if ((c->flags & DAXMAP_CHECK_DATA) && (ret = check_data(c, &h, freebits, buf)) < 0)
		goto out;
	if (c->damaged > CHECK_MAX_DAMAGE && c->report) {
		char msg[128];
		snprintf(msg, sizeof(msg), "damaged: %llu more problems not listed",
			 (unsigned long long)(c->damaged - CHECK_MAX_DAMAGE));
		c->report(msg, c->arg);
	}
	say(c, "summary", "%llu objects (%llu being unlinked), %llu of %llu extents allocated, "
	    "%llu free (%llu waiting to be zeroed), %llu log records to replay; %llu problems, "
	    "%llu notices", (unsigned long long)nlive, (unsigned long long)ndying,
	    (unsigned long long)nowned, (unsigned long long)h.nextents,
	    (unsigned long long)(nfree + ndirty), (unsigned long long)ndirty,
	    (unsigned long long)npending, (unsigned long long)c->damaged,
	    (unsigned long long)c->notices);
	ret = 0;
out:
	free(state);
	free(size);
	free(names);
	free(owned);
	free(dups);
	free(freebits);
	free(buf);
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
