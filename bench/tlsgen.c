/* meshdp-tlsgen: a TLS handshake load generator for bench/run.sh scenario (s).
 *
 * One thread, epoll, many concurrent non-blocking full handshakes (OpenSSL 3
 * client, no session resumption): each connection connects, completes the
 * handshake, sends close_notify and closes abortively (SO_LINGER 0, so no
 * TIME_WAIT holds the client's ports), and is replaced at once. No CA is
 * loaded: the client checks the server's CertificateVerify signature (OpenSSL
 * always does) but builds no chain, so its own cost per handshake is one
 * signature verification plus the key exchange (and a signature with --cert).
 *
 *   meshdp-tlsgen --connect IP:PORT [--conns 64] [--duration 5] [--warmup 1]
 *                 [--tls 1.2|1.3] [--cert PEM --key PEM]
 *   meshdp-tlsgen --connect IP:PORT --hold N [--conns 64] ...
 *
 * The first form prints {"handshakes": completed in the window, "seconds",
 * "rate", "errors", ...} on stdout. The second opens N connections, keeps
 * them idle after their handshakes, prints {"held": N, ...} and waits for
 * SIGTERM or SIGINT (the idle-memory measurement).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

struct gconn {
	int fd;
	SSL *ssl;
	int connected;
};

static volatile sig_atomic_t stop;
static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void usage(void)
{
	fprintf(stderr, "usage: meshdp-tlsgen --connect IP:PORT [--conns N] [--duration S] "
			"[--warmup S] [--tls 1.2|1.3] [--cert PEM --key PEM] [--hold N]\n");
	exit(2);
}

/* Start connection slot @p c: a non-blocking connect and a new SSL. */
static int gconn_start(struct gconn *c, int ep, SSL_CTX *ctx, const struct sockaddr_in *dst)
{
	struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = c};
	struct linger lg = {.l_onoff = 1, .l_linger = 0};
	int one = 1;

	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (c->fd < 0)
		return -errno;
	setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, (const struct sockaddr *)dst, sizeof(*dst)) < 0 &&
	    errno != EINPROGRESS) {
		int e = -errno;

		close(c->fd);
		c->fd = -1;
		return e;
	}
	c->ssl = SSL_new(ctx);
	SSL_set_fd(c->ssl, c->fd);
	SSL_set_connect_state(c->ssl);
	c->connected = 0;
	epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
	return 0;
}

