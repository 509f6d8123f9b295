/* tests/unit/test-server-conntab.c — serve --listen's connection table: limits, evictions, deadlines */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include "server/conntab.h"
#include "util/buf.h"

/*
 * One step of a script: 'a' adds connection id from peer at t, 'A' marks
 * it authenticated (as the loop does when its child says so), 'r' removes
 * it (reaped), 'v' takes every victim at t and compares "id:W ..." (W:
 * T out of time, S source full, U unauthenticated full, C connections
 * full; "" none), 'd' compares the next deadline at t, 'c' can_accept.
 */
struct step {
	char op;
	int id;
	const char *peer;
	int64_t t;
	const char *want;
};

struct script {
	const char *name;
	struct zf_conntab_limits lim;
	struct step steps[24];
};

#define ADD(id, peer, t) { 'a', id, peer, t, NULL }
#define AUTH(id) { 'A', id, NULL, 0, NULL }
#define REAP(id) { 'r', id, NULL, 0, NULL }
#define VICTIMS(t, want) { 'v', 0, NULL, t, want }
#define DEADLINE(t, want) { 'd', 0, NULL, t, want }
#define CAN_ACCEPT(want) { 'c', 0, NULL, 0, want }

static const struct script scripts[] = {
	{ "one source over its limit evicts its own oldest, not the newcomer",
	  { 64, 16, 4, 10000 }, {
		ADD(1, "tcp:10.0.0.1:1001", 0), ADD(2, "tcp:10.0.0.1:1002", 1),
		ADD(3, "tcp:10.0.0.1:1003", 2), ADD(4, "tcp:10.0.0.1:1004", 3),
		VICTIMS(3, ""),
		ADD(5, "tcp:10.0.0.1:1005", 4), VICTIMS(4, "1:S"),
		ADD(6, "tcp:10.0.0.2:1001", 5), VICTIMS(5, ""),
		ADD(7, "tcp:10.0.0.1:1006", 6), VICTIMS(6, "2:S"),
		{} } },
	{ "too many unauthenticated evict the oldest unauthenticated",
	  { 64, 4, 4, 10000 }, {
		ADD(1, "tcp:10.0.0.1:1", 0), ADD(2, "tcp:10.0.0.2:1", 0),
		ADD(3, "tcp:10.0.0.3:1", 0), ADD(4, "tcp:10.0.0.4:1", 0),
		VICTIMS(0, ""),
		ADD(5, "tcp:10.0.0.5:1", 0), VICTIMS(0, "1:U"),
		AUTH(2),
		ADD(6, "tcp:10.0.0.6:1", 0), VICTIMS(0, ""),
		ADD(7, "tcp:10.0.0.7:1", 0), VICTIMS(0, "3:U"),
		{} } },
	{ "authenticated clients are never evicted; when they fill every slot, none is accepted",
	  { 4, 4, 4, 10000 }, {
		ADD(1, "tcp:10.0.0.1:1", 0), ADD(2, "tcp:10.0.0.2:1", 0),
		ADD(3, "tcp:10.0.0.3:1", 0), ADD(4, "tcp:10.0.0.4:1", 0),
		AUTH(1), AUTH(2), AUTH(3), CAN_ACCEPT("y"),
		ADD(5, "tcp:10.0.0.5:1", 0), VICTIMS(0, "4:C"),
		AUTH(5), CAN_ACCEPT("n"), VICTIMS(20000, ""), DEADLINE(0, "-1"),
		REAP(2), CAN_ACCEPT("y"),
		{} } },
	{ "a handshake gets handshake_ms from its accept, however the others go",
	  { 64, 16, 4, 1000 }, {
		ADD(1, "tcp:10.0.0.1:1", 0), ADD(2, "tcp:10.0.0.2:1", 500),
		DEADLINE(0, "1000"), DEADLINE(600, "400"),
		VICTIMS(999, ""), VICTIMS(1000, "1:T"), DEADLINE(1000, "500"),
		AUTH(2), DEADLINE(1000, "-1"), VICTIMS(5000, ""),
		ADD(3, "tcp:10.0.0.3:1", 5000), ADD(4, "tcp:10.0.0.3:2", 5100),
		VICTIMS(7000, "3:T 4:T"), DEADLINE(7000, "-1"),
		{} } },
	{ "the chosen count for no limit, but only so many may wait to be reaped",
	  { 64, 2, 2, 10000 }, {
		ADD(1, "tcp:10.0.0.1:1", 0), ADD(2, "tcp:10.0.0.1:2", 0),
		ADD(3, "tcp:10.0.0.1:3", 0), VICTIMS(0, "1:S"), CAN_ACCEPT("y"),
		ADD(4, "tcp:10.0.0.2:1", 0), VICTIMS(0, "2:U"), CAN_ACCEPT("n"),
		REAP(1), CAN_ACCEPT("y"), VICTIMS(0, ""),
		{} } },
	{ "one chosen that authenticated before it went counts again",
	  { 2, 1, 1, 10000 }, {
		ADD(1, "tcp:10.0.0.1:1", 0), ADD(2, "tcp:10.0.0.2:1", 0), VICTIMS(0, "1:U"),
		AUTH(1), VICTIMS(0, ""),
		ADD(3, "tcp:10.0.0.3:1", 0), VICTIMS(0, "2:U"),
		AUTH(3), CAN_ACCEPT("n"),
		{} } },
	{ "IPv6 peers count per /64",
	  { 64, 16, 1, 10000 }, {
		ADD(1, "tcp:[2001:db8:0:1::1]:1", 0), ADD(2, "tcp:[2001:db8:0:2::1]:1", 0),
		VICTIMS(0, ""),
		ADD(3, "tcp:[2001:db8:0:1:ffff::9]:2", 0), VICTIMS(0, "1:S"),
		{} } },
};

