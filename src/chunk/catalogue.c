/* src/chunk/catalogue.c — catalogue entries: JSON both ways, commit, listing, chains */
#include <dirent.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include "chunk/catalogue.h"
#include "chunk/chunker.h"
#include "util/alloc.h"
#include "util/atomic-file.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/hex.h"
#include "util/io.h"
#include "util/json.h"
#include "util/num.h"
#include "util/zfs-name.h"
#include "util/banned.h"

bool zf_catalogue_test_fail_before_rename;

/* Unix seconds up to the end of year 9999: more is damage, not a date */
#define TIME_MAX INT64_C(253402300799)
#define VERSION_MAX 64
/* a directory name longer than this is replaced by the name's hash */
#define DIR_ESCAPED_MAX 200
/* "<20 digits>-<16 hex>-<16 hex>.json" */
#define FILE_NAME_LEN (20 + 1 + 16 + 1 + 16 + 5)

static const char *const send_flag_names[] = {
	"large_blocks", "embed", "compressed", "raw", "props",
};

void zf_catalogue_entry_release(struct zf_catalogue_entry *e)
{
	free(e->dataset);
	free(e->snapshot);
	free(e->base_snapshot);
	free(e->zferry_version);
	memset(e, 0, sizeof(*e));
}

/* ---- names ---------------------------------------------------------------- */

/* A byte for a message: never raw, since entries come from a store anyone may have written. */
static const char *byte_desc(unsigned char c, char buf[8])
{
	if (c > 0x20 && c < 0x7f && c != '\'' && c != '\\')
		snprintf(buf, 8, "'%c'", c);
	else
		snprintf(buf, 8, "'\\x%02x'", c);
	return buf;
}

static int check_dataset(const char *key, const char *s, struct zf_err *err)
{
	int r = zf_zfs_name_check(s, ZF_ZFS_NAME_DATASET, err);

	return r < 0 ? zf_err_prefix(err, "key '%s'", key) : 0;
}

/* As the full name: its length counts against zfs's limit. */
static int check_snapshot(const char *key, const char *dataset, const char *s,
			  struct zf_err *err)
{
	_cleanup_free_ char *full = zf_xasprintf("%s@%s", dataset, s);
	int r = zf_zfs_name_check(full, ZF_ZFS_NAME_SNAPSHOT, err);

	return r < 0 ? zf_err_prefix(err, "key '%s'", key) : 0;
}

static int check_version(const char *s, struct zf_err *err)
{
	size_t n = strlen(s);
	char b[8];

	if (n == 0 || n > VERSION_MAX)
		return zf_err_set(err, -EINVAL, "key 'zferry_version': %zu bytes", n);
	for (size_t i = 0; i < n; i++)
		if (s[i] <= 0x20 || s[i] >= 0x7f || s[i] == '"' || s[i] == '\\')
			return zf_err_set(err, -EINVAL, "key 'zferry_version': byte %s at %zu",
					  byte_desc((unsigned char)s[i], b), i);
	return 0;
}

int zf_catalogue_entry_check(const struct zf_catalogue_entry *e, struct zf_err *err)
{
	struct zf_chunk_params cp;
	int r;

	if (!e->dataset || !e->snapshot || !e->zferry_version)
		return zf_err_set(err, -EINVAL, "catalogue entry without %s",
				  !e->dataset ? "dataset" : !e->snapshot ? "snapshot" : "version");
	if ((r = check_dataset("dataset", e->dataset, err)) < 0 ||
	    (r = check_snapshot("snapshot", e->dataset, e->snapshot, err)) < 0 ||
	    (e->base_snapshot &&
	     (r = check_snapshot("base_snapshot", e->dataset, e->base_snapshot, err)) < 0) ||
	    (r = check_version(e->zferry_version, err)) < 0)
		return r;
	if (e->guid == 0)
		return zf_err_set(err, -EINVAL, "key 'guid': 0 is no snapshot's guid");
	if (!e->base_guid != !e->base_snapshot)
		return zf_err_set(err, -EINVAL, "keys 'base_guid' and 'base_snapshot': one is null "
				  "and the other is not");
	if (e->base_guid == e->guid)
		return zf_err_set(err, -EINVAL, "key 'base_guid': the snapshot's own guid");
	if (e->createtxg == 0)
		return zf_err_set(err, -EINVAL, "key 'createtxg': 0");
	if (e->send_flags & ~(unsigned)ZF_CATALOGUE_SEND_ALL)
		return zf_err_set(err, -EINVAL, "key 'send_flags': unknown flag bits 0x%x",
				  e->send_flags & ~(unsigned)ZF_CATALOGUE_SEND_ALL);
	if (e->snapshot_time < 0 || e->snapshot_time > TIME_MAX)
		return zf_err_set(err, -EINVAL, "key 'snapshot_time': %lld out of range",
				  (long long)e->snapshot_time);
	if (e->created < 0 || e->created > TIME_MAX)
		return zf_err_set(err, -EINVAL, "key 'created': %lld out of range",
				  (long long)e->created);
	r = zf_chunk_params_init(&cp, e->chunk_min, e->chunk_avg, e->chunk_max, err);
	if (r < 0)
		return zf_err_prefix(err, "keys 'chunk_min', 'chunk_avg', 'chunk_max'");
	return 0;
}

