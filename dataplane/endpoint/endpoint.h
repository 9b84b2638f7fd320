/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * endpoint: shared runtime state of one upstream endpoint (circuit breaker,
 * outlier detection, active health) that survives config swaps.
 *
 * References (behaviour modelled on, not wire protocols):
 *  - Envoy circuit breaking (max_connections, max_pending_requests) and outlier
 *    detection (consecutive_5xx / consecutive gateway failures, base_ejection_time
 *    multiplied by the ejection count, max_ejection_percent).
 *  - M. Nygard, "Release It!" (2007): the CLOSED / OPEN / HALF-OPEN breaker; here
 *    OPEN is called EJECTED.
 *
 * Breaker: CLOSED admits. After l->consecutive_failures connect failures in a row
 * the endpoint is EJECTED for base_ejection_tsc * ejections (ejections counts this
 * ejection and those before it; it starts again from 1 once the endpoint has stayed
 * un-ejected for as long as its last ejection lasted), unless that would eject more
 * than max_ejection_percent of the group. When the ejection time is over, the first
 * ep_admit() moves it to HALF_OPEN and gets EP_ADMIT_PROBE: HALF_OPEN *is* the
 * "probe in flight" flag, so exactly one caller wins it (one compare-and-swap) and
 * everybody else is refused until the probe resolves. A probe that connects closes
 * the breaker; one that fails ejects again for the next multiple. The state and the
 * ejection deadline share one 64-bit word (deadline rounded up to 4 cycles, state in
 * the low 2 bits) so they always change together.
 *
 * Counters: ep_admit() reserves one "active" and one "pending" slot with
 * compare-and-swap loops that refuse at the limit, so concurrent callers never
 * over-admit. Every admitted connection must be resolved by exactly one of
 * ep_connect_ok() or ep_connect_failed() (timeouts count as failures), and an
 * established one released by ep_conn_closed().
 *
 * Active health checks keep their schedule and the probe in flight in the state
 * too (struct ep_probe), so that a config swap that keeps the endpoint keeps both:
 * the next probe stays due when it was, and the answer to a probe sent before the
 * swap is still matched. The L4 path sends the probes (dataplane/l4); the
 * registry only gives each state a probe slot (the source port offset of its
 * probes) that stays the same while the state lives.
 *
 * Threads. Workers (any number at once, lock-free, no allocation): ep_admit,
 * ep_connect_ok, ep_connect_failed, ep_conn_closed, ep_usable. The health checker
 * (one reporter per probe: the worker that wins its in-flight flag):
 * ep_health_report. The
 * control thread: ep_group_init and everything named ep_registry_*.
 */
#ifndef MESHDP_ENDPOINT_H
#define MESHDP_ENDPOINT_H

#include <stdbool.h>
#include <stdint.h>

enum ep_breaker {
	EP_CLOSED = 0,
	EP_EJECTED = 1,
	EP_HALF_OPEN = 2, /* ejection over, one probe connection in flight */
};

enum ep_health {
	EP_HEALTH_UNKNOWN = 0, /* no verdict yet: usable */
	EP_HEALTH_HEALTHY,
	EP_HEALTH_UNHEALTHY,
};

enum ep_admit {
	EP_ADMIT = 0,
	EP_ADMIT_PROBE,	       /* the one half-open probe: pass probe = true when it resolves */
	EP_REFUSE_MAX_CONN,    /* active >= max_connections */
	EP_REFUSE_MAX_PENDING, /* pending >= max_pending */
	EP_REFUSE_EJECTED,     /* ejected, or half-open with the probe in flight */
	EP_REFUSE_UNHEALTHY,   /* the health checker says unhealthy */
};

/** Limits of one endpoint, from the config snapshot (read-only). 0 = no limit / off. */
struct ep_limits {
	uint32_t max_connections;      /* 0: unlimited */
	uint32_t max_pending;	       /* 0: unlimited */
	uint32_t consecutive_failures; /* 0: outlier detection off */
	uint64_t base_ejection_tsc;
	uint32_t max_ejection_percent; /* of the group's endpoints; 0: never eject */
	uint32_t healthy_threshold;    /* 0 counts as 1 */
	uint32_t unhealthy_threshold;  /* 0 counts as 1 */
};

/**
 * The active health check of one endpoint. Written by the prober (one worker:
 * next_tsc, sent_tsc, seq, then inflight 0 -> 1 with a release store) and by
 * whoever reports the probe's result (inflight 1 -> 0 by compare-and-swap, so
 * exactly one reporter wins). slot: set by the registry when the state is
 * created, read-only after.
 */
struct ep_probe {
	uint64_t next_tsc; /* prober: when the next probe is due; 0: not scheduled yet */
	uint64_t sent_tsc; /* prober: when the probe in flight left */
	uint32_t seq;	   /* prober: its ISN; the answer acks seq + 1 */
	uint32_t inflight; /* 1 while a probe waits for its answer or its timeout */
	uint32_t slot;	   /* 0 .. probe_slots - 1 of ep_registry_create() */
};

/**
 * Shared state of one endpoint. Zeroed = closed, health unknown, idle.
 * Line 1, workers (atomic read-modify-write): active, pending,
 *   consecutive_failures, ejections, breaker.
 * Line 2, the health checker (single writer, atomic stores; workers load):
 *   health, health_ok, health_fail.
 * Line 3, workers (relaxed fetch_add; meshctl and metrics read): totals.
 * Line 4, the active health check (struct ep_probe).
 * Read fields with the accessors or __atomic loads.
 */
