/* src/util/err.c — struct zf_err */
#include <stdio.h>
#include <string.h>
#include "util/err.h"
#include "util/banned.h"

int zf_err_setv(struct zf_err *err, int code, const char *fmt, va_list ap)
{
	if (!err || err->code != 0)
		return code;
	err->code = code;
	int saved = errno;
	errno = code < 0 && -code < ZF_E_BASE ? -code : 0;   /* for %m in fmt */
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	errno = saved;
	return code;
}

int zf_err_set(struct zf_err *err, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	zf_err_setv(err, code, fmt, ap);
	va_end(ap);
	return code;
}

int zf_err_copy(struct zf_err *err, int code, const struct zf_err *src)
{
	return zf_err_set(err, code, "%s", zf_err_msg(src));
}

int zf_err_prefix(struct zf_err *err, const char *fmt, ...)
{
	char prefix[256], old[sizeof(err->msg)];
	va_list ap;

	if (!err)
		return 0;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	snprintf(old, sizeof(old), "%s", zf_err_msg(err));
	snprintf(err->msg, sizeof(err->msg), "%s: %s", prefix, old);
	return err->code;
}

void zf_err_clear(struct zf_err *err)
{
	if (err) {
		err->code = 0;
		err->msg[0] = '\0';
	}
}

const char *zf_err_name(int code)
{
	static const struct { int code; const char *name; } names[] = {
		{ ENOENT, "ENOENT" },   { EEXIST, "EEXIST" },   { EBUSY, "EBUSY" },
		{ ENOSPC, "ENOSPC" },   { EPERM, "EPERM" },     { EACCES, "EACCES" },
		{ EINVAL, "EINVAL" },   { EIO, "EIO" },         { ENOMEM, "ENOMEM" },
		{ EPIPE, "EPIPE" },     { EBADMSG, "EBADMSG" }, { ETIMEDOUT, "ETIMEDOUT" },
		{ ECONNRESET, "ECONNRESET" }, { ECONNREFUSED, "ECONNREFUSED" },
		{ EINTR, "EINTR" },     { EAGAIN, "EAGAIN" },   { E2BIG, "E2BIG" },
		{ ERANGE, "ERANGE" },   { ENOTSUP, "ENOTSUP" }, { EPROTO, "EPROTO" },
		{ ECANCELED, "ECANCELED" }, { ENAMETOOLONG, "ENAMETOOLONG" }, { EILSEQ, "EILSEQ" },
		{ ZF_E_WOULD_DESTROY, "EWOULDDESTROY" }, { ZF_E_ZFS, "EZFS" },
		{ ZF_E_BADNAME, "EBADNAME" }, { ZF_E_PROTO, "EPROTOCOL" },
		{ ZF_E_CORRUPT, "ECORRUPT" },
	};
	int c = code < 0 ? -code : code;

	for (size_t i = 0; i < ELEMENTSOF(names); i++)
		if (names[i].code == c)
			return names[i].name;
	return "EUNKNOWN";
}

const char *zf_err_msg(const struct zf_err *err)
{
	static const char *const own[] = {
		[ZF_E_WOULD_DESTROY - ZF_E_BASE] = "operation would destroy data",
		[ZF_E_ZFS - ZF_E_BASE] = "zfs command failed",
		[ZF_E_BADNAME - ZF_E_BASE] = "invalid dataset name",
		[ZF_E_PROTO - ZF_E_BASE] = "protocol error",
		[ZF_E_CORRUPT - ZF_E_BASE] = "data does not match its checksum",
	};
	int c;

	if (err->msg[0])
		return err->msg;
	c = -err->code;
	if (c > ZF_E_BASE && c < ZF_E_MAX)
		return own[c - ZF_E_BASE];
	return c > 0 ? strerror(c) : "unknown error";
}
