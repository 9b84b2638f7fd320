/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * telemetry: the security event log (SM-DR21; telemetry.h, "security
 * events"). Workers copy fixed-size records into their own ring (struct
 * telem_ring, as the access log's) behind a token bucket; the access log's
 * logger thread (telemetry_log.c) drains these rings too, each round, and
 * writes JSON lines to a sink of their own: stdout, an O_APPEND file (never
 * the access log's) or syslog. The crash handler writes its line to the same
 * sink with write(2) alone.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <rte_lcore.h>

#include "../l4/l4.h"
#include "telemetry_internal.h"

#define TELEM_SEV_LINE	2048
#define TELEM_SEV_BATCH (64 * 1024)

static const char *const telem_sev_names[TELEM_SEV_MAX] = {
#define TELEM_SEV_NAME(e, n) #n,
	TELEM_SEV_KINDS(TELEM_SEV_NAME)
#undef TELEM_SEV_NAME
};

/* Each kind's counter; crash has none (telemetry_counters.def). */
static const int telem_sev_stats[TELEM_SEV_MAX] = {
	[TELEM_SEV_INVALID_REQUEST] = STAT_SECURITY_EVENT_INVALID_REQUEST,
	[TELEM_SEV_EXTRA_PARAMETER] = STAT_SECURITY_EVENT_EXTRA_PARAMETER,
	[TELEM_SEV_TOKEN_INVALID] = STAT_SECURITY_EVENT_TOKEN_INVALID,
	[TELEM_SEV_TOKEN_REPLAY] = STAT_SECURITY_EVENT_TOKEN_REPLAY,
	[TELEM_SEV_INJECTION_SQL] = STAT_SECURITY_EVENT_INJECTION_SQL,
	[TELEM_SEV_INJECTION_SCRIPT] = STAT_SECURITY_EVENT_INJECTION_SCRIPT,
	[TELEM_SEV_INJECTION_TRAVERSAL] = STAT_SECURITY_EVENT_INJECTION_TRAVERSAL,
	[TELEM_SEV_INJECTION_CRLF] = STAT_SECURITY_EVENT_INJECTION_CRLF,
	[TELEM_SEV_AUTHZ_DENIED] = STAT_SECURITY_EVENT_AUTHZ_DENIED,
	[TELEM_SEV_CRASH] = -1,
};

const char *telem_sev_name(unsigned int kind)
{
	return kind < TELEM_SEV_MAX ? telem_sev_names[kind] : "unknown";
}

/* ---- the worker's side ---- */

/* Copy @p n bytes of @p p into @p out[size], NUL-terminated. @return whether it was cut. */
static bool telem_sev_copy(char *out, size_t size, const char *p, uint32_t n)
{
	size_t k = RTE_MIN((size_t)n, size - 1);

	if (k > 0)
		memcpy(out, p, k);
	out[k] = '\0';
	return k < n;
}

/* The worker's token bucket: one token per event, rate_per_s a second, a second's worth at most. */
static bool telem_sev_token(struct telem_worker *tw, uint32_t rate, uint64_t now_us)
{
	const uint64_t cap = (uint64_t)rate * 1000000;

	if (tw->sev_last_us == 0 || now_us < tw->sev_last_us) {
		tw->sev_tokens = cap;
	} else {
		uint64_t add = (now_us - tw->sev_last_us) * rate;

		tw->sev_tokens = RTE_MIN(cap, tw->sev_tokens + add);
	}
	tw->sev_last_us = now_us;
	if (tw->sev_tokens < 1000000)
		return false;
	tw->sev_tokens -= 1000000;
	return true;
}

void telem_sev_emit(struct telem_worker *tw, const struct cfg_snapshot *snap,
		    enum telem_sev_kind kind, const struct telem_sev_ctx *c, const char *detail,
		    uint64_t now_us)
{
	const struct telem_snap *ts = snap != NULL ? snap->telemetry : NULL;
	struct telem_sev_rec *r;
	size_t n;

	if (tw == NULL || (unsigned int)kind >= TELEM_SEV_MAX)
		return;
	if (telem_sev_stats[kind] >= 0)
		stats_inc(tw->stats, (enum stats_id)telem_sev_stats[kind]);
	if (ts == NULL || !ts->sev.enabled)
		return;
	if (!telem_sev_token(tw, ts->sev.rate_per_s, now_us)) {
		stats_inc(tw->stats, STAT_SECURITY_EVENTS_SUPPRESSED);
		return;
	}
	r = telem_ring_reserve(&tw->sev);
	if (unlikely(r == NULL)) {
		stats_inc(tw->stats, STAT_SECURITY_EVENT_RING_FULL);
		return;
	}
	r->time_us = now_us;
	r->kind = (uint8_t)kind;
	r->worker = tw->id;
	r->client = c->client;
	r->client_port = c->client_port;
	telem_sev_copy(r->listener, sizeof(r->listener), c->listener != NULL ? c->listener : "",
		       c->listener != NULL ? (uint32_t)strlen(c->listener) : 0);
	r->service[0] = '\0';
	if (c->service >= 0 && (uint32_t)c->service < snap->n_services)
		memcpy(r->service, snap->services[c->service].key,
		       RTE_MIN(sizeof(r->service), sizeof(snap->services[c->service].key)));
	r->service[sizeof(r->service) - 1] = '\0';
	telem_sev_copy(r->method, sizeof(r->method), c->method.p, c->method.len);
	r->truncated = telem_sev_copy(r->path, sizeof(r->path), c->path.p, c->path.len);
	n = strlen(r->path);
	if (c->query.len > 0 && n + 1 < sizeof(r->path)) {
		r->path[n] = '?';
		r->truncated |= telem_sev_copy(r->path + n + 1, sizeof(r->path) - n - 1, c->query.p,
					       c->query.len);
	} else if (c->query.len > 0) {
		r->truncated = true;
	}
	telem_sev_copy(r->detail, sizeof(r->detail), detail != NULL ? detail : "",
		       detail != NULL ? (uint32_t)strlen(detail) : 0);
	r->trace_id[0] = '\0';
	if (c->trace_id != NULL)
		telem_hex(c->trace_id, 16, r->trace_id);
	telem_ring_commit(&tw->sev);
}

/* ---- formatting (the logger) ---- */

/* @p s as a JSON string (quotes included) at @p o, control bytes and non-ASCII escaped. */
static size_t telem_sev_json_str(char *o, size_t room, const char *s)
{
	size_t k = 0;

	if (room < 3)
		return room;
	o[k++] = '"';
	for (; *s != '\0' && k + 8 < room; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			o[k++] = '\\';
			o[k++] = (char)c;
		} else if (c < 0x20 || c >= 0x7f) {
			k += (size_t)snprintf(o + k, room - k, "\\u%04x", c);
		} else {
			o[k++] = (char)c;
		}
	}
	if (*s != '\0')
		return room; /* does not fit */
	o[k++] = '"';
	return k;
}

int telem_sev_format(const struct telem_sev_rec *rin, uint64_t unix_us, char *buf, size_t len)
{
	char when[32], client[INET_ADDRSTRLEN] = "", path[TELEM_SEV_PATH];
	time_t sec = (time_t)(unix_us / 1000000);
	size_t o = 0;
	struct tm tm;
	int n;
	const struct {
		const char *key, *val;
	} strs[] = {
		{"listener", rin->listener}, {"service", rin->service},
		{"method", rin->method},     {"path", path},
		{"detail", rin->detail},
	};

	memcpy(path, rin->path, sizeof(path));
	path[sizeof(path) - 1] = '\0';
	telem_mask(path, sizeof(path), false, true);
	gmtime_r(&sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	if (rin->client != 0)
		inet_ntop(AF_INET, &rin->client, client, sizeof(client));
	n = snprintf(buf, len,
		     "{\"time\":\"%s.%03uZ\",\"kind\":\"%s\",\"worker\":%u,\"client\":\"%s:%u\"",
		     when, (unsigned int)(unix_us / 1000 % 1000), telem_sev_name(rin->kind),
		     rin->worker, client, rin->client_port);
	if (n < 0 || (size_t)n >= len)
		return -1;
	o = (size_t)n;
	for (size_t i = 0; i < RTE_DIM(strs); i++) {
		n = snprintf(buf + o, len - o, ",\"%s\":", strs[i].key);
		if (n < 0 || (size_t)n >= len - o)
			return -1;
		o += (size_t)n;
		o += telem_sev_json_str(buf + o, len - o, strs[i].val);
		if (o >= len)
			return -1;
	}
	n = snprintf(buf + o, len - o, "%s%s%s%s}",
		     rin->truncated ? ",\"path_truncated\":true" : "",
		     rin->trace_id[0] != '\0' ? ",\"trace_id\":\"" : "", rin->trace_id,
		     rin->trace_id[0] != '\0' ? "\"" : "");
	if (n < 0 || (size_t)n >= len - o)
		return -1;
	return (int)(o + (size_t)n);
}

/* ---- the sink ---- */

/*
 * The sink's descriptor: written by the control thread before the logger
 * starts, then by the logger; read by the crash handler (any thread, a
 * signal handler: a plain atomic load).
 */
static int telem_sev_fd = -1;
static int telem_crash_fd = STDERR_FILENO;
static uint8_t telem_sev_out = 0xff;
static char telem_sev_path[256];
static char telem_sev_failed[256]; /* a file that did not open: not tried again until it changes */

int telem_sev_sink_set(uint8_t output, const char *path)
{
	int fd, old;

	if (telem_sev_out == output &&
	    (output != TELEM_OUT_FILE || strcmp(telem_sev_path, path) == 0))
		return 0;
	if (output == TELEM_OUT_FILE) {
		if (strcmp(telem_sev_failed, path) == 0)
			return -EIO; /* said once; the old sink stays */
		fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
		if (fd < 0) {
			int e = errno;

			LOG(ERR, "security events: cannot open %s: %s (the previous sink stays)",
			    path, strerror(e));
			snprintf(telem_sev_failed, sizeof(telem_sev_failed), "%s", path);
			return -e;
		}
	} else {
		fd = output == TELEM_OUT_STDOUT ? STDOUT_FILENO : -1;
	}
	old = telem_sev_fd;
	telem_sev_fd = fd;
	__atomic_store_n(&telem_crash_fd, fd >= 0 ? fd : STDERR_FILENO, __ATOMIC_RELEASE);
	if (old > STDERR_FILENO)
		close(old);
	telem_sev_out = output;
	snprintf(telem_sev_path, sizeof(telem_sev_path), "%s", path);
	telem_sev_failed[0] = '\0';
	return 0;
}

void telem_sev_sink_close(void)
{
	__atomic_store_n(&telem_crash_fd, STDERR_FILENO, __ATOMIC_RELEASE);
	if (telem_sev_fd > STDERR_FILENO)
		close(telem_sev_fd);
	telem_sev_fd = -1;
	telem_sev_out = 0xff;
	telem_sev_path[0] = '\0';
	telem_sev_failed[0] = '\0';
}

/* Write all of @p len bytes to @p fd. @return 0 or -1. */
static int telem_write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t k = write(fd, p, len);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		p += k;
		len -= (size_t)k;
	}
	return 0;
}