/* ---- JSON out ------------------------------------------------------------- */

static void key_hex(struct zf_json *j, const char *key, const struct zf_chunk_id *id)
{
	char hex[ZF_CHUNK_ID_HEX];

	zf_json_key_str(j, key, zf_chunk_id_hex(id, hex));
}

void zf_catalogue_entry_to_json(const struct zf_catalogue_entry *e, struct zf_buf *out)
{
	_cleanup_json_ struct zf_json j = ZF_JSON_INIT(out);

	zf_json_object_begin(&j);
	zf_json_key_u64(&j, "format", ZF_CATALOGUE_FORMAT);
	zf_json_key_str(&j, "dataset", e->dataset);
	zf_json_key_str(&j, "snapshot", e->snapshot);
	zf_json_key_u64_str(&j, "guid", e->guid);
	zf_json_key_u64_str(&j, "createtxg", e->createtxg);
	zf_json_key_i64(&j, "snapshot_time", e->snapshot_time);
	zf_json_key_guid_or_null(&j, "base_guid", e->base_guid);
	zf_json_key_str(&j, "base_snapshot", e->base_snapshot);
	zf_json_key_array_begin(&j, "send_flags");
	for (size_t i = 0; i < ELEMENTSOF(send_flag_names); i++)
		if (e->send_flags & (1u << i))
			zf_json_str(&j, send_flag_names[i]);
	zf_json_array_end(&j);
	zf_json_key_u64_str(&j, "stream_bytes", e->stream_bytes);
	key_hex(&j, "stream_sha512_256", &e->stream_digest);
	key_hex(&j, "meta_index", &e->meta_index);
	key_hex(&j, "data_index", &e->data_index);
	zf_json_key_u64(&j, "chunk_min", e->chunk_min);
	zf_json_key_u64(&j, "chunk_avg", e->chunk_avg);
	zf_json_key_u64(&j, "chunk_max", e->chunk_max);
	zf_json_key_i64(&j, "created", e->created);
	zf_json_key_str(&j, "zferry_version", e->zferry_version);
	zf_json_object_end(&j);
	zf_json_newline(&j);
}

/* ---- JSON in -------------------------------------------------------------- */

/* Every key of format 1, in the order they are written. */
static const char *const keys[] = {
	"format", "dataset", "snapshot", "guid", "createtxg", "snapshot_time", "base_guid",
	"base_snapshot", "send_flags", "stream_bytes", "stream_sha512_256", "meta_index",
	"data_index", "chunk_min", "chunk_avg", "chunk_max", "created", "zferry_version",
};

/* The value of key; NULL for JSON null as for a missing key (check_keys() tells them apart). */
static struct json_object *get(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	return json_object_object_get_ex(o, key, &v) ? v : NULL;
}

static bool has(struct json_object *o, const char *key)
{
	return json_object_object_get_ex(o, key, NULL);
}

/* A string without NUL; with nullable, JSON null gives *ret = NULL. */
static int get_str(struct json_object *o, const char *key, bool nullable, const char **ret,
		   struct zf_err *err)
{
	struct json_object *v = get(o, key);
	const char *s;

	if (nullable && json_object_is_type(v, json_type_null)) {
		*ret = NULL;
		return 0;
	}
	if (!json_object_is_type(v, json_type_string))
		return zf_err_set(err, -EBADMSG, "key '%s': not a string", key);
	s = json_object_get_string(v);
	if (strlen(s) != (size_t)json_object_get_string_len(v))
		return zf_err_set(err, -EBADMSG, "key '%s': holds a NUL byte", key);
	*ret = s;
	return 0;
}

static int get_strdup(struct json_object *o, const char *key, bool nullable, char **ret,
		      struct zf_err *err)
{
	const char *s;
	int r = get_str(o, key, nullable, &s, err);

	if (r < 0)
		return r;
	*ret = s ? zf_xstrdup(s) : NULL;
	return 0;
}

/* A full-range u64 as a string of digits (json-c saturates large numbers silently). */
static int get_u64_str(struct json_object *o, const char *key, bool nullable, uint64_t *ret,
		       struct zf_err *err)
{
	const char *s;
	int r = get_str(o, key, nullable, &s, err);

	if (r < 0)
		return r;
	if (!s) {
		*ret = 0;
		return 0;
	}
	r = zf_parse_u64(s, UINT64_MAX, ret);
	if (r < 0)
		return zf_err_set(err, -EBADMSG, "key '%s': %s", key,
				  r == -ERANGE ? "above 2^64-1" : "not a string of decimal digits");
	return 0;
}

/* A JSON integer in [0, max]: huge ones saturate in json-c and so fail the bound too. */
static int get_int(struct json_object *o, const char *key, int64_t max, int64_t *ret,
		   struct zf_err *err)
{
	struct json_object *v = get(o, key);
	int64_t x;

	if (!json_object_is_type(v, json_type_int))
		return zf_err_set(err, -EBADMSG, "key '%s': not an integer", key);
	x = json_object_get_int64(v);
	if (x < 0 || x > max)
		return zf_err_set(err, -EBADMSG, "key '%s': out of range 0..%lld", key,
				  (long long)max);
	*ret = x;
	return 0;
}

