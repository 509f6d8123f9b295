/* src/chunk/session.c — writer sessions: the file, its heartbeat thread, and the strict lister */
#include <dirent.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "chunk/session.h"
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

#define ID_BYTES 16
#define ID_HEX (2 * ID_BYTES)
#define HOST_MAX 255
#define TIME_MAX INT64_C(253402300799)  /* the end of year 9999, as catalogue entries */
#define PID_MAX INT64_C(2147483647)

struct zf_store_session {
	char *dir;                      /* STORE/sessions */
	char *path;                     /* STORE/sessions/<id>.json */
	char id[ID_HEX + 1];
	struct zf_store_session_info info;      /* what the file says; beat grows */
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool stop;                      /* under lock: end asked the thread to go */
	bool dead;                      /* under lock: E - M passed without a beat */
	int64_t last_ok_ms;             /* under lock: zf_now_ms() of the last written beat */
	int64_t period_ms;
};

/* ---- the file ------------------------------------------------------------- */

static void to_json(const struct zf_store_session_info *i, struct zf_buf *out)
{
	_cleanup_json_ struct zf_json j = ZF_JSON_INIT(out);

	zf_json_object_begin(&j);
	zf_json_key_str(&j, "host", i->host);
	zf_json_key_i64(&j, "pid", i->pid);
	zf_json_key_i64(&j, "started", i->started);
	zf_json_key_u64(&j, "beat", i->beat);
	zf_json_key_str(&j, "dataset", i->dataset);
	zf_json_key(&j, "base_guid");
	if (i->base_guid)
		zf_json_u64_str(&j, i->base_guid);
	else
		zf_json_null(&j);
	zf_json_object_end(&j);
	zf_json_newline(&j);
}

/* Writes the file under a temporary name, fsyncs, renames over it, fsyncs the directory. */
static int write_file(const char *path, const struct zf_store_session_info *i, struct zf_err *err)
{
	_cleanup_buf_ struct zf_buf b = ZF_BUF_INIT;

	to_json(i, &b);
	return zf_atomic_file_write(path, b.data, b.len, err);
}

/* ---- the beat ------------------------------------------------------------- */

static int64_t beat_period_ms(void)
{
	const char *s = getenv(ZF_SESSION_BEAT_ENV);
	uint64_t v;

	if (s && zf_parse_u64(s, INT64_C(1) << 40, &v) == 0 && v > 0)
		return (int64_t)v;
	return (int64_t)ZF_SESSION_BEAT_SECONDS * 1000;
}

int64_t zf_session_test_expire_ms;

/* Under s->lock: has E - M passed since the last beat?  Sticky. */
static bool expired_locked(struct zf_store_session *s)
{
	const int64_t limit = zf_session_test_expire_ms > 0 ? zf_session_test_expire_ms :
			      (int64_t)(ZF_SESSION_EXPIRE_SECONDS - ZF_SESSION_MARGIN_SECONDS) * 1000;

	if (!s->dead && zf_now_ms() - s->last_ok_ms >= limit)
		s->dead = true;
	return s->dead;
}

static void wait_period(struct zf_store_session *s)
{
	struct timespec until;
	int64_t ns;

	clock_gettime(CLOCK_MONOTONIC, &until);
	ns = (int64_t)until.tv_nsec + (s->period_ms % 1000) * 1000000;
	until.tv_sec += (time_t)(s->period_ms / 1000 + ns / 1000000000);
	until.tv_nsec = (long)(ns % 1000000000);
	while (!s->stop && pthread_cond_timedwait(&s->wake, &s->lock, &until) == 0)
		;
}

/*
 * Writes beat+1 every period until told to stop or until expired.  A
 * failed write is retried at the next period; the file keeps the old beat.
 */