struct ep_state {
	uint32_t active;	       /* admitted and not yet closed (includes pending) */
	uint32_t pending;	       /* admitted, connect not yet resolved */
	uint32_t consecutive_failures; /* connect failures in a row */
	uint32_t ejections;	       /* multiplier of the current / last ejection */
	uint64_t breaker; /* ejected_until_tsc (low 2 bits cleared) | enum ep_breaker */

	uint32_t health __attribute__((aligned(64))); /* enum ep_health */
	uint32_t health_ok;			      /* consecutive successful checks */
	uint32_t health_fail;			      /* consecutive failed checks */

	uint64_t total_connections __attribute__((aligned(64))); /* admitted */
	uint64_t total_failures;				 /* failed connects */
	uint64_t total_ejections;

	struct ep_probe probe __attribute__((aligned(64)));
} __attribute__((aligned(64)));

/**
 * Per-service count of ejected (EJECTED or HALF_OPEN) endpoints, for the
 * max_ejection_percent bound. n_endpoints: control thread (ep_group_init);
 * ejected: workers (atomic).
 */
struct ep_group {
	uint32_t n_endpoints;
	uint32_t ejected;
} __attribute__((aligned(64)));

/** Breaker state now. */
static inline enum ep_breaker ep_breaker_state(const struct ep_state *s)
{
	return (enum ep_breaker)(__atomic_load_n(&s->breaker, __ATOMIC_ACQUIRE) & 3u);
}

/** End of the current or last ejection (TSC). */
static inline uint64_t ep_ejected_until(const struct ep_state *s)
{
	return __atomic_load_n(&s->breaker, __ATOMIC_ACQUIRE) & ~(uint64_t)3;
}

/**
 * Worker: may a new connection go to this endpoint? On EP_ADMIT / EP_ADMIT_PROBE
 * active and pending have been incremented; on a refusal nothing changed.
 */
enum ep_admit ep_admit(struct ep_state *s, const struct ep_limits *l, uint64_t now_tsc);

/**
 * Worker: an admitted connect succeeded. @p probe: it was EP_ADMIT_PROBE (closes
 * the breaker and leaves @p g's ejected count; @p g may be NULL).
 */
void ep_connect_ok(struct ep_state *s, bool probe, struct ep_group *g);

/**
 * Worker: an admitted connect failed (refused, reset, timed out). Counts it and
 * ejects per the contract above. @p g may be NULL (no percentage bound).
 */
void ep_connect_failed(struct ep_state *s, const struct ep_limits *l, uint64_t now_tsc, bool probe,
		       struct ep_group *g);

/** Worker: an established connection closed (active--). */
void ep_conn_closed(struct ep_state *s);

/**
 * Health checker: one check result. HEALTHY after healthy_threshold successes in
 * a row, UNHEALTHY after unhealthy_threshold failures in a row.
 */
void ep_health_report(struct ep_state *s, const struct ep_limits *l, bool ok);

/**
 * Any thread: worth picking? Not UNHEALTHY, not ejected (an ejection that is over
 * counts as usable: the next admission is its probe), not HALF_OPEN.
 */
bool ep_usable(const struct ep_state *s, uint64_t now_tsc);

/**
 * Control thread, when it builds a service: set the group size and recount its
 * ejected endpoints from their states (so the count is right across config swaps).
 */
void ep_group_init(struct ep_group *g, struct ep_state *const *states, uint32_t n);

struct ep_registry;

/**
 * Control thread: an empty registry whose states get probe slots 0 ..
 * @p probe_slots - 1 (each a slot of its own while there are free ones, shared
 * round robin beyond; at least 1). @return NULL on ENOMEM.
 */
struct ep_registry *ep_registry_create(uint32_t probe_slots);

/** Control thread: free the registry and every state in it (no reader may be left). */
void ep_registry_free(struct ep_registry *r);

/**
 * Control thread: the state for @p key ("service/10.0.0.1:80"), existing or new
 * and zeroed (with a probe slot), with one more reference: each snapshot that
 * binds the state holds one, dropped by ep_registry_put() when the snapshot is
 * freed. The pointer stays valid while a reference or a flow (active) holds it.
 * @return NULL on ENOMEM or a NULL/empty key.
 */
struct ep_state *ep_registry_get(struct ep_registry *r, const char *key);

/** Control thread: drop a reference of ep_registry_get(). NULL: nothing. */
void ep_registry_put(struct ep_registry *r, struct ep_state *s);

/**
 * Control thread: free the states nobody references and no flow holds
 * (active == 0). A state is freed at the second sweep that finds it so, so
 * consecutive sweeps must be a grace period apart (synchronize_rcu()): a
 * snapshot's references are dropped when it is freed, after its grace period;
 * then while ep_registry_has_unused(): synchronize_rcu(); sweep() from time to
 * time. A snapshot that was bound but never published (config validate) only
 * adds and drops references, so it changes nothing the live one uses.
 * @return states freed.
 */
unsigned int ep_registry_sweep(struct ep_registry *r);

/** Control thread: are there states nobody references (waiting to be freed)? */
bool ep_registry_has_unused(const struct ep_registry *r);

/** Control thread: call @p fn for each state (meshctl). Order unspecified. */
void ep_registry_walk(const struct ep_registry *r,
		      void (*fn)(const char *key, const struct ep_state *s, void *arg), void *arg);

/** Number of states held. */
uint32_t ep_registry_count(const struct ep_registry *r);

#endif
