/* src/plan/replication.c — the replication planner (pure: no I/O, no clock, no log) */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"
#include "plan/replication.h"
#include "util/banned.h"

/* Names listed in one message before "and N more"; the item has them all. */
#define MSG_LIST_MAX 5
/* cursor_id and diverged_stamp end up inside zfs names: keep them short and plain. */
#define TAG_MAX 64

/* ---- one side's versions of one filesystem, indexed --------------------- */

struct side {
	const struct zf_replan_fs *fs;
	const struct zf_replan_version **snaps; /* snapshots by createtxg */
	size_t n_snaps;
	const struct zf_replan_version **marks; /* bookmarks by createtxg */
	size_t n_marks;
	const struct zf_replan_version **by_guid;       /* all; per guid snapshot first */
	const struct zf_replan_version **by_name;       /* snapshots by name */
};

static void side_release(struct side *sd)
{
	free(sd->snaps);
	free(sd->marks);
	free(sd->by_guid);
	free(sd->by_name);
}

static int cmp_txg(const void *a, const void *b)
{
	const struct zf_replan_version *x = *(const struct zf_replan_version *const *)a;
	const struct zf_replan_version *y = *(const struct zf_replan_version *const *)b;

	if (x->createtxg != y->createtxg)
		return x->createtxg < y->createtxg ? -1 : 1;
	/*
	 * a bookmark has its snapshot's createtxg (and zfs refuses two
	 * snapshots of one filesystem in one call): any fixed order will do
	 */
	return strcmp(x->name, y->name);
}

static int cmp_guid(const void *a, const void *b)
{
	const struct zf_replan_version *x = *(const struct zf_replan_version *const *)a;
	const struct zf_replan_version *y = *(const struct zf_replan_version *const *)b;

	if (x->guid != y->guid)
		return x->guid < y->guid ? -1 : 1;
	if (x->bookmark != y->bookmark)
		return x->bookmark ? 1 : -1;
	return strcmp(x->name, y->name);
}

static int cmp_name(const void *a, const void *b)
{
	const struct zf_replan_version *x = *(const struct zf_replan_version *const *)a;
	const struct zf_replan_version *y = *(const struct zf_replan_version *const *)b;
	return strcmp(x->name, y->name);
}

static bool shortname_ok(const char *s)
{
	return s && *s && !strpbrk(s, "@#/");
}

/* A relative filesystem name: "" or components joined by single '/'. */
static bool relname_ok(const char *s)
{
	if (!s)
		return false;
	if (!*s)
		return true;
	return s[0] != '/' && s[strlen(s) - 1] != '/' && !strstr(s, "//") && !strpbrk(s, "@#");
}

static int side_init(struct side *sd, const struct zf_replan_fs *fs, const char *what,
		     struct zf_err *err)
{
	size_t n = fs->n_versions;

	*sd = (struct side){ .fs = fs };
	if (!relname_ok(fs->name))
		return zf_err_set(err, -EINVAL, "%s filesystem name '%s' is not a relative name",
				  what, fs->name ? fs->name : "(null)");
	sd->snaps = zf_xreallocarray(NULL, n ? n : 1, sizeof(*sd->snaps));
	sd->marks = zf_xreallocarray(NULL, n ? n : 1, sizeof(*sd->marks));
	sd->by_guid = zf_xreallocarray(NULL, n ? n : 1, sizeof(*sd->by_guid));
	for (size_t i = 0; i < n; i++) {
		const struct zf_replan_version *v = &fs->versions[i];

		if (!shortname_ok(v->name))
			return zf_err_set(err, -EINVAL, "%s filesystem '%s': bad version name '%s'",
					  what, fs->name, v->name ? v->name : "(null)");
		if (v->guid == 0)
			return zf_err_set(err, -EINVAL, "%s filesystem '%s': %c%s has guid 0", what,
					  fs->name, v->bookmark ? '#' : '@', v->name);
		if (v->bookmark)
			sd->marks[sd->n_marks++] = v;
		else
			sd->snaps[sd->n_snaps++] = v;
		sd->by_guid[i] = v;
	}
	qsort(sd->snaps, sd->n_snaps, sizeof(*sd->snaps), cmp_txg);
	qsort(sd->marks, sd->n_marks, sizeof(*sd->marks), cmp_txg);
	qsort(sd->by_guid, n, sizeof(*sd->by_guid), cmp_guid);
	sd->by_name = zf_xreallocarray(NULL, sd->n_snaps ? sd->n_snaps : 1, sizeof(*sd->by_name));
	memcpy(sd->by_name, sd->snaps, sd->n_snaps * sizeof(*sd->by_name));
	qsort(sd->by_name, sd->n_snaps, sizeof(*sd->by_name), cmp_name);

	/* Two snapshots with one guid, or one name twice, mean the lister is broken. */
	for (size_t i = 1; i < n; i++)
		if (sd->by_guid[i]->guid == sd->by_guid[i - 1]->guid && !sd->by_guid[i]->bookmark)
			return zf_err_set(err, -EINVAL,
					  "%s filesystem '%s': @%s and @%s have the same guid", what,
					  fs->name, sd->by_guid[i - 1]->name, sd->by_guid[i]->name);
	for (size_t i = 1; i < sd->n_snaps; i++)
		if (streq(sd->by_name[i]->name, sd->by_name[i - 1]->name))
			return zf_err_set(err, -EINVAL, "%s filesystem '%s': @%s listed twice", what,
					  fs->name, sd->by_name[i]->name);
	return 0;
}

/* The version with this guid, a snapshot rather than a bookmark of it; NULL if none. */
static const struct zf_replan_version *find_guid(const struct side *sd, uint64_t guid)
{
	size_t lo = 0, hi = sd->n_snaps + sd->n_marks;

	while (lo < hi) {               /* first entry with guid >= guid */
		size_t mid = lo + (hi - lo) / 2;
		if (sd->by_guid[mid]->guid < guid)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < sd->n_snaps + sd->n_marks && sd->by_guid[lo]->guid == guid)
		return sd->by_guid[lo];
	return NULL;
}

static const struct zf_replan_version *find_snap_name(const struct side *sd, const char *name)
{
	struct zf_replan_version key = { .name = name };
	const struct zf_replan_version *k = &key, **r;

	r = bsearch(&k, sd->by_name, sd->n_snaps, sizeof(*sd->by_name), cmp_name);
	return r ? *r : NULL;
}