/*
 * Format what the rings hold into @p buf (@p cap bytes), then hand it to
 * @p fd (>= 0) or syslog (@p fd < 0). @return records written.
 */
static unsigned int telem_sev_drain_to(int fd, char *buf, size_t cap)
{
	unsigned int total = 0;

	for (unsigned int w = 0; telem_g != NULL && w < telem_g->n_workers; w++) {
		struct telem_ring *ring = &telem_g->w[w].sev;
		uint32_t cons = ring->cons, prod = telem_ring_prod(ring);

		while (cons != prod) {
			unsigned int n = 0;
			size_t used = 0;

			for (; cons != prod && cap - used > TELEM_SEV_LINE; cons++) {
				const struct telem_sev_rec *r = telem_ring_at(ring, cons);
				int k = telem_sev_format(r, r->time_us + telem_g->unix_offset_us,
							 buf + used, TELEM_SEV_LINE - 1);

				if (k < 0) {
					telem_add(&telem_g->sev_write_errors, 1);
					continue;
				}
				used += (size_t)k;
				buf[used++] = '\n';
				n++;
			}
			telem_ring_release(ring, cons);
			if (fd < 0) {
				for (char *line = buf, *nl; line < buf + used; line = nl + 1) {
					nl = memchr(line, '\n', (size_t)(buf + used - line));
					*nl = '\0';
					syslog(LOG_AUTH | LOG_WARNING, "meshdp-security: %s", line);
				}
			} else if (used > 0 && telem_write_all(fd, buf, used) != 0) {
				telem_add(&telem_g->sev_write_errors, n);
				continue;
			}
			telem_add(&telem_g->sev_lines, n);
			total += n;
		}
	}
	return total;
}

