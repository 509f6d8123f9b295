/* src/zfs/name.c — OpenZFS's naming rules, checked before a name reaches argv */
#include <stdio.h>
#include <string.h>
#include "util/err.h"
#include "util/hex.h"
#include "zfs/zfs.h"
#include "util/banned.h"

/* ZFS_MAX_DATASET_NAME_LEN in OpenZFS: names are shorter than this. */
#define NAME_MAX_LEN 256

static bool valid_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_' || c == '.' || c == ':' || c == ' ';
}

/* Describes c for a message: printable as itself, else as \xNN. */
static const char *char_desc(unsigned char c, char *buf, size_t n)
{
	if (c >= 0x20 && c < 0x7f)
		snprintf(buf, n, "'%c'", c);
	else
		snprintf(buf, n, "'\\x%02x'", c);
	return buf;
}

/* Checks one component [p, p+n) of name; what says which kind of component. */
static int check_component(const char *name, const char *p, size_t n, const char *what,
			   struct zf_err *err)
{
	char cbuf[16];

	if (n == 0)
		return zf_err_set(err, -ZF_E_BADNAME, "invalid name '%s': empty %s", name, what);
	if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
		return zf_err_set(err, -ZF_E_BADNAME, "invalid name '%s': %s '%.*s' not allowed",
				  name, what, (int)n, p);
	for (size_t i = 0; i < n; i++)
		if (!valid_char((unsigned char)p[i]))
			return zf_err_set(err, -ZF_E_BADNAME,
					  "invalid name '%s': character %s at position %zu "
					  "is not allowed in a zfs name",
					  name, char_desc((unsigned char)p[i], cbuf, sizeof(cbuf)),
					  (size_t)(p - name) + i + 1);
	return 0;
}

int zf_zfs_shortname_check(const char *name, struct zf_err *err)
{
	if (!name || !*name)
		return zf_err_set(err, -ZF_E_BADNAME, "invalid snapshot name: empty");
	if (strlen(name) >= NAME_MAX_LEN)
		return zf_err_set(err, -ZF_E_BADNAME, "invalid snapshot name '%s': too long",
				  name);
	return check_component(name, name, strlen(name), "snapshot name", err);
}

int zf_zfs_name_check(const char *name, unsigned allowed, struct zf_err *err)
{
	const char *sep, *p, *end;
	unsigned type;
	int r;

	if (!name || !*name)
		return zf_err_set(err, -ZF_E_BADNAME, "invalid name: empty");
	if (name[0] == '-')
		return zf_err_set(err, -ZF_E_BADNAME,
				  "invalid name '%s': a name must not start with '-'", name);
	if (strlen(name) >= NAME_MAX_LEN)
		return zf_err_set(err, -ZF_E_BADNAME,
				  "invalid name '%s': longer than %d bytes", name,
				  NAME_MAX_LEN - 1);

	sep = strpbrk(name, "@#");
	type = !sep ? ZF_ZFS_NAME_DATASET
		    : *sep == '@' ? ZF_ZFS_NAME_SNAPSHOT : ZF_ZFS_NAME_BOOKMARK;
	if (!(allowed & type))
		return zf_err_set(err, -ZF_E_BADNAME, "invalid name '%s': expected a %s", name,
				  allowed & ZF_ZFS_NAME_DATASET    ? "dataset name"
				  : allowed & ZF_ZFS_NAME_SNAPSHOT ? "snapshot name (fs@snap)"
								   : "bookmark name (fs#mark)");
	end = sep ? sep : name + strlen(name);

	if (!((name[0] >= 'a' && name[0] <= 'z') || (name[0] >= 'A' && name[0] <= 'Z')))
		return zf_err_set(err, -ZF_E_BADNAME,
				  "invalid name '%s': pool name must begin with a letter", name);
	for (p = name;;) {
		const char *slash = memchr(p, '/', (size_t)(end - p));
		const char *cend = slash ? slash : end;
		r = check_component(name, p, (size_t)(cend - p), "component", err);
		if (r < 0)
			return r;
		if (!slash)
			break;
		p = slash + 1;
	}
	if (sep) {
		const char *s = sep + 1;
		if (strpbrk(s, "@#/"))
			return zf_err_set(err, -ZF_E_BADNAME,
					  "invalid name '%s': '@', '#' or '/' after the %s "
					  "separator", name, *sep == '@' ? "snapshot" : "bookmark");
		r = check_component(name, s, strlen(s),
				    *sep == '@' ? "snapshot name" : "bookmark name", err);
		if (r < 0)
			return r;
	}
	return 0;
}

void zf_zfs_namespace(const char *identity, char out[ZF_ZFS_NAMESPACE_MAX])
{
	size_t n = strlen(identity), o = 0;
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < n && i < 64; i++) {
		unsigned char c = (unsigned char)identity[i];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '_' || c == '-' || c == ':') {
			out[o++] = (char)c;
		} else {
			out[o++] = '.';
			out[o++] = zf_hex_chars[c >> 4];
			out[o++] = zf_hex_chars[c & 15];
		}
	}
	if (n > 64) {
		for (size_t i = 0; i < n; i++)
			h = (h ^ (unsigned char)identity[i]) * 1099511628211ULL;
		out[o++] = '.';
		out[o++] = '.';
		for (int k = 60; k >= 0; k -= 4)
			out[o++] = zf_hex_chars[(h >> k) & 15];
	}
	out[o] = '\0';
}