static int64_t want_num(const char *s)
{
	return strtoll(s, NULL, 10);
}

static void run_script(const struct script *s)
{
	struct zf_conntab t;

	zf_conntab_init(&t, &s->lim);
	for (const struct step *st = s->steps; st->op; st++) {
		_cleanup_buf_ struct zf_buf got = ZF_BUF_INIT;
		struct zf_conn *c;
		int64_t d;

		switch (st->op) {
		case 'a':
			c = zf_conntab_add(&t, st->id, -1, st->peer, st->t);
			assert_string_equal(c->peer, st->peer);
			break;
		case 'A':
			c = zf_conntab_find(&t, st->id);
			assert_non_null(c);
			c->state = ZF_CONN_AUTHENTICATED;
			break;
		case 'r':
			c = zf_conntab_find(&t, st->id);
			assert_non_null(c);
			zf_conntab_remove(&t, c);
			assert_null(zf_conntab_find(&t, st->id));
			break;
		case 'v':
			while ((c = zf_conntab_next_victim(&t, st->t))) {
				assert_int_equal(c->state, ZF_CONN_DYING);
				zf_buf_addf(&got, "%s%d:%c", got.len ? " " : "", (int)c->pid,
					    "TSUC"[c->why]);
			}
			if (!streq(zf_buf_str(&got), st->want))
				fail_msg("%s: step %td: victims '%s', want '%s'", s->name,
					 st - s->steps, zf_buf_str(&got), st->want);
			break;
		case 'd':
			d = zf_conntab_next_deadline(&t, st->t);
			if (d != want_num(st->want))
				fail_msg("%s: step %td: deadline %lld, want %s", s->name,
					 st - s->steps, (long long)d, st->want);
			break;
		case 'c':
			if (zf_conntab_can_accept(&t) != (st->want[0] == 'y'))
				fail_msg("%s: step %td: can_accept is not '%s'", s->name,
					 st - s->steps, st->want);
			break;
		default:
			fail_msg("bad step '%c'", st->op);
		}
	}
	zf_conntab_release(&t);
}

static void test_scripts(void **state)
{
	(void)state;

	for (size_t i = 0; i < ELEMENTSOF(scripts); i++)
		run_script(&scripts[i]);
}

static void test_source(void **state)
{
	static const struct {
		const char *peer, *want;
	} cases[] = {
		{ "tcp:192.0.2.7:4711", "192.0.2.7" },
		{ "tcp:[2001:db8:1:2:3::4]:22", "2001:db8:1:2::/64" },
		{ "tcp:[::1]:5", "::/64" },
		{ "tcp:[fe80::1%eth0]:5", "tcp:[fe80::1%eth0]:5" },
		{ "tcp:192.0.2.7", "tcp:192.0.2.7" },
		{ "tcp:host.example:1", "tcp:host.example:1" },
		{ "tcp:", "tcp:" },
		{ "laptop", "laptop" },
	};
	(void)state;

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		char buf[ZF_CONNTAB_MAX_SOURCE];

		zf_conntab_source(cases[i].peer, buf, sizeof(buf));
		if (!streq(buf, cases[i].want))
			fail_msg("source of '%s' is '%s', want '%s'", cases[i].peer, buf,
				 cases[i].want);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scripts),
		cmocka_unit_test(test_source),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