static int get_hash(struct json_object *o, const char *key, struct zf_chunk_id *ret,
		    struct zf_err *err)
{
	const char *s;
	int r = get_str(o, key, false, &s, err);

	if (r < 0)
		return r;
	if (zf_chunk_id_parse(s, ret) < 0)
		return zf_err_set(err, -EBADMSG, "key '%s': not 64 hex digits", key);
	return 0;
}

static int get_flags(struct json_object *o, unsigned *ret, struct zf_err *err)
{
	struct json_object *v = get(o, "send_flags");
	unsigned flags = 0;
	size_t n;

	if (!json_object_is_type(v, json_type_array))
		return zf_err_set(err, -EBADMSG, "key 'send_flags': not an array");
	n = json_object_array_length(v);
	if (n > ELEMENTSOF(send_flag_names))
		return zf_err_set(err, -EBADMSG, "key 'send_flags': %zu flags", n);
	for (size_t i = 0; i < n; i++) {
		struct json_object *f = json_object_array_get_idx(v, i);
		const char *s = json_object_get_string(f);
		size_t k;

		if (!json_object_is_type(f, json_type_string))
			return zf_err_set(err, -EBADMSG, "key 'send_flags': item %zu not a string",
					  i);
		for (k = 0; k < ELEMENTSOF(send_flag_names); k++)
			if (streq(s, send_flag_names[k]))
				break;
		if (k == ELEMENTSOF(send_flag_names) ||
		    strlen(s) != (size_t)json_object_get_string_len(f))
			return zf_err_set(err, -EBADMSG, "key 'send_flags': item %zu is no flag "
					  "this zferry knows", i);
		flags |= 1u << k;
	}
	*ret = flags;
	return 0;
}

/* The key set: exactly format 1's.  Keys are shown only when they are plain. */
static int check_keys(struct json_object *o, struct zf_err *err)
{
	json_object_object_foreach(o, key, v) {
		size_t k;
		(void)v;
		for (k = 0; k < ELEMENTSOF(keys); k++)
			if (streq(key, keys[k]))
				break;
		if (k == ELEMENTSOF(keys)) {
			bool plain = strlen(key) <= 32;
			for (const char *c = key; plain && *c; c++)
				plain = (*c >= 'a' && *c <= 'z') || *c == '_';
			return zf_err_set(err, -EBADMSG, "unknown key%s%s%s", plain ? " '" : "",
					  plain ? key : "", plain ? "'" : "");
		}
	}
	for (size_t k = 0; k < ELEMENTSOF(keys); k++)
		if (!has(o, keys[k]))
			return zf_err_set(err, -EBADMSG, "missing key '%s'", keys[k]);
	return 0;
}

static int check_format(struct json_object *o, struct zf_err *err)
{
	struct json_object *v = get(o, "format");
	int64_t f;

	if (!has(o, "format"))
		return zf_err_set(err, -EBADMSG, "missing key 'format'");
	if (!json_object_is_type(v, json_type_int))
		return zf_err_set(err, -EBADMSG, "key 'format': not an integer");
	f = json_object_get_int64(v);
	if (f != ZF_CATALOGUE_FORMAT)
		return zf_err_set(err, -EPROTONOSUPPORT,
				  "format %lld is not supported by this zferry (%d)", (long long)f,
				  ZF_CATALOGUE_FORMAT);
	return 0;
}

static int fields(struct json_object *o, struct zf_catalogue_entry *e, struct zf_err *err)
{
	int64_t cmin, cavg, cmax;
	int r;

	if ((r = get_strdup(o, "dataset", false, &e->dataset, err)) < 0 ||
	    (r = get_strdup(o, "snapshot", false, &e->snapshot, err)) < 0 ||
	    (r = get_u64_str(o, "guid", false, &e->guid, err)) < 0 ||
	    (r = get_u64_str(o, "createtxg", false, &e->createtxg, err)) < 0 ||
	    (r = get_int(o, "snapshot_time", TIME_MAX, &e->snapshot_time, err)) < 0 ||
	    (r = get_u64_str(o, "base_guid", true, &e->base_guid, err)) < 0 ||
	    (r = get_strdup(o, "base_snapshot", true, &e->base_snapshot, err)) < 0 ||
	    (r = get_flags(o, &e->send_flags, err)) < 0 ||
	    (r = get_u64_str(o, "stream_bytes", false, &e->stream_bytes, err)) < 0 ||
	    (r = get_hash(o, "stream_sha512_256", &e->stream_digest, err)) < 0 ||
	    (r = get_hash(o, "meta_index", &e->meta_index, err)) < 0 ||
	    (r = get_hash(o, "data_index", &e->data_index, err)) < 0 ||
	    (r = get_int(o, "chunk_min", ZF_CHUNK_SIZE_LIMIT_MAX, &cmin, err)) < 0 ||
	    (r = get_int(o, "chunk_avg", ZF_CHUNK_SIZE_LIMIT_MAX, &cavg, err)) < 0 ||
	    (r = get_int(o, "chunk_max", ZF_CHUNK_SIZE_LIMIT_MAX, &cmax, err)) < 0 ||
	    (r = get_int(o, "created", TIME_MAX, &e->created, err)) < 0 ||
	    (r = get_strdup(o, "zferry_version", false, &e->zferry_version, err)) < 0)
		return r;
	e->chunk_min = (uint64_t)cmin;
	e->chunk_avg = (uint64_t)cavg;
	e->chunk_max = (uint64_t)cmax;
	/* a base_guid of "0" would read as a full backup */
	if (json_object_is_type(get(o, "base_guid"), json_type_string) && e->base_guid == 0)
		return zf_err_set(err, -EBADMSG, "key 'base_guid': 0 is no snapshot's guid");
	r = zf_catalogue_entry_check(e, err);
	return r < 0 ? -EBADMSG : 0;
}