/* Index of the first snapshot with createtxg > txg (n_snaps if none). */
static size_t snaps_after(const struct side *sd, uint64_t txg)
{
	size_t lo = 0, hi = sd->n_snaps;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (sd->snaps[mid]->createtxg <= txg)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* ---- the plan's strings ------------------------------------------------- */

static const char *keep(struct zf_replan *p, char *s)
{
	ZF_ALLOC_GROW(p->strings, p->n_strings + 1, p->alloc_strings);
	p->strings[p->n_strings++] = s;
	return s;
}

static const char *dup_str(struct zf_replan *p, const char *s)
{
	return s ? keep(p, zf_xstrdup(s)) : NULL;
}

/* ---- flags and cursors -------------------------------------------------- */

static const struct {
	unsigned flag;
	char letter;
	const char *option;
} flag_table[] = {
	{ ZF_REPLAN_LARGE_BLOCK, 'L', "--large-block" },
	{ ZF_REPLAN_RAW, 'w', "--raw" },
	{ ZF_REPLAN_EMBED, 'e', "--embed" },
	{ ZF_REPLAN_COMPRESSED, 'c', "--compressed" },
};

char *zf_replan_flags_str(unsigned flags, char *buf)
{
	char *q = buf;

	for (size_t i = 0; i < ELEMENTSOF(flag_table); i++)
		if (flags & flag_table[i].flag)
			*q++ = flag_table[i].letter;
	*q = '\0';
	return buf;
}

unsigned zf_replan_flags_parse(const char *s)
{
	unsigned flags = 0;

	for (; s && *s; s++)
		for (size_t i = 0; i < ELEMENTSOF(flag_table); i++)
			if (*s == flag_table[i].letter)
				flags |= flag_table[i].flag;
	return flags;
}

/*
 * The flags an incremental must repeat from the stream that started its
 * chain.  -w: a raw stream keeps the sender's encryption, and zfs recv
 * refuses to mix raw and non-raw streams on one target.  -L: since OpenZFS
 * 2.1 zfs recv refuses an incremental that would split blocks the full
 * stream sent whole (and before that, it corrupted files: openzfs#6224), so
 * the chain keeps whichever it began with.  A raw stream sends large blocks
 * whole, so -w counts as -L too.  -e and -c only change how blocks travel;
 * the receiver writes the same data either way, so they may change freely.
 */
static unsigned sticky_flags(unsigned f)
{
	unsigned s = f & ZF_REPLAN_RAW;

	if (f & (ZF_REPLAN_RAW | ZF_REPLAN_LARGE_BLOCK))
		s |= ZF_REPLAN_LARGE_BLOCK;
	return s;
}

static bool tag_ok(const char *s)
{
	size_t n = 0;

	for (; s && *s; s++, n++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || strchr("_.:-", *s)))
			return false;
	return s && n > 0 && n <= TAG_MAX;
}

/*
 * Cursor bookmarks are named zferry_cursor[_<id>]_g<guid as 16 hex digits>.
 * A bookmark cannot be renamed or overwritten, so a cursor moves by creating
 * the new one and then destroying the old: a fixed name would leave a window
 * with no cursor at all, and a crash in it would lose the incremental base
 * (guarantee 3).  The guid in the name makes each one unique and says what
 * it marks.
 */
static void cursor_prefix(const char *id, char *buf, size_t n)
{
	if (id)
		snprintf(buf, n, "zferry_cursor_%s_g", id);
	else
		snprintf(buf, n, "zferry_cursor_g");
}

int zf_replan_is_cursor(const char *name, const char *cursor_id)
{
	char prefix[TAG_MAX + 32];
	const char *hex;

	cursor_prefix(cursor_id, prefix, sizeof(prefix));
	hex = startswith(name, prefix);
	if (!hex || strlen(hex) != 16)
		return 0;
	for (; *hex; hex++)
		if (!((*hex >= '0' && *hex <= '9') || (*hex >= 'a' && *hex <= 'f')))
			return 0;
	return 1;
}

/* ---- planning one filesystem -------------------------------------------- */

struct ctx {
	const struct zf_replan_opts *o;
	struct zf_replan *p;
	char cursor_prefix[TAG_MAX + 32];
};

/* 'DST/a' for messages: the full name when the caller gave the root's. */
static const char *disp(struct ctx *c, const char *root, const char *rel)
{
	if (root)
		return keep(c->p, *rel ? zf_xasprintf("%s/%s", root, rel) : zf_xstrdup(root));
	return *rel ? rel : ".";
}

static const char *sdisp(struct ctx *c, const struct zf_replan_item *it)
{
	return disp(c, c->o->src_display, it->fs);
}

/* "@a, @b, @c and 4 more" */
static char *list_str(const struct zf_strv *l)
{
	struct zf_buf b = ZF_BUF_INIT;

	for (size_t i = 0; i < l->n && i < MSG_LIST_MAX; i++)
		zf_buf_addf(&b, "%s@%s", i ? ", " : "", l->v[i]);
	if (l->n > MSG_LIST_MAX)
		zf_buf_addf(&b, " and %zu more", l->n - MSG_LIST_MAX);
	return zf_buf_detach(&b, NULL);
}

_printf_(3, 4) static void set_message(struct ctx *c, struct zf_replan_item *it, const char *fmt,
				       ...)
{
	va_list ap;
	char *m;

	va_start(ap, fmt);
	if (vasprintf(&m, fmt, ap) < 0)
		m = zf_xstrdup("out of memory formatting the message");
	va_end(ap);
	it->message = keep(c->p, m);
}

static void conflict(struct zf_replan_item *it, enum zf_replan_conflict why)
{
	it->action = ZF_REPLAN_CONFLICT;
	it->conflict = why;
	it->n_steps = 0;                /* nothing runs for a conflict, not even a resume */
}

static struct zf_replan_step *add_step(struct zf_replan_item *it, enum zf_replan_step_kind kind)
{
	struct zf_replan_step *st;

	if (it->n_steps >= ZF_REPLAN_MAX_STEPS)
		abort();                /* a planner bug, never input */
	st = &it->steps[it->n_steps++];
	*st = (struct zf_replan_step){ .kind = kind };
	return st;
}

static void add_send(struct ctx *c, struct zf_replan_item *it, const struct zf_replan_version *from,
		     const struct zf_replan_version *to, bool intermediates, bool force)
{
	struct zf_replan_step *st = add_step(it, ZF_REPLAN_STEP_SEND);

	if (from) {
		st->from = dup_str(c->p, from->name);
		st->from_bookmark = from->bookmark;
		st->from_guid = from->guid;
	}
	st->to = dup_str(c->p, to->name);
	st->to_guid = to->guid;
	st->intermediates = intermediates;
	st->force = force;
}

/* The flags for this send; recorded is the target's chain, NULL for a new chain. */
static unsigned want_flags(struct ctx *c, const struct side *s, const char *recorded)
{
	unsigned f = c->o->flags & (ZF_REPLAN_LARGE_BLOCK | ZF_REPLAN_EMBED | ZF_REPLAN_COMPRESSED);
	bool raw;

	switch (c->o->raw) {
	case ZF_REPLAN_RAW_ON:
		raw = true;
		break;
	case ZF_REPLAN_RAW_OFF:
		raw = false;
		break;
	default:
		raw = recorded ? !!(zf_replan_flags_parse(recorded) & ZF_REPLAN_RAW)
			       : s->fs->encrypted;
		break;
	}
	return f | (raw ? ZF_REPLAN_RAW : 0);
}

/*
 * The cursor to set once the target has `at`, and the old cursors to drop
 * then.  A cursor is bookmarked from a snapshot; when the newest common
 * version is itself a bookmark, the cursors stay as they are.
 */