static void *beat_thread(void *userdata)
{
	struct zf_store_session *s = userdata;

	pthread_mutex_lock(&s->lock);
	for (;;) {
		struct zf_store_session_info next;
		struct zf_err err = ZF_ERR_INIT;
		int r;

		wait_period(s);
		if (s->stop || expired_locked(s))
			break;
		next = s->info;
		next.beat++;
		pthread_mutex_unlock(&s->lock);
		r = write_file(s->path, &next, &err);
		pthread_mutex_lock(&s->lock);
		if (r >= 0 && !expired_locked(s)) {
			s->info.beat = next.beat;
			s->last_ok_ms = zf_now_ms();
		}
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

/* ---- begin / end ---------------------------------------------------------- */

static char *host_name(void)
{
	char h[HOST_MAX + 1] = "";

	if (gethostname(h, sizeof(h) - 1) < 0 || !h[0])
		return zf_xstrdup("unknown");
	/* what the lister accepts: printable ASCII that JSON needs no escape for */
	for (char *c = h; *c; c++)
		if (*c <= ' ' || *c > '~' || *c == '"' || *c == '\\')
			*c = '?';
	return zf_xstrdup(h);
}

static void random_id(char ret[ID_HEX + 1])
{
	uint8_t b[ID_BYTES];

	for (size_t i = 0; i < ID_BYTES; i += 8) {
		uint64_t v = zf_tmp_random();
		if (getrandom(&b[i], 8, 0) != 8)
			memcpy(&b[i], &v, 8);
	}
	zf_hex_encode(b, ID_BYTES, ret);
}

static void info_release(struct zf_store_session_info *i)
{
	free(i->id);
	free(i->host);
	free(i->dataset);
	memset(i, 0, sizeof(*i));
}

static struct zf_store_session *session_free(struct zf_store_session *s)
{
	if (s) {
		pthread_mutex_destroy(&s->lock);
		pthread_cond_destroy(&s->wake);
		info_release(&s->info);
		free(s->dir);
		free(s->path);
		free(s);
	}
	return NULL;
}
DEFINE_CLEANUP_FUNC(struct zf_store_session *, session_free);

static int make_dir(const char *dir, struct zf_err *err)
{
	struct stat st;

	if (mkdir(dir, 0755) == 0)
		return zf_sync_parent_dir(dir, err);
	if (errno != EEXIST)
		return zf_err_set(err, -errno, "cannot create directory '%s': %m", dir);
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
		return zf_err_set(err, -ENOTDIR, "'%s' is not a directory", dir);
	return 0;
}

static struct zf_store_session *session_new(const char *store_dir, const char *dataset,
					    uint64_t base_guid)
{
	struct zf_store_session *s = zf_xcalloc(1, sizeof(*s));
	pthread_condattr_t ca;

	pthread_mutex_init(&s->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->wake, &ca);
	pthread_condattr_destroy(&ca);
	random_id(s->id);
	s->dir = zf_xasprintf("%s/sessions", store_dir);
	s->path = zf_xasprintf("%s/%s.json", s->dir, s->id);
	s->info.id = zf_xstrdup(s->id);
	s->info.host = host_name();
	s->info.pid = getpid();
	s->info.started = time(NULL);
	s->info.dataset = zf_xstrdup(dataset);
	s->info.base_guid = base_guid;
	s->period_ms = beat_period_ms();
	return s;
}

int zf_store_session_begin(const char *store_dir, const char *dataset, uint64_t base_guid,
			   struct zf_store_session **ret, struct zf_err *err)
{
	_cleanup_(session_freep) struct zf_store_session *s = NULL;
	int r;

	r = zf_zfs_name_check(dataset, ZF_ZFS_NAME_DATASET, err);
	if (r < 0)
		return zf_err_prefix(err, "cannot begin a session");
	s = session_new(store_dir, dataset, base_guid);
	if ((r = make_dir(s->dir, err)) < 0 || (r = write_file(s->path, &s->info, err)) < 0)
		return r;
	s->last_ok_ms = zf_now_ms();
	r = -pthread_create(&s->thread, NULL, beat_thread, s);
	if (r < 0) {
		(void)unlink(s->path);
		return zf_err_set(err, r, "cannot start the beat of session '%s': %s", s->path,
				  strerror(-r));
	}
	*ret = TAKE_PTR(s);
	return 0;
}

bool zf_store_session_alive(struct zf_store_session *s)
{
	bool dead;

	pthread_mutex_lock(&s->lock);
	dead = expired_locked(s);
	pthread_mutex_unlock(&s->lock);
	return !dead;
}

const char *zf_store_session_id(const struct zf_store_session *s)
{
	return s->id;
}

static int stop_and_remove(struct zf_store_session *s, struct zf_err *err)
{
	pthread_mutex_lock(&s->lock);
	s->stop = true;
	pthread_cond_signal(&s->wake);
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->thread, NULL);
	/* gone already: gc removed it as stale; nothing of ours is left either way */
	if (unlink(s->path) < 0 && errno != ENOENT)
		return zf_err_set(err, -errno, "cannot remove session file '%s': %m", s->path);
	return zf_sync_parent_dir(s->path, err);
}

int zf_store_session_end(struct zf_store_session *s, struct zf_err *err)
{
	int r;

	if (!s)
		return 0;
	r = stop_and_remove(s, err);
	session_free(s);
	return r;
}

/* ---- reading -------------------------------------------------------------- */

static const char *const keys[] = { "host", "pid", "started", "beat", "dataset", "base_guid" };

static struct json_object *get(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	return json_object_object_get_ex(o, key, &v) ? v : NULL;
}

static int check_keys(struct json_object *o, struct zf_err *err)
{
	json_object_object_foreach(o, key, v) {
		size_t k;
		(void)v;
		for (k = 0; k < ELEMENTSOF(keys); k++)
			if (streq(key, keys[k]))
				break;
		if (k == ELEMENTSOF(keys))
			return zf_err_set(err, -EBADMSG, "unknown key");
	}
	for (size_t k = 0; k < ELEMENTSOF(keys); k++)
		if (!json_object_object_get_ex(o, keys[k], NULL))
			return zf_err_set(err, -EBADMSG, "missing key '%s'", keys[k]);
	return 0;
}

static int get_int(struct json_object *o, const char *key, int64_t min, int64_t max,
		   int64_t *ret, struct zf_err *err)
{
	struct json_object *v = get(o, key);
	int64_t x;

	if (!json_object_is_type(v, json_type_int))
		return zf_err_set(err, -EBADMSG, "key '%s': not an integer", key);
	x = json_object_get_int64(v);
	if (x < min || x > max)
		return zf_err_set(err, -EBADMSG, "key '%s': out of range %lld..%lld", key,
				  (long long)min, (long long)max);
	*ret = x;
	return 0;
}

/* A string without NUL, of printable ASCII that needs no JSON escape. */
static int get_str(struct json_object *o, const char *key, size_t max, const char **ret,
		   struct zf_err *err)
{
	struct json_object *v = get(o, key);
	const char *s;
	size_t n;

	if (!json_object_is_type(v, json_type_string))
		return zf_err_set(err, -EBADMSG, "key '%s': not a string", key);
	s = json_object_get_string(v);
	n = strlen(s);
	if (n != (size_t)json_object_get_string_len(v) || n == 0 || n > max)
		return zf_err_set(err, -EBADMSG, "key '%s': empty, too long or holds a NUL", key);
	for (size_t i = 0; i < n; i++)
		if (s[i] < ' ' || s[i] > '~' || s[i] == '"' || s[i] == '\\')
			return zf_err_set(err, -EBADMSG, "key '%s': byte '\\x%02x' at %zu", key,
					  (unsigned char)s[i], i);
	*ret = s;
	return 0;
}

static int get_base(struct json_object *o, uint64_t *ret, struct zf_err *err)
{
	struct json_object *v = get(o, "base_guid");
	const char *s;
	int r;

	if (json_object_is_type(v, json_type_null)) {
		*ret = 0;
		return 0;
	}
	r = get_str(o, "base_guid", 20, &s, err);
	if (r < 0)
		return r;
	if (zf_parse_u64(s, UINT64_MAX, ret) < 0 || *ret == 0)
		return zf_err_set(err, -EBADMSG, "key 'base_guid': not a guid");
	return 0;
}

static int fields(struct json_object *o, struct zf_store_session_info *i, struct zf_err *err)
{
	const char *host, *dataset;
	int64_t beat;
	int r;

	if ((r = check_keys(o, err)) < 0 || (r = get_str(o, "host", HOST_MAX, &host, err)) < 0 ||
	    (r = get_int(o, "pid", 1, PID_MAX, &i->pid, err)) < 0 ||
	    (r = get_int(o, "started", 0, TIME_MAX, &i->started, err)) < 0 ||
	    (r = get_int(o, "beat", 0, INT64_MAX - 1, &beat, err)) < 0 ||
	    (r = get_str(o, "dataset", 255, &dataset, err)) < 0 ||
	    (r = get_base(o, &i->base_guid, err)) < 0)
		return r;
	r = zf_zfs_name_check(dataset, ZF_ZFS_NAME_DATASET, err);
	if (r < 0)
		return zf_err_prefix(err, "key 'dataset'");
	i->beat = (uint64_t)beat;
	i->host = zf_xstrdup(host);
	i->dataset = zf_xstrdup(dataset);
	return 0;
}

static int parse(const uint8_t *p, size_t n, struct zf_store_session_info *i, struct zf_err *err)
{
	_cleanup_buf_ struct zf_buf canon = ZF_BUF_INIT;
	struct json_tokener *tok;
	struct json_object *o;
	int r;

	if (n == 0 || n > ZF_SESSION_FILE_MAX || memchr(p, '\0', n))
		return zf_err_set(err, -EBADMSG, "empty, larger than %d bytes or holds a NUL",
				  ZF_SESSION_FILE_MAX);
	tok = json_tokener_new_ex(2);
	if (!tok)
		abort();        /* out of memory, as zf_xmalloc() would */
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	o = json_tokener_parse_ex(tok, (const char *)p, (int)n);
	r = json_tokener_get_error(tok) == json_tokener_success && o ? 0 : -EBADMSG;
	json_tokener_free(tok);
	if (r < 0 || !json_object_is_type(o, json_type_object))
		r = zf_err_set(err, -EBADMSG, "not one JSON object");
	else
		r = fields(o, i, err);
	json_object_put(o);
	if (r < 0)
		return r;
	/* repeated keys, order, spaces, bytes after the object: one file, one reading */
	to_json(i, &canon);
	if (!(canon.len == n || (canon.len == n + 1 && canon.data[n] == '\n')) ||
	    memcmp(canon.data, p, n) != 0)
		return zf_err_set(err, -EBADMSG, "not as zferry writes it");
	return 0;
}

int zf_store_session_parse(const uint8_t *p, size_t n, const char *what,
			   struct zf_store_session_info *ret, struct zf_err *err)
{
	struct zf_store_session_info i = { 0 };
	int r = parse(p, n, &i, err);

	if (r < 0) {
		info_release(&i);
		return zf_err_prefix(err, "session file '%s'", what ? what : "?");
	}
	*ret = i;
	return 0;
}

static bool valid_name(const char *s)
{
	for (size_t i = 0; i < ID_HEX; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return streq(s + ID_HEX, ".json");
}

/* 1 and *ret filled, 0 when the file went away meanwhile, <0. */
static int read_one(int dirfd, const char *dir, const char *name,
		    struct zf_store_session_info *ret, struct zf_err *err)
{
	_cleanup_free_ char *what = zf_xasprintf("%s/%s", dir, name);
	_cleanup_buf_ struct zf_buf b = ZF_BUF_INIT;
	_cleanup_close_ int fd = -EBADF;
	struct stat st;
	int r;

	if (!valid_name(name))
		return zf_err_set(err, -EBADMSG, "session file '%s': not named <32 hex>.json",
				  what);
	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return 0;
	if (fd < 0)
		return zf_err_set(err, -errno, "cannot open session file '%s': %m", what);
	if (fstat(fd, &st) < 0)
		return zf_err_set(err, -errno, "cannot stat session file '%s': %m", what);
	if (!S_ISREG(st.st_mode) || st.st_size > ZF_SESSION_FILE_MAX)
		return zf_err_set(err, -EBADMSG, "session file '%s': not a regular file of at "
				  "most %d bytes", what, ZF_SESSION_FILE_MAX);
	r = zf_read_all(fd, &b, ZF_SESSION_FILE_MAX);
	if (r < 0)
		return zf_err_set(err, r, "cannot read session file '%s': %s", what, strerror(-r));
	r = zf_store_session_parse((const uint8_t *)b.data, b.len, what, ret, err);
	if (r < 0)
		return r;
	ret->id = zf_xstrndup(name, ID_HEX);
	return 1;
}

static int cmp_info(const void *a, const void *b)
{
	const struct zf_store_session_info *x = a, *y = b;

	return strcmp(x->id, y->id);
}

struct info_vec {
	struct zf_store_session_info *v;
	size_t n;
};

static void info_vec_release(struct info_vec *iv)
{
	zf_store_session_info_free(iv->v, iv->n);
}

static void closedirp(DIR **d)
{
	if (*d)
		closedir(*d);
}

int zf_store_session_list(const char *store_dir, struct zf_store_session_info **ret,
			  size_t *ret_n, struct zf_err *err)
{
	_cleanup_free_ char *dir = zf_xasprintf("%s/sessions", store_dir);
	_cleanup_(info_vec_release) struct info_vec iv = { NULL, 0 };
	_cleanup_(closedirp) DIR *d = opendir(dir);
	struct dirent *de;
	int r;

	if (!d && errno == ENOENT) {
		*ret = NULL;
		*ret_n = 0;
		return 0;
	}
	if (!d)
		return zf_err_set(err, -errno, "cannot open '%s': %m", dir);
	while ((errno = 0, de = readdir(d))) {
		struct zf_store_session_info i = { 0 };

		if (de->d_name[0] == '.')
			continue;       /* ".", ".." and temporary files */
		r = read_one(dirfd(d), dir, de->d_name, &i, err);
		if (r < 0)
			return r;
		if (r == 0)
			continue;
		iv.v = zf_xreallocarray(iv.v, iv.n + 1, sizeof(iv.v[0]));
		iv.v[iv.n++] = i;
	}
	if (errno != 0)
		return zf_err_set(err, -errno, "cannot read '%s': %m", dir);
	if (iv.n)
		qsort(iv.v, iv.n, sizeof(iv.v[0]), cmp_info);
	*ret = TAKE_PTR(iv.v);
	*ret_n = iv.n;
	iv.n = 0;
	return 0;
}

void zf_store_session_info_free(struct zf_store_session_info *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		info_release(&v[i]);
	free(v);
}