static struct json_object *tokenize(const uint8_t *p, size_t n, struct zf_err *err)
{
	struct json_tokener *tok = json_tokener_new_ex(4);
	struct json_object *o;
	enum json_tokener_error je;

	if (!tok)
		abort();        /* out of memory, as zf_xmalloc() would */
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	o = json_tokener_parse_ex(tok, (const char *)p, (int)n);
	je = json_tokener_get_error(tok);
	if (!o || je != json_tokener_success) {
		(void)zf_err_set(err, -EBADMSG, "not JSON (%s at byte %zu)",
				 je == json_tokener_continue ? "ends early"
							     : json_tokener_error_desc(je),
				 json_tokener_get_parse_end(tok));
		json_object_put(o);
		o = NULL;
	} else if (json_tokener_get_parse_end(tok) != n) {
		(void)zf_err_set(err, -EBADMSG, "bytes after the object at byte %zu",
				 json_tokener_get_parse_end(tok));
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	return o;
}

static int parse(const uint8_t *p, size_t n, struct zf_catalogue_entry *e, struct zf_err *err)
{
	_cleanup_buf_ struct zf_buf canon = ZF_BUF_INIT;
	struct json_object *o;
	int r;

	if (n == 0)
		return zf_err_set(err, -EBADMSG, "empty");
	if (n > ZF_CATALOGUE_ENTRY_MAX)
		return zf_err_set(err, -EBADMSG, "%zu bytes, more than %u", n,
				  ZF_CATALOGUE_ENTRY_MAX);
	if (memchr(p, '\0', n))
		return zf_err_set(err, -EBADMSG, "a NUL byte at %zu",
				  (size_t)((const uint8_t *)memchr(p, '\0', n) - p));
	o = tokenize(p, n, err);
	if (!o)
		return -EBADMSG;
	if (!json_object_is_type(o, json_type_object))
		r = zf_err_set(err, -EBADMSG, "not a JSON object");
	else if ((r = check_format(o, err)) >= 0 && (r = check_keys(o, err)) >= 0)
		r = fields(o, e, err);
	json_object_put(o);
	if (r < 0)
		return r;
	/* duplicate keys, order, spacing: two readers must not see two entries */
	zf_catalogue_entry_to_json(e, &canon);
	if (!(canon.len == n || (canon.len == n + 1 && canon.data[n] == '\n')) ||
	    memcmp(canon.data, p, n) != 0)
		return zf_err_set(err, -EBADMSG, "not as zferry writes it (a repeated key, another "
				  "order, spaces or escapes)");
	return 0;
}

int zf_catalogue_entry_parse(const uint8_t *p, size_t n, const char *what,
			     struct zf_catalogue_entry *ret, struct zf_err *err)
{
	_cleanup_(zf_catalogue_entry_releasep) struct zf_catalogue_entry e = { 0 };
	int r = parse(p, n, &e, err);

	if (r < 0) {
		(void)zf_err_prefix(err, "catalogue entry%s%s%s", what ? " '" : "",
				    what ? what : "", what ? "'" : "");
		return r;
	}
	*ret = e;
	memset(&e, 0, sizeof(e));
	return 0;
}

/* ---- where entries live --------------------------------------------------- */

static bool plain_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '.' || c == ':' || c == '-';
}

void zf_catalogue_dataset_dir(const char *dataset, char ret[ZF_CATALOGUE_DIR_MAX])
{
	size_t o = 0;

	for (const char *c = dataset; *c; c++) {
		unsigned char b = (unsigned char)*c;
		if (o + (plain_char(b) ? 1 : 3) > DIR_ESCAPED_MAX) {
			struct zf_chunk_id h;
			char hex[ZF_CHUNK_ID_HEX];

			zf_chunk_id_hash(NULL, dataset, strlen(dataset), &h);
			snprintf(ret, ZF_CATALOGUE_DIR_MAX, "=%s", zf_chunk_id_hex(&h, hex));
			return;
		}
		if (plain_char(b)) {
			ret[o++] = (char)b;
		} else {
			ret[o++] = '%';
			ret[o++] = "0123456789ABCDEF"[b >> 4];
			ret[o++] = "0123456789ABCDEF"[b & 15];
		}
	}
	ret[o] = '\0';
}