static void set_cursor(struct ctx *c, struct zf_replan_item *it, const struct side *s,
		       const struct zf_replan_version *at)
{
	const char *name = keep(c->p, zf_xasprintf("%s%016" PRIx64, c->cursor_prefix, at->guid));
	bool exists = false;

	if (!at->bookmark) {
		it->settled = dup_str(c->p, at->name);
		it->settled_txg = at->createtxg;
	}

	for (size_t i = 0; i < s->n_marks; i++)
		if (streq(s->marks[i]->name, name))
			exists = true;
	if (!exists && at->bookmark)
		return;
	if (!exists) {
		it->cursor = name;
		it->cursor_snapshot = dup_str(c->p, at->name);
	}
	for (size_t i = 0; i < s->n_marks; i++)
		if (zf_replan_is_cursor(s->marks[i]->name, c->o->cursor_id) &&
		    !streq(s->marks[i]->name, name))
			zf_strv_add(&it->cursor_remove, s->marks[i]->name);
}

/* zfs names are shorter than 256 bytes (ZFS_MAX_DATASET_NAME_LEN). */
#define NAME_MAX_LEN 255

/*
 * Whether every snapshot the SEND steps put on the target has a name zfs
 * takes: the target's full name, '@' and the snapshot's.  Known only when
 * the caller gave the full names (dst_display).
 */
static bool names_fit(struct ctx *c, struct zf_replan_item *it, const struct side *s)
{
	size_t base = c->o->dst_display ? strlen(it->display) + 1 : 0;

	if (!c->o->dst_display)
		return true;
	for (size_t i = 0; i < it->n_steps; i++) {
		const struct zf_replan_step *st = &it->steps[i];
		const struct zf_replan_version *from = NULL, *to = find_guid(s, st->to_guid);

		if (st->kind != ZF_REPLAN_STEP_SEND || !to)
			continue;
		if (st->from && !st->from_fs)
			from = find_guid(s, st->from_guid);
		for (size_t k = 0; k < s->n_snaps; k++) {
			const struct zf_replan_version *v = s->snaps[k];
			bool sent = v == to || (st->intermediates && from &&
						v->createtxg > from->createtxg &&
						v->createtxg <= to->createtxg);
			if (sent && base + strlen(v->name) > NAME_MAX_LEN) {
				conflict(it, ZF_REPLAN_CONFLICT_NAME_TOO_LONG);
				set_message(c, it, "'%s@%s' would be %zu bytes, longer than zfs takes "
					    "(%d): use a shorter DST or --sync-snap-prefix",
					    it->display, v->name, base + strlen(v->name),
					    NAME_MAX_LEN);
				return false;
			}
		}
	}
	return true;
}

/* Holds for every snapshot the steps read on the sender, and the cursor. */
static void finish_send(struct ctx *c, struct zf_replan_item *it, const struct side *s,
			const struct zf_replan_version *to, unsigned flags)
{
	char buf[8];

	if (!names_fit(c, it, s))
		return;

	for (size_t i = 0; i < it->n_steps; i++) {
		const struct zf_replan_step *st = &it->steps[i];

		if (st->kind != ZF_REPLAN_STEP_SEND)
			continue;
		/* a step's base is the previous step's target: hold it once */
		if (st->from && !st->from_bookmark && !zf_strv_contains(&it->holds, st->from))
			zf_strv_add(&it->holds, st->from);
		zf_strv_add(&it->holds, st->to);
	}
	it->flags = flags;
	it->sendflags = dup_str(c->p, zf_replan_flags_str(flags, buf));
	set_cursor(c, it, s, to);
}

/*
 * A full stream.  With intermediates the oldest snapshot goes in full and
 * the rest follow as one -I stream, so the target gets the sender's whole
 * history, as an incremental with -I would give it; a full stream can only
 * carry one snapshot, and nothing older can follow a newer one.  Without,
 * the target snapshot alone goes in full: the fewest bytes.
 */
static void plan_full(struct ctx *c, struct zf_replan_item *it, const struct side *s,
		      const struct zf_replan_version *to, bool force)
{
	const struct zf_replan_version *first = c->o->intermediates ? s->snaps[0] : to;

	if (it->action != ZF_REPLAN_RENAME_AND_FULL)
		it->action = ZF_REPLAN_FULL;
	add_send(c, it, NULL, first, false, force);
	if (first != to)
		add_send(c, it, first, to, true, false);
	finish_send(c, it, s, to, want_flags(c, s, NULL));
}

static void plan_rename_full(struct ctx *c, struct zf_replan_item *it, const struct side *s,
			     const struct zf_replan_version *to, const char *why)
{
	struct zf_replan_step *st;

	it->action = ZF_REPLAN_RENAME_AND_FULL;
	it->children_need = true;       /* the rename takes the children's targets along */
	zf_strv_release(&it->in_the_way);
	st = add_step(it, ZF_REPLAN_STEP_RENAME);
	st->rename_suffix = keep(c->p, zf_xasprintf(".zferry-diverged-%s", c->o->diverged_stamp));
	set_message(c, it, "%s; renaming it to '%s%s' and sending '%s@%s' in full", why,
		    it->display, st->rename_suffix, sdisp(c, it), to->name);
	plan_full(c, it, s, to, false);
}

/*
 * An incremental from base to `to`.  With intermediates it is one -I stream
 * (one send, one receive, one resume token to track) rather than a step per
 * snapshot; zfs send -I accepts only a snapshot as its base, so from a
 * bookmark the first snapshot after it goes with -i and the rest with -I.
 */
static void plan_incremental(struct ctx *c, struct zf_replan_item *it, const struct side *s,
			     const struct zf_replan_version *base,
			     const struct zf_replan_version *to, bool force)
{
	if (!c->o->intermediates) {
		add_send(c, it, base, to, false, force);
	} else if (!base->bookmark) {
		add_send(c, it, base, to, true, force);
	} else {
		/* to is a snapshot after base, so there is one */
		const struct zf_replan_version *first = s->snaps[snaps_after(s, base->createtxg)];

		add_send(c, it, base, first, false, force);
		if (first != to)
			add_send(c, it, first, to, true, false);
	}
}

