/* src/chunk/index.c — .caibx index files, casync's format */
#include <endian.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include "util/atomic-file.h"
#include "chunk/index.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/io.h"
#include "util/banned.h"

#define READ_BUF (64 * 1024)

struct zf_index {
	char *name;                     /* for messages */
	int fd;                         /* -EBADF for memory indexes */
	const uint8_t *mem;
	size_t mem_n;
	uint8_t *buf;                   /* fd indexes: read buffer */
	size_t buf_pos, buf_len;
	uint64_t pos;                   /* bytes consumed from the file */
	struct zf_index_info info;
	uint64_t entries;
	uint64_t end;                   /* blob offset after the last entry */
	uint64_t last_size;
	bool done;
};

static uint64_t get64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, sizeof(v));
	return le64toh(v);
}

static void put64(uint8_t *p, uint64_t v)
{
	v = htole64(v);
	memcpy(p, &v, sizeof(v));
}

/* Reads exactly n bytes: n, fewer at the end of the file, or -errno. */
static ssize_t take(struct zf_index *idx, uint8_t *p, size_t n)
{
	size_t got = 0;

	if (idx->fd < 0) {
		size_t k = MIN(n, idx->mem_n - (size_t)idx->pos);
		memcpy(p, idx->mem + idx->pos, k);
		idx->pos += k;
		return (ssize_t)k;
	}
	while (got < n) {
		if (idx->buf_pos == idx->buf_len) {
			ssize_t k = zf_read_full(idx->fd, idx->buf, READ_BUF);
			if (k < 0)
				return k;
			if (k == 0)
				break;
			idx->buf_pos = 0;
			idx->buf_len = (size_t)k;
		}
		size_t k = MIN(n - got, idx->buf_len - idx->buf_pos);
		memcpy(p + got, idx->buf + idx->buf_pos, k);
		idx->buf_pos += k;
		got += k;
	}
	idx->pos += got;
	return (ssize_t)got;
}

static int take_exact(struct zf_index *idx, uint8_t *p, size_t n, const char *what,
		      struct zf_err *err)
{
	uint64_t at = idx->pos;
	ssize_t k = take(idx, p, n);

	if (k < 0)
		return zf_err_set(err, (int)k, "cannot read index '%s': %s", idx->name,
				  strerror((int)-k));
	if ((size_t)k < n)
		return zf_err_set(err, -EBADMSG,
				  "index '%s': truncated in the %s at byte %" PRIu64, idx->name,
				  what, at + (uint64_t)k);
	return 0;
}

static int read_header(struct zf_index *idx, struct zf_err *err)
{
	uint8_t h[ZF_INDEX_HEADER_SIZE + 16];
	struct zf_chunk_params p;
	int r;

	r = take_exact(idx, h, sizeof(h), "header", err);
	if (r < 0)
		return r;
	if (get64(h) != ZF_INDEX_HEADER_SIZE || get64(h + 8) != ZF_CAFORMAT_INDEX)
		return zf_err_set(err, -EBADMSG, "index '%s': not a casync index (bad header)",
				  idx->name);
	idx->info.features = get64(h + 16);
	idx->info.min = get64(h + 24);
	idx->info.avg = get64(h + 32);
	idx->info.max = get64(h + 40);
	if (!(idx->info.features & ZF_CAFORMAT_SHA512_256))
		return zf_err_set(err, -ENOTSUP,
				  "index '%s': chunk ids are SHA256, only SHA512/256 is supported",
				  idx->name);
	r = zf_chunk_params_init(&p, idx->info.min, idx->info.avg, idx->info.max, err);
	if (r < 0)
		return zf_err_prefix(err, "index '%s'", idx->name);
	if (get64(h + 48) != UINT64_MAX || get64(h + 56) != ZF_CAFORMAT_TABLE)
		return zf_err_set(err, -EBADMSG, "index '%s': bad table header at byte 48",
				  idx->name);
	return 0;
}