static void file_name(const struct zf_catalogue_entry *e, char ret[FILE_NAME_LEN + 1])
{
	snprintf(ret, FILE_NAME_LEN + 1, "%020llu-%016llx-%016llx.json",
		 (unsigned long long)e->createtxg, (unsigned long long)e->guid,
		 (unsigned long long)e->base_guid);
}

char *zf_catalogue_entry_relpath(const struct zf_catalogue_entry *e)
{
	char dir[ZF_CATALOGUE_DIR_MAX], name[FILE_NAME_LEN + 1];

	zf_catalogue_dataset_dir(e->dataset, dir);
	file_name(e, name);
	return zf_xasprintf("catalogue/%s/%s", dir, name);
}

/* ---- commit --------------------------------------------------------------- */

/* mkdir that makes a new directory durable: its name lives in the parent. */
static int mkdir_durable(const char *path, struct zf_err *err)
{
	struct stat st;

	if (mkdir(path, 0755) == 0)
		return zf_sync_parent_dir(path, err);
	if (errno != EEXIST)
		return zf_err_set(err, -errno, "cannot create directory '%s': %m", path);
	if (lstat(path, &st) < 0)
		return zf_err_set(err, -errno, "cannot stat '%s': %m", path);
	if (!S_ISDIR(st.st_mode))
		return zf_err_set(err, -ENOTDIR, "'%s' is not a directory", path);
	return 0;
}

static int index_present(const char *store, const char *key, const struct zf_chunk_id *id,
			 struct zf_err *err)
{
	char hex[ZF_CHUNK_ID_HEX];
	_cleanup_free_ char *path = zf_xasprintf("%s/index/%s.caibx", store,
						 zf_chunk_id_hex(id, hex));
	struct stat st;

	if (lstat(path, &st) < 0)
		return zf_err_set(err, -errno, "cannot commit catalogue entry: %s '%s': %m", key,
				  path);
	if (!S_ISREG(st.st_mode))
		return zf_err_set(err, -EBADMSG, "cannot commit catalogue entry: %s '%s' is not "
				  "a file", key, path);
	return 0;
}

int zf_catalogue_commit(const char *store, const struct zf_catalogue_entry *e,
			struct zf_err *err)
{
	_cleanup_(zf_atomic_file_releasep) struct zf_atomic_file f = ZF_ATOMIC_FILE_INIT;
	_cleanup_buf_ struct zf_buf b = ZF_BUF_INIT;
	_cleanup_free_ char *top = NULL, *dir = NULL, *path = NULL;
	char dname[ZF_CATALOGUE_DIR_MAX], fname[FILE_NAME_LEN + 1];
	int r;

	r = zf_catalogue_entry_check(e, err);
	if (r < 0)
		return zf_err_prefix(err, "cannot commit catalogue entry");
	if ((r = index_present(store, "meta index", &e->meta_index, err)) < 0 ||
	    (r = index_present(store, "data index", &e->data_index, err)) < 0)
		return r;
	zf_catalogue_dataset_dir(e->dataset, dname);
	file_name(e, fname);
	top = zf_xasprintf("%s/catalogue", store);
	dir = zf_xasprintf("%s/%s", top, dname);
	path = zf_xasprintf("%s/%s", dir, fname);
	if ((r = mkdir_durable(top, err)) < 0 || (r = mkdir_durable(dir, err)) < 0)
		return r;

	zf_catalogue_entry_to_json(e, &b);
	r = zf_atomic_file_open(&f, path, err);
	if (r < 0)
		return r;
	r = zf_write_full(f.fd, b.data, b.len);
	if (r < 0)
		return zf_err_set(err, r, "cannot write '%s': %s", f.tmp, strerror(-r));
	if (zf_catalogue_test_fail_before_rename)
		return zf_err_set(err, -EIO, "cannot commit '%s': failing as the test asked", path);
	/* fsync, rename without replacing, fsync the directory: the commit point */
	return zf_atomic_file_commit(&f, true, true, err);
}

/* ---- listing -------------------------------------------------------------- */

