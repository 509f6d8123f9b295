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
#include <string.h>
#include <yaml.h>
#include "config/config.h"
#include "transport/datachan.h"
#include "transport/transport.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/io.h"
#include "util/strv.h"
#include "zfs/recv-policy.h"
#include "zfs/zfs.h"
#include "util/banned.h"

struct parser {
	yaml_document_t *doc;
	const char *name;
	struct zf_err *err;
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

static void parser_releasep(yaml_parser_t **y)
{
	if (*y)
		yaml_parser_delete(*y);
}

_printf_(3, 4) static int fail(struct parser *p, const yaml_node_t *n, const char *fmt, ...)
{
	char msg[400];
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

static int top_key(struct parser *p, const char *key, const yaml_node_t *k, const yaml_node_t *v,
		   void *userdata)
{
	static const char *const known[] = { "tls", "tcp", "timeout", "handshake_timeout",
					     "limits", "receive", "data_channel", "clients", NULL };
	struct zf_config *c = userdata;
	(void)key;
	(void)k;

	c->serve.present = true;
	return walk_mapping(p, v, "serve", known, serve_key, &c->serve);
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
	static const char *const known[] = { "serve", NULL };
	_cleanup_(zf_config_freep) struct zf_config *c = NULL;
	_cleanup_(doc_release) struct doc doc = {};
	struct parser p = { .doc = &doc.d, .name = name, .err = err };
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
	root = yaml_document_get_root_node(&doc.d);
	/* an empty file, or one of comments only, is an empty config */
	if (root && !(root->type == YAML_SCALAR_NODE && root->data.scalar.length == 0)) {
		r = walk_mapping(&p, root, "the top level", known, top_key, c);
		if (r < 0)
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