static int index_new(const char *name, int fd, const uint8_t *p, size_t n, struct zf_index **ret,
		     struct zf_err *err)
{
	struct zf_index *idx = zf_xcalloc(1, sizeof(*idx));
	int r;

	idx->name = zf_xstrdup(name);
	idx->fd = fd;
	idx->mem = p;
	idx->mem_n = n;
	if (fd >= 0)
		idx->buf = zf_xmalloc(READ_BUF);
	r = read_header(idx, err);
	if (r < 0) {
		zf_index_free(idx);
		return r;
	}
	*ret = idx;
	return 0;
}

int zf_index_open_read(const char *path, struct zf_index **ret, struct zf_err *err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	int r;

	if (fd < 0)
		return zf_err_set(err, -errno, "cannot open index '%s': %m", path);
	r = index_new(path, fd, NULL, 0, ret, err);
	if (r >= 0)
		TAKE_FD(fd);
	return r;
}

int zf_index_open_mem(const uint8_t *p, size_t n, struct zf_index **ret, struct zf_err *err)
{
	return index_new("<memory>", -EBADF, p, n, ret, err);
}

const struct zf_index_info *zf_index_info(const struct zf_index *idx)
{
	return &idx->info;
}

void zf_index_params(const struct zf_index *idx, struct zf_chunk_params *ret)
{
	int r = zf_chunk_params_init(ret, idx->info.min, idx->info.avg, idx->info.max, NULL);
	(void)r;        /* checked when the header was read */
}

static int read_tail(struct zf_index *idx, const uint8_t *e, struct zf_err *err)
{
	uint64_t table = 16 + (idx->entries + 1) * ZF_INDEX_ENTRY_SIZE;
	uint8_t extra;

	if (get64(e + 8) != 0 || get64(e + 16) != ZF_INDEX_HEADER_SIZE || get64(e + 24) != table ||
	    get64(e + 32) != ZF_CAFORMAT_TABLE_TAIL_MARKER)
		return zf_err_set(err, -EBADMSG, "index '%s': bad table tail at byte %" PRIu64,
				  idx->name, idx->pos - ZF_INDEX_ENTRY_SIZE);
	if (take(idx, &extra, 1) != 0)
		return zf_err_set(err, -EBADMSG, "index '%s': trailing data after byte %" PRIu64,
				  idx->name, idx->pos - 1);
	idx->done = true;
	return 0;
}

int zf_index_next(struct zf_index *idx, struct zf_chunk_id *ret_id, uint64_t *ret_offset,
		  uint64_t *ret_size, struct zf_err *err)
{
	uint8_t e[ZF_INDEX_ENTRY_SIZE];
	uint64_t end, size;
	int r;

	if (idx->done)
		return 0;
	r = take_exact(idx, e, sizeof(e), "chunk table", err);
	if (r < 0)
		return r;
	end = get64(e);
	if (end == 0) {
		r = read_tail(idx, e, err);
		return r < 0 ? r : 0;
	}
	if (end <= idx->end)
		return zf_err_set(err, -EBADMSG,
				  "index '%s': chunk %" PRIu64 " at byte %" PRIu64
				  " ends at %" PRIu64 ", not after %" PRIu64,
				  idx->name, idx->entries, idx->pos - sizeof(e), end, idx->end);
	size = end - idx->end;
	if (size > idx->info.max)
		return zf_err_set(err, -EBADMSG,
				  "index '%s': chunk %" PRIu64 " at offset %" PRIu64 " has size %" PRIu64
				  ", above max %" PRIu64,
				  idx->name, idx->entries, idx->end, size, idx->info.max);
	if (idx->entries > 0 && idx->last_size < idx->info.min)
		return zf_err_set(err, -EBADMSG,
				  "index '%s': chunk %" PRIu64 " has size %" PRIu64
				  ", below min %" PRIu64 ", and is not the last",
				  idx->name, idx->entries - 1, idx->last_size, idx->info.min);
	memcpy(ret_id->b, e + 8, ZF_CHUNK_ID_SIZE);
	*ret_offset = idx->end;
	*ret_size = size;
	idx->end = end;
	idx->last_size = size;
	idx->entries++;
	return 1;
}