void zf_catalogue_list_release(struct zf_catalogue_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		zf_catalogue_entry_release(&l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static int cmp_u64(uint64_t a, uint64_t b)
{
	return a < b ? -1 : a > b;
}

static int cmp_entry(const void *x, const void *y)
{
	const struct zf_catalogue_entry *a = x, *b = y;
	int c = strcmp(a->dataset, b->dataset);

	if (c)
		return c;
	if ((c = cmp_u64(a->createtxg, b->createtxg)))
		return c;
	if ((c = cmp_u64(a->guid, b->guid)))
		return c;
	return cmp_u64(a->base_guid, b->base_guid);
}

void zf_catalogue_list_sort(struct zf_catalogue_list *l)
{
	if (l->n > 1)
		qsort(l->v, l->n, sizeof(l->v[0]), cmp_entry);
}

/* A name from readdir, fit for a message: other bytes as '?'. */
static const char *printable(const char *s, char *buf, size_t n)
{
	size_t i;

	for (i = 0; s[i] && i + 1 < n; i++)
		buf[i] = s[i] > 0x20 && s[i] < 0x7f && s[i] != '\'' && s[i] != '\\' ? s[i] : '?';
	buf[i] = '\0';
	return buf;
}

static void list_add(struct zf_catalogue_list *l, struct zf_catalogue_entry *e)
{
	l->v = zf_xreallocarray(l->v, l->n + 1, sizeof(l->v[0]));
	l->v[l->n++] = *e;
	memset(e, 0, sizeof(*e));
}

/* Reads dirfd/name as an entry of directory dname and checks it is where it belongs. */
static int read_entry(int dirfd, const char *path, const char *dname, const char *name,
		      struct zf_catalogue_entry *ret, struct zf_err *err)
{
	_cleanup_(zf_catalogue_entry_releasep) struct zf_catalogue_entry e = { 0 };
	_cleanup_buf_ struct zf_buf b = ZF_BUF_INIT;
	_cleanup_free_ char *what = zf_xasprintf("%s/%s", path, name);
	_cleanup_close_ int fd = -EBADF;
	char want_dir[ZF_CATALOGUE_DIR_MAX], want_name[FILE_NAME_LEN + 1];
	struct stat st;
	int r;

	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return zf_err_set(err, -errno, "cannot open catalogue entry '%s/%s': %m", path,
				  name);
	if (fstat(fd, &st) < 0)
		return zf_err_set(err, -errno, "cannot stat catalogue entry '%s/%s': %m", path,
				  name);
	if (!S_ISREG(st.st_mode) || st.st_size > (off_t)ZF_CATALOGUE_ENTRY_MAX)
		return zf_err_set(err, -EBADMSG, "catalogue entry '%s/%s': %s", path, name,
				  S_ISREG(st.st_mode) ? "too large" : "not a regular file");
	r = zf_read_all(fd, &b, ZF_CATALOGUE_ENTRY_MAX);
	if (r < 0)
		return zf_err_set(err, r, "cannot read catalogue entry '%s/%s': %s", path, name,
				  strerror(-r));
	r = zf_catalogue_entry_parse((const uint8_t *)b.data, b.len, what, &e, err);
	if (r < 0)
		return r;
	zf_catalogue_dataset_dir(e.dataset, want_dir);
	file_name(&e, want_name);
	if (!streq(want_dir, dname) || !streq(want_name, name))
		return zf_err_set(err, -EBADMSG,
				  "catalogue entry '%s': belongs at 'catalogue/%s/%s'", what,
				  want_dir, want_name);
	*ret = e;
	memset(&e, 0, sizeof(e));
	return 0;
}

static void closedirp(DIR **d)
{
	if (*d)
		closedir(*d);
}

static bool form_char(char form, char c)
{
	bool digit = c >= '0' && c <= '9';

	return form == 'd' ? digit : form == 'x' ? digit || (c >= 'a' && c <= 'f') : c == form;
}

/* "<20 digits>-<16 hex>-<16 hex>.json": checked before the name is read or shown. */
static bool valid_file_name(const char *s)
{
	static const char form[] = "dddddddddddddddddddd-xxxxxxxxxxxxxxxx-xxxxxxxxxxxxxxxx.json";
	size_t i;

	for (i = 0; form[i] && s[i]; i++)
		if (!form_char(form[i], s[i]))
			return false;
	return !form[i] && !s[i];
}

/* The entries of one dataset's directory, added to l. */
static int list_dir(const char *top, const char *dname, struct zf_catalogue_list *l,
		    struct zf_err *err)
{
	_cleanup_free_ char *path = zf_xasprintf("%s/%s", top, dname);
	_cleanup_(closedirp) DIR *d = NULL;
	struct dirent *de;
	char shown[80];
	int fd, r;

	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return 0;
	if (fd < 0)
		return zf_err_set(err, -errno, "cannot open catalogue directory '%s': %m", path);
	d = fdopendir(fd);
	if (!d) {
		safe_close(fd);
		return zf_err_set(err, -errno, "cannot read catalogue directory '%s': %m", path);
	}
	while ((errno = 0, de = readdir(d))) {
		_cleanup_(zf_catalogue_entry_releasep) struct zf_catalogue_entry e = { 0 };

		if (de->d_name[0] == '.')
			continue;       /* ., .. and temporary files */
		if (!valid_file_name(de->d_name))
			return zf_err_set(err, -EBADMSG,
					  "catalogue '%s': '%s' is not an entry's name", path,
					  printable(de->d_name, shown, sizeof(shown)));
		r = read_entry(dirfd(d), path, dname, de->d_name, &e, err);
		if (r < 0)
			return r;
		list_add(l, &e);
	}
	if (errno)
		return zf_err_set(err, -errno, "cannot read catalogue directory '%s': %m", path);
	return 0;
}

static bool valid_dir_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > DIR_ESCAPED_MAX)
		return false;
	if (s[0] == '=') {
		struct zf_chunk_id id;
		return n == 65 && zf_chunk_id_parse(s + 1, &id) == 0;
	}
	for (size_t i = 0; i < n; i++)
		if (!plain_char((unsigned char)s[i]) &&
		    !(s[i] == '%' && i + 2 < n && zf_hex_digit(s[i + 1]) >= 0 &&
		      zf_hex_digit(s[i + 2]) >= 0))
			return false;
	return true;
}

