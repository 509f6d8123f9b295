/* src/chunk/session.h — writer sessions: a backup's "I am at work" file in a directory store */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "util/macro.h"

struct zf_err;

/*
 * A writer (a backup) holds STORE/sessions/<32 random hex>.json from before
 * its first look at the store until after its entry is committed, and
 * rewrites it with beat+1 every ZF_SESSION_BEAT_SECONDS.  gc deletes fossils
 * only once every session it saw a pass ago has gone or stopped beating
 * for its grace time, and removes session files that stopped beating.
 * docs/backup-format.md ("Garbage collection", "Writers") has the rules and
 * why they keep a chunk a backup found present from being deleted under it.
 *
 * The file, one compact JSON object in exactly this key order:
 *   {"host":"H","pid":N,"started":T,"beat":N,"dataset":"pool/fs","base_guid":"123"}
 * base_guid is null for a full backup.
 */
#define ZF_SESSION_BEAT_SECONDS 300
/* E and M of the docs: a writer that has not beaten for E - M gives up (rule 3). */
#define ZF_SESSION_EXPIRE_SECONDS (60 * 60)
#define ZF_SESSION_MARGIN_SECONDS (10 * 60)
/* A session file larger than this is refused unread. */
#define ZF_SESSION_FILE_MAX 4096
/* Test only: milliseconds instead of E - M after which a writer gives up (0: E - M). */
extern int64_t zf_session_test_expire_ms;
/* Environment, for tests only: the beat period in milliseconds instead of 300 s. */
#define ZF_SESSION_BEAT_ENV "ZFERRY_TEST_SESSION_BEAT_MS"

struct zf_store_session;

/*
 * Creates STORE/sessions/<id>.json atomically (a temporary dot-file,
 * fsync, rename, fsync of sessions/, which is made if missing) with beat 0,
 * and starts a thread that rewrites it the same way with beat+1 every
 * ZF_SESSION_BEAT_SECONDS.  dataset must be a valid dataset name; base_guid
 * 0 for a full backup.  0 and *ret, or <0 with no session file left.
 */
_must_check_ int zf_store_session_begin(const char *store_dir, const char *dataset,
					uint64_t base_guid, struct zf_store_session **ret,
					struct zf_err *err);
/*
 * false once the session has gone E - M without a successful beat (by
 * CLOCK_MONOTONIC since the last one): the writer must then not commit
 * (writer rule 3).  Once false, always false, and the thread stops beating.
 */
bool zf_store_session_alive(struct zf_store_session *s);
/* The session's id (32 hex digits, the file's name without .json), for messages. */
const char *zf_store_session_id(const struct zf_store_session *s);
/*
 * Stops the beat thread, deletes the file (one gc removed already is fine)
 * and fsyncs sessions/.  NULL-safe.  0 or <0; s is freed either way.
 */
int zf_store_session_end(struct zf_store_session *s, struct zf_err *err);

/* One session file as read back; strings owned. */
struct zf_store_session_info {
	char *id;               /* the 32 hex digits of the file name */
	char *host;
	int64_t pid;
	int64_t started;        /* Unix seconds, by the writer's clock */
	uint64_t beat;
	char *dataset;
	uint64_t base_guid;     /* 0: a full backup */
};

/*
 * Every session file of the store, sorted by id.  Strict, since other hosts
 * write them: a name that is not <32 hex>.json, or a file that is not
 * exactly what zf_store_session_begin() writes, fails the listing with one
 * line naming the file.  Dot-files (temporary) are skipped, as is a file
 * that goes away while listed (its writer ended).  No sessions/: none.
 * *ret (free with zf_store_session_info_free()) written only on success.
 */
_must_check_ int zf_store_session_list(const char *store_dir,
				       struct zf_store_session_info **ret, size_t *ret_n,
				       struct zf_err *err);
void zf_store_session_info_free(struct zf_store_session_info *v, size_t n);

/*
 * Parses the n bytes of one session file (what names it in messages); the
 * lister's parser, exported for tests.  *ret's id is left NULL.
 */
_must_check_ int zf_store_session_parse(const uint8_t *p, size_t n, const char *what,
					struct zf_store_session_info *ret, struct zf_err *err);