static bool check_flags(struct ctx *c, struct zf_replan_item *it, const struct side *s,
			const struct side *d, unsigned want)
{
	const char *recorded = d->fs->sendflags;
	unsigned have, diff;
	struct zf_buf b = ZF_BUF_INIT;

	if (!recorded)
		return true;            /* not ours, or older than the property: trust zfs */
	have = sticky_flags(zf_replan_flags_parse(recorded));
	/*
	 * An encrypted source goes raw unless the user says --decrypt: a chain
	 * that was started decrypted does not quietly go on sending plaintext.
	 */
	if (c->o->raw == ZF_REPLAN_RAW_AUTO && s->fs->encrypted && !(have & ZF_REPLAN_RAW)) {
		conflict(it, ZF_REPLAN_CONFLICT_DECRYPTED_CHAIN);
		set_message(c, it, "target '%s' was received decrypted (--decrypt) from the "
			    "encrypted '%s': pass --decrypt again to go on sending plaintext, or "
			    "--rename-diverged to start an encrypted (raw) copy", it->display,
			    sdisp(c, it));
		return false;
	}
	diff = have ^ sticky_flags(want);
	if (!diff)
		return true;
	if ((have & ZF_REPLAN_RAW) && !(want & ZF_REPLAN_RAW)) {
		/* -L comes with -w: saying so would only confuse */
		conflict(it, ZF_REPLAN_CONFLICT_SENDFLAGS);
		set_message(c, it, "target '%s' was received raw (encrypted, -w) and can only "
			    "go on raw: drop %s, or use --rename-diverged to start a plaintext "
			    "copy", it->display,
			    c->o->raw == ZF_REPLAN_RAW_OFF ? "--decrypt" : "the option that "
			    "turned raw off");
		return false;
	}
	for (size_t i = 0; i < ELEMENTSOF(flag_table); i++) {
		if (!(diff & flag_table[i].flag))
			continue;
		if (have & flag_table[i].flag)
			zf_buf_addf(&b, "%sit was received with -%c, so send with -%c too (%s)",
				    b.len ? "; " : "", flag_table[i].letter,
				    flag_table[i].letter, flag_table[i].option);
		else
			zf_buf_addf(&b, "%sit was received without -%c, so send without it",
				    b.len ? "; " : "", flag_table[i].letter);
	}
	conflict(it, ZF_REPLAN_CONFLICT_SENDFLAGS);
	set_message(c, it, "target '%s' cannot continue its chain with these send flags: %s",
		    it->display, zf_buf_str(&b));
	zf_buf_release(&b);
	return false;
}

/*
 * A full receive into an existing target needs zfs recv -F, which receives
 * into a hidden clone and swaps it in; a clone shares its origin's key, so
 * zfs refuses to replace an encrypted target or to put a raw (encrypted)
 * stream in place of a plain one (openzfs#6793, #7199).  Renaming the
 * target aside still works; otherwise say so before zfs does.
 */
static void plan_full_replace(struct ctx *c, struct zf_replan_item *it, const struct side *s,
			      const struct side *d, const struct zf_replan_version *to)
{
	if (!(want_flags(c, s, NULL) & ZF_REPLAN_RAW) && !d->fs->encrypted) {
		plan_full(c, it, s, to, true);
		return;
	}
	it->clear_placeholder = false;  /* the target is not replaced after all */
	if (c->o->rename_diverged) {
		plan_rename_full(c, it, s, to, keep(c->p, zf_xasprintf(
			"zfs recv -F cannot replace '%s' (encryption)", it->display)));
		return;
	}
	conflict(it, ZF_REPLAN_CONFLICT_ENCRYPTED_REPLACE);
	set_message(c, it, "%s '%s' cannot be replaced by a full receive: zfs recv -F refuses "
		    "to replace an encrypted filesystem or to put a raw stream in place of a "
		    "plain one (openzfs#6793); send without --raw, use --rename-diverged, or "
		    "destroy it", d->fs->placeholder ? "placeholder" : "target", it->display);
}

/* Sender and target share nothing usable; the target exists. */
static void plan_no_common(struct ctx *c, struct zf_replan_item *it, const struct side *s,
			   const struct side *d, const struct zf_replan_version *to)
{
	const struct zf_replan_version *mark = NULL;
	enum zf_replan_conflict why;
	_cleanup_free_ char *why_text = NULL;
	_cleanup_free_ char *list = NULL;

	if (d->n_snaps == 0 && d->fs->placeholder) {
		/* our own placeholder holds no data: a forced full replaces it */
		it->clear_placeholder = true;
		plan_full_replace(c, it, s, d, to);
		return;
	}
	for (size_t i = d->n_marks; i-- > 0 && !mark;)
		if (find_guid(s, d->marks[i]->guid))
			mark = d->marks[i];
	if (mark) {
		why = ZF_REPLAN_CONFLICT_RECEIVER_BOOKMARK;
		why_text = zf_xasprintf("target '%s' shares '#%s' with the source only as a "
					"bookmark, and zfs recv needs the snapshot itself",
					it->display, mark->name);
	} else if (d->n_snaps == 0) {
		why = ZF_REPLAN_CONFLICT_TARGET_EXISTS;
		why_text = zf_xasprintf("target '%s' exists, has no snapshots and is not a "
					"zferry placeholder", it->display);
	} else {
		for (size_t i = 0; i < d->n_snaps; i++) {
			const struct zf_replan_version *sv = find_snap_name(s, d->snaps[i]->name);
			if (sv && sv->guid != d->snaps[i]->guid)
				zf_strv_add(&it->in_the_way, d->snaps[i]->name);
		}
		why = it->in_the_way.n ? ZF_REPLAN_CONFLICT_NAME_GUID : ZF_REPLAN_CONFLICT_NO_COMMON;
		if (!it->in_the_way.n)
			for (size_t i = 0; i < d->n_snaps; i++)
				zf_strv_add(&it->in_the_way, d->snaps[i]->name);
		list = list_str(&it->in_the_way);
		if (why == ZF_REPLAN_CONFLICT_NAME_GUID)
			why_text = zf_xasprintf("target '%s' has snapshots named like the source's "
						"but with other guids (%s): they are not the "
						"same snapshots", it->display, list);
		else
			why_text = zf_xasprintf("target '%s' has no snapshot in common with '%s' "
						"but has %zu of its own (%s)", it->display,
						sdisp(c, it), d->n_snaps, list);
	}

	if (why == ZF_REPLAN_CONFLICT_TARGET_EXISTS && c->o->force_rollback) {
		set_message(c, it, "%s; --force-rollback overwrites it with a full receive",
			    why_text);
		plan_full_replace(c, it, s, d, to);
		return;
	}
	if (c->o->rename_diverged) {
		plan_rename_full(c, it, s, to, why_text);
		return;
	}
	conflict(it, why);
	set_message(c, it, "%s; %s", why_text,
		    why == ZF_REPLAN_CONFLICT_TARGET_EXISTS
			    ? "use --force-rollback to overwrite it or --rename-diverged to keep it"
			    : "use --rename-diverged to keep it aside and send in full, or destroy it");
}

static void plan_up_to_date(struct ctx *c, struct zf_replan_item *it, const struct side *s,
			    const struct zf_replan_version *common)
{
	it->action = ZF_REPLAN_UP_TO_DATE;
	set_cursor(c, it, s, common);
}

static bool token_set(const char *t)
{
	return t && *t && !streq(t, "-");
}

/*
 * The target's interrupted receive, if it has one: aborted (--no-resume),
 * finished first when we cannot tell what it resumes, or resumed.  Returns
 * true when that decides the item.  Otherwise *exists turns false when the
 * abort destroys the target, and *resumed is the snapshot the resume brings.
 */