static void gconn_close(struct gconn *c, int clean)
{
	if (clean)
		SSL_shutdown(c->ssl); /* close_notify; its answer is not awaited */
	SSL_free(c->ssl);
	close(c->fd); /* the epoll registration goes with the descriptor */
	c->ssl = NULL;
	c->fd = -1;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {{"connect", required_argument, 0, 'c'},
					     {"conns", required_argument, 0, 'n'},
					     {"duration", required_argument, 0, 'd'},
					     {"warmup", required_argument, 0, 'w'},
					     {"tls", required_argument, 0, 't'},
					     {"cert", required_argument, 0, 'C'},
					     {"key", required_argument, 0, 'K'},
					     {"hold", required_argument, 0, 'H'},
					     {0, 0, 0, 0}};
	const char *target = NULL, *cert = NULL, *key = NULL, *tls = "1.3";
	double duration = 5, warmup = 1;
	long conns = 64, hold = 0;
	struct sockaddr_in dst = {.sin_family = AF_INET};
	int o;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'c':
			target = optarg;
			break;
		case 'n':
			conns = strtol(optarg, NULL, 10);
			break;
		case 'd':
			duration = strtod(optarg, NULL);
			break;
		case 'w':
			warmup = strtod(optarg, NULL);
			break;
		case 't':
			tls = optarg;
			break;
		case 'C':
			cert = optarg;
			break;
		case 'K':
			key = optarg;
			break;
		case 'H':
			hold = strtol(optarg, NULL, 10);
			break;
		default:
			usage();
		}
	}
	if (!target || conns < 1 || (!cert) != (!key))
		usage();
	char host[64];
	const char *colon = strrchr(target, ':');
	if (!colon || (size_t)(colon - target) >= sizeof(host))
		usage();
	memcpy(host, target, colon - target);
	host[colon - target] = 0;
	dst.sin_port = htons((uint16_t)atoi(colon + 1));
	if (inet_pton(AF_INET, host, &dst.sin_addr) != 1)
		usage();
	if (hold > 0 && conns > hold)
		conns = hold;

	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	int ver = strcmp(tls, "1.2") == 0 ? TLS1_2_VERSION : TLS1_3_VERSION;
	SSL_CTX_set_min_proto_version(ctx, ver);
	SSL_CTX_set_max_proto_version(ctx, ver);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	if (cert && (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
		     SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1)) {
		ERR_print_errors_fp(stderr);
		return 1;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	signal(SIGPIPE, SIG_IGN);

	int ep = epoll_create1(0);
	struct gconn *cs = calloc(conns, sizeof(*cs));
	long inflight = 0, done = 0, held = 0, errors = 0, win = 0, connect_errors = 0;
	double t0 = now_s(), w0 = t0 + warmup, w1 = w0 + duration;
	int in_window = 0;
	unsigned long first_err = 0;

	for (long i = 0; i < conns; i++) {
		cs[i].fd = -1;
		if (gconn_start(&cs[i], ep, ctx, &dst) == 0)
			inflight++;
		else
			connect_errors++;
	}
	struct epoll_event evs[256];
	while (!stop) {
		double t = now_s();

		if (!hold) {
			if (!in_window && t >= w0) {
				in_window = 1;
				win = 0;
			}
			if (t >= w1)
				break;
		} else if (held >= hold) {
			break;
		}
		int n = epoll_wait(ep, evs, 256, 100);
		for (int i = 0; i < n; i++) {
			struct gconn *c = evs[i].data.ptr;
			int r = SSL_do_handshake(c->ssl);

			if (r == 1) {
				done++;
				inflight--;
				if (in_window)
					win++;
				if (hold) {
					/* kept open, out of the poll set: the connection stays idle */
					epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
					held++;
				} else {
					gconn_close(c, 1);
				}
			} else {
				int e = SSL_get_error(c->ssl, r);
				struct epoll_event ev = {.data.ptr = c};

				if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
					ev.events = e == SSL_ERROR_WANT_READ ? EPOLLIN : EPOLLOUT;
					epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
					continue;
				}
				if (!first_err)
					first_err = ERR_peek_error();
				ERR_clear_error();
				errors++;
				inflight--;
				gconn_close(c, 0);
			}
			if (hold && held + inflight >= hold)
				continue;
			if (gconn_start(c, ep, ctx, &dst) == 0)
				inflight++;
			else
				connect_errors++;
		}
		if (connect_errors > 1000)
			break;
	}
	char errbuf[256] = "";
	if (first_err)
		ERR_error_string_n(first_err, errbuf, sizeof(errbuf));
	if (hold) {
		printf("{\"held\": %ld, \"wanted\": %ld, \"errors\": %ld, \"connect_errors\": %ld, "
		       "\"first_error\": \"%s\"}\n",
		       held, hold, errors, connect_errors, errbuf);
		fflush(stdout);
		while (!stop)
			pause();
		return held == hold ? 0 : 1;
	}
	double secs = now_s() - (in_window ? w0 : t0);
	printf("{\"handshakes\": %ld, \"seconds\": %.3f, \"rate\": %.1f, \"total\": %ld, "
	       "\"errors\": %ld, \"connect_errors\": %ld, \"conns\": %ld, \"tls\": \"%s\", "
	       "\"client_cert\": %s, \"first_error\": \"%s\"}\n",
	       win, secs, win / secs, done, errors, connect_errors, conns, tls,
	       cert ? "true" : "false", errbuf);
	return 0;
}
