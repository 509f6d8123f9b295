/*
 * src/config/config.c — YAML config parser
 *
 * libyaml's document API loads the whole file into nodes that carry their
 * line and column, so every check below can name where it failed.  We walk
 * only the structure we know; everything else is an error, never ignored,
 * because a misspelt key in a security setting (a grant, an allow-list)
 * must not quietly fall back to a default.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stddef.h>
#include <string.h>
#include <time.h>
#include <yaml.h>
#include "config/config.h"
#include "log/log.h"
#include "plan/replication.h"
#include "plan/retention.h"
#include "plan/schedule.h"
#include "transport/datachan.h"
#include "transport/transport.h"
#include "transport/url.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/io.h"
#include "util/num.h"
#include "util/regex.h"
#include "util/strv.h"
#include "zfs/recv-policy.h"
#include "zfs/zfs.h"
#include "util/banned.h"

struct parser {
	yaml_document_t *doc;
	const char *name;
	struct zf_err *err;
	/* the first tls:// and tcp:// of daemon.listen, checked against serve: at the end */
	const yaml_node_t *listen_tls, *listen_tcp;
	/* each job's mapping, for the messages of the checks made after the walk */
	const yaml_node_t **job_nodes;
	size_t job_nodes_alloc;
	/* identities in all jobs' clients: bounds the merge into serve.clients */
	size_t n_job_clients;
};

/* A loaded document; loaded says whether yaml_document_delete() is due. */
struct doc {
	yaml_document_t d;
	bool loaded;
};

static void doc_release(struct doc *d)
{
	if (d->loaded)
		yaml_document_delete(&d->d);
	d->loaded = false;
}

static void parser_release(struct parser *p)
{
	free(p->job_nodes);
}

static void parser_releasep(yaml_parser_t **y)
{
	if (*y)
		yaml_parser_delete(*y);
}

_printf_(3, 4) static int fail(struct parser *p, const yaml_node_t *n, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return zf_err_set(p->err, -EINVAL, "%s:%zu:%zu: %s", p->name,
			  n ? n->start_mark.line + 1 : 1, n ? n->start_mark.column + 1 : 1, msg);
}

static const char *node_kind(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_SCALAR_NODE: return "a scalar";
	case YAML_SEQUENCE_NODE: return "a list";
	case YAML_MAPPING_NODE: return "a mapping";
	default: return "nothing";
	}
}

static int expect(struct parser *p, const yaml_node_t *n, yaml_node_type_t type, const char *what)
{
	if (n->type == type)
		return 0;
	return fail(p, n, "%s must be %s, not %s", what,
		    type == YAML_SCALAR_NODE ? "a scalar"
		    : type == YAML_SEQUENCE_NODE ? "a list" : "a mapping", node_kind(n));
}

/* A scalar's text; YAML allows NUL in quoted scalars, we do not. */
static int scalar(struct parser *p, const yaml_node_t *n, const char *what, const char **ret)
{
	int r = expect(p, n, YAML_SCALAR_NODE, what);

	if (r < 0)
		return r;
	if (memchr(n->data.scalar.value, 0, n->data.scalar.length))
		return fail(p, n, "%s contains a NUL byte", what);
	*ret = (const char *)n->data.scalar.value;
	return 0;
}

typedef int (*key_fn)(struct parser *p, const char *key, const yaml_node_t *k,
		      const yaml_node_t *v, void *userdata);

/* Calls fn for each key of mapping m; keys must be scalars, known, and appear once. */
static int walk_mapping(struct parser *p, const yaml_node_t *m, const char *what,
			const char *const *known, key_fn fn, void *userdata)
{
	size_t nk = 0;
	int r = expect(p, m, YAML_MAPPING_NODE, what);

	if (r < 0)
		return r;
	while (known[nk])
		nk++;
	for (yaml_node_pair_t *a = m->data.mapping.pairs.start; a < m->data.mapping.pairs.top;
	     a++) {
		const yaml_node_t *k = yaml_document_get_node(p->doc, a->key);
		const yaml_node_t *v = yaml_document_get_node(p->doc, a->value);
		const char *key;
		bool found = false;

		if (!k || !v)
			return fail(p, m, "%s: broken node", what);
		r = scalar(p, k, "a key", &key);
		if (r < 0)
			return r;
		for (yaml_node_pair_t *b = m->data.mapping.pairs.start; b < a; b++) {
			const yaml_node_t *k2 = yaml_document_get_node(p->doc, b->key);
			if (k2 && k2->type == YAML_SCALAR_NODE &&
			    streq((const char *)k2->data.scalar.value, key))
				return fail(p, k, "duplicate key '%s' in %s", key, what);
		}
		for (size_t i = 0; i < nk; i++)
			if (streq(known[i], key))
				found = true;
		if (!found) {
			_cleanup_buf_ struct zf_buf b = ZF_BUF_INIT;
			for (size_t i = 0; i < nk; i++)
				zf_buf_addf(&b, "%s%s", i ? ", " : "", known[i]);
			return fail(p, k, "unknown key '%s' in %s (known: %s)", key, what,
				    zf_buf_str(&b));
		}
		r = fn(p, key, k, v, userdata);
		if (r < 0)
			return r;
	}
	return 0;
}

static int abs_path(struct parser *p, const yaml_node_t *v, const char *what, char **ret)
{
	const char *s;
	int r = scalar(p, v, what, &s);

	if (r < 0)
		return r;
	if (s[0] != '/')
		return fail(p, v, "%s '%s' must be an absolute path", what, s);
	free(*ret);
	*ret = zf_xstrdup(s);
	return 0;
}

static int tls_key(struct parser *p, const char *key, const yaml_node_t *k, const yaml_node_t *v,
		   void *userdata)
{
	struct zf_config_serve *s = userdata;
	(void)k;

	if (streq(key, "ca"))
		return abs_path(p, v, "serve.tls.ca", &s->tls_ca);
	if (streq(key, "cert"))
		return abs_path(p, v, "serve.tls.cert", &s->tls_cert);
	if (streq(key, "crl"))
		return abs_path(p, v, "serve.tls.crl", &s->tls_crl);
	return abs_path(p, v, "serve.tls.key", &s->tls_key);
}

static int tcp_key(struct parser *p, const char *key, const yaml_node_t *k, const yaml_node_t *v,
		   void *userdata)
{
	struct zf_config_serve *s = userdata;
	_cleanup_(zf_tcp_allow_freep) struct zf_tcp_allow *a = NULL;
	struct zf_err e = ZF_ERR_INIT;
	int r;
	(void)key;
	(void)k;

	r = expect(p, v, YAML_SEQUENCE_NODE, "serve.tcp.allow");
	if (r < 0)
		return r;
	if (v->data.sequence.items.start == v->data.sequence.items.top)
		return fail(p, v, "serve.tcp.allow is empty: no address could connect");
	for (yaml_node_item_t *i = v->data.sequence.items.start; i < v->data.sequence.items.top;
	     i++) {
		const yaml_node_t *n = yaml_document_get_node(p->doc, *i);
		const char *addr;

		r = scalar(p, n, "an allow-list entry", &addr);
		if (r < 0)
			return r;
		r = zf_tcp_allow_parse(&addr, 1, &a, &e);
		if (r < 0)
			return fail(p, n, "%s", e.msg);
		a = zf_tcp_allow_free(a);
		zf_strv_add(&s->tcp_allow, addr);
	}
	return 0;
}

int zf_config_check_grant(const char *path, struct zf_err *err)
{
	if (!*path)
		return zf_err_set(err, -EINVAL, "empty grant path");
	if (path[0] == '/')
		return zf_err_set(err, -EINVAL,
				  "grant '%s' is a dataset name, not a path: drop the leading '/'",
				  path);
	if (path[0] == '-')
		return zf_err_set(err, -EINVAL, "grant '%s' must not start with '-'", path);
	if (strpbrk(path, "@#"))
		return zf_err_set(err, -EINVAL,
				  "grant '%s' names a snapshot or bookmark: grants are filesystems",
				  path);
	if (zf_zfs_name_check(path, ZF_ZFS_NAME_DATASET, err) < 0)
		return zf_err_prefix(err, "bad grant");
	return 0;
}

static int grants(struct parser *p, const yaml_node_t *v, const char *what, struct zf_strv *ret)
{
	struct zf_err e = ZF_ERR_INIT;
	int r = expect(p, v, YAML_SEQUENCE_NODE, what);

	if (r < 0)
		return r;
	for (yaml_node_item_t *i = v->data.sequence.items.start; i < v->data.sequence.items.top;
	     i++) {
		const yaml_node_t *n = yaml_document_get_node(p->doc, *i);
		const char *path;

		r = scalar(p, n, "a grant", &path);
		if (r < 0)
			return r;
		if (zf_config_check_grant(path, &e) < 0)
			return fail(p, n, "%s", e.msg);
		zf_strv_add(ret, path);
	}
	return 0;
}

static int boolean(struct parser *p, const yaml_node_t *v, const char *what, bool *ret)
{
	const char *s;
	int r = scalar(p, v, what, &s);

	if (r < 0)
		return r;
	if (streq(s, "true") || streq(s, "yes") || streq(s, "on"))
		*ret = true;
	else if (streq(s, "false") || streq(s, "no") || streq(s, "off"))
		*ret = false;
	else
		return fail(p, v, "%s must be true or false, not '%s'", what, s);
	return 0;
}

static int words(struct parser *p, const yaml_node_t *v, const char *what, struct zf_strv *ret)
{
	int r = expect(p, v, YAML_SEQUENCE_NODE, what);

	if (r < 0)
		return r;
	for (yaml_node_item_t *i = v->data.sequence.items.start; i < v->data.sequence.items.top;
	     i++) {
		const yaml_node_t *n = yaml_document_get_node(p->doc, *i);
		const char *w;

		if ((r = scalar(p, n, what, &w)) < 0)
			return r;
		if (!*w)
			return fail(p, n, "%s: empty entry", what);
		zf_strv_add(ret, w);
	}
	return 0;
}