static bool plan_resume_token(struct ctx *c, struct zf_replan_item *it, const struct side *s,
			      const struct side *d, bool *exists,
			      const struct zf_replan_version **resumed)
{
	if (!d || !token_set(d->fs->resume_token))
		return false;
	if (c->o->no_resume) {
		add_step(it, ZF_REPLAN_STEP_ABORT_RESUME);
		/*
		 * A token on a target without snapshots is an interrupted
		 * full receive: recv -A destroys the whole filesystem,
		 * unless it was received into our placeholder.
		 */
		if (d->n_snaps == 0 && !d->fs->placeholder)
			*exists = false;
		return false;
	}
	if (d->fs->resume_toguid == 0) {
		/* We cannot tell what it resumes: finish it, then look again. */
		struct zf_replan_step *st = add_step(it, ZF_REPLAN_STEP_RESUME);

		st->token = dup_str(c->p, d->fs->resume_token);
		it->action = ZF_REPLAN_RESUME;
		it->plan_again = true;
		it->children_need = d->n_snaps == 0;
		return true;
	}
	*resumed = find_guid(s, d->fs->resume_toguid);
	if (!*resumed || (*resumed)->bookmark) {
		conflict(it, ZF_REPLAN_CONFLICT_RESUME_STALE);
		set_message(c, it, "target '%s' has an interrupted receive of a "
			    "snapshot '%s' no longer has; use --no-resume to "
			    "discard it", it->display, sdisp(c, it));
		it->children_need = d->n_snaps == 0;
		return true;
	}
	add_step(it, ZF_REPLAN_STEP_RESUME)->token = dup_str(c->p, d->fs->resume_token);
	return false;
}

/* A sender without snapshots: a placeholder for its children, or nothing to send. */
static void plan_no_snapshots(struct ctx *c, struct zf_replan_item *it, const struct side *s,
			      const struct side *d, bool has_children)
{
	if (!d && has_children) {
		/* its children need a parent to be received into */
		it->action = ZF_REPLAN_CREATE_PLACEHOLDER;
		add_step(it, ZF_REPLAN_STEP_CREATE_PLACEHOLDER);
		set_message(c, it, "'%s' has no snapshots; creating placeholder '%s' for "
			    "its children", sdisp(c, it), it->display);
		return;
	}
	if (d && d->fs->placeholder && has_children) {
		/* a parent never snapshotted, as intended: not worth an error each run */
		it->action = ZF_REPLAN_UP_TO_DATE;
		set_message(c, it, "'%s' has no snapshots; placeholder '%s' stays",
			    sdisp(c, it), it->display);
		return;
	}
	it->action = ZF_REPLAN_NOTHING_TO_SEND;
	it->n_steps = 0;
	set_message(c, it, "'%s' has no snapshots to send%s; take one first (zferry "
		    "snapshot)", sdisp(c, it), s->n_marks ? " (only bookmarks)" : "");
}

/* Once resumed, the target's newest snapshot is the one resumed: send on from it to `to`. */
static void plan_after_resume(struct ctx *c, struct zf_replan_item *it, const struct side *s,
			      const struct side *d, const struct zf_replan_version *resumed,
			      const struct zf_replan_version *to)
{
	unsigned flags;

	it->action = ZF_REPLAN_RESUME;
	zf_strv_add(&it->holds, resumed->name);         /* the resume sends from it */
	if (resumed->createtxg >= to->createtxg) {
		set_cursor(c, it, s, resumed);
		return;
	}
	flags = want_flags(c, s, d->fs->sendflags);
	if (!check_flags(c, it, s, d, flags))
		return;
	plan_incremental(c, it, s, resumed, to, false);
	finish_send(c, it, s, to, flags);
}

/*
 * The newest target snapshot the sender has too, as a snapshot or a
 * bookmark: the sender's version, or NULL; *rbase_i is its index in d->snaps.
 */
static const struct zf_replan_version *find_common(const struct side *s, const struct side *d,
						   size_t *rbase_i)
{
	for (size_t i = d->n_snaps; i-- > 0;) {
		const struct zf_replan_version *base = find_guid(s, d->snaps[i]->guid);

		if (base) {
			*rbase_i = i;
			return base;
		}
	}
	return NULL;
}

/*
 * What is in the way: target snapshots after the base (zfs recv would
 * refuse), and target snapshots named like one this step sends, or like
 * a sender snapshot, yet another snapshot (c).  Lists them in
 * it->in_the_way and says why; *clash_newer_only stays true when every
 * name clash is after the base.
 */
static enum zf_replan_conflict find_in_the_way(struct ctx *c, struct zf_replan_item *it,
					       const struct side *s, const struct side *d,
					       const struct zf_replan_version *base, size_t rbase_i,
					       const struct zf_replan_version *to,
					       bool *clash_newer_only)
{
	enum zf_replan_conflict why = ZF_REPLAN_CONFLICT_NONE;

	for (size_t i = 0; i < d->n_snaps; i++) {
		const struct zf_replan_version *rv = d->snaps[i];
		const struct zf_replan_version *sv = find_snap_name(s, rv->name);
		bool newer = i > rbase_i;
		bool sent = sv && sv->createtxg > base->createtxg &&
			    sv->createtxg <= to->createtxg && (c->o->intermediates || sv == to);

		if (sv && sv->guid != rv->guid && (newer || sent)) {
			zf_strv_add(&it->in_the_way, rv->name);
			why = ZF_REPLAN_CONFLICT_NAME_GUID;
			*clash_newer_only &= newer;
		}
	}
	if (why == ZF_REPLAN_CONFLICT_NONE && rbase_i + 1 < d->n_snaps) {
		why = ZF_REPLAN_CONFLICT_TARGET_NEWER;
		for (size_t i = rbase_i + 1; i < d->n_snaps; i++)
			zf_strv_add(&it->in_the_way, d->snaps[i]->name);
	}
	if (why == ZF_REPLAN_CONFLICT_NONE && d->fs->modified)
		why = ZF_REPLAN_CONFLICT_TARGET_MODIFIED;
	return why;
}

/* Why a target that diverged after the common rbase cannot take the incremental as is. */
static char *diverged_text(const struct zf_replan_item *it, enum zf_replan_conflict why,
			   const struct zf_replan_version *rbase)
{
	_cleanup_free_ char *list = list_str(&it->in_the_way);

	if (why == ZF_REPLAN_CONFLICT_NAME_GUID)
		return zf_xasprintf("target '%s' has snapshots named like the source's "
				    "but with other guids (%s)", it->display, list);
	if (why == ZF_REPLAN_CONFLICT_TARGET_NEWER)
		return zf_xasprintf("target '%s' has %zu snapshot%s newer than the "
				    "common '@%s' (%s)", it->display,
				    it->in_the_way.n, it->in_the_way.n > 1 ? "s" : "",
				    rbase->name, list);
	return zf_xasprintf("target '%s' was modified since its newest "
			    "snapshot '@%s'", it->display, rbase->name);
}

