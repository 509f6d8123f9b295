/* src/util/err.h — the reason a call failed, recorded once where it happened */
#pragma once
#include <stdarg.h>
#include "util/macro.h"

/*
 * Functions that can fail for a reason a person must read take a
 * `struct zf_err *err` as their last argument.  zf_err_set() records the
 * message and returns the code, so reporting is one line:
 *
 *         return zf_err_set(err, -EBADMSG, "index '%s': header truncated", path);
 *
 * The first message wins (like curl's error buffer): a caller that adds
 * context with zf_err_set() after a callee failed keeps the callee's root
 * cause; zf_err_prefix() is how a caller adds where it happened.
 * err may be NULL when the caller does not want the text.
 */
struct zf_err {
	int code;               /* negative errno or -ZF_E_*; 0 while unset */
	char msg[512];
};

/* zferry's own reasons beyond errno, negated like errno (after OpenZFS's zfs_errno_t). */
enum {
	ZF_E_BASE = 1024,
	ZF_E_WOULD_DESTROY,     /* zfs refused: the operation would destroy data */
	ZF_E_ZFS,               /* zfs failed for a reason we do not classify */
	ZF_E_BADNAME,           /* a dataset or snapshot name zfs would reject or misread */
	ZF_E_PROTO,             /* peer violated the protocol */
	ZF_E_CORRUPT,           /* data does not match its checksum */
	ZF_E_MAX,
};

#define ZF_ERR_INIT { 0, "" }

_printf_(3, 4) int zf_err_set(struct zf_err *err, int code, const char *fmt, ...);
_printf_(3, 0) int zf_err_setv(struct zf_err *err, int code, const char *fmt, va_list ap);
/*
 * Passes on what a callee recorded in src under code: src's message, or the
 * text zf_err_msg() gives for it.  Returns code; the first message wins, as
 * with zf_err_set().  Short for zf_err_set(err, code, "%s", zf_err_msg(src)).
 */
int zf_err_copy(struct zf_err *err, int code, const struct zf_err *src);
/* Prepends "PREFIX: " to an already set message; returns err->code. */
_printf_(2, 3) int zf_err_prefix(struct zf_err *err, const char *fmt, ...);
void zf_err_clear(struct zf_err *err);
/* A short name for code ("ENOENT", "EWOULDDESTROY"...); never NULL. */
const char *zf_err_name(int code);
/* The message, or strerror of the code when none was set. */
const char *zf_err_msg(const struct zf_err *err);