static int receive_key(struct parser *p, const char *key, const yaml_node_t *k,
		       const yaml_node_t *v, void *userdata)
{
	struct zf_config_receive *rc = userdata;
	(void)k;

	if (streq(key, "allow")) {
		rc->has_allow = true;
		return words(p, v, "receive.allow", &rc->allow);
	}
	if (streq(key, "deny")) {
		rc->has_deny = true;
		return words(p, v, "receive.deny", &rc->deny);
	}
	if (streq(key, "force")) {
		rc->has_force = true;
		return words(p, v, "receive.force", &rc->force);
	}
	rc->has_mount = true;
	return boolean(p, v, "receive.mount", &rc->mount);
}

static int receive(struct parser *p, const yaml_node_t *v, struct zf_config_receive *rc)
{
	static const char *const known[] = { "allow", "deny", "force", "mount", NULL };
	struct zf_err e = ZF_ERR_INIT;
	struct zf_recv_policy pol = { 0 };
	int r = walk_mapping(p, v, "receive", known, receive_key, rc);

	if (r < 0)
		return r;
	pol.allow = rc->has_allow ? zf_strv_argv(&rc->allow) : NULL;
	pol.deny = rc->has_deny ? zf_strv_argv(&rc->deny) : NULL;
	pol.force = rc->has_force ? zf_strv_argv(&rc->force) : NULL;
	if (zf_recv_policy_validate(&pol, &e) < 0)
		return fail(p, v, "receive: %s", e.msg);
	return 0;
}

static void receive_release(struct zf_config_receive *rc)
{
	zf_strv_release(&rc->allow);
	zf_strv_release(&rc->deny);
	zf_strv_release(&rc->force);
}

/* A config list as a policy list: an empty one is empty, not "the default". */
static const char *const *policy_list(const struct zf_strv *s)
{
	static const char *const empty[] = { NULL };

	return s->v ? (const char *const *)s->v : empty;
}

void zf_config_recv_policy(const struct zf_config *c, const struct zf_config_client *cl,
			   struct zf_recv_policy *ret)
{
	const struct zf_config_receive *s = &c->serve.receive;
	const struct zf_config_receive *o = cl ? &cl->receive : NULL;

	*ret = (struct zf_recv_policy){ 0 };
	if (o && o->has_allow)
		ret->allow = policy_list(&o->allow);
	else if (s->has_allow)
		ret->allow = policy_list(&s->allow);
	if (o && o->has_deny)
		ret->deny = policy_list(&o->deny);
	else if (s->has_deny)
		ret->deny = policy_list(&s->deny);
	if (o && o->has_force)
		ret->force = policy_list(&o->force);
	else if (s->has_force)
		ret->force = policy_list(&s->force);
	ret->mount = o && o->has_mount ? o->mount : s->mount;
}

static int data_channel_key(struct parser *p, const char *key, const yaml_node_t *k,
			    const yaml_node_t *v, void *userdata)
{
	struct zf_config_serve *s = userdata;
	struct zf_err e = ZF_ERR_INIT;
	unsigned char bin[16];
	uint16_t first, last;
	const char *w;
	int r;
	(void)k;

	if ((r = scalar(p, v, streq(key, "listen") ? "serve.data_channel.listen"
						   : "serve.data_channel.ports", &w)) < 0)
		return r;
	if (streq(key, "listen")) {
		if (inet_pton(AF_INET, w, bin) != 1 && inet_pton(AF_INET6, w, bin) != 1)
			return fail(p, v, "serve.data_channel.listen '%s' is not an IP address", w);
		free(s->dc_listen);
		s->dc_listen = zf_xstrdup(w);
		return 0;
	}
	if (zf_datachan_ports_parse(w, &first, &last, &e) < 0)
		return fail(p, v, "serve.data_channel.ports: %s", e.msg);
	if (first != 0 && first < 1024)
		return fail(p, v, "serve.data_channel.ports '%s': ports below 1024 are privileged",
			    w);
	s->dc_first = first;
	s->dc_last = last;
	s->dc_has_ports = true;
	return 0;
}

/* "tcp:ADDR": ADDR must be one IP address (brackets allowed), kept in inet_ntop() form. */
static int tcp_identity(struct parser *p, const yaml_node_t *n, const char *id, char **ret)
{
	char buf[INET6_ADDRSTRLEN + 2], out[INET6_ADDRSTRLEN];
	unsigned char bin[16];
	const char *a = id + 4;
	size_t len = strlen(a);
	int family;

	if (len >= 2 && a[0] == '[' && a[len - 1] == ']') {
		a++;
		len -= 2;
	}
	if (len == 0 || len >= sizeof(buf))
		return fail(p, n, "identity '%s': expected tcp:ADDRESS", id);
	memcpy(buf, a, len);
	buf[len] = '\0';
	if (inet_pton(AF_INET, buf, bin) == 1)
		family = AF_INET;
	else if (inet_pton(AF_INET6, buf, bin) == 1)
		family = AF_INET6;
	else
		return fail(p, n,
			    "identity '%s': '%s' is not an IP address (tcp identities take no "
			    "port or host name)", id, buf);
	if (!inet_ntop(family, bin, out, sizeof(out)))
		return fail(p, n, "identity '%s': cannot format address", id);
	*ret = zf_xasprintf("tcp:%s", out);
	return 0;
}

struct client_ctx {
	struct zf_config_client *cl;
	bool has_read, has_write;
};