static int list_all(const char *top, struct zf_catalogue_list *l, struct zf_err *err)
{
	_cleanup_(closedirp) DIR *d = opendir(top);
	struct dirent *de;
	char shown[80];
	int r;

	if (!d && errno == ENOENT)
		return 0;
	if (!d)
		return zf_err_set(err, -errno, "cannot read catalogue '%s': %m", top);
	while ((errno = 0, de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (!valid_dir_name(de->d_name))
			return zf_err_set(err, -EBADMSG, "catalogue '%s': '%s' is no dataset's "
					  "directory", top, printable(de->d_name, shown,
								      sizeof(shown)));
		r = list_dir(top, de->d_name, l, err);
		if (r < 0)
			return r;
	}
	if (errno)
		return zf_err_set(err, -errno, "cannot read catalogue '%s': %m", top);
	return 0;
}

int zf_catalogue_list(const char *store, const char *dataset, struct zf_catalogue_list *ret,
		      struct zf_err *err)
{
	_cleanup_(zf_catalogue_list_releasep) struct zf_catalogue_list l = { 0 };
	_cleanup_free_ char *top = zf_xasprintf("%s/catalogue", store);
	char dname[ZF_CATALOGUE_DIR_MAX];
	int r;

	if (dataset) {
		r = zf_zfs_name_check(dataset, ZF_ZFS_NAME_DATASET, err);
		if (r < 0)
			return zf_err_prefix(err, "cannot list backups");
		zf_catalogue_dataset_dir(dataset, dname);
		r = list_dir(top, dname, &l, err);
	} else {
		r = list_all(top, &l, err);
	}
	if (r < 0)
		return r;
	zf_catalogue_list_sort(&l);
	*ret = l;
	memset(&l, 0, sizeof(l));
	return 0;
}

/* ---- chains --------------------------------------------------------------- */

/*
 * Entries sorted by guid (those of one dataset, or all), so the entries of
 * a guid (one per base it was backed up from) are found by binary search.
 */
struct by_guid {
	const struct zf_catalogue_list *l;
	size_t *ix;
	size_t n;
};

static int cmp_ix_guid(const void *x, const void *y, void *userdata)
{
	const struct zf_catalogue_list *l = userdata;
	size_t a = *(const size_t *)x, b = *(const size_t *)y;
	int c = cmp_u64(l->v[a].guid, l->v[b].guid);

	return c ? c : cmp_u64(a, b);
}

static void by_guid_init(struct by_guid *g, const struct zf_catalogue_list *l,
			 const char *dataset)
{
	g->l = l;
	g->ix = zf_xreallocarray(NULL, l->n ? l->n : 1, sizeof(size_t));
	g->n = 0;
	for (size_t i = 0; i < l->n; i++)
		if (!dataset || streq(l->v[i].dataset, dataset))
			g->ix[g->n++] = i;
	qsort_r(g->ix, g->n, sizeof(size_t), cmp_ix_guid, (void *)l);
}

static void by_guid_release(struct by_guid *g)
{
	free(g->ix);
	g->ix = NULL;
}

/* The first position in g->ix with that guid, and how many there are. */
static size_t by_guid_find(const struct by_guid *g, uint64_t guid, size_t *ret_count)
{
	size_t lo = 0, hi = g->n, c = 0;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (g->l->v[g->ix[mid]].guid < guid)
			lo = mid + 1;
		else
			hi = mid;
	}
	while (lo + c < g->n && g->l->v[g->ix[lo + c]].guid == guid)
		c++;
	*ret_count = c;
	return lo;
}

/* What went wrong first on the way back, for the message when no full is reached. */
struct why {
	int code;               /* -ENOENT: a base is missing; -ELOOP: a base is not older */
	size_t entry;           /* the entry whose base failed */
	uint64_t base_txg;      /* for -ELOOP */
};

static int no_chain(const struct zf_catalogue_list *l, const struct why *w, const char *spec,
		    struct zf_err *err)
{
	const struct zf_catalogue_entry *e = &l->v[w->entry];

	if (w->code == -ENOENT)
		return zf_err_set(err, -ENOENT, "backup '%s@%s' needs base '%s@%s' (guid %llu), "
				  "which is not in the catalogue", e->dataset, e->snapshot,
				  e->dataset, e->base_snapshot, (unsigned long long)e->base_guid);
	if (w->code == -ELOOP)
		return zf_err_set(err, -ELOOP, "backup '%s@%s' (createtxg %llu) names base guid "
				  "%llu whose backups are not older (createtxg %llu): base guids "
				  "form a cycle", e->dataset, e->snapshot,
				  (unsigned long long)e->createtxg,
				  (unsigned long long)e->base_guid,
				  (unsigned long long)w->base_txg);
	return zf_err_set(err, -ENOENT, "no full backup leads to '%s'", spec);
}

/* The chain that ends at cur, read back through next[]: the full first. */
static void chain_from(const size_t *next, size_t cur, size_t **ret_chain, size_t *ret_n)
{
	size_t n = 0, *chain;

	for (size_t k = cur; k != SIZE_MAX; k = next[k])
		n++;
	chain = zf_xreallocarray(NULL, n, sizeof(size_t));
	n = 0;
	for (size_t k = cur; k != SIZE_MAX; k = next[k])
		chain[n++] = k;
	*ret_chain = chain;
	*ret_n = n;
}

