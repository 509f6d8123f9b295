/* src/util/zfs-name.c — OpenZFS's naming rules (zfs_namecheck.c) */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include "util/err.h"
#include "util/zfs-name.h"
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

/* name, fit for a message: bytes outside printable ASCII as '?', at most 80 of them. */
struct shown {
	char s[80 + 4];
};

static const char *shown(const char *name, struct shown *b)
{
	size_t i;

	for (i = 0; name[i] && i < 80; i++)
		b->s[i] = name[i] >= 0x20 && name[i] < 0x7f ? name[i] : '?';
	if (name[i])
		b->s[i++] = '.', b->s[i++] = '.', b->s[i++] = '.';
	b->s[i] = '\0';
	return b->s;
}

/* Checks one component [p, p+n) of name; what says which kind of component. */
static int check_component(const char *name, const char *p, size_t n, const char *what,
			   struct zf_err *err)
{
	struct shown sh;
	char cbuf[16];

	if (n == 0)
		return zf_err_set(err, -ZF_E_BADNAME, "invalid name '%s': empty %s",
				  shown(name, &sh), what);
	if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
		return zf_err_set(err, -ZF_E_BADNAME, "invalid name '%s': %s '%.*s' not allowed",
				  shown(name, &sh), what, (int)n, p);
	for (size_t i = 0; i < n; i++)
		if (!valid_char((unsigned char)p[i]))
			return zf_err_set(err, -ZF_E_BADNAME,
					  "invalid name '%s': character %s at position %zu "
					  "is not allowed in a zfs name",
					  shown(name, &sh),
					  char_desc((unsigned char)p[i], cbuf, sizeof(cbuf)),
					  (size_t)(p - name) + i + 1);
	return 0;
}

int zf_zfs_shortname_check(const char *name, struct zf_err *err)
{
	struct shown sh;

	if (!name || !*name)
		return zf_err_set(err, -ZF_E_BADNAME, "invalid snapshot name: empty");
	if (strlen(name) >= NAME_MAX_LEN)
		return zf_err_set(err, -ZF_E_BADNAME, "invalid snapshot name '%s': too long",
				  shown(name, &sh));
	return check_component(name, name, strlen(name), "snapshot name", err);
}

int zf_zfs_name_check(const char *name, unsigned allowed, struct zf_err *err)
{
	const char *sep, *p, *end;
	struct shown sh;
	unsigned type;
	int r;

	if (!name || !*name)
		return zf_err_set(err, -ZF_E_BADNAME, "invalid name: empty");
	if (name[0] == '-')
		return zf_err_set(err, -ZF_E_BADNAME,
				  "invalid name '%s': a name must not start with '-'",
				  shown(name, &sh));
	if (strlen(name) >= NAME_MAX_LEN)
		return zf_err_set(err, -ZF_E_BADNAME,
				  "invalid name '%s': longer than %d bytes", shown(name, &sh),
				  NAME_MAX_LEN - 1);

	sep = strpbrk(name, "@#");
	type = !sep ? ZF_ZFS_NAME_DATASET
		    : *sep == '@' ? ZF_ZFS_NAME_SNAPSHOT : ZF_ZFS_NAME_BOOKMARK;
	if (!(allowed & type))
		return zf_err_set(err, -ZF_E_BADNAME, "invalid name '%s': expected a %s",
				  shown(name, &sh),
				  allowed & ZF_ZFS_NAME_DATASET    ? "dataset name"
				  : allowed & ZF_ZFS_NAME_SNAPSHOT ? "snapshot name (fs@snap)"
								   : "bookmark name (fs#mark)");
	end = sep ? sep : name + strlen(name);

	if (!((name[0] >= 'a' && name[0] <= 'z') || (name[0] >= 'A' && name[0] <= 'Z')))
		return zf_err_set(err, -ZF_E_BADNAME,
				  "invalid name '%s': pool name must begin with a letter",
				  shown(name, &sh));
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
					  "separator", shown(name, &sh),
					  *sep == '@' ? "snapshot" : "bookmark");
		r = check_component(name, s, strlen(s),
				    *sep == '@' ? "snapshot name" : "bookmark name", err);
		if (r < 0)
			return r;
	}
	return 0;
}