/*
 * A target that diverged after the common d->snaps[rbase_i], for reason
 * why: rolled back (--force-rollback, and *force set), renamed aside
 * (--rename-diverged), or a conflict.  Returns true when the incremental
 * goes ahead.
 */
static bool plan_diverged(struct ctx *c, struct zf_replan_item *it, const struct side *s,
			  const struct side *d, size_t rbase_i, const struct zf_replan_version *to,
			  enum zf_replan_conflict why, bool clash_newer_only, bool *force)
{
	const struct zf_replan_version *rbase = d->snaps[rbase_i];
	_cleanup_free_ char *why_text = diverged_text(it, why, rbase);

	if (c->o->force_rollback && (why != ZF_REPLAN_CONFLICT_NAME_GUID || clash_newer_only)) {
		/*
		 * zfs recv -F with an incremental rolls the target back to
		 * the stream's base, destroying every later snapshot.  When
		 * rename_diverged is set too, this wins: the user allowed
		 * the loss, and it avoids sending everything again.
		 */
		*force = true;
		it->rollback_to = dup_str(c->p, rbase->name);
		for (size_t i = rbase_i + 1; i < d->n_snaps; i++)
			zf_strv_add(&it->destroys, d->snaps[i]->name);
		zf_strv_release(&it->in_the_way);
		if (it->destroys.n) {
			_cleanup_free_ char *dl = list_str(&it->destroys);
			set_message(c, it, "%s; --force-rollback destroys %s on '%s'",
				    why_text, dl, it->display);
		} else {
			set_message(c, it, "%s; --force-rollback rolls it back to '@%s'",
				    why_text, rbase->name);
		}
		return true;
	}
	if (c->o->rename_diverged && why != ZF_REPLAN_CONFLICT_TARGET_MODIFIED) {
		plan_rename_full(c, it, s, to, why_text);
		return false;
	}
	conflict(it, why);
	set_message(c, it, "%s; %s", why_text,
		    why == ZF_REPLAN_CONFLICT_TARGET_MODIFIED
			    ? "use --force-rollback to roll it back"
			    : "use --force-rollback to destroy them or "
			      "--rename-diverged to keep the target aside");
	return false;
}

/* An existing target without a receive to resume: up to date, an incremental, or a conflict. */
static void plan_existing(struct ctx *c, struct zf_replan_item *it, const struct side *s,
			  const struct side *d, const struct zf_replan_version *to)
{
	const struct zf_replan_version *base;
	enum zf_replan_conflict why;
	bool force = false, clash_newer_only = true;
	size_t rbase_i = 0;
	unsigned flags;

	base = find_common(s, d, &rbase_i);
	if (!base) {
		plan_no_common(c, it, s, d, to);
		return;
	}
	if (base->createtxg >= to->createtxg) {
		plan_up_to_date(c, it, s, base);
		return;
	}
	why = find_in_the_way(c, it, s, d, base, rbase_i, to, &clash_newer_only);
	if (why != ZF_REPLAN_CONFLICT_NONE &&
	    !plan_diverged(c, it, s, d, rbase_i, to, why, clash_newer_only, &force))
		return;

	flags = want_flags(c, s, d->fs->sendflags);
	if (!check_flags(c, it, s, d, flags))
		return;
	it->action = ZF_REPLAN_INCREMENTAL;
	plan_incremental(c, it, s, base, to, force);
	finish_send(c, it, s, to, flags);
}

/*
 * Decides one replicated filesystem.  s is the sender's; d the target, NULL
 * when it does not exist (or moves away with a parent renamed aside).
 */
static void plan_fs(struct ctx *c, struct zf_replan_item *it, const struct side *s,
		    const struct side *d, bool has_children)
{
	const struct zf_replan_version *to, *resumed = NULL;
	bool exists = d != NULL;

	if (plan_resume_token(c, it, s, d, &exists, &resumed))
		return;
	if (!exists)
		d = NULL;
	it->children_need = !exists;

	if (s->n_snaps == 0) {
		plan_no_snapshots(c, it, s, d, has_children);
		return;
	}
	/* the sync snapshot where the engine took one (what changed), else the newest */
	to = c->o->sync_snap ? find_snap_name(s, c->o->sync_snap) : NULL;
	if (!to)
		to = s->snaps[s->n_snaps - 1];

	if (resumed) {
		plan_after_resume(c, it, s, d, resumed, to);
		return;
	}
	if (!d) {
		plan_full(c, it, s, to, false);
		return;
	}
	plan_existing(c, it, s, d, to);
}

/* ---- the tree ----------------------------------------------------------- */

/*
 * Orders names depth first: a parent, then its whole subtree, then its next
 * sibling.  Plain strcmp() would put "a b" between "a" and "a/b" (' ' sorts
 * before '/'), so '/' sorts lowest here.
 */
static int tree_cmp(const char *a, const char *b)
{
	for (;; a++, b++) {
		unsigned x = *a == '/' ? 1 : *a ? (unsigned char)*a + 1u : 0;
		unsigned y = *b == '/' ? 1 : *b ? (unsigned char)*b + 1u : 0;

		if (x != y)
			return x < y ? -1 : 1;
		if (!x)
			return 0;
	}
}

/* 1 if a is a proper ancestor of b */
static bool is_ancestor(const char *a, const char *b)
{
	size_t n = strlen(a);

	if (!*b)
		return false;
	if (!n)
		return true;
	return strncmp(a, b, n) == 0 && b[n] == '/';
}

struct node {
	const char *name;
	const struct side *src;         /* NULL: an ancestor that is not replicated */
};

static int cmp_node(const void *a, const void *b)
{
	const struct node *x = a, *y = b;
	int r = tree_cmp(x->name, y->name);

	if (r)
		return r;
	return (x->src == NULL) - (y->src == NULL);     /* the replicated one first */
}

static int cmp_side(const void *a, const void *b)
{
	return tree_cmp(((const struct side *)a)->fs->name, ((const struct side *)b)->fs->name);
}

static int cmp_side_key(const void *key, const void *b)
{
	return tree_cmp(key, ((const struct side *)b)->fs->name);
}

struct sides {
	struct side *v;
	size_t n;
};

static void sides_release(struct sides *ss)
{
	for (size_t i = 0; i < ss->n; i++)
		side_release(&ss->v[i]);
	free(ss->v);
}

static int sides_init(struct sides *ss, const struct zf_replan_fs *fs, size_t n, bool root_only,
		      const char *what, struct zf_err *err)
{
	int r;

	ss->v = zf_xcalloc(n ? n : 1, sizeof(*ss->v));
	for (size_t i = 0; i < n; i++) {
		if (root_only && fs[i].name && *fs[i].name)
			continue;
		r = side_init(&ss->v[ss->n++], &fs[i], what, err);
		if (r < 0)
			return r;
	}
	qsort(ss->v, ss->n, sizeof(*ss->v), cmp_side);
	for (size_t i = 1; i < ss->n; i++)
		if (streq(ss->v[i].fs->name, ss->v[i - 1].fs->name))
			return zf_err_set(err, -EINVAL, "%s filesystem '%s' listed twice", what,
					  ss->v[i].fs->name);
	return 0;
}

