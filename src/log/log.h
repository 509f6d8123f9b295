/* src/log/log.h — leveled, structured logging to stderr: logfmt or JSON lines */
#pragma once
#include <stdbool.h>
#include "util/macro.h"

enum zf_log_level {
	ZF_LOG_ERROR,
	ZF_LOG_WARNING,
	ZF_LOG_NOTICE,
	ZF_LOG_INFO,
	ZF_LOG_DEBUG,
};

enum zf_log_format {
	ZF_LOG_FORMAT_TEXT,     /* "zferry: error: msg" for people at a terminal */
	ZF_LOG_FORMAT_LOGFMT,   /* time=... level=error job=x msg="..." */
	ZF_LOG_FORMAT_JSON,     /* {"time":"...","level":"error",...} one per line */
	/*
	 * journald's native protocol: MESSAGE, PRIORITY, SYSLOG_IDENTIFIER=zferry,
	 * ERRNO, and each scoped field as ZFERRY_KEY (upper case), so
	 * `journalctl ZFERRY_JOB=home` finds one job's lines.
	 */
	ZF_LOG_FORMAT_JOURNAL,
};

void zf_log_set_level(enum zf_log_level level);
enum zf_log_level zf_log_get_level(void);
void zf_log_set_format(enum zf_log_format fmt);
/* Parses "text", "logfmt", "json" / "error".."debug"; 0 or -EINVAL. */
int zf_log_parse_format(const char *s, enum zf_log_format *ret);
int zf_log_parse_level(const char *s, enum zf_log_level *ret);
/*
 * Whether stderr is connected to the journal (systemd's JOURNAL_STREAM
 * names its device and inode): then ZF_LOG_FORMAT_JOURNAL is the right one.
 */
bool zf_log_stderr_is_journal(void);
/* Where lines go (default 2, stderr); for tests. */
void zf_log_set_fd(int fd);

/*
 * Scoped fields, per thread: every line logged while a scope is open carries
 * its key=value pairs.  Keys and values are copied.
 *
 *         _cleanup_(zf_log_scope_end) struct zf_log_scope s = zf_log_scope("fs", name);
 */
struct zf_log_scope {
	unsigned depth;         /* fields on the thread's stack before this scope */
};
struct zf_log_scope zf_log_scope(const char *key, const char *value);
/* Adds one more field to the innermost scope. */
void zf_log_scope_add(const char *key, const char *value);
void zf_log_scope_end(struct zf_log_scope *s);

/*
 * Logs one line with optional extra fields.  errnum (<0) adds errno=ENAME.
 * Returns errnum, so `return log_error_errno(r, "...")` works.
 */
_printf_(3, 4) int zf_log(enum zf_log_level level, int errnum, const char *fmt, ...);

#define log_debug(...) zf_log(ZF_LOG_DEBUG, 0, __VA_ARGS__)
#define log_info(...) zf_log(ZF_LOG_INFO, 0, __VA_ARGS__)
#define log_notice(...) zf_log(ZF_LOG_NOTICE, 0, __VA_ARGS__)
#define log_warning(...) zf_log(ZF_LOG_WARNING, 0, __VA_ARGS__)
#define log_error(...) zf_log(ZF_LOG_ERROR, 0, __VA_ARGS__)
#define log_debug_errno(r, ...) zf_log(ZF_LOG_DEBUG, (r), __VA_ARGS__)
#define log_warning_errno(r, ...) zf_log(ZF_LOG_WARNING, (r), __VA_ARGS__)
#define log_error_errno(r, ...) zf_log(ZF_LOG_ERROR, (r), __VA_ARGS__)
