/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * telemetry: the access log's logger thread, record formatting (Common Log
 * Format, JSON) and masking (telemetry.h, "Access logs").
 *
 * The logger is a pthread of its own, a QSBR reader that is online only while
 * it formats a batch (it reads the live snapshot's log settings and mask
 * list), offline while it writes and sleeps, so a slow output never holds up
 * a grace period, and never a worker: a full ring drops at the worker.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <urcu-qsbr.h>

#include "../log/log.h"
#include "telemetry_internal.h"

#define TELEM_BATCH_BYTES (256 * 1024) /* formatted per round, then written */
#define TELEM_LINE_MAX	  4096
#define TELEM_IDLE_US	  10000

/* ---- masking ---- */

/* Query parameters whose values are credentials. */
static const char *const telem_secret_params[] = {"access_token", "id_token", "token",
						  "api_key",	  "apikey",   "password"};

static bool telem_param_secret(const char *p, size_t len)
{
	for (size_t i = 0; i < RTE_DIM(telem_secret_params); i++)
		if (strlen(telem_secret_params[i]) == len &&
		    strncasecmp(p, telem_secret_params[i], len) == 0)
			return true;
	return false;
}

void telem_mask(char *s, size_t size, bool whole, bool query)
{
	char out[2 * TELEM_LOG_PATH];
	size_t o = 0, len = strlen(s), i = 0;

	if (whole) {
		/* keep the scheme of "Bearer x" / "Basic x", nothing of the secret */
		const char *sp = s;

		while (isalpha((unsigned char)*sp))
			sp++;
		if (*sp == ' ' && sp != s && sp - s < 16)
			snprintf(out, sizeof(out), "%.*s ***", (int)(sp - s), s);
		else
			snprintf(out, sizeof(out), "***");
		snprintf(s, size, "%s", out);
		return;
	}
	while (i < len && o + 4 < sizeof(out)) {
		bool at_param = query && (i == 0 || s[i - 1] == '?' || s[i - 1] == '&');

		if (len - i > 7 && strncasecmp(s + i, "bearer ", 7) == 0) {
			memcpy(out + o, s + i, 7);
			o += 7;
			i += 7;
			while (i < len && s[i] != ' ' && s[i] != '&' && s[i] != ',' && s[i] != '"')
				i++;
			memcpy(out + o, "***", 3);
			o += 3;
			continue;
		}
		if (at_param) {
			const char *eq = memchr(s + i, '=', len - i);
			const char *amp = memchr(s + i, '&', len - i);

			if (eq != NULL && (amp == NULL || eq < amp) &&
			    telem_param_secret(s + i, (size_t)(eq - (s + i)))) {
				size_t n = (size_t)(eq - (s + i)) + 1;

				if (o + n + 4 >= sizeof(out))
					break;
				memcpy(out + o, s + i, n);
				o += n;
				i += n;
				while (i < len && s[i] != '&')
					i++;
				memcpy(out + o, "***", 3);
				o += 3;
				continue;
			}
		}
		out[o++] = s[i++];
	}
	out[o] = '\0';
	/* cut to the slot: a cut drops the end, it never brings back what was masked */
	snprintf(s, size, "%s", out);
}

static bool telem_header_masked(const struct telem_snap *ts, const char *name)
{
	static const char *const always[] = {"authorization", "proxy-authorization", "cookie",
					     "set-cookie"};

	for (size_t i = 0; i < RTE_DIM(always); i++)
		if (strcasecmp(name, always[i]) == 0)
			return true;
	for (uint32_t i = 0; i < ts->log.n_mask; i++)
		if (strcasecmp(name, ts->log.mask[i]) == 0)
			return true;
	return false;
}

/* ---- formatting ---- */

struct telem_out {
	char *p;
	size_t len, cap;
	bool full;
};

__attribute__((format(printf, 2, 3))) static void telem_put(struct telem_out *o, const char *fmt,
							    ...)
{
	va_list ap;
	int n;

	if (o->full)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->p + o->len, o->cap - o->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= o->cap - o->len)
		o->full = true;
	else
		o->len += (size_t)n;
}

