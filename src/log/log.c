/* src/log/log.c — structured logger */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <systemd/sd-journal.h>
#include <time.h>
#include "log/log.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/io.h"
#include "util/banned.h"

#define SCOPE_FIELDS_MAX 16

struct field {
	char key[32];
	char value[256];
};

static _Atomic int log_level = ZF_LOG_NOTICE;
static _Atomic int log_format = ZF_LOG_FORMAT_TEXT;
static _Atomic int log_fd = 2;

static _Thread_local struct field scope_fields[SCOPE_FIELDS_MAX];
static _Thread_local unsigned scope_depth;

static const char *const level_names[] = {
	[ZF_LOG_ERROR] = "error",   [ZF_LOG_WARNING] = "warning", [ZF_LOG_NOTICE] = "notice",
	[ZF_LOG_INFO] = "info",     [ZF_LOG_DEBUG] = "debug",
};

void zf_log_set_level(enum zf_log_level level)
{
	log_level = (int)level;
}

enum zf_log_level zf_log_get_level(void)
{
	return (enum zf_log_level)log_level;
}

void zf_log_set_format(enum zf_log_format fmt)
{
	log_format = (int)fmt;
}

void zf_log_set_fd(int fd)
{
	log_fd = fd;
}

int zf_log_parse_format(const char *s, enum zf_log_format *ret)
{
	static const char *const names[] = { "text", "logfmt", "json" };
	for (size_t i = 0; i < ELEMENTSOF(names); i++)
		if (streq(s, names[i])) {
			*ret = (enum zf_log_format)i;
			return 0;
		}
	return -EINVAL;
}

int zf_log_parse_level(const char *s, enum zf_log_level *ret)
{
	for (size_t i = 0; i < ELEMENTSOF(level_names); i++)
		if (streq(s, level_names[i])) {
			*ret = (enum zf_log_level)i;
			return 0;
		}
	return -EINVAL;
}

static void set_field(struct field *f, const char *key, const char *value)
{
	snprintf(f->key, sizeof(f->key), "%s", key);
	snprintf(f->value, sizeof(f->value), "%s", value ? value : "");
}

struct zf_log_scope zf_log_scope(const char *key, const char *value)
{
	struct zf_log_scope s = { scope_depth };
	zf_log_scope_add(key, value);
	return s;
}

void zf_log_scope_add(const char *key, const char *value)
{
	if (scope_depth < SCOPE_FIELDS_MAX)
		set_field(&scope_fields[scope_depth], key, value);
	scope_depth++;          /* counted even when full, so scope_end stays balanced */
}

void zf_log_scope_end(struct zf_log_scope *s)
{
	scope_depth = s->depth;
}

/* logfmt value: bare when it has no space, quote, '=' or control character. */
static void add_logfmt_value(struct zf_buf *b, const char *v)
{
	int bare = *v != '\0';
	for (const unsigned char *p = (const unsigned char *)v; *p; p++)
		if (*p <= ' ' || *p == '"' || *p == '=' || *p == '\\' || *p == 0x7f)
			bare = 0;
	if (bare)
		zf_buf_adds(b, v);
	else
		zf_buf_add_json_str(b, v);
}

static void add_field(struct zf_buf *b, enum zf_log_format fmt, const char *key, const char *value)
{
	if (fmt == ZF_LOG_FORMAT_JSON) {
		zf_buf_addc(b, ',');
		zf_buf_add_json_str(b, key);
		zf_buf_addc(b, ':');
		zf_buf_add_json_str(b, value);
	} else {
		zf_buf_addf(b, " %s=", key);
		add_logfmt_value(b, value);
	}
}

bool zf_log_stderr_is_journal(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2 || fstat(2, &st) < 0)
		return false;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

