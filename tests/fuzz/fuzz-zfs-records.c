/* tests/fuzz/fuzz-zfs-records.c — send-stream records; split, rebuild and back are identity */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "fuzz.h"
#include "util/buf.h"
#include "util/err.h"
#include "zfs/records.h"

struct mem {
	struct zf_buf meta, data, out;
	size_t meta_at, data_at;
};

static int put_meta(void *userdata, const void *p, size_t n, struct zf_err *err)
{
	(void)err;
	zf_buf_add(&((struct mem *)userdata)->meta, p, n);
	return 0;
}

static int put_data(void *userdata, const void *p, size_t n, struct zf_err *err)
{
	(void)err;
	zf_buf_add(&((struct mem *)userdata)->data, p, n);
	return 0;
}

static int put_out(void *userdata, const void *p, size_t n, struct zf_err *err)
{
	(void)err;
	zf_buf_add(&((struct mem *)userdata)->out, p, n);
	return 0;
}

/* odd read sizes, to cross every boundary */
static ssize_t take(const struct zf_buf *b, size_t *at, void *p, size_t n)
{
	size_t k = MIN(MIN(n, (size_t)509), b->len - *at);

	if (k == 0)
		return 0;         /* b->data may be NULL */
	memcpy(p, b->data + *at, k);
	*at += k;
	return (ssize_t)k;
}

static ssize_t get_meta(void *userdata, void *p, size_t n, struct zf_err *err)
{
	struct mem *m = userdata;

	(void)err;
	return take(&m->meta, &m->meta_at, p, n);
}

static ssize_t get_data(void *userdata, void *p, size_t n, struct zf_err *err)
{
	struct mem *m = userdata;

	(void)err;
	return take(&m->data, &m->data_at, p, n);
}

/* Rebuilds from meta and data; if that works, splitting the stream must give them back. */
static int rebuilt_splits_back(struct mem *m, const uint8_t *meta, size_t nmeta,
			       const uint8_t *data, size_t ndata)
{
	struct zf_err err = ZF_ERR_INIT;
	const struct zf_zfs_rebuild_io io = { get_meta, get_data, put_out, m };
	struct zf_zfs_split *s;
	int q;

	zf_buf_reset(&m->meta);
	zf_buf_reset(&m->data);
	zf_buf_reset(&m->out);
	zf_buf_add(&m->meta, meta, nmeta);
	zf_buf_add(&m->data, data, ndata);
	m->meta_at = m->data_at = 0;
	if (zf_zfs_rebuild(&io, &err) < 0)
		return 0;       /* hostile meta: refused is fine */
	zf_buf_reset(&m->meta);
	zf_buf_reset(&m->data);
	s = zf_zfs_split_new(put_meta, put_data, m);
	q = zf_zfs_split_feed(s, m->out.data, m->out.len, &err);
	if (q >= 0)
		q = zf_zfs_split_finish(s, &err);
	zf_zfs_split_free(s);
	if (q < 0 || m->meta.len != nmeta || m->data.len != ndata ||
	    memcmp(m->meta.data, meta, nmeta) != 0 ||
	    (ndata > 0 && memcmp(m->data.data, data, ndata) != 0))
		return -EBADMSG;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct zf_err err = ZF_ERR_INIT;
	struct mem m = { ZF_BUF_INIT, ZF_BUF_INIT, ZF_BUF_INIT, 0, 0 };
	const struct zf_zfs_rebuild_io io = { get_meta, get_data, put_out, &m };
	struct zf_zfs_split *s = zf_zfs_split_new(put_meta, put_data, &m);
	size_t step = size > 0 ? (size_t)data[size - 1] * 13 + 1 : 1;
	int q = 0;

	for (size_t i = 0; q >= 0 && i < size; i += step)
		q = zf_zfs_split_feed(s, data + i, MIN(step, size - i), &err);
	if (q >= 0)
		q = zf_zfs_split_finish(s, &err);
	zf_zfs_split_free(s);
	if (q >= 0) {
		zf_err_clear(&err);
		if (zf_zfs_rebuild(&io, &err) < 0 || m.out.len != size ||
		    memcmp(m.out.data, data, size) != 0)
			abort();        /* what the reader accepts must come back whole */
	}
	/* the input as u32 LE meta length, meta, data: what rebuilds must split back the same */
	if (size >= 4) {
		size_t mlen = MIN((size_t)data[0] | (size_t)data[1] << 8 | (size_t)data[2] << 16 |
				  (size_t)data[3] << 24, size - 4);
		if (rebuilt_splits_back(&m, data + 4, mlen, data + 4 + mlen, size - 4 - mlen) < 0)
			abort();
	}
	zf_buf_release(&m.meta);
	zf_buf_release(&m.data);
	zf_buf_release(&m.out);
	return 0;
}