/*
 * Breadth first from the start entries back to the nearest full, so the
 * chain is the shortest.  Each entry is queued once, and an edge counts
 * only to a strictly older base: the walk ends whatever the entries say.
 */
static int walk(const struct by_guid *g, const size_t *start, size_t nstart, const char *spec,
		size_t **ret_chain, size_t *ret_n, struct zf_err *err)
{
	const struct zf_catalogue_list *l = g->l;
	_cleanup_free_ size_t *queue = zf_xreallocarray(NULL, l->n, sizeof(size_t));
	_cleanup_free_ size_t *next = zf_xreallocarray(NULL, l->n, sizeof(size_t));
	_cleanup_free_ bool *seen = zf_xcalloc(l->n, sizeof(bool));
	struct why why = { 0 };
	size_t head = 0, tail = 0;

	for (size_t i = 0; i < nstart; i++) {
		seen[start[i]] = true;
		next[start[i]] = SIZE_MAX;
		queue[tail++] = start[i];
	}
	while (head < tail) {
		size_t cur = queue[head++], pos, count;
		const struct zf_catalogue_entry *e = &l->v[cur];

		if (e->base_guid == 0) {
			chain_from(next, cur, ret_chain, ret_n);
			return 0;
		}
		pos = by_guid_find(g, e->base_guid, &count);
		if (count == 0 && why.code != -ENOENT)
			why = (struct why){ -ENOENT, cur, 0 };  /* the likelier story: say it */
		for (size_t c = 0; c < count; c++) {
			size_t b = g->ix[pos + c];

			if (l->v[b].createtxg >= e->createtxg) {
				if (!why.code)
					why = (struct why){ -ELOOP, cur, l->v[b].createtxg };
				continue;
			}
			if (seen[b])
				continue;
			seen[b] = true;
			next[b] = cur;
			queue[tail++] = b;
		}
	}
	return no_chain(l, &why, spec, err);
}

int zf_catalogue_resolve(const struct zf_catalogue_list *l, const char *spec,
			 size_t **ret_chain, size_t *ret_n, struct zf_err *err)
{
	_cleanup_(by_guid_release) struct by_guid g = { 0 };
	_cleanup_free_ char *dataset = NULL;
	_cleanup_free_ size_t *start = NULL;
	const char *at = strchr(spec, '@'), *snap = at ? at + 1 : NULL;
	uint64_t guid = 0, txg = 0;
	size_t nstart = 0;
	int r;

	r = zf_zfs_name_check(spec, ZF_ZFS_NAME_DATASET | ZF_ZFS_NAME_SNAPSHOT, err);
	if (r < 0)
		return zf_err_prefix(err, "cannot resolve a backup");
	dataset = at ? zf_xstrndup(spec, (size_t)(at - spec)) : zf_xstrdup(spec);
	/* the newest backup of that name: a name can be reused for a new snapshot */
	for (size_t i = 0; i < l->n; i++) {
		const struct zf_catalogue_entry *e = &l->v[i];
		if (streq(e->dataset, dataset) && (!snap || streq(e->snapshot, snap)) &&
		    (guid == 0 || e->createtxg > txg)) {
			guid = e->guid;
			txg = e->createtxg;
		}
	}
	if (guid == 0)
		return zf_err_set(err, -ENOENT, "no backup of '%s' in the catalogue", spec);

	by_guid_init(&g, l, dataset);
	start = zf_xreallocarray(NULL, g.n, sizeof(size_t));
	for (size_t i = 0; i < l->n; i++)       /* in list order: ties go to the first */
		if (streq(l->v[i].dataset, dataset) && l->v[i].guid == guid)
			start[nstart++] = i;
	return walk(&g, start, nstart, spec, ret_chain, ret_n, err);
}

size_t zf_catalogue_needed(const struct zf_catalogue_list *l, const bool *keep,
			   bool *ret_needed)
{
	_cleanup_(by_guid_release) struct by_guid g = { 0 };
	_cleanup_free_ size_t *stack = zf_xreallocarray(NULL, l->n ? l->n : 1, sizeof(size_t));
	size_t top = 0, broken = 0;

	by_guid_init(&g, l, NULL);
	for (size_t i = 0; i < l->n; i++) {
		ret_needed[i] = keep[i];
		if (keep[i])
			stack[top++] = i;
	}
	/* an entry is pushed once, when first marked: this ends whatever the guids say */
	while (top > 0) {
		const struct zf_catalogue_entry *e = &l->v[stack[--top]];
		size_t pos, count;
		bool found = false;

		if (e->base_guid == 0)
			continue;
		pos = by_guid_find(&g, e->base_guid, &count);
		for (size_t c = 0; c < count; c++) {
			size_t b = g.ix[pos + c];

			if (!streq(l->v[b].dataset, e->dataset))
				continue;
			found = true;
			if (!ret_needed[b]) {
				ret_needed[b] = true;
				stack[top++] = b;
			}
		}
		if (!found)
			broken++;
	}
	return broken;
}