/* One entry in journald's native protocol; fields as zf_log_set_format() says. */
static void journal_send(enum zf_log_level level, int errnum, const char *msg, unsigned nfields)
{
	static const int prio[] = { [ZF_LOG_ERROR] = 3, [ZF_LOG_WARNING] = 4,
				    [ZF_LOG_NOTICE] = 5, [ZF_LOG_INFO] = 6, [ZF_LOG_DEBUG] = 7 };
	struct zf_buf f[SCOPE_FIELDS_MAX + 4];
	struct iovec iov[SCOPE_FIELDS_MAX + 4];
	int n = 0;

	zf_buf_init(&f[n]);
	zf_buf_addf(&f[n++], "MESSAGE=%s", msg);
	zf_buf_init(&f[n]);
	zf_buf_addf(&f[n++], "PRIORITY=%d", prio[level]);
	zf_buf_init(&f[n]);
	zf_buf_adds(&f[n++], "SYSLOG_IDENTIFIER=zferry");
	if (errnum < 0) {
		zf_buf_init(&f[n]);
		zf_buf_addf(&f[n++], "ERRNO=%d", -errnum);
	}
	for (unsigned i = 0; i < nfields; i++) {
		zf_buf_init(&f[n]);
		zf_buf_adds(&f[n], "ZFERRY_");
		for (const char *k = scope_fields[i].key; *k; k++)
			zf_buf_addc(&f[n], (*k >= 'a' && *k <= 'z') ? (char)(*k - 32)
					   : ((*k >= 'A' && *k <= 'Z') || (*k >= '0' && *k <= '9'))
					   ? *k : '_');
		zf_buf_addf(&f[n++], "=%s", scope_fields[i].value);
	}
	for (int i = 0; i < n; i++)
		iov[i] = (struct iovec){ .iov_base = f[i].data, .iov_len = f[i].len };
	(void)sd_journal_sendv(iov, n);
	for (int i = 0; i < n; i++)
		zf_buf_release(&f[i]);
}

int zf_log(enum zf_log_level level, int errnum, const char *fmt, ...)
{
	enum zf_log_format format = (enum zf_log_format)log_format;
	_cleanup_buf_ struct zf_buf line = ZF_BUF_INIT;
	_cleanup_buf_ struct zf_buf msg = ZF_BUF_INIT;
	unsigned nfields = MIN(scope_depth, SCOPE_FIELDS_MAX);
	int saved = errno;
	va_list ap;

	if ((int)level > log_level)
		return errnum;

	errno = errnum < 0 ? -errnum : saved;          /* so %m works */
	va_start(ap, fmt);
	zf_buf_vaddf(&msg, fmt, ap);
	va_end(ap);
	errno = saved;

	if (format == ZF_LOG_FORMAT_JOURNAL) {
		journal_send(level, errnum, zf_buf_str(&msg), nfields);
		errno = saved;
		return errnum;
	}
	if (format == ZF_LOG_FORMAT_TEXT) {
		zf_buf_addf(&line, "zferry: %s%s%s", level == ZF_LOG_NOTICE ||
			    level == ZF_LOG_INFO ? "" : level_names[level],
			    level == ZF_LOG_NOTICE || level == ZF_LOG_INFO ? "" : ": ",
			    zf_buf_str(&msg));
		for (unsigned i = 0; i < nfields; i++)
			add_field(&line, ZF_LOG_FORMAT_LOGFMT, scope_fields[i].key,
				  scope_fields[i].value);
		zf_buf_addc(&line, '\n');
	} else {
		struct timespec ts;
		struct tm tm;
		char when[40];

		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		snprintf(when, sizeof(when), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
			 tm.tm_sec, ts.tv_nsec / 1000000);
		if (format == ZF_LOG_FORMAT_JSON) {
			zf_buf_adds(&line, "{\"time\":");
			zf_buf_add_json_str(&line, when);
		} else {
			zf_buf_addf(&line, "time=%s", when);
		}
		add_field(&line, format, "level", level_names[level]);
		for (unsigned i = 0; i < nfields; i++)
			add_field(&line, format, scope_fields[i].key, scope_fields[i].value);
		if (errnum < 0)
			add_field(&line, format, "errno", zf_err_name(errnum));
		add_field(&line, format, "msg", zf_buf_str(&msg));
		zf_buf_adds(&line, format == ZF_LOG_FORMAT_JSON ? "}\n" : "\n");
	}
	if (zf_write_full(log_fd, line.data, line.len) < 0) {
		/* nowhere left to report a failing stderr */
	}
	errno = saved;
	return errnum;
}
