/* src/chunk/idmap.c — chunk id hash map; ids are SHA512/256 output, so any 8 bytes hash well */
#include <string.h>
#include "chunk/idmap.h"
#include "util/alloc.h"
#include "util/banned.h"

static size_t slot_of(const struct zf_chunk_id *id, size_t cap)
{
	uint64_t h;
	memcpy(&h, id->b + 8, sizeof(h));
	return (size_t)(h & (cap - 1));
}

static void grow(struct zf_idmap *m)
{
	struct zf_idmap old = *m;

	m->cap = old.cap ? old.cap * 2 : 1024;
	m->keys = zf_xcalloc(m->cap, sizeof(*m->keys));
	m->values = zf_xcalloc(m->cap, sizeof(*m->values));
	m->used = zf_xcalloc(m->cap, 1);
	m->n = 0;
	for (size_t i = 0; i < old.cap; i++)
		if (old.used[i])
			zf_idmap_add(m, &old.keys[i], &old.values[i]);
	zf_idmap_release(&old);
}

int zf_idmap_add(struct zf_idmap *m, const struct zf_chunk_id *id, const struct zf_idmap_value *v)
{
	static const struct zf_idmap_value zero;
	size_t i;

	if ((m->n + 1) * 4 > m->cap * 3)
		grow(m);
	for (i = slot_of(id, m->cap); m->used[i]; i = (i + 1) & (m->cap - 1))
		if (zf_chunk_id_eq(&m->keys[i], id))
			return 0;
	m->used[i] = 1;
	m->keys[i] = *id;
	m->values[i] = v ? *v : zero;
	m->n++;
	return 1;
}

const struct zf_idmap_value *zf_idmap_get(const struct zf_idmap *m, const struct zf_chunk_id *id)
{
	if (m->cap == 0)
		return NULL;
	for (size_t i = slot_of(id, m->cap); m->used[i]; i = (i + 1) & (m->cap - 1))
		if (zf_chunk_id_eq(&m->keys[i], id))
			return &m->values[i];
	return NULL;
}

void zf_idmap_release(struct zf_idmap *m)
{
	free(m->keys);
	free(m->values);
	free(m->used);
	m->keys = NULL;
	m->values = NULL;
	m->used = NULL;
	m->n = m->cap = 0;
}