unsigned int telem_sev_drain(int fd)
{
	char *buf = malloc(TELEM_SEV_BATCH);
	unsigned int n;

	if (buf == NULL)
		return 0;
	n = telem_sev_drain_to(fd, buf, TELEM_SEV_BATCH);
	free(buf);
	return n;
}

unsigned int telem_sev_round(uint8_t output, const char *path)
{
	static char buf[TELEM_SEV_BATCH]; /* the logger thread's */

	if (output != 0xff)
		telem_sev_sink_set(output, path); /* a failure was logged; the old sink stays */
	if (telem_sev_out == 0xff)
		return 0;
	return telem_sev_drain_to(telem_sev_out == TELEM_OUT_SYSLOG ? -1 : telem_sev_fd, buf,
				  sizeof(buf));
}

/* ---- the crash handler: write(2) and integer formatting only ---- */

static const int telem_crash_signals[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};
static struct sigaction telem_crash_prev[RTE_DIM(telem_crash_signals)];
static volatile sig_atomic_t telem_crashing;

struct telem_cbuf {
	char b[512];
	size_t n;
};

static void telem_cput(struct telem_cbuf *c, const char *s)
{
	while (*s != '\0' && c->n < sizeof(c->b))
		c->b[c->n++] = *s++;
}

static void telem_cnum(struct telem_cbuf *c, uint64_t v, unsigned int width)
{
	char d[24];
	unsigned int k = 0;

	do {
		d[k++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0 && k < sizeof(d));
	while (k < width && k < sizeof(d))
		d[k++] = '0';
	while (k > 0 && c->n < sizeof(c->b))
		c->b[c->n++] = d[--k];
}

static void telem_chex(struct telem_cbuf *c, uintptr_t v)
{
	char d[2 * sizeof(v)];
	unsigned int k = 0;

	telem_cput(c, "0x");
	do {
		d[k++] = "0123456789abcdef"[v & 0xf];
		v >>= 4;
	} while (v != 0);
	while (k > 0 && c->n < sizeof(c->b))
		c->b[c->n++] = d[--k];
}

/* Days since 1970-01-01 -> year, month, day (Howard Hinnant's civil_from_days). */
static void telem_civil(int64_t z, int64_t *y, unsigned int *m, unsigned int *d)
{
	int64_t era, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	yoe = z - era * 146097;
	yoe = (yoe - yoe / 1460 + yoe / 36524 - yoe / 146096) / 365;
	*y = yoe + era * 400;
	doy = z - era * 146097 - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (unsigned int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (unsigned int)(mp < 10 ? mp + 3 : mp - 9);
	*y += *m <= 2;
}

static const char *telem_signame(int sig)
{
	switch (sig) {
	case SIGSEGV:
		return "SIGSEGV";
	case SIGBUS:
		return "SIGBUS";
	case SIGILL:
		return "SIGILL";
	case SIGFPE:
		return "SIGFPE";
	default:
		return "SIGABRT";
	}
}

static void telem_crash_handler(int sig, siginfo_t *si, void *uc)
{
	struct telem_cbuf c = {.n = 0};
	struct timespec ts;
	unsigned int lcore = rte_lcore_id(), m, d;
	int64_t y, days;
	uint64_t s;
	size_t i;

	(void)uc;
	if (!telem_crashing) {
		telem_crashing = 1;
		clock_gettime(CLOCK_REALTIME, &ts);
		s = (uint64_t)ts.tv_sec;
		days = (int64_t)(s / 86400);
		telem_civil(days, &y, &m, &d);
		telem_cput(&c, "{\"time\":\"");
		telem_cnum(&c, (uint64_t)y, 4);
		telem_cput(&c, "-");
		telem_cnum(&c, m, 2);
		telem_cput(&c, "-");
		telem_cnum(&c, d, 2);
		telem_cput(&c, "T");
		telem_cnum(&c, s % 86400 / 3600, 2);
		telem_cput(&c, ":");
		telem_cnum(&c, s % 3600 / 60, 2);
		telem_cput(&c, ":");
		telem_cnum(&c, s % 60, 2);
		telem_cput(&c, ".");
		telem_cnum(&c, (uint64_t)ts.tv_nsec / 1000000, 3);
		telem_cput(&c, "Z\",\"kind\":\"crash\",\"signal\":");
		telem_cnum(&c, (uint64_t)sig, 0);
		telem_cput(&c, ",\"signal_name\":\"");
		telem_cput(&c, telem_signame(sig));
		if (si != NULL && si->si_code > 0) {
			/* a fault: where, and how (SEGV_MAPERR, BUS_ADRALN ...) */
			telem_cput(&c, "\",\"sent\":false,\"address\":\"");
			telem_chex(&c, (uintptr_t)si->si_addr);
			telem_cput(&c, "\",\"code\":");
			telem_cnum(&c, (uint64_t)si->si_code, 0);
		} else {
			/* sent (kill, raise, abort): by whom */
			telem_cput(&c, "\",\"sent\":true,\"sender_pid\":");
			telem_cnum(&c, si != NULL && si->si_pid > 0 ? (uint64_t)si->si_pid : 0, 0);
		}
		telem_cput(&c, ",\"lcore\":");
		if (lcore == LCORE_ID_ANY)
			telem_cput(&c, "null");
		else
			telem_cnum(&c, lcore, 0);
		telem_cput(&c, ",\"pid\":");
		telem_cnum(&c, (uint64_t)getpid(), 0);
		telem_cput(&c, "}\n");
		if (c.n == sizeof(c.b))
			c.b[c.n - 1] = '\n';
		telem_write_all(__atomic_load_n(&telem_crash_fd, __ATOMIC_ACQUIRE), c.b, c.n);
	}
	/* the handler that was there before (the default: a core dump), the same signal again */
	for (i = 0; i < RTE_DIM(telem_crash_signals) && telem_crash_signals[i] != sig; i++)
		;
	if (i < RTE_DIM(telem_crash_signals) && telem_crash_prev[i].sa_handler != SIG_IGN)
		sigaction(sig, &telem_crash_prev[i], NULL);
	else
		signal(sig, SIG_DFL);
	raise(sig);
}

int telem_crash_install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = telem_crash_handler;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < RTE_DIM(telem_crash_signals); i++)
		if (sigaction(telem_crash_signals[i], &sa, &telem_crash_prev[i]) != 0)
			return -errno;
	return 0;
}