struct zf_index *zf_index_free(struct zf_index *idx)
{
	if (idx) {
		safe_close(idx->fd);
		free(idx->buf);
		free(idx->name);
		free(idx);
	}
	return NULL;
}

struct zf_index_writer {
	struct zf_atomic_file file;     /* fd < 0: memory writer */
	struct zf_buf buf;
	uint64_t entries, end;
	bool finished;
};

static int flush(struct zf_index_writer *w, struct zf_err *err)
{
	int r;

	if (w->file.fd < 0 || w->buf.len == 0)
		return 0;
	r = zf_write_full(w->file.fd, w->buf.data, w->buf.len);
	if (r < 0)
		return zf_err_set(err, r, "cannot write index '%s': %s", w->file.path,
				  strerror(-r));
	zf_buf_reset(&w->buf);
	return 0;
}

int zf_index_writer_new(const char *path, const struct zf_chunk_params *p,
			struct zf_index_writer **ret, struct zf_err *err)
{
	_cleanup_(zf_index_writer_freep) struct zf_index_writer *w = zf_xcalloc(1, sizeof(*w));
	uint8_t h[ZF_INDEX_HEADER_SIZE + 16];
	int r;

	w->file = (struct zf_atomic_file)ZF_ATOMIC_FILE_INIT;
	zf_buf_init(&w->buf);
	if (path) {
		r = zf_atomic_file_open(&w->file, path, err);
		if (r < 0)
			return r;
	}
	put64(h, ZF_INDEX_HEADER_SIZE);
	put64(h + 8, ZF_CAFORMAT_INDEX);
	put64(h + 16, ZF_CAFORMAT_BLOB_FEATURES);
	put64(h + 24, p->min);
	put64(h + 32, p->avg);
	put64(h + 40, p->max);
	put64(h + 48, UINT64_MAX);
	put64(h + 56, ZF_CAFORMAT_TABLE);
	zf_buf_add(&w->buf, h, sizeof(h));
	*ret = TAKE_PTR(w);
	return 0;
}

int zf_index_writer_add(struct zf_index_writer *w, const struct zf_chunk_id *id, uint64_t size,
			struct zf_err *err)
{
	uint8_t e[ZF_INDEX_ENTRY_SIZE];

	if (size == 0)
		return zf_err_set(err, -EINVAL, "empty chunk cannot be indexed");
	w->end += size;
	w->entries++;
	put64(e, w->end);
	memcpy(e + 8, id->b, ZF_CHUNK_ID_SIZE);
	zf_buf_add(&w->buf, e, sizeof(e));
	if (w->buf.len >= 1024 * 1024)
		return flush(w, err);
	return 0;
}

int zf_index_writer_finish(struct zf_index_writer *w, struct zf_err *err)
{
	uint8_t t[ZF_INDEX_ENTRY_SIZE];
	int r;

	put64(t, 0);
	put64(t + 8, 0);
	put64(t + 16, ZF_INDEX_HEADER_SIZE);
	put64(t + 24, 16 + (w->entries + 1) * ZF_INDEX_ENTRY_SIZE);
	put64(t + 32, ZF_CAFORMAT_TABLE_TAIL_MARKER);
	zf_buf_add(&w->buf, t, sizeof(t));
	r = flush(w, err);
	if (r < 0)
		return r;
	if (w->file.fd >= 0) {
		r = zf_atomic_file_commit(&w->file, true, false, err);
		if (r < 0)
			return r;
	}
	w->finished = true;
	return 0;
}

const uint8_t *zf_index_writer_data(const struct zf_index_writer *w, size_t *ret_n)
{
	*ret_n = w->buf.len;
	return (const uint8_t *)w->buf.data;
}

struct zf_index_writer *zf_index_writer_free(struct zf_index_writer *w)
{
	if (w) {
		zf_atomic_file_release(&w->file);
		zf_buf_release(&w->buf);
		free(w);
	}
	return NULL;
}