static const struct side *sides_find(const struct sides *ss, const char *name)
{
	return bsearch(name, ss->v, ss->n, sizeof(*ss->v), cmp_side_key);
}

static int check_opts(const struct zf_replan_opts *o, struct zf_err *err)
{
	if (o->cursor_id && !tag_ok(o->cursor_id))
		return zf_err_set(err, -EINVAL, "cursor id '%s' must be 1-%d of [A-Za-z0-9_.:-]",
				  o->cursor_id, TAG_MAX);
	if (o->rename_diverged && !tag_ok(o->diverged_stamp))
		return zf_err_set(err, -EINVAL, "diverged stamp '%s' must be 1-%d of [A-Za-z0-9_.:-]",
				  o->diverged_stamp ? o->diverged_stamp : "", TAG_MAX);
	if (o->sync_snap && !shortname_ok(o->sync_snap))
		return zf_err_set(err, -EINVAL, "sync snapshot name '%s' is not a short name",
				  o->sync_snap);
	if (o->raw > ZF_REPLAN_RAW_OFF)
		return zf_err_set(err, -EINVAL, "unknown raw mode %d", (int)o->raw);
	return 0;
}

static void sides_releasep(struct sides *ss)
{
	sides_release(ss);
}

static struct zf_replan_item *item_named(struct zf_replan *p, const char *fs)
{
	for (size_t i = 0; i < p->n_items; i++)
		if (streq(p->items[i].fs, fs))
			return &p->items[i];
	return NULL;
}

/* Whether the target of it will hold the snapshot g (guid) once it ran. */
static bool arrives(const struct zf_replan_item *it, const struct side *s,
		    const struct zf_replan_version *g)
{
	for (size_t i = 0; i < it->n_steps; i++) {
		const struct zf_replan_step *st = &it->steps[i];
		const struct zf_replan_version *from, *to;

		if (st->kind != ZF_REPLAN_STEP_SEND)
			continue;
		if (st->to_guid == g->guid)
			return true;
		from = st->from && !st->from_fs ? find_guid(s, st->from_guid) : NULL;
		to = find_guid(s, st->to_guid);
		if (st->intermediates && from && to && g->createtxg > from->createtxg &&
		    g->createtxg < to->createtxg)
			return true;
	}
	return false;
}

/*
 * Clones as clones: a filesystem sent in full whose origin lies in the
 * replicated tree, and whose origin snapshot is or will be on the target,
 * goes instead as an incremental from that snapshot (zfs send -i
 * ORIGIN@s CLONE@first), which zfs recv makes a clone of the target's copy
 * of the origin: the clone's shared blocks are not sent and not stored
 * twice.  It then waits for the origin's item (`after`).  An origin below
 * the clone itself (possible after renames) cannot arrive first: full.
 */
static void plan_clones(struct ctx *c, const struct sides *ss, const struct sides *ds)
{
	struct zf_replan *p = c->p;

	for (size_t i = 0; i < p->n_items; i++) {
		struct zf_replan_item *it = &p->items[i];
		const struct side *s = sides_find(ss, it->fs), *os, *od;
		const struct zf_replan_version *g, *dg = NULL;
		struct zf_replan_item *oit;
		struct zf_replan_step *st = NULL;
		bool there;

		if (it->action != ZF_REPLAN_FULL || !s || !s->fs->origin_fs)
			continue;
		if (is_ancestor(it->fs, s->fs->origin_fs) || streq(it->fs, s->fs->origin_fs))
			continue;
		os = sides_find(ss, s->fs->origin_fs);
		g = os ? find_guid(os, s->fs->origin_guid) : NULL;
		if (!g || g->bookmark)
			continue;
		oit = item_named(p, s->fs->origin_fs);
		od = sides_find(ds, s->fs->origin_fs);
		if (od && (!oit || (oit->action != ZF_REPLAN_RENAME_AND_FULL &&
				    oit->action != ZF_REPLAN_CREATE_PLACEHOLDER)))
			dg = find_guid(od, g->guid);
		there = (dg && !dg->bookmark) || (oit && arrives(oit, os, g));
		for (size_t k = 0; k < it->n_steps && !st; k++)
			if (it->steps[k].kind == ZF_REPLAN_STEP_SEND && !it->steps[k].from)
				st = &it->steps[k];
		if (!there || !st)
			continue;
		st->from = dup_str(p, g->name);
		st->from_fs = dup_str(p, s->fs->origin_fs);
		st->from_guid = g->guid;
		st->from_bookmark = false;
		st->intermediates = false;
		if (oit && !(dg && !dg->bookmark))
			it->after = oit - p->items;
		set_message(c, it, "'%s' goes as a clone of '%s@%s'", sdisp(c, it),
			    disp(c, c->o->src_display, s->fs->origin_fs), g->name);
	}
}

/*
 * Every replicated filesystem, and every ancestor of one up to the root,
 * once each and in tree order; *ret_n says how many.  Ancestors' names are
 * kept in p.
 */
static struct node *collect_nodes(struct zf_replan *p, const struct sides *ss, size_t *ret_n)
{
	struct node *nodes = NULL;
	size_t n_nodes = 0, alloc_nodes = 0, w = 0;

	for (size_t i = 0; i < ss->n; i++) {
		const char *name = ss->v[i].fs->name;

		ZF_ALLOC_GROW(nodes, n_nodes + 1, alloc_nodes);
		nodes[n_nodes++] = (struct node){ name, &ss->v[i] };
		if (!*name)
			continue;
		for (size_t k = strlen(name); k-- > 0;) {
			if (name[k] != '/')
				continue;
			ZF_ALLOC_GROW(nodes, n_nodes + 1, alloc_nodes);
			nodes[n_nodes++] = (struct node){ keep(p, zf_xstrndup(name, k)), NULL };
		}
		ZF_ALLOC_GROW(nodes, n_nodes + 1, alloc_nodes);
		nodes[n_nodes++] = (struct node){ "", NULL };
	}
	qsort(nodes, n_nodes, sizeof(*nodes), cmp_node);
	for (size_t i = 0; i < n_nodes; i++)
		if (w == 0 || !streq(nodes[w - 1].name, nodes[i].name))
			nodes[w++] = nodes[i];
	*ret_n = w;
	return nodes;
}

/*
 * An item for each node that needs one.  Depth first, parents before
 * children, keeping the path from the root: its nearest item is the
 * parent, and a target renamed aside takes its descendants' targets with
 * it.
 */