/* A JSON string value (quotes included), control bytes escaped. */
static void telem_put_json(struct telem_out *o, const char *s)
{
	telem_put(o, "\"");
	for (; *s != '\0' && !o->full; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			telem_put(o, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			telem_put(o, "\\u%04x", c);
		else
			telem_put(o, "%c", c);
	}
	telem_put(o, "\"");
}

/* CLF's request line: printable ASCII only, a double quote escaped. */
static void telem_put_clf(struct telem_out *o, const char *s)
{
	for (; *s != '\0' && !o->full; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			telem_put(o, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			telem_put(o, "\\x%02x", c);
		else
			telem_put(o, "%c", c);
	}
}

int telem_log_format(const struct telem_log_rec *rin, const struct cfg_snapshot *snap, bool json,
		     uint64_t unix_us, char *buf, size_t len)
{
	static const struct telem_snap none = {0};
	const struct telem_snap *ts = snap != NULL && snap->telemetry ? snap->telemetry : &none;
	struct telem_out o = {.p = buf, .cap = len};
	struct telem_log_rec r = *rin;
	const struct telem_label *src = telem_label_get(r.src_peer);
	const struct telem_label *dst = telem_label_get(r.dst_peer);
	const struct telem_label *svc = telem_label_get(r.dst_svc);
	char client[INET_ADDRSTRLEN], up[INET_ADDRSTRLEN + 8], when[64], flags[64];
	time_t sec = (time_t)(unix_us / 1000000);
	struct tm tm;
	size_t fo = 0;

	if (len == 0)
		return -1;
	buf[0] = '\0';
	telem_mask(r.path, sizeof(r.path), false, true);
	for (uint32_t k = 0; k < ts->log.n_headers; k++)
		telem_mask(r.hdr[k], sizeof(r.hdr[k]), telem_header_masked(ts, ts->log.headers[k]),
			   false);
	inet_ntop(AF_INET, &r.client, client, sizeof(client));
	up[0] = '\0';
	if (r.upstream != 0) {
		inet_ntop(AF_INET, &r.upstream, up, INET_ADDRSTRLEN);
		snprintf(up + strlen(up), 8, ":%u", r.upstream_port);
	}
	gmtime_r(&sec, &tm);
	flags[0] = '\0';
	for (unsigned int i = 0; i < TELEM_RF_COUNT; i++)
		if (r.flags & (1u << i))
			fo += (size_t)snprintf(flags + fo, sizeof(flags) - fo, "%s%s",
					       fo ? "," : "", telem_rf_names[i]);
	if (fo == 0)
		snprintf(flags, sizeof(flags), "-");
	if (!json) {
		/* host ident authuser [date] "request" status bytes */
		strftime(when, sizeof(when), "%d/%b/%Y:%H:%M:%S +0000", &tm);
		telem_put(&o, "%s - - [%s] \"", client, when);
		telem_put_clf(&o, r.method);
		telem_put(&o, " ");
		telem_put_clf(&o, r.path);
		telem_put(&o, " %s\" %u ", r.protocol, r.status);
		if (r.resp_bytes == 0)
			telem_put(&o, "-");
		else
			telem_put(&o, "%" PRIu64, r.resp_bytes);
		return o.full ? -1 : (int)o.len;
	}
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	telem_put(&o, "{\"timestamp\":\"%s.%03uZ\",\"method\":", when,
		  (unsigned int)(unix_us / 1000 % 1000));
	telem_put_json(&o, r.method);
	telem_put(&o, ",\"path\":");
	telem_put_json(&o, r.path);
	if (r.truncated)
		telem_put(&o, ",\"path_truncated\":true");
	telem_put(&o,
		  ",\"protocol\":\"%s\",\"response_code\":%u,\"response_flags\":\"%s\","
		  "\"bytes_received\":%" PRIu64 ",\"bytes_sent\":%" PRIu64
		  ",\"duration_ms\":%.3f,\"downstream_remote_address\":\"%s:%u\","
		  "\"upstream_host\":\"%s\",\"authority\":",
		  r.protocol, r.status, flags, r.req_bytes, r.resp_bytes,
		  (double)r.duration_us / 1000.0, client, r.client_port, up);
	telem_put_json(&o, r.authority);
	telem_put(&o, ",\"x_request_id\":");
	telem_put_json(&o, r.request_id);
	telem_put(&o, ",\"route_name\":");
	telem_put_json(&o, r.route);
	telem_put(&o,
		  ",\"source_workload\":\"%s\",\"source_namespace\":\"%s\","
		  "\"source_principal\":\"%s\",\"destination_workload\":\"%s\","
		  "\"destination_namespace\":\"%s\",\"destination_principal\":\"%s\","
		  "\"destination_service\":\"%s\",\"connection_security_policy\":\"%s\","
		  "\"trace_id\":\"%s\"",
		  src->a, src->b, (r.security & TELEM_SEC_DOWN_MTLS) ? src->c : "unknown", dst->a,
		  dst->b, (r.security & TELEM_SEC_UP_MTLS) ? dst->c : "unknown", svc->a,
		  (r.security & TELEM_SEC_DOWN_MTLS) ? "mutual_tls" : "none", r.trace_id);
	if (ts->log.n_headers > 0) {
		telem_put(&o, ",\"headers\":{");
		for (uint32_t k = 0; k < ts->log.n_headers; k++) {
			telem_put(&o, "%s", k ? "," : "");
			telem_put_json(&o, ts->log.headers[k]);
			telem_put(&o, ":");
			telem_put_json(&o, r.hdr[k]);
		}
		telem_put(&o, "}");
	}
	telem_put(&o, "}");
	return o.full ? -1 : (int)o.len;
}

/*
 * Format what the rings hold (at most @p cap bytes of lines) into @p buf.
 * @return the bytes written; *@p records the records consumed.
 */
static size_t telem_drain_buf(const struct cfg_snapshot *snap, char *buf, size_t cap,
			      unsigned int *records)
{
	const struct telem_snap *ts = snap != NULL ? snap->telemetry : NULL;
	const bool json = ts != NULL && ts->log.format == TELEM_LOG_JSON;
	size_t used = 0;

	*records = 0;
	for (unsigned int i = 0; telem_g != NULL && i < telem_g->n_workers; i++) {
		struct telem_worker *tw = &telem_g->w[i];
		uint32_t cons = tw->log.cons, prod = telem_ring_prod(&tw->log);

		for (; cons != prod && cap - used > TELEM_LINE_MAX; cons++) {
			const struct telem_log_rec *r = telem_ring_at(&tw->log, cons);
			int n = telem_log_format(r, snap, json,
						 r->start_us + telem_g->unix_offset_us, buf + used,
						 TELEM_LINE_MAX - 1);

			if (n < 0) {
				telem_add(&telem_g->write_errors, 1);
				continue;
			}
			used += (size_t)n;
			buf[used++] = '\n';
			(*records)++;
		}
		telem_ring_release(&tw->log, cons);
	}
	return used;
}

unsigned int telem_log_drain(const struct cfg_snapshot *snap, void *out_file)
{
	char *buf = malloc(TELEM_BATCH_BYTES);
	unsigned int total = 0, n;
	size_t len;

	if (buf == NULL)
		return 0;
	do {
		len = telem_drain_buf(snap, buf, TELEM_BATCH_BYTES, &n);
		if (len > 0 && fwrite(buf, 1, len, out_file) != len)
			telem_add(&telem_g->write_errors, n);
		else
			telem_add(&telem_g->lines, n);
		total += n;
	} while (n > 0);
	fflush(out_file);
	free(buf);
	return total;
}

/* ---- the logger thread ---- */

static pthread_t telem_logger;
static bool telem_logger_running;
static uint32_t telem_logger_quit; /* control thread: 1 (release) to stop */

struct telem_sink {
	uint8_t output; /* enum telem_log_output */
	char path[256];
	FILE *f;
};

/* Open what the live settings name, when they changed. */
static void telem_sink_set(struct telem_sink *k, uint8_t output, const char *path)
{
	if (k->f != NULL && k->output == output && strcmp(k->path, path) == 0)
		return;
	if (k->f != NULL && k->f != stdout && k->output == TELEM_OUT_FILE)
		fclose(k->f);
	if (k->output == TELEM_OUT_SYSLOG && k->f != NULL)
		closelog();
	k->f = NULL;
	k->output = output;
	snprintf(k->path, sizeof(k->path), "%s", path);
	if (output == TELEM_OUT_STDOUT) {
		k->f = stdout;
	} else if (output == TELEM_OUT_FILE) {
		k->f = fopen(path, "a");
		if (k->f == NULL)
			LOG(ERR, "access log: cannot open %s: %s", path, strerror(errno));
	} else {
		openlog("meshdp-access", LOG_NDELAY, LOG_DAEMON);
		k->f = stdout; /* marks the sink open; lines go to syslog() */
	}
}

static void telem_sink_write(struct telem_sink *k, char *buf, size_t len, unsigned int n)
{
	if (k->f == NULL) {
		telem_add(&telem_g->write_errors, n);
		return;
	}
	if (k->output == TELEM_OUT_SYSLOG) {
		for (char *line = buf, *nl; line < buf + len; line = nl + 1) {
			nl = memchr(line, '\n', (size_t)(buf + len - line));
			*nl = '\0';
			syslog(LOG_INFO, "%s", line);
		}
	} else if (fwrite(buf, 1, len, k->f) != len || fflush(k->f) != 0) {
		telem_add(&telem_g->write_errors, n);
		return;
	}
	telem_add(&telem_g->lines, n);
}

static void *telem_logger_main(void *arg)
{
	struct telem_sink sink = {.output = 0xff};
	char *buf = arg;
	bool quit = false;

	rcu_register_thread();
	for (;;) {
		const struct cfg_snapshot *snap;
		const struct telem_snap *ts;
		unsigned int n = 0, sev = 0;
		size_t len = 0;
		uint8_t output = TELEM_OUT_STDOUT, sev_output = 0xff;
		char path[256] = "", sev_path[256] = "";

		if (__atomic_load_n(&telem_logger_quit, __ATOMIC_ACQUIRE))
			quit = true; /* one more round: what the stopped workers left */
		rcu_thread_online();
		snap = rcu_dereference(cfg_live);
		ts = snap != NULL ? snap->telemetry : NULL;
		if (ts != NULL) {
			output = ts->log.output;
			snprintf(path, sizeof(path), "%s", ts->log.path);
			len = telem_drain_buf(snap, buf, TELEM_BATCH_BYTES, &n);
			sev_output = ts->sev.output;
			snprintf(sev_path, sizeof(sev_path), "%s", ts->sev.path);
		}
		rcu_thread_offline();
		/* the security events (telemetry_sev.c): their own sink, written here too;
		 * their records need no snapshot */
		sev = telem_sev_round(sev_output, sev_path);
		if (len > 0) {
			telem_sink_set(&sink, output, path);
			telem_sink_write(&sink, buf, len, n);
		}
		if (quit && n == 0 && sev == 0)
			break;
		if (n == 0 && sev == 0)
			usleep(TELEM_IDLE_US);
	}
	if (sink.f != NULL && sink.output == TELEM_OUT_FILE)
		fclose(sink.f);
	rcu_unregister_thread();
	free(buf);
	return NULL;
}

int telem_logger_start(char *err, size_t errlen)
{
	char *buf = malloc(TELEM_BATCH_BYTES);
	int rc;

	if (buf == NULL) {
		snprintf(err, errlen, "access log: out of memory");
		return -ENOMEM;
	}
	__atomic_store_n(&telem_logger_quit, 0, __ATOMIC_RELEASE);
	rc = pthread_create(&telem_logger, NULL, telem_logger_main, buf);
	if (rc != 0) {
		free(buf);
		snprintf(err, errlen, "access log: cannot start the logger thread: %s",
			 strerror(rc));
		return -rc;
	}
	pthread_setname_np(telem_logger, "meshdp-logger");
	telem_logger_running = true;
	return 0;
}

void telem_logger_stop(void)
{
	if (!telem_logger_running)
		return;
	__atomic_store_n(&telem_logger_quit, 1, __ATOMIC_RELEASE);
	pthread_join(telem_logger, NULL);
	telem_logger_running = false;
}
