/* src/zfs/recv-policy.h — what a sender may make a receive do on this host */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include "util/macro.h"
#include "util/strv.h"

struct zf_err;
struct zf_zfs_stream_head;

/*
 * The receiving side owns every receive it performs: where and how the
 * data appears on its host is its decision, never the sender's
 * (docs/serve.md, "Receive policy").  A sender influences a receive in
 * two ways — the -o/-x properties it asks for (a client's RECV request)
 * and the properties a `zfs send -p` stream carries — and this module
 * decides, from the stream's head (src/zfs/stream.h) and the receiving
 * side's policy, the whole `zfs recv` argument list:
 *
 *  - always -u (nothing is mounted by the receive) and -h (holds inside a
 *    stream are not applied); canmount=noauto on filesystems unless the
 *    policy lets the receiving side mount;
 *  - a property the policy does not allow is stripped (-x) when the
 *    stream carries it and refused when a peer asks for it; a peer may
 *    always ask for a value that only restricts (readonly=on,
 *    canmount=noauto|off, setuid|devices|exec=off, sharenfs|sharesmb=off,
 *    mountpoint=none);
 *  - forced properties (`name=value`) are set whatever anyone asked;
 *  - names are compared in canonical form (src/zfs/props.h), a property
 *    asked for twice, or set and excluded at once, is refused;
 *  - -R streams, deduplicated, redacted and unknown-feature streams, and
 *    compound headers that describe anything but one filesystem are
 *    refused; a clone stream needs its origin found by the caller inside
 *    what the receiver may see (plan->clone), never by zfs's own search.
 *
 * Requests from the receiving side's own user (the command line of
 * `zferry replicate`) are trusted: their -o/-x apply as given.
 */

/* The built-in allow list: properties that shape only the dataset's own data. */
extern const char *const zf_recv_policy_default_allow[];

struct zf_recv_policy {
	/*
	 * Property patterns a sender may set: a name ("compression"), a
	 * prefix ending in '*' ("com.example:*"), or "*" for every property.
	 * NULL-terminated; NULL means zf_recv_policy_default_allow.  The
	 * word "default" in the list stands for the built-in list.
	 */
	const char *const *allow;
	const char *const *deny;        /* patterns taken out of allow again; NULL-terminated or NULL */
	const char *const *force;       /* "name=value", set on every receive; NULL-terminated or NULL */
	bool mount;                     /* the receiving side may mount what it receives */
};

struct zf_recv_request {
	const char *const *set;         /* -o name=value asked for; NULL-terminated or NULL */
	const char *const *exclude;     /* -x name asked for */
	bool trusted;                   /* asked by the receiving side's own user, not by a peer */
};

struct zf_recv_plan {
	struct zf_strv set;             /* -o name=value, canonical names, each once */
	struct zf_strv exclude;         /* -x name */
	bool clone;                     /* a clone stream: find a snapshot with guid origin_guid */
	uint64_t origin_guid;
	bool reset_keylocation;         /* raw stream carries keylocation: set it to prompt after */
	bool mount;                     /* the receiving side may mount the result */
};
void zf_recv_plan_release(struct zf_recv_plan *p);

/*
 * Decides a receive.  0 and *ret (release it), or -EPERM with a one-line
 * reason naming the property or stream feature that the policy refuses,
 * or -EINVAL for a malformed request (unknown property, a name twice).
 */
_must_check_ int zf_recv_policy_decide(const struct zf_recv_policy *p,
				       const struct zf_zfs_stream_head *h,
				       const struct zf_recv_request *rq, struct zf_recv_plan *ret,
				       struct zf_err *err);

/*
 * The properties of a filesystem a sender creates (placeholders for a
 * parent it does not send): its assignments checked as a receive's -o,
 * plus what the policy forces and canmount=noauto, into ret ("name=value").
 */
_must_check_ int zf_recv_policy_create(const struct zf_recv_policy *p,
				       const char *const *assignments, bool trusted,
				       struct zf_strv *ret, struct zf_err *err);
/* Whether a peer may `zfs inherit` a property: only one the policy allows. */
_must_check_ int zf_recv_policy_check_inherit(const struct zf_recv_policy *p, const char *name,
					      bool trusted, struct zf_err *err);

/* Validates a policy from a config: patterns and forced assignments name real properties. */
_must_check_ int zf_recv_policy_validate(const struct zf_recv_policy *p, struct zf_err *err);
/* Whether name (canonical) matches the policy's allow patterns and none of its deny ones. */
bool zf_recv_policy_allows(const struct zf_recv_policy *p, const char *name);