static void plan_tree(struct ctx *c, const struct node *nodes, size_t n_nodes,
		      const struct sides *ds)
{
	struct zf_replan *p = c->p;
	_cleanup_free_ ssize_t *stack_item = NULL;
	_cleanup_free_ size_t *stack_node = NULL;
	_cleanup_free_ bool *stack_gone = NULL;
	size_t depth = 0;

	p->items = zf_xcalloc(n_nodes, sizeof(*p->items));
	stack_node = zf_xreallocarray(NULL, n_nodes, sizeof(*stack_node));
	stack_item = zf_xreallocarray(NULL, n_nodes, sizeof(*stack_item));
	stack_gone = zf_xreallocarray(NULL, n_nodes, sizeof(*stack_gone));
	for (size_t i = 0; i < n_nodes; i++) {
		const struct node *nd = &nodes[i];
		const struct side *d;
		struct zf_replan_item *it;
		ssize_t parent;
		bool gone, has_children;

		while (depth > 0 && !is_ancestor(nodes[stack_node[depth - 1]].name, nd->name))
			depth--;
		parent = depth ? stack_item[depth - 1] : -1;
		gone = depth ? stack_gone[depth - 1] : false;
		d = gone ? NULL : sides_find(ds, nd->name);
		has_children = i + 1 < n_nodes && is_ancestor(nd->name, nodes[i + 1].name);

		stack_node[depth] = i;
		stack_item[depth] = parent;
		stack_gone[depth] = gone;
		depth++;
		if (!nd->src && d)
			continue;       /* exists on the target: nothing to do, no item */

		it = &p->items[p->n_items];
		stack_item[depth - 1] = (ssize_t)p->n_items++;
		it->fs = dup_str(p, nd->name);
		it->display = disp(c, c->o->dst_display, it->fs);
		it->parent = parent;
		it->after = -1;
		if (nd->src) {
			plan_fs(c, it, nd->src, d, has_children);
			if (it->action == ZF_REPLAN_RENAME_AND_FULL)
				stack_gone[depth - 1] = true;
		} else {
			it->action = ZF_REPLAN_CREATE_PLACEHOLDER;
			it->children_need = true;
			add_step(it, ZF_REPLAN_STEP_CREATE_PLACEHOLDER);
			set_message(c, it, "creating placeholder '%s' for the filesystems below it",
				    it->display);
		}
	}
}

int zf_replan_new(const struct zf_replan_fs *src, size_t n_src, const struct zf_replan_fs *dst,
		  size_t n_dst, const struct zf_replan_opts *opts, struct zf_replan **ret,
		  struct zf_err *err)
{
	_cleanup_(sides_releasep) struct sides ss = { 0 }, ds = { 0 };
	_cleanup_free_ struct node *nodes = NULL;
	_cleanup_(zf_replan_freep) struct zf_replan *p = NULL;
	size_t n_nodes = 0;
	struct ctx c = { .o = opts };
	int r;

	r = check_opts(opts, err);
	if (r < 0)
		return r;
	r = sides_init(&ss, src, n_src, !opts->recursive, "source", err);
	if (r < 0)
		return r;
	if (ss.n == 0)
		return zf_err_set(err, -ENOENT, "nothing to replicate: no source filesystems%s",
				  n_src ? " (the root is not among them)" : "");
	r = sides_init(&ds, dst, n_dst, false, "target", err);
	if (r < 0)
		return r;

	p = zf_xcalloc(1, sizeof(*p));
	c.p = p;
	cursor_prefix(opts->cursor_id, c.cursor_prefix, sizeof(c.cursor_prefix));
	nodes = collect_nodes(p, &ss, &n_nodes);
	plan_tree(&c, nodes, n_nodes, &ds);
	plan_clones(&c, &ss, &ds);
	*ret = TAKE_PTR(p);
	return 0;
}

static void item_release(struct zf_replan_item *it)
{
	zf_strv_release(&it->destroys);
	zf_strv_release(&it->in_the_way);
	zf_strv_release(&it->holds);
	zf_strv_release(&it->cursor_remove);
}

struct zf_replan *zf_replan_free(struct zf_replan *p)
{
	if (!p)
		return NULL;
	for (size_t i = 0; i < p->n_items; i++)
		item_release(&p->items[i]);
	free(p->items);
	for (size_t i = 0; i < p->n_strings; i++)
		free(p->strings[i]);
	free(p->strings);
	free(p);
	return NULL;
}

size_t zf_replan_cursor_ops(const struct zf_replan *p, const bool *ok,
			    struct zf_replan_cursor_op **ret)
{
	struct zf_replan_cursor_op *v = NULL;
	size_t n = 0, alloc = 0;

	for (size_t i = 0; i < p->n_items; i++) {
		const struct zf_replan_item *it = &p->items[i];

		if (!ok[i])
			continue;
		if (it->cursor) {
			ZF_ALLOC_GROW(v, n + 1, alloc);
			v[n++] = (struct zf_replan_cursor_op){ i, it->cursor_snapshot, it->cursor };
		}
		for (size_t k = 0; k < it->cursor_remove.n; k++) {
			ZF_ALLOC_GROW(v, n + 1, alloc);
			v[n++] = (struct zf_replan_cursor_op){ i, NULL, it->cursor_remove.v[k] };
		}
	}
	*ret = v;
	return n;
}

const char *zf_replan_action_str(enum zf_replan_action a)
{
	switch (a) {
	case ZF_REPLAN_UP_TO_DATE:
		return "up-to-date";
	case ZF_REPLAN_FULL:
		return "full";
	case ZF_REPLAN_INCREMENTAL:
		return "incremental";
	case ZF_REPLAN_RESUME:
		return "resume";
	case ZF_REPLAN_RENAME_AND_FULL:
		return "rename-and-full";
	case ZF_REPLAN_CREATE_PLACEHOLDER:
		return "create-placeholder";
	case ZF_REPLAN_NOTHING_TO_SEND:
		return "nothing-to-send";
	case ZF_REPLAN_CONFLICT:
		return "conflict";
	}
	return "unknown";
}

const char *zf_replan_conflict_str(enum zf_replan_conflict cf)
{
	switch (cf) {
	case ZF_REPLAN_CONFLICT_NONE:
		return "none";
	case ZF_REPLAN_CONFLICT_TARGET_NEWER:
		return "target-newer";
	case ZF_REPLAN_CONFLICT_NO_COMMON:
		return "no-common";
	case ZF_REPLAN_CONFLICT_NAME_GUID:
		return "name-guid";
	case ZF_REPLAN_CONFLICT_TARGET_MODIFIED:
		return "target-modified";
	case ZF_REPLAN_CONFLICT_SENDFLAGS:
		return "sendflags";
	case ZF_REPLAN_CONFLICT_RECEIVER_BOOKMARK:
		return "receiver-bookmark";
	case ZF_REPLAN_CONFLICT_TARGET_EXISTS:
		return "target-exists";
	case ZF_REPLAN_CONFLICT_SYNC_SNAP_MISSING:
		return "sync-snap-missing";
	case ZF_REPLAN_CONFLICT_NAME_TOO_LONG:
		return "name-too-long";
	case ZF_REPLAN_CONFLICT_DECRYPTED_CHAIN:
		return "decrypted-chain";
	case ZF_REPLAN_CONFLICT_RESUME_STALE:
		return "resume-stale";
	case ZF_REPLAN_CONFLICT_ENCRYPTED_REPLACE:
		return "encrypted-replace";
	}
	return "unknown";
}