static int client_key(struct parser *p, const char *key, const yaml_node_t *k,
		      const yaml_node_t *v, void *userdata)
{
	struct client_ctx *c = userdata;
	const char *id;
	int r;
	(void)k;

	if (streq(key, "read")) {
		c->has_read = true;
		return grants(p, v, "read", &c->cl->read);
	}
	if (streq(key, "write")) {
		c->has_write = true;
		return grants(p, v, "write", &c->cl->write);
	}
	if (streq(key, "append")) {
		/* a write grant too, so every write check sees it; grants.c narrows it */
		c->has_write = true;
		r = grants(p, v, "append", &c->cl->append);
		if (r >= 0)
			zf_strv_addn(&c->cl->write, (const char *const *)c->cl->append.v,
				     c->cl->append.n);
		return r;
	}
	if (streq(key, "receive"))
		return receive(p, v, &c->cl->receive);
	r = scalar(p, v, "identity", &id);
	if (r < 0)
		return r;
	if (!*id)
		return fail(p, v, "empty identity");
	if (strlen(id) >= ZF_TRANSPORT_MAX_PEER)
		return fail(p, v, "identity longer than %d bytes", ZF_TRANSPORT_MAX_PEER - 1);
	for (const char *s = id; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return fail(p, v, "identity contains a control character");
	if (startswith(id, "tcp:"))
		return tcp_identity(p, v, id, &c->cl->identity);
	if ((startswith(id, "tls:") || startswith(id, "ssh:")) && !id[4])
		return fail(p, v, "identity '%s' names nobody", id);
	c->cl->identity = zf_xstrdup(id);
	return 0;
}

/*
 * An identity's kind and name: "tls:laptop" is (tls, "laptop"), a plain
 * "laptop" (any, "laptop"), which stands for both tls and ssh.
 */
enum id_kind { ID_ANY, ID_TLS, ID_SSH, ID_TCP };

static enum id_kind id_split(const char *id, const char **ret_name)
{
	static const struct { const char *prefix; enum id_kind kind; } kinds[] = {
		{ "tls:", ID_TLS }, { "ssh:", ID_SSH }, { "tcp:", ID_TCP },
	};

	for (size_t i = 0; i < ELEMENTSOF(kinds); i++)
		if ((*ret_name = startswith(id, kinds[i].prefix)))
			return kinds[i].kind;
	*ret_name = id;
	return ID_ANY;
}

/* Whether one peer could match both a and b: equal, or one plain and the other tls/ssh. */
static bool ids_overlap(const char *a, const char *b)
{
	const char *na, *nb;
	enum id_kind ka = id_split(a, &na), kb = id_split(b, &nb);

	if (!streq(na, nb))
		return false;
	if (ka == kb)
		return true;
	return (ka == ID_ANY && kb != ID_TCP) || (kb == ID_ANY && ka != ID_TCP);
}

static int clients(struct parser *p, const yaml_node_t *v, struct zf_config_serve *s)
{
	static const char *const known[] = { "identity", "read", "write", "append", "receive",
					     NULL };
	size_t alloc = 0;
	int r = expect(p, v, YAML_SEQUENCE_NODE, "serve.clients");

	if (r < 0)
		return r;
	for (yaml_node_item_t *i = v->data.sequence.items.start; i < v->data.sequence.items.top;
	     i++) {
		const yaml_node_t *n = yaml_document_get_node(p->doc, *i);
		struct client_ctx c = {};

		if (s->n_clients >= ZF_CONFIG_MAX_CLIENTS)
			return fail(p, n, "more than %d clients", ZF_CONFIG_MAX_CLIENTS);
		ZF_ALLOC_GROW(s->clients, s->n_clients + 1, alloc);
		c.cl = &s->clients[s->n_clients++];
		memset(c.cl, 0, sizeof(*c.cl));
		c.cl->line = (unsigned)n->start_mark.line + 1;
		r = walk_mapping(p, n, "a client", known, client_key, &c);
		if (r < 0)
			return r;
		if (!c.cl->identity)
			return fail(p, n, "client without identity");
		if (!c.has_read && !c.has_write)
			return fail(p, n, "client '%s' has neither read nor write grants",
				    c.cl->identity);
		zf_strv_addn(&c.cl->origins, (const char *const *)c.cl->write.v, c.cl->write.n);
		zf_strv_addn(&c.cl->origins, (const char *const *)c.cl->read.v, c.cl->read.n);
		for (size_t j = 0; j + 1 < s->n_clients; j++) {
			const char *other = s->clients[j].identity;
			if (streq(other, c.cl->identity))
				return fail(p, n, "duplicate identity '%s' (first on line %u)",
					    c.cl->identity, s->clients[j].line);
			if (ids_overlap(other, c.cl->identity))
				return fail(p, n, "identity '%s' overlaps '%s' on line %u: a plain "
					    "name stands for both tls: and ssh:", c.cl->identity,
					    other, s->clients[j].line);
		}
	}
	return 0;
}

/* A decimal integer from min to max; unit names it in the message ("seconds"). */
static int integer(struct parser *p, const yaml_node_t *v, const char *what, const char *unit,
		   long min, long max, int *ret)
{
	const char *t;
	char *end;
	long val;
	int r = scalar(p, v, what, &t);

	if (r < 0)
		return r;
	errno = 0;
	val = strtol(t, &end, 10);
	if (errno || end == t || *end || val < min || val > max)
		return fail(p, v, "%s must be %s from %ld to %ld, not '%s'", what, unit, min, max,
			    t);
	*ret = (int)val;
	return 0;
}

static int limits_key(struct parser *p, const char *key, const yaml_node_t *k,
		      const yaml_node_t *v, void *userdata)
{
	struct zf_config_serve *s = userdata;
	int val = 0, r;
	(void)k;

	if (streq(key, "connections")) {
		r = integer(p, v, "serve.limits.connections", "a number", 1,
			    ZF_CONFIG_MAX_CONNECTIONS, &val);
		s->limits.connections = (unsigned)val;
	} else if (streq(key, "unauthenticated")) {
		r = integer(p, v, "serve.limits.unauthenticated", "a number", 1,
			    ZF_CONFIG_MAX_CONNECTIONS, &val);
		s->limits.unauthenticated = (unsigned)val;
	} else {
		r = integer(p, v, "serve.limits.unauthenticated_per_address", "a number", 1,
			    ZF_CONFIG_MAX_CONNECTIONS, &val);
		s->limits.unauth_per_address = (unsigned)val;
	}
	return r;
}

/*
 * serve.limits: a key left out takes its default, moved to fit the keys
 * given ("connections: 8" alone means 8 unauthenticated, 4 per address;
 * "unauthenticated: 100" alone, 100 connections), so that only two values
 * the file itself sets can contradict each other.
 */
static int limits(struct parser *p, const yaml_node_t *v, struct zf_config_serve *s)
{
	static const char *const known[] = { "connections", "unauthenticated",
					     "unauthenticated_per_address", NULL };
	int r;

	s->limits.connections = s->limits.unauthenticated = s->limits.unauth_per_address = 0;
	r = walk_mapping(p, v, "serve.limits", known, limits_key, s);
	if (r < 0)
		return r;
	if (!s->limits.connections)
		s->limits.connections = MAX(ZF_CONFIG_DEFAULT_CONNECTIONS,
					    MAX(s->limits.unauthenticated,
						s->limits.unauth_per_address));
	if (!s->limits.unauthenticated)
		s->limits.unauthenticated = MAX(MIN(ZF_CONFIG_DEFAULT_UNAUTHENTICATED,
						    s->limits.connections),
						s->limits.unauth_per_address);
	if (!s->limits.unauth_per_address)
		s->limits.unauth_per_address = MIN(ZF_CONFIG_DEFAULT_UNAUTH_PER_ADDRESS,
						   s->limits.unauthenticated);
	if (s->limits.unauthenticated > s->limits.connections)
		return fail(p, v, "serve.limits.unauthenticated (%u) exceeds "
			    "serve.limits.connections (%u)", s->limits.unauthenticated,
			    s->limits.connections);
	if (s->limits.unauth_per_address > s->limits.unauthenticated)
		return fail(p, v, "serve.limits.unauthenticated_per_address (%u) exceeds "
			    "serve.limits.unauthenticated (%u)", s->limits.unauth_per_address,
			    s->limits.unauthenticated);
	return 0;
}

static int serve_key(struct parser *p, const char *key, const yaml_node_t *k,
		     const yaml_node_t *v, void *userdata)
{
	static const char *const tls_known[] = { "ca", "cert", "key", "crl", NULL };
	static const char *const tcp_known[] = { "allow", NULL };
	struct zf_config_serve *s = userdata;
	int r;
	(void)k;

	if (streq(key, "tls")) {
		r = walk_mapping(p, v, "serve.tls", tls_known, tls_key, s);
		if (r < 0)
			return r;
		if (!s->tls_ca || !s->tls_cert || !s->tls_key)
			return fail(p, v, "serve.tls needs ca, cert and key");
		return 0;
	}
	if (streq(key, "tcp")) {
		s->tcp_present = true;
		r = walk_mapping(p, v, "serve.tcp", tcp_known, tcp_key, s);
		if (r < 0)
			return r;
		if (!s->tcp_allow.n)
			return fail(p, v, "serve.tcp needs allow");
		return 0;
	}
	if (streq(key, "receive"))
		return receive(p, v, &s->receive);
	if (streq(key, "data_channel")) {
		static const char *const dc_known[] = { "listen", "ports", NULL };
		s->dc_present = true;
		r = walk_mapping(p, v, "serve.data_channel", dc_known, data_channel_key, s);
		if (r < 0)
			return r;
		if (!s->dc_listen || !s->dc_has_ports)
			return fail(p, v, "serve.data_channel needs listen and ports");
		return 0;
	}
	if (streq(key, "timeout"))
		return integer(p, v, "serve.timeout", "seconds", 1, 86400, &s->timeout_s);
	if (streq(key, "handshake_timeout"))
		return integer(p, v, "serve.handshake_timeout", "seconds", 1, 300,
			       &s->handshake_timeout_s);
	if (streq(key, "limits"))
		return limits(p, v, s);
	return clients(p, v, s);
}


/* ---- daemon: ------------------------------------------------------------ */

/*
 * "HOST:PORT", "[V6]:PORT" or ":PORT" (empty host: every address).  The
 * host is an IPv4 address or a name of [A-Za-z0-9.-] not starting with
 * '-'; one in brackets an IPv6 address.  *ret_port points into s.  NULL,
 * or why not.
 */
static const char *host_port(const char *s, const char **ret_port)
{
	char buf[INET6_ADDRSTRLEN];
	unsigned char bin[16];
	const char *colon;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		size_t len;

		if (!close || close[1] != ':')
			return "want [IPV6]:PORT";
		len = (size_t)(close - s - 1);
		if (len == 0 || len >= sizeof(buf))
			return "bad IPv6 address";
		memcpy(buf, s + 1, len);
		buf[len] = '\0';
		if (inet_pton(AF_INET6, buf, bin) != 1)
			return "not an IPv6 address in the brackets";
		*ret_port = close + 2;
		return NULL;
	}
	colon = strrchr(s, ':');
	if (!colon)
		return "no :PORT";
	if (memchr(s, ':', (size_t)(colon - s)))
		return "an IPv6 address needs brackets";
	if (s[0] == '-')
		return "an address must not start with '-'";
	for (const char *h = s; h < colon; h++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-", *h))
			return "bad character in the address";
	*ret_port = colon + 1;
	return NULL;
}

/* A port from 1 to 65535 as the whole of s. */
static bool port_ok(const char *s)
{
	uint16_t port;

	return zf_parse_port(s, strlen(s), &port) == 0 && port > 0;
}

static int daemon_listen(struct parser *p, const yaml_node_t *v, struct zf_config_daemon *d)
{
	int r = expect(p, v, YAML_SEQUENCE_NODE, "daemon.listen");

	if (r < 0)
		return r;
	for (yaml_node_item_t *i = v->data.sequence.items.start; i < v->data.sequence.items.top;
	     i++) {
		const yaml_node_t *n = yaml_document_get_node(p->doc, *i);
		const char *s, *rest, *port, *why;
		bool tls;

		if ((r = scalar(p, n, "a daemon.listen entry", &s)) < 0)
			return r;
		if ((rest = startswith(s, "tls://")))
			tls = true;
		else if ((rest = startswith(s, "tcp://")))
			tls = false;
		else
			return fail(p, n, "daemon.listen takes tls://[ADDR]:PORT or tcp://[ADDR]:PORT, "
				    "not '%s'", s);
		if ((why = host_port(rest, &port)))
			return fail(p, n, "daemon.listen '%s': %s", s, why);
		/* 0: any free port, as serve --listen takes it (the log says which) */
		if (!streq(port, "0") && !port_ok(port))
			return fail(p, n, "daemon.listen '%s': bad port (0 to 65535)", s);
		/* checked against serve.tls / serve.tcp when the whole file is read */
		if (tls && !p->listen_tls)
			p->listen_tls = n;
		if (!tls && !p->listen_tcp)
			p->listen_tcp = n;
		zf_strv_add(&d->listen, s);
	}
	return 0;
}

static int daemon_key(struct parser *p, const char *key, const yaml_node_t *k,
		      const yaml_node_t *v, void *userdata)
{
	struct zf_config_daemon *d = userdata;
	const char *s, *port, *why;
	int r;
	(void)k;

	if (streq(key, "control"))
		return abs_path(p, v, "daemon.control", &d->control);
	if (streq(key, "state_dir"))
		return abs_path(p, v, "daemon.state_dir", &d->state_dir);
	if (streq(key, "listen"))
		return daemon_listen(p, v, d);
	if (streq(key, "stop_timeout"))
		return integer(p, v, "daemon.stop_timeout", "seconds", 1, 3600, &d->stop_timeout_s);
	if ((r = scalar(p, v, key, &s)) < 0)
		return r;
	if (streq(key, "http_listen")) {
		if ((why = host_port(s, &port)))
			return fail(p, v, "daemon.http_listen '%s': %s", s, why);
		if (!streq(port, "0") && !port_ok(port))
			return fail(p, v, "daemon.http_listen '%s': bad port (0 to 65535)", s);
		free(d->http_listen);
		d->http_listen = zf_xstrdup(s);
		return 0;
	}
	if (streq(key, "log_format")) {
		enum zf_log_format f;
		if (zf_log_parse_format(s, &f) < 0)
			return fail(p, v, "daemon.log_format must be text, logfmt or json, not '%s'", s);
		free(d->log_format);
		d->log_format = zf_xstrdup(s);
		return 0;
	}
	/* log_level: zf_log_parse_level()'s names, and "warn" for "warning" */
	enum zf_log_level l;
	if (streq(s, "warn"))
		s = "warning";
	if (zf_log_parse_level(s, &l) < 0)
		return fail(p, v, "daemon.log_level must be debug, info, notice, warning (warn) "
			    "or error, not '%s'", s);
	free(d->log_level);
	d->log_level = zf_xstrdup(s);
	return 0;
}

static void daemon_defaults(struct zf_config_daemon *d)
{
	d->control = zf_xstrdup(ZF_CONFIG_DEFAULT_CONTROL);
	d->state_dir = zf_xstrdup(ZF_CONFIG_DEFAULT_STATE_DIR);
	d->log_format = zf_xstrdup("text");
	d->log_level = zf_xstrdup("info");
	d->stop_timeout_s = ZF_CONFIG_DEFAULT_STOP_TIMEOUT;
}

/* ---- jobs: --------------------------------------------------------------- */

#define T_SNAP (1u << ZF_JOB_SNAP)
#define T_PUSH (1u << ZF_JOB_PUSH)
#define T_PULL (1u << ZF_JOB_PULL)
#define T_SINK (1u << ZF_JOB_SINK)
#define T_SOURCE (1u << ZF_JOB_SOURCE)
#define T_REPL (T_PUSH | T_PULL)
#define T_ALL (T_SNAP | T_REPL | T_SINK | T_SOURCE)

static const char *const job_type_names[] = {
	[ZF_JOB_SNAP] = "snap", [ZF_JOB_PUSH] = "push", [ZF_JOB_PULL] = "pull",
	[ZF_JOB_SINK] = "sink", [ZF_JOB_SOURCE] = "source",
};

const char *zf_job_type_str(enum zf_job_type t)
{
	if ((size_t)t < ELEMENTSOF(job_type_names) && job_type_names[t])
		return job_type_names[t];
	return "unknown";
}

struct job_ctx {
	struct zf_config_job *j;
	const yaml_node_t *schedule_node;       /* `schedule:` or `interval:`, for "both given" */
};

typedef int (*job_key_fn)(struct parser *p, struct job_ctx *c, const yaml_node_t *v);

/* A boolean key: where it lives in the job. */
#define JOB_BOOL(field) offsetof(struct zf_config_job, field)
#define NO_BOOL ((size_t)-1)

/*
 * Every job key, once: which types take it, and how it is read (a
 * function, or a boolean field).  The list of keys a type knows, its
 * messages and docs/daemon.md follow this table.
 */
struct job_key {
	const char *name;
	unsigned types;
	job_key_fn fn;
	size_t bool_at;
};

static int dataset(struct parser *p, const yaml_node_t *v, const char *what, char **ret)
{
	struct zf_err e = ZF_ERR_INIT;
	const char *s;
	int r = scalar(p, v, what, &s);

	if (r < 0)
		return r;
	if (zf_zfs_name_check(s, ZF_ZFS_NAME_DATASET, &e) < 0)
		return fail(p, v, "%s '%s': %s", what, s, e.msg);
	free(*ret);
	*ret = zf_xstrdup(s);
	return 0;
}

static int url(struct parser *p, const yaml_node_t *v, const char *what, char **ret)
{
	_cleanup_(zf_url_releasep) struct zf_url u = ZF_URL_INIT;
	struct zf_err e = ZF_ERR_INIT;
	const char *s;
	int r = scalar(p, v, what, &s);

	if (r < 0)
		return r;
	if (zf_url_parse(s, &u, &e) < 0)
		return fail(p, v, "%s: %s", what, e.msg);
	if (zf_zfs_name_check(u.dataset, ZF_ZFS_NAME_DATASET, &e) < 0)
		return fail(p, v, "%s '%s': %s", what, s, e.msg);
	free(*ret);
	*ret = zf_xstrdup(s);
	return 0;
}

static int jk_name(struct parser *p, struct job_ctx *c, const yaml_node_t *v)
{
	const char *s;
	size_t len;
	int r = scalar(p, v, "a job's name", &s);

	if (r < 0)
		return r;
	len = strlen(s);
	if (len < 1 || len > 64 ||
	    s[strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-")])
		return fail(p, v, "job name '%s' must be 1 to 64 of A-Z a-z 0-9 _ . -", s);
	c->j->name = zf_xstrdup(s);
	return 0;
}

static int jk_type(struct parser *p, struct job_ctx *c, const yaml_node_t *v)
{
	(void)p, (void)c, (void)v;      /* read before the walk: the type decides the keys */
	return 0;
}

static int jk_schedule(struct parser *p, struct job_ctx *c, const yaml_node_t *v)
{
	struct zf_err e = ZF_ERR_INIT;
	const char *s;
	int r;

	if (c->schedule_node)
		return fail(p, v, "give schedule or interval, not both (the other is on line %zu)",
			    c->schedule_node->start_mark.line + 1);
	if ((r = scalar(p, v, "schedule", &s)) < 0)
		return r;
	if (zf_schedule_parse(s, &c->j->schedule, &e) < 0)
		return fail(p, v, "%s", e.msg);
	c->schedule_node = v;
	c->j->has_schedule = true;
	return 0;
}

static int jk_interval(struct parser *p, struct job_ctx *c, const yaml_node_t *v)
{
	int r = jk_schedule(p, c, v);

	if (r < 0)
		return r;
	if (c->j->schedule.kind != ZF_SCHEDULE_INTERVAL)
		return fail(p, v, "interval '%s' is not an interval (10m, 1h30m): a cron "
			    "expression goes in schedule", zf_schedule_text(&c->j->schedule));
	return 0;
}

/* A list of scalars, each checked by check (NULL: any non-empty text). */
static int list(struct parser *p, const yaml_node_t *v, const char *what, struct zf_strv *ret,
		int (*check)(struct parser *p, const yaml_node_t *n, const char *s))
{
	int r = expect(p, v, YAML_SEQUENCE_NODE, what);

	if (r < 0)
		return r;
	for (yaml_node_item_t *i = v->data.sequence.items.start; i < v->data.sequence.items.top;
	     i++) {
		const yaml_node_t *n = yaml_document_get_node(p->doc, *i);
		const char *s;

		if ((r = scalar(p, n, what, &s)) < 0)
			return r;
		if (!*s)
			return fail(p, n, "%s: empty entry", what);
		if (check && (r = check(p, n, s)) < 0)
			return r;
		zf_strv_add(ret, s);
	}
	return 0;
}

static int check_fs(struct parser *p, const yaml_node_t *n, const char *s)
{
	struct zf_err e = ZF_ERR_INIT;

	if (zf_zfs_name_check(s, ZF_ZFS_NAME_DATASET, &e) < 0)
		return fail(p, n, "filesystem '%s': %s", s, e.msg);
	return 0;
}

static int check_regex(struct parser *p, const yaml_node_t *n, const char *s)
{
	char why[200];
	regex_t re;

	if (zf_regex_compile(&re, s, why, sizeof(why)) < 0)
		return fail(p, n, "exclude '%s': %s", s, why);
	regfree(&re);
	return 0;
}

static int check_prop_set(struct parser *p, const yaml_node_t *n, const char *s)
{
	if (!strchr(s, '=') || s[0] == '=')
		return fail(p, n, "set_props takes PROP=VALUE, not '%s'", s);
	return 0;
}

static int check_ssh_option(struct parser *p, const yaml_node_t *n, const char *s)
{
	if (s[0] == '-')
		return fail(p, n, "ssh_options takes ssh_config options such as Port=2222, not '%s'",
			    s);
	return 0;
}

static int jk_filesystems(struct parser *p, struct job_ctx *c, const yaml_node_t *v)
{
	int r = list(p, v, "filesystems", &c->j->filesystems, check_fs);

	if (r >= 0 && !c->j->filesystems.n)
		return fail(p, v, "filesystems is empty");
	return r;
}

static int jk_exclude(struct parser *p, struct job_ctx *c, const yaml_node_t *v)
{
	return list(p, v, "exclude", &c->j->exclude, check_regex);
}

static int jk_source(struct parser *p, struct job_ctx *c, const yaml_node_t *v)
{
	if (c->j->type == ZF_JOB_PUSH)
		return dataset(p, v, "source", &c->j->source);
	return url(p, v, "source", &c->j->source);
}

static int jk_target(struct parser *p, struct job_ctx *c, const yaml_node_t *v)
{
	if (c->j->type == ZF_JOB_PULL)
		return dataset(p, v, "target", &c->j->target);
	return url(p, v, "target", &c->j->target);
}

static int jk_root_fs(struct parser *p, struct job_ctx *c, const yaml_node_t *v)
{
	return dataset(p, v, "root_fs", &c->j->root_fs);
}

/*
 * Identities checked and stored as serve.clients does ("tcp:[::1]" is kept
 * as "tcp:::1"); sink names are checked with root_fs once the job is read.
 */
static int jk_clients(struct parser *p, struct job_ctx *c, const yaml_node_t *v)
{
	int r = expect(p, v, YAML_SEQUENCE_NODE, "clients");

	if (r < 0)
		return r;
	if (v->data.sequence.items.start == v->data.sequence.items.top)
		return fail(p, v, "clients is empty: nobody could use this job");
	for (yaml_node_item_t *i = v->data.sequence.items.start; i < v->data.sequence.items.top;
	     i++) {
		struct zf_config_client cl = {};
		struct client_ctx cc = { .cl = &cl };

		if (++p->n_job_clients > ZF_CONFIG_MAX_CLIENTS)
			return fail(p, yaml_document_get_node(p->doc, *i),
				    "more than %d clients in all jobs", ZF_CONFIG_MAX_CLIENTS);
		/* client_key() on its identity key: one check for both places */
		r = client_key(p, "identity", NULL, yaml_document_get_node(p->doc, *i), &cc);
		if (r < 0)
			return r;
		zf_strv_add(&c->j->clients, cl.identity);
		free(cl.identity);
	}
	return 0;
}

/* Checked with the retention parser, kept as text for the daemon to parse again. */
static int retention(struct parser *p, const yaml_node_t *v, const char *what, char **ret)
{
	_cleanup_(zf_retention_policy_freep) struct zf_retention_policy *pol = NULL;
	struct zf_err e = ZF_ERR_INIT;
	const char *s;
	int r = scalar(p, v, what, &s);

	if (r < 0)
		return r;
	pol = zf_retention_policy_new();
	if (zf_retention_policy_parse(pol, s, &e) < 0)
		return fail(p, v, "%s '%s': %s", what, s, e.msg);
	free(*ret);
	*ret = zf_xstrdup(s);
	return 0;
}

static int jk_keep(struct parser *p, struct job_ctx *c, const yaml_node_t *v)
{
	return retention(p, v, "keep", &c->j->keep);
}

static int jk_keep_sender(struct parser *p, struct job_ctx *c, const yaml_node_t *v)
{
	return retention(p, v, "keep_sender", &c->j->keep_sender);
}

static int jk_keep_receiver(struct parser *p, struct job_ctx *c, const yaml_node_t *v)
{
	return retention(p, v, "keep_receiver", &c->j->keep_receiver);
}

static int snapshot_key(struct parser *p, const char *key, const yaml_node_t *k,
			const yaml_node_t *v, void *userdata)
{
	struct zf_config_job *j = userdata;
	const char *s;
	int r;
	(void)k;

	if (streq(key, "local"))
		return boolean(p, v, "snapshot.local", &j->snap_local);
	if ((r = scalar(p, v, key, &s)) < 0)
		return r;
	if (streq(key, "prefix")) {
		free(j->snap_prefix);
		j->snap_prefix = zf_xstrdup(s);
	} else {
		if (!*s)
			return fail(p, v, "snapshot.format is empty");
		free(j->snap_format);
		j->snap_format = zf_xstrdup(s);
	}
	return 0;
}

/*
 * The name zf_snapshot_name() (src/job/snapshot.c, a layer above) would
 * make, tried at one instant: prefix + strftime(format), '+' read as 'p',
 * must be a snapshot name zfs takes.  The default format is always fine.
 */
static int check_snapshot_name(struct parser *p, const yaml_node_t *v, const struct zf_config_job *j)
{
	struct zf_err e = ZF_ERR_INIT;
	char stamp[256] = "";
	const time_t t = 1700000000;    /* any date: only the characters matter */
	_cleanup_free_ char *name = NULL;
	struct tm tm;

	if (j->snap_format) {
		size_t len;
		gmtime_r(&t, &tm);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
		len = strftime(stamp, sizeof(stamp), j->snap_format, &tm);
#pragma GCC diagnostic pop
		if (len == 0)
			return fail(p, v, "snapshot.format '%s' gives an empty or too long name",
				    j->snap_format);
		for (char *c = stamp; *c; c++)
			if (*c == '+')
				*c = 'p';
	} else {
		snprintf(stamp, sizeof(stamp), "20260101T000000Z");
	}
	name = zf_xasprintf("%s%s", j->snap_prefix ? j->snap_prefix : "", stamp);
	if (zf_zfs_shortname_check(name, &e) < 0)
		return fail(p, v, "snapshot names would be like '%s': %s", name, e.msg);
	return 0;
}

static int jk_snapshot(struct parser *p, struct job_ctx *c, const yaml_node_t *v)
{
	static const char *const known[] = { "prefix", "format", "local", NULL };
	int r;

	if (v->type == YAML_SCALAR_NODE)
		return boolean(p, v, "snapshot", &c->j->snapshot);
	if (v->type != YAML_MAPPING_NODE)
		return fail(p, v, "snapshot must be true, false or a mapping (prefix, format, "
			    "local), not %s", node_kind(v));
	c->j->snapshot = true;
	if ((r = walk_mapping(p, v, "snapshot", known, snapshot_key, c->j)) < 0)
		return r;
	return check_snapshot_name(p, v, c->j);
}

static int jk_raw(struct parser *p, struct job_ctx *c, const yaml_node_t *v)
{
	const char *s;
	int r = scalar(p, v, "raw", &s);

	if (r < 0)
		return r;
	if (streq(s, "auto"))
		c->j->raw = ZF_CONFIG_RAW_AUTO;
	else if (streq(s, "always") || streq(s, "true"))
		c->j->raw = ZF_CONFIG_RAW_ALWAYS;
	else if (streq(s, "never") || streq(s, "false"))
		c->j->raw = ZF_CONFIG_RAW_NEVER;
	else
		return fail(p, v, "raw must be auto, always or never, not '%s'", s);
	return 0;
}

static int jk_concurrency(struct parser *p, struct job_ctx *c, const yaml_node_t *v)
{
	int val, r = integer(p, v, "concurrency", "a number", 1, ZF_REPLICATE_JOBS_MAX, &val);

	c->j->concurrency = r < 0 ? c->j->concurrency : (unsigned)val;
	return r;
}

static int jk_retries(struct parser *p, struct job_ctx *c, const yaml_node_t *v)
{
	int val, r = integer(p, v, "retries", "a number", 0, 100, &val);

	c->j->retries = r < 0 ? c->j->retries : (unsigned)val;
	return r;
}

static int jk_bwlimit(struct parser *p, struct job_ctx *c, const yaml_node_t *v)
{
	const char *s;
	int r = scalar(p, v, "bwlimit", &s);

	if (r < 0)
		return r;
	if (zf_parse_bwlimit(s, &c->j->bwlimit) < 0)
		return fail(p, v, "bwlimit takes " ZF_BWLIMIT_FORM ", not '%s'", s);
	return 0;
}

static int jk_timeout(struct parser *p, struct job_ctx *c, const yaml_node_t *v)
{
	return integer(p, v, "timeout", "seconds", 1, 86400, &c->j->timeout_s);
}

static int jk_set_props(struct parser *p, struct job_ctx *c, const yaml_node_t *v)
{
	return list(p, v, "set_props", &c->j->set_props, check_prop_set);
}

static int jk_exclude_props(struct parser *p, struct job_ctx *c, const yaml_node_t *v)
{
	return list(p, v, "exclude_props", &c->j->exclude_props, NULL);
}

static int jk_accept_props(struct parser *p, struct job_ctx *c, const yaml_node_t *v)
{
	struct zf_err e = ZF_ERR_INIT;
	struct zf_recv_policy pol = { 0 };
	int r = list(p, v, "accept_props", &c->j->accept_props, NULL);

	if (r < 0)
		return r;
	pol.allow = zf_strv_argv(&c->j->accept_props);
	if (zf_recv_policy_validate(&pol, &e) < 0)
		return fail(p, v, "accept_props: %s", e.msg);
	return 0;
}

static int jk_ssh_options(struct parser *p, struct job_ctx *c, const yaml_node_t *v)
{
	return list(p, v, "ssh_options", &c->j->ssh_options, check_ssh_option);
}

static int jk_remote_zferry(struct parser *p, struct job_ctx *c, const yaml_node_t *v)
{
	const char *s;
	int r = scalar(p, v, "remote_zferry", &s);

	if (r < 0)
		return r;
	if (!*s)
		return fail(p, v, "remote_zferry is empty");
	free(c->j->remote_zferry);
	c->j->remote_zferry = zf_xstrdup(s);
	return 0;
}

static int jk_target_id(struct parser *p, struct job_ctx *c, const yaml_node_t *v)
{
	const char *s;
	int r = scalar(p, v, "target_id", &s);

	if (r < 0)
		return r;
	if (!*s || strlen(s) > 64 ||
	    s[strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.:-")])
		return fail(p, v, "target_id takes 1 to 64 of A-Z a-z 0-9 _ . : -, not '%s'", s);
	free(c->j->target_id);
	c->j->target_id = zf_xstrdup(s);
	return 0;
}

/* As `replicate --data-channel`: "auto", or tcp://ADDR:PORT with PORT a port, FIRST-LAST or 0. */
static int jk_data_channel(struct parser *p, struct job_ctx *c, const yaml_node_t *v)
{
	struct zf_err e = ZF_ERR_INIT;
	const char *s, *rest, *port, *why;
	uint16_t first, last;
	int r = scalar(p, v, "data_channel", &s);

	if (r < 0)
		return r;
	if (!streq(s, "auto")) {
		if (!(rest = startswith(s, "tcp://")))
			return fail(p, v, "data_channel '%s' is not auto or tcp://ADDR:PORT", s);
		if ((why = host_port(rest, &port)))
			return fail(p, v, "data_channel '%s': %s", s, why);
		if (port == rest + 1)
			return fail(p, v, "data_channel '%s' has no address", s);
		if (zf_datachan_ports_parse(port, &first, &last, &e) < 0)
			return fail(p, v, "data_channel '%s': %s", s, e.msg);
	}
	free(c->j->data_channel);
	c->j->data_channel = zf_xstrdup(s);
	return 0;
}

/* --tls-server-name's rule: a DNS name or an address, no blanks, no leading '-'. */
static int tls_server_name(struct parser *p, const yaml_node_t *v, char **ret)
{
	const char *s;
	int r = scalar(p, v, "tls.server_name", &s);

	if (r < 0)
		return r;
	if (!*s || s[0] == '-')
		return fail(p, v, "tls.server_name '%s' is not a host name", s);
	for (const char *c = s; *c; c++)
		if ((unsigned char)*c <= 0x20 || *c == 0x7f)
			return fail(p, v, "tls.server_name contains a blank or control character");
	free(*ret);
	*ret = zf_xstrdup(s);
	return 0;
}

static int job_tls_key(struct parser *p, const char *key, const yaml_node_t *k,
		       const yaml_node_t *v, void *userdata)
{
	struct zf_config_job *j = userdata;
	(void)k;

	if (streq(key, "ca"))
		return abs_path(p, v, "tls.ca", &j->tls_ca);
	if (streq(key, "cert"))
		return abs_path(p, v, "tls.cert", &j->tls_cert);
	if (streq(key, "key"))
		return abs_path(p, v, "tls.key", &j->tls_key);
	if (streq(key, "crl"))
		return abs_path(p, v, "tls.crl", &j->tls_crl);
	return tls_server_name(p, v, &j->tls_server_name);
}

static int jk_tls(struct parser *p, struct job_ctx *c, const yaml_node_t *v)
{
	static const char *const known[] = { "ca", "cert", "key", "server_name", "crl", NULL };
	struct zf_config_job *j = c->j;
	int r = walk_mapping(p, v, "tls", known, job_tls_key, j);

	if (r < 0)
		return r;
	if (!j->tls_ca || !j->tls_cert || !j->tls_key)
		return fail(p, v, "tls needs ca, cert and key (all three, or no tls)");
	return 0;
}

static const struct job_key job_keys[] = {
	{ "name", T_ALL, jk_name, NO_BOOL },
	{ "type", T_ALL, jk_type, NO_BOOL },
	{ "filesystems", T_SNAP | T_SOURCE, jk_filesystems, NO_BOOL },
	{ "source", T_REPL, jk_source, NO_BOOL },
	{ "target", T_REPL, jk_target, NO_BOOL },
	{ "root_fs", T_SINK, jk_root_fs, NO_BOOL },
	{ "clients", T_SINK | T_SOURCE, jk_clients, NO_BOOL },
	{ "append_only", T_SINK, NULL, JOB_BOOL(append_only) },
	{ "schedule", T_SNAP | T_REPL | T_SINK, jk_schedule, NO_BOOL },
	{ "interval", T_SNAP | T_REPL | T_SINK, jk_interval, NO_BOOL },
	{ "snapshot", T_SNAP | T_PUSH, jk_snapshot, NO_BOOL },
	{ "keep", T_SNAP | T_SINK, jk_keep, NO_BOOL },
	{ "keep_sender", T_REPL, jk_keep_sender, NO_BOOL },
	{ "keep_receiver", T_REPL, jk_keep_receiver, NO_BOOL },
	{ "recursive", T_SNAP | T_REPL, NULL, JOB_BOOL(recursive) },
	{ "exclude", T_SNAP | T_REPL, jk_exclude, NO_BOOL },
	{ "concurrency", T_REPL, jk_concurrency, NO_BOOL },
	{ "retries", T_REPL, jk_retries, NO_BOOL },
	{ "bwlimit", T_REPL, jk_bwlimit, NO_BOOL },
	{ "intermediates", T_REPL, NULL, JOB_BOOL(intermediates) },
	{ "raw", T_REPL, jk_raw, NO_BOOL },
	{ "compressed", T_REPL, NULL, JOB_BOOL(compressed) },
	{ "large_block", T_REPL, NULL, JOB_BOOL(large_block) },
	{ "embed", T_REPL, NULL, JOB_BOOL(embed) },
	{ "props", T_REPL, NULL, JOB_BOOL(props) },
	{ "set_props", T_REPL, jk_set_props, NO_BOOL },
	{ "exclude_props", T_REPL, jk_exclude_props, NO_BOOL },
	{ "accept_props", T_REPL, jk_accept_props, NO_BOOL },
	{ "force_rollback", T_REPL, NULL, JOB_BOOL(force_rollback) },
	{ "rename_diverged", T_REPL, NULL, JOB_BOOL(rename_diverged) },
	{ "readonly", T_REPL, NULL, JOB_BOOL(readonly) },
	{ "mount", T_REPL, NULL, JOB_BOOL(mount) },
	{ "resume", T_REPL, NULL, JOB_BOOL(resume) },
	{ "target_id", T_REPL, jk_target_id, NO_BOOL },
	{ "tls", T_REPL, jk_tls, NO_BOOL },
	{ "ssh_options", T_REPL, jk_ssh_options, NO_BOOL },
	{ "remote_zferry", T_REPL, jk_remote_zferry, NO_BOOL },
	{ "timeout", T_REPL, jk_timeout, NO_BOOL },
	{ "data_channel", T_REPL, jk_data_channel, NO_BOOL },
	{ "data_channel_encrypt", T_REPL, NULL, JOB_BOOL(data_channel_encrypt) },
};

static const struct job_key *job_key_lookup(const char *name)
{
	for (size_t i = 0; i < ELEMENTSOF(job_keys); i++)
		if (streq(job_keys[i].name, name))
			return &job_keys[i];
	return NULL;
}

static int job_key(struct parser *p, const char *key, const yaml_node_t *k, const yaml_node_t *v,
		   void *userdata)
{
	struct job_ctx *c = userdata;
	const struct job_key *jk = job_key_lookup(key);
	(void)k;

	if (jk->fn)
		return jk->fn(p, c, v);
	return boolean(p, v, key, (bool *)((char *)c->j + jk->bool_at));
}

/* The value of key in mapping m, or NULL. */
static const yaml_node_t *mapping_get(struct parser *p, const yaml_node_t *m, const char *key)
{
	for (yaml_node_pair_t *a = m->data.mapping.pairs.start; a < m->data.mapping.pairs.top;
	     a++) {
		const yaml_node_t *k = yaml_document_get_node(p->doc, a->key);
		if (k && k->type == YAML_SCALAR_NODE &&
		    streq((const char *)k->data.scalar.value, key))
			return yaml_document_get_node(p->doc, a->value);
	}
	return NULL;
}

/* The type first, since it decides which keys the job may have. */
static int job_type(struct parser *p, const yaml_node_t *m, struct zf_config_job *j)
{
	const yaml_node_t *v = mapping_get(p, m, "type");
	const char *s;
	int r;

	if (!v)
		return fail(p, m, "job without type (snap, push, pull, sink or source)");
	if ((r = scalar(p, v, "type", &s)) < 0)
		return r;
	for (size_t t = 0; t < ELEMENTSOF(job_type_names); t++)
		if (job_type_names[t] && streq(s, job_type_names[t])) {
			j->type = (enum zf_job_type)t;
			return 0;
		}
	return fail(p, v, "job type must be snap, push, pull, sink or source, not '%s'", s);
}

/* A key of another job type is named as such, not as unknown. */
static int job_foreign_keys(struct parser *p, const yaml_node_t *m, const struct zf_config_job *j)
{
	for (yaml_node_pair_t *a = m->data.mapping.pairs.start; a < m->data.mapping.pairs.top;
	     a++) {
		const yaml_node_t *k = yaml_document_get_node(p->doc, a->key);
		const struct job_key *jk;

		if (!k || k->type != YAML_SCALAR_NODE)
			continue;       /* walk_mapping() says why */
		jk = job_key_lookup((const char *)k->data.scalar.value);
		if (jk && !(jk->types & (1u << j->type)))
			return fail(p, k, "key '%s' does not apply to a %s job", jk->name,
				    zf_job_type_str(j->type));
	}
	return 0;
}

static void job_defaults(struct zf_config_job *j)
{
	j->recursive = true;
	j->snapshot = j->type == ZF_JOB_SNAP || j->type == ZF_JOB_PUSH;
	j->intermediates = true;
	j->compressed = j->large_block = j->embed = true;
	j->readonly = true;
	j->resume = true;
	j->retries = 3;
	j->append_only = true;
}

static bool is_tls_url(const char *s)
{
	return s && startswith(s, "tls://");
}

static bool is_remote_url(const char *s)
{
	_cleanup_(zf_url_releasep) struct zf_url u = ZF_URL_INIT;
	struct zf_err e = ZF_ERR_INIT;

	return s && zf_url_parse(s, &u, &e) == 0 && u.kind != ZF_URL_LOCAL;
}

/* What each type needs, once its keys are read. */
static int job_required(struct parser *p, const yaml_node_t *m, const struct zf_config_job *j)
{
	const char *t = zf_job_type_str(j->type);
	const char *url = j->type == ZF_JOB_PUSH ? j->target : j->source;

	if (!j->name)
		return fail(p, m, "a %s job without name", t);
	if ((j->type == ZF_JOB_SNAP || j->type == ZF_JOB_SOURCE) && !j->filesystems.n)
		return fail(p, m, "%s job '%s' needs filesystems", t, j->name);
	if ((j->type == ZF_JOB_PUSH || j->type == ZF_JOB_PULL) && (!j->source || !j->target))
		return fail(p, m, "%s job '%s' needs source and target", t, j->name);
	if (j->type == ZF_JOB_SINK && !j->root_fs)
		return fail(p, m, "sink job '%s' needs root_fs", j->name);
	if ((j->type == ZF_JOB_SINK || j->type == ZF_JOB_SOURCE) && !j->clients.n)
		return fail(p, m, "%s job '%s' needs clients", t, j->name);
	if ((j->type == ZF_JOB_SNAP || j->type == ZF_JOB_PUSH || j->type == ZF_JOB_PULL) &&
	    !j->has_schedule)
		return fail(p, m, "%s job '%s' needs a schedule (schedule: or interval:)", t,
			    j->name);
	if (j->type == ZF_JOB_SINK && j->keep && !j->has_schedule)
		return fail(p, m, "sink job '%s' has keep but no schedule to apply it on", j->name);
	if (j->type != ZF_JOB_PUSH && j->type != ZF_JOB_PULL)
		return 0;
	/* replicate's own rules on the options that go together */
	if (is_tls_url(url) && !j->tls_ca)
		return fail(p, m, "%s job '%s': a tls:// %s needs tls (ca, cert, key)", t, j->name,
			    j->type == ZF_JOB_PUSH ? "target" : "source");
	if (j->tls_ca && !is_tls_url(url))
		return fail(p, m, "%s job '%s': tls is for a tls:// %s", t, j->name,
			    j->type == ZF_JOB_PUSH ? "target" : "source");
	if (j->data_channel_encrypt && !j->data_channel)
		return fail(p, m, "%s job '%s': data_channel_encrypt needs data_channel", t,
			    j->name);
	if (j->data_channel && !is_remote_url(url))
		return fail(p, m, "%s job '%s': data_channel needs a remote %s", t, j->name,
			    j->type == ZF_JOB_PUSH ? "target" : "source");
	if (j->data_channel && startswith(url, "tcp://"))
		return fail(p, m, "%s job '%s': a data channel over tcp:// would send its secret "
			    "in clear: use tls:// or ssh", t, j->name);
	return 0;
}

/*
 * A sink client's name part is the dataset under root_fs it writes to
 * (tls:laptop -> root_fs/laptop): one component, a name zfs takes.
 */
static int sink_client_names(struct parser *p, const yaml_node_t *m,
			     const struct zf_config_job *j)
{
	const yaml_node_t *list = mapping_get(p, m, "clients");

	for (size_t i = 0; i < j->clients.n; i++) {
		struct zf_err e = ZF_ERR_INIT;
		_cleanup_free_ char *fs = NULL;
		const char *name;
		const yaml_node_t *n = yaml_document_get_node(p->doc,
							      list->data.sequence.items.start[i]);

		(void)id_split(j->clients.v[i], &name);
		fs = zf_xasprintf("%s/%s", j->root_fs, name);
		if (strchr(name, '/') || zf_zfs_name_check(fs, ZF_ZFS_NAME_DATASET, &e) < 0)
			return fail(p, n, "sink client '%s': '%s' cannot be a dataset under %s%s%s",
				    j->clients.v[i], name, j->root_fs,
				    strchr(name, '/') ? " (it holds a '/')" : ": ",
				    strchr(name, '/') ? "" : e.msg);
	}
	return 0;
}

static int job(struct parser *p, const yaml_node_t *m, struct zf_config_job *j)
{
	const char *known[ELEMENTSOF(job_keys) + 1];
	struct job_ctx c = { .j = j };
	size_t nk = 0;
	int r;

	if ((r = expect(p, m, YAML_MAPPING_NODE, "a job")) < 0)
		return r;
	j->line = (unsigned)m->start_mark.line + 1;
	if ((r = job_type(p, m, j)) < 0)
		return r;
	job_defaults(j);
	if ((r = job_foreign_keys(p, m, j)) < 0)
		return r;
	for (size_t i = 0; i < ELEMENTSOF(job_keys); i++)
		if (job_keys[i].types & (1u << j->type))
			known[nk++] = job_keys[i].name;
	known[nk] = NULL;
	if ((r = walk_mapping(p, m, "a job", known, job_key, &c)) < 0)
		return r;
	if ((r = job_required(p, m, j)) < 0)
		return r;
	if (j->type == ZF_JOB_SINK)
		return sink_client_names(p, m, j);
	return 0;
}

static int jobs(struct parser *p, const yaml_node_t *v, struct zf_config *c)
{
	size_t alloc = 0;
	int r = expect(p, v, YAML_SEQUENCE_NODE, "jobs");

	if (r < 0)
		return r;
	for (yaml_node_item_t *i = v->data.sequence.items.start; i < v->data.sequence.items.top;
	     i++) {
		const yaml_node_t *n = yaml_document_get_node(p->doc, *i);
		struct zf_config_job *j;

		if (c->n_jobs >= ZF_CONFIG_MAX_JOBS)
			return fail(p, n, "more than %d jobs", ZF_CONFIG_MAX_JOBS);
		ZF_ALLOC_GROW(c->jobs, c->n_jobs + 1, alloc);
		j = &c->jobs[c->n_jobs++];
		memset(j, 0, sizeof(*j));
		ZF_ALLOC_GROW(p->job_nodes, c->n_jobs, p->job_nodes_alloc);
		p->job_nodes[c->n_jobs - 1] = n;
		if ((r = job(p, n, j)) < 0)
			return r;
		for (size_t k = 0; k + 1 < c->n_jobs; k++)
			if (streq(c->jobs[k].name, j->name))
				return fail(p, mapping_get(p, n, "name"),
					    "duplicate job name '%s' (first on line %u)", j->name,
					    c->jobs[k].line);
	}
	return 0;
}

const struct zf_config_job *zf_config_find_job(const struct zf_config *c, const char *name)
{
	for (size_t i = 0; i < c->n_jobs; i++)
		if (streq(c->jobs[i].name, name))
			return &c->jobs[i];
	return NULL;
}

/* ---- sink and source jobs become serve clients ---------------------------- */

/*
 * A sink's grant once per client, however many times a job names it.  A
 * source's filesystems are added as they are: a quadratic search over
 * thousands of them would cost more than a grant listed twice.
 */
static void add_grant(struct zf_strv *s, const char *fs)
{
	if (!zf_strv_contains(s, fs))
		zf_strv_add(s, fs);
}

/*
 * The client an identity names exactly, made when there is none.  An
 * identity that only overlaps one (tls:a and a plain a) is an error, as in
 * serve.clients: one peer must never match two clients.
 */
static int grant_client(struct parser *p, const yaml_node_t *n, struct zf_config *c,
			const char *id, unsigned line, size_t *alloc,
			struct zf_config_client **ret)
{
	struct zf_config_serve *s = &c->serve;

	for (size_t i = 0; i < s->n_clients; i++) {
		if (streq(s->clients[i].identity, id)) {
			*ret = &s->clients[i];
			return 0;
		}
		if (ids_overlap(s->clients[i].identity, id))
			return fail(p, n, "identity '%s' overlaps '%s' on line %u: a plain name stands "
				    "for both tls: and ssh:", id, s->clients[i].identity,
				    s->clients[i].line);
	}
	if (s->n_clients >= ZF_CONFIG_MAX_CLIENTS)
		return fail(p, n, "more than %d clients", ZF_CONFIG_MAX_CLIENTS);
	ZF_ALLOC_GROW(s->clients, s->n_clients + 1, *alloc);
	*ret = &s->clients[s->n_clients++];
	memset(*ret, 0, sizeof(**ret));
	(*ret)->identity = zf_xstrdup(id);
	(*ret)->line = line;
	return 0;
}

/* Grants made for jobs' clients (clients x filesystems): bounds the work and the memory. */
#define MAX_JOB_GRANTS (64 * ZF_CONFIG_MAX_CLIENTS)

/*
 * Sink clients get root_fs/NAME to write (and, append_only, only to
 * append); source clients read its filesystems.  After the whole file,
 * since serve: may come after jobs:.
 */
static int synthesise_clients(struct parser *p, struct zf_config *c)
{
	_cleanup_free_ bool *touched = zf_xcalloc(ZF_CONFIG_MAX_CLIENTS, sizeof(bool));
	size_t alloc = c->serve.n_clients, n_grants = 0;
	int r;

	for (size_t i = 0; i < c->n_jobs; i++) {
		const struct zf_config_job *j = &c->jobs[i];
		const yaml_node_t *list;

		if (j->type != ZF_JOB_SINK && j->type != ZF_JOB_SOURCE)
			continue;
		list = mapping_get(p, p->job_nodes[i], "clients");
		for (size_t k = 0; k < j->clients.n; k++) {
			const yaml_node_t *n = yaml_document_get_node(p->doc,
								      list->data.sequence.items.start[k]);
			struct zf_config_client *cl;
			const char *name;

			if ((r = grant_client(p, n, c, j->clients.v[k], j->line, &alloc, &cl)) < 0)
				return r;
			n_grants += j->type == ZF_JOB_SOURCE ? j->filesystems.n : 1;
			if (n_grants > MAX_JOB_GRANTS)
				return fail(p, n, "jobs grant more than %d filesystems to clients in all",
					    MAX_JOB_GRANTS);
			if (j->type == ZF_JOB_SOURCE) {
				zf_strv_addn(&cl->read, (const char *const *)j->filesystems.v,
					     j->filesystems.n);
			} else {
				_cleanup_free_ char *fs = NULL;
				(void)id_split(j->clients.v[k], &name);
				fs = zf_xasprintf("%s/%s", j->root_fs, name);
				add_grant(&cl->write, fs);
				if (j->append_only)
					add_grant(&cl->append, fs);
			}
			touched[cl - c->serve.clients] = true;
		}
	}
	/* write then read, as clients() makes them; once, not per job */
	for (size_t i = 0; i < c->serve.n_clients; i++) {
		struct zf_config_client *cl = &c->serve.clients[i];

		if (!touched[i])
			continue;
		zf_strv_release(&cl->origins);
		zf_strv_addn(&cl->origins, (const char *const *)cl->write.v, cl->write.n);
		zf_strv_addn(&cl->origins, (const char *const *)cl->read.v, cl->read.n);
	}
	return 0;
}

/* daemon.listen against the serve section, as `serve --listen` checks it. */
static int check_daemon_listen(struct parser *p, const struct zf_config *c)
{
	if (p->listen_tls && !c->serve.tls_ca)
		return fail(p, p->listen_tls, "a tls:// listener needs serve.tls (ca, cert, key)");
	if (p->listen_tcp && !c->serve.tcp_present)
		return fail(p, p->listen_tcp, "a tcp:// listener needs serve.tcp.allow");
	return 0;
}

static void job_release(struct zf_config_job *j)
{
	free(j->name);
	zf_strv_release(&j->filesystems);
	free(j->source);
	free(j->target);
	free(j->root_fs);
	zf_strv_release(&j->clients);
	zf_strv_release(&j->exclude);
	free(j->snap_prefix);
	free(j->snap_format);
	free(j->keep);
	free(j->keep_sender);
	free(j->keep_receiver);
	zf_strv_release(&j->set_props);
	zf_strv_release(&j->exclude_props);
	zf_strv_release(&j->accept_props);
	free(j->target_id);
	free(j->tls_ca);
	free(j->tls_cert);
	free(j->tls_key);
	free(j->tls_server_name);
	free(j->tls_crl);
	zf_strv_release(&j->ssh_options);
	free(j->remote_zferry);
	free(j->data_channel);
}

static int top_key(struct parser *p, const char *key, const yaml_node_t *k, const yaml_node_t *v,
		   void *userdata)
{
	static const char *const serve_known[] = { "tls", "tcp", "timeout", "handshake_timeout",
						   "limits", "receive", "data_channel", "clients",
						   NULL };
	static const char *const daemon_known[] = { "control", "state_dir", "http_listen",
						    "listen", "log_format", "log_level",
						    "stop_timeout", NULL };
	struct zf_config *c = userdata;
	(void)k;

	if (streq(key, "jobs"))
		return jobs(p, v, c);
	if (streq(key, "daemon")) {
		c->daemon_present = true;
		c->daemon.line = (unsigned)v->start_mark.line + 1;
		return walk_mapping(p, v, "daemon", daemon_known, daemon_key, &c->daemon);
	}
	c->serve.present = true;
	return walk_mapping(p, v, "serve", serve_known, serve_key, &c->serve);
}

static const char *yaml_problem(const yaml_parser_t *y)
{
	return y->problem ? y->problem : "syntax error";
}

/* Loads the one document of the input; a second document is an error (it would be ignored). */
static int load(const char *name, const void *data, size_t n, struct doc *ret, struct zf_err *err)
{
	_cleanup_(parser_releasep) yaml_parser_t *yp = NULL;
	_cleanup_(doc_release) struct doc extra = {};
	yaml_parser_t y;

	if (!yaml_parser_initialize(&y))
		return zf_err_set(err, -ENOMEM, "%s: cannot initialise the YAML parser", name);
	yp = &y;
	yaml_parser_set_input_string(&y, data, n);
	if (!yaml_parser_load(&y, &ret->d))
		return zf_err_set(err, -EINVAL, "%s:%zu:%zu: %s%s%s", name,
				  y.problem_mark.line + 1, y.problem_mark.column + 1,
				  yaml_problem(&y), y.context ? " " : "",
				  y.context ? y.context : "");
	ret->loaded = true;
	if (!yaml_document_get_root_node(&ret->d))
		return 0;
	if (!yaml_parser_load(&y, &extra.d))
		return zf_err_set(err, -EINVAL, "%s:%zu:%zu: %s", name, y.problem_mark.line + 1,
				  y.problem_mark.column + 1, yaml_problem(&y));
	extra.loaded = true;
	if (yaml_document_get_root_node(&extra.d))
		return zf_err_set(err, -EINVAL, "%s:%zu:1: more than one YAML document", name,
				  extra.d.start_mark.line + 1);
	return 0;
}

int zf_config_parse(const char *name, const void *data, size_t n, struct zf_config **ret,
		    struct zf_err *err)
{
	static const char *const known[] = { "serve", "daemon", "jobs", NULL };
	_cleanup_(zf_config_freep) struct zf_config *c = NULL;
	_cleanup_(doc_release) struct doc doc = {};
	_cleanup_(parser_release) struct parser p = { .doc = &doc.d, .name = name, .err = err };
	yaml_node_t *root;
	int r;

	if (n > ZF_CONFIG_MAX_SIZE)
		return zf_err_set(err, -EFBIG, "%s: larger than %u bytes", name,
				  ZF_CONFIG_MAX_SIZE);
	r = load(name, data, n, &doc, err);
	if (r < 0)
		return r;
	c = zf_xcalloc(1, sizeof(*c));
	c->path = zf_xstrdup(name);
	c->serve.timeout_s = ZF_CONFIG_DEFAULT_TIMEOUT;
	c->serve.handshake_timeout_s = ZF_CONFIG_DEFAULT_HANDSHAKE_TIMEOUT;
	c->serve.limits.connections = ZF_CONFIG_DEFAULT_CONNECTIONS;
	c->serve.limits.unauthenticated = ZF_CONFIG_DEFAULT_UNAUTHENTICATED;
	c->serve.limits.unauth_per_address = ZF_CONFIG_DEFAULT_UNAUTH_PER_ADDRESS;
	daemon_defaults(&c->daemon);
	root = yaml_document_get_root_node(&doc.d);
	/* an empty file, or one of comments only, is an empty config */
	if (root && !(root->type == YAML_SCALAR_NODE && root->data.scalar.length == 0)) {
		r = walk_mapping(&p, root, "the top level", known, top_key, c);
		if (r < 0)
			return r;
		/* what needs the whole file: serve: may come after daemon: and jobs: */
		if ((r = check_daemon_listen(&p, c)) < 0 || (r = synthesise_clients(&p, c)) < 0)
			return r;
	}
	*ret = TAKE_PTR(c);
	return 0;
}

int zf_config_load(const char *path, struct zf_config **ret, struct zf_err *err)
{
	_cleanup_buf_ struct zf_buf b = ZF_BUF_INIT;
	_cleanup_close_ int fd = -EBADF;
	int r;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return zf_err_set(err, -errno, "cannot open config '%s': %m", path);
	r = zf_read_all(fd, &b, ZF_CONFIG_MAX_SIZE);
	if (r == -E2BIG)
		return zf_err_set(err, r, "config '%s' is larger than %u bytes", path,
				  ZF_CONFIG_MAX_SIZE);
	if (r < 0)
		return zf_err_set(err, r, "cannot read config '%s': %s", path, strerror(-r));
	return zf_config_parse(path, b.data, b.len, ret, err);
}

struct zf_config *zf_config_free(struct zf_config *c)
{
	if (!c)
		return NULL;
	free(c->path);
	free(c->serve.tls_ca);
	free(c->serve.tls_cert);
	free(c->serve.tls_key);
	free(c->serve.tls_crl);
	zf_strv_release(&c->serve.tcp_allow);
	receive_release(&c->serve.receive);
	free(c->serve.dc_listen);
	for (size_t i = 0; i < c->serve.n_clients; i++) {
		receive_release(&c->serve.clients[i].receive);
		zf_strv_release(&c->serve.clients[i].origins);
		free(c->serve.clients[i].identity);
		zf_strv_release(&c->serve.clients[i].read);
		zf_strv_release(&c->serve.clients[i].write);
		zf_strv_release(&c->serve.clients[i].append);
	}
	free(c->serve.clients);
	free(c->daemon.control);
	free(c->daemon.state_dir);
	free(c->daemon.http_listen);
	zf_strv_release(&c->daemon.listen);
	free(c->daemon.log_format);
	free(c->daemon.log_level);
	for (size_t i = 0; i < c->n_jobs; i++)
		job_release(&c->jobs[i]);
	free(c->jobs);
	free(c);
	return NULL;
}

const struct zf_config_client *zf_config_find_client(const struct zf_config *c,
						     const char *identity)
{
	char addr[ZF_TRANSPORT_MAX_PEER];
	const char *a = startswith(identity, "tcp:");

	if (a) {
		/* "tcp:ADDR:PORT" or "tcp:[V6]:PORT" -> "tcp:ADDR" */
		const char *colon = strrchr(a, ':');
		size_t len;

		if (!colon || colon == a)
			return NULL;
		len = (size_t)(colon - a);
		if (a[0] == '[') {
			if (len < 2 || a[len - 1] != ']')
				return NULL;
			a++;
			len -= 2;
		}
		if (len + 5 > sizeof(addr))
			return NULL;
		snprintf(addr, sizeof(addr), "tcp:%.*s", (int)len, a);
		identity = addr;
	}
	for (size_t i = 0; i < c->serve.n_clients; i++) {
		const char *cid = c->serve.clients[i].identity, *name;

		if (streq(cid, identity))
			return &c->serve.clients[i];
		/* a plain name in the config is both tls: and ssh:, never tcp: */
		if (id_split(cid, &name) == ID_ANY &&
		    (startswith(identity, "tls:") || startswith(identity, "ssh:")) &&
		    streq(name, identity + 4))
			return &c->serve.clients[i];
	}
	return NULL;
}
