/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The control thread's loop: the Unix control socket (protocol in ctl/ctl.h):
 * peers, clients, their buffers, dispatch of a request to the command
 * registered under its name; neighbour events and aging. Everything here runs
 * on the EAL main lcore, which is not a QSBR reader, so it may call
 * synchronize_rcu() (cfg_publish() does). The commands are elsewhere:
 * control_commands.c (the control plane's own) and each subsystem's folder.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <rte_cycles.h>

#include "../log/log.h"
#include "control_internal.h"

_Static_assert(CTL_TEXT_MAX == CFG_TEXT_MAX, "ctl and config disagree on the document size");

#define CONTROL_IDLE_MS	    5000
#define CONTROL_AGE_MS	    100
#define CONTROL_READ_CHUNK  65536
#define CONTROL_READS_TURN  4		/* chunks read per client per turn: no one starves */
#define CONTROL_OUT_MAX	    (16u << 20) /* unread replies before a client's input is paused */
#define CONTROL_ACCEPT_TURN 16

int64_t control_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* mkdir -p of the directory part of @p path. */
static int control_mkdirs(const char *path)
{
	char dir[CFG_PATH_MAX];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash == NULL || slash == dir)
		return 0;
	*slash = '\0';
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* Is a daemon already answering on @p sa? Then its socket is not stale. */
static bool control_socket_live(const struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool live;

	if (fd < 0)
		return false;
	live = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0;
	close(fd);
	return live;
}

/* Every command has a name and a handler, and no name is registered twice. */
static int control_cmds_check(const struct control_ctx *ctx)
{
	for (unsigned int s = 0; s < ctx->n_command_sets; s++) {
		const struct control_cmd_set *set = ctx->command_sets[s];

		for (unsigned int i = 0; i < set->n; i++) {
			const struct control_cmd *cmd = &set->cmds[i];

			if (cmd->name == NULL || cmd->fn == NULL) {
				LOG(ERR, "control: command %u of %s has no name or handler", i,
				    set->subsystem);
				return -EINVAL;
			}
			for (unsigned int t = 0; t <= s; t++) {
				const struct control_cmd_set *other = ctx->command_sets[t];

				for (unsigned int k = 0; k < (t == s ? i : other->n); k++) {
					if (strcmp(cmd->name, other->cmds[k].name) == 0) {
						LOG(ERR,
						    "control: command '%s' of %s is registered by "
						    "%s "
						    "already",
						    cmd->name, set->subsystem, other->subsystem);
						return -EINVAL;
					}
				}
			}
		}
	}
	return 0;
}

struct control *control_open(const struct control_ctx *ctx)
{
	const struct cfg_snapshot *snap = cfg_live;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct control *c;
	int err;

	if (snap == NULL || ctx == NULL || ctx->workers == NULL) {
		errno = EINVAL;
		return NULL;
	}
	if (snap->startup.control_socket[0] == '\0' ||
	    strlen(snap->startup.control_socket) >= sizeof(sa.sun_path)) {
		LOG(ERR, "control socket path '%s' is empty or too long",
		    snap->startup.control_socket);
		errno = EINVAL;
		return NULL;
	}
	if (control_cmds_check(ctx) < 0) {
		errno = EINVAL;
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	c->ctx = *ctx;
	c->lfd = -1;
	c->chunk = malloc(CONTROL_READ_CHUNK);
	if (c->chunk == NULL) {
		err = ENOMEM;
		goto fail;
	}
	snprintf(c->path, sizeof(c->path), "%s", snap->startup.control_socket);
	snprintf(c->group_name, sizeof(c->group_name), "%s", snap->startup.control_group);
	if (c->group_name[0] != '\0') {
		struct group *gr = getgrnam(c->group_name);

		if (gr == NULL) {
			LOG(ERR, "control group '%s' does not exist", c->group_name);
			err = ENOENT;
			goto fail;
		}
		c->gid = gr->gr_gid;
		c->has_group = true;
	}
	err = -control_mkdirs(c->path);
	if (err != 0) {
		LOG(ERR, "cannot create the directory of %s: %s", c->path, strerror(err));
		goto fail;
	}
	strcpy(sa.sun_path, c->path);
	if (control_socket_live(&sa)) {
		LOG(ERR, "another daemon is serving %s", c->path);
		err = EADDRINUSE;
		goto fail;
	}
	if (unlink(c->path) < 0 && errno != ENOENT) {
		err = errno;
		LOG(ERR, "cannot remove the stale socket %s: %s", c->path, strerror(err));
		goto fail;
	}
	c->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (c->lfd < 0) {
		err = errno;
		goto fail;
	}
	if (bind(c->lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		err = errno;
		LOG(ERR, "cannot bind %s: %s", c->path, strerror(err));
		goto fail_close;
	}
	if (chmod(c->path, 0660) < 0 || (c->has_group && chown(c->path, (uid_t)-1, c->gid) < 0)) {
		err = errno;
		LOG(ERR, "cannot set the owner / mode of %s: %s", c->path, strerror(err));
		goto fail_unlink;
	}
	if (listen(c->lfd, 64) < 0) {
		err = errno;
		goto fail_unlink;
	}
	c->start_ms = control_now_ms();
	c->next_age_ms = c->start_ms + CONTROL_AGE_MS;
	LOG(INFO, "control socket %s (group %s)", c->path,
	    c->has_group ? c->group_name : "none: root only");
	return c;

fail_unlink:
	unlink(c->path);
fail_close:
	close(c->lfd);
fail:
	free(c->chunk);
	free(c);
	errno = err;
	return NULL;
}

/* ---------------------------------------------------------------- output */

static void control_queue(struct control_client *cl, json_t *reply)
{
	size_t len;
	char *line;

	if (reply == NULL)
		reply = ctl_reply_error("out of memory");
	line = reply ? ctl_encode(reply, &len) : NULL;
	json_decref(reply);
	if (line == NULL) {
		cl->closing = true;
		return;
	}
	if (cl->out_off > 0 && cl->out_off == cl->out_len)
		cl->out_off = cl->out_len = 0;
	if (cl->out_len + len > cl->out_cap) {
		size_t cap = cl->out_cap ? cl->out_cap : 4096;
		char *nb;

		while (cap < cl->out_len + len)
			cap *= 2;
		nb = realloc(cl->out, cap);
		if (nb == NULL) {
			free(line);
			cl->closing = true;
			return;
		}
		cl->out = nb;
		cl->out_cap = cap;
	}
	memcpy(cl->out + cl->out_len, line, len);
	cl->out_len += len;
	free(line);
}

/* Write what the socket takes now; never blocks. @return false if the client is gone. */
static bool control_flush(struct control_client *cl, int64_t now)
{
	while (cl->out_off < cl->out_len) {
		ssize_t w = send(cl->fd, cl->out + cl->out_off, cl->out_len - cl->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (w > 0) {
			cl->out_off += (size_t)w;
			cl->last_ms = now;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return true;
		return false;
	}
	cl->out_off = cl->out_len = 0;
	return !cl->closing;
}

/* ---------------------------------------------------------------- commands */

/* The command named @p name, or NULL. */
static const struct control_cmd *control_cmd_find(const struct control *c, const char *name)
{
	for (unsigned int s = 0; s < c->ctx.n_command_sets; s++) {
		const struct control_cmd_set *set = c->ctx.command_sets[s];

		for (unsigned int i = 0; i < set->n; i++)
			if (strcmp(name, set->cmds[i].name) == 0)
				return &set->cmds[i];
	}
	return NULL;
}

static json_t *control_dispatch(struct control *c, struct control_client *cl, const char *line,
				size_t len)
{
	json_error_t jerr;
	json_t *req = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	const struct control_cmd *found;
	json_t *cmd, *reply;
	const char *name;
	char why[256];

	if (req == NULL)
		return ctl_reply_error("malformed JSON at line %d column %d: %s", jerr.line,
				       jerr.column, jerr.text);
	if (!json_is_object(req)) {
		json_decref(req);
		return ctl_reply_error("request must be a JSON object");
	}
	cmd = json_object_get(req, "cmd");
	if (!json_is_string(cmd)) {
		json_decref(req);
		return ctl_reply_error(cmd ? "\"cmd\" must be a string" : "request has no \"cmd\"");
	}
	name = json_string_value(cmd);
	found = control_cmd_find(c, name);
	if (found == NULL) {
		reply = ctl_reply_error("unknown command '%.64s'", name);
	} else if (c->ctx.guard != NULL &&
		   !c->ctx.guard->authorize(&cl->peer, found, req, why, sizeof(why))) {
		reply = ctl_reply_error("permission denied: %s", why);
	} else {
		reply = found->fn(c, req, &cl->peer);
	}
	if (found != NULL && c->ctx.guard != NULL)
		c->ctx.guard->record(&cl->peer, found, req, reply);
	json_decref(req);
	return reply;
}

/* ---------------------------------------------------------------- clients */

/* SO_PEERCRED: root, or a member of the configured group. */
static bool control_peer_allowed(struct control *c, int fd, struct control_peer *peer, char *why,
				 size_t len)
{
	struct ucred cred;
	socklen_t cl = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) < 0) {
		snprintf(why, len, "permission denied: peer credentials unavailable");
		return false;
	}
	peer->uid = cred.uid;
	peer->gid = cred.gid;
	if (cred.uid == 0)
		return true;
	if (c->has_group) {
		struct passwd *pw;

		if (cred.gid == c->gid)
			return true;
		pw = getpwuid(cred.uid);
		if (pw != NULL) {
			gid_t groups[256];
			int n = (int)RTE_DIM(groups);

			if (getgrouplist(pw->pw_name, pw->pw_gid, groups, &n) < 0)
				n = (int)RTE_DIM(groups);
			for (int i = 0; i < n; i++)
				if (groups[i] == c->gid)
					return true;
		}
		snprintf(why, len, "permission denied: uid %u is not root or in group %s",
			 (unsigned int)cred.uid, c->group_name);
	} else {
		snprintf(why, len,
			 "permission denied: uid %u is not root (no control group is configured)",
			 (unsigned int)cred.uid);
	}
	return false;
}

/* Best-effort one-shot reply on a socket that will be closed right away. */
static void control_reject(int fd, const char *msg)
{
	json_t *r = ctl_reply_error("%s", msg);
	size_t len;
	char *line = r ? ctl_encode(r, &len) : NULL;

	if (line != NULL && send(fd, line, len, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		LOG(DEBUG, "control: rejected client did not take the reply: %s", strerror(errno));
	free(line);
	json_decref(r);
	close(fd);
}

static void control_accept(struct control *c, int64_t now)
{
	for (int k = 0; k < CONTROL_ACCEPT_TURN; k++) {
		int fd = accept4(c->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct control_client *cl;
		char why[160];

		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				LOG(WARNING, "control: accept: %s", strerror(errno));
			return;
		}
		if (c->n_clients >= CONTROL_MAX_CLIENTS) {
			snprintf(why, sizeof(why), "too many control clients (max %d)",
				 CONTROL_MAX_CLIENTS);
			control_reject(fd, why);
			continue;
		}
		cl = &c->clients[c->n_clients++];
		memset(cl, 0, sizeof(*cl));
		cl->fd = fd;
		cl->last_ms = now;
		ctl_framer_init(&cl->in, CTL_MSG_MAX);
		cl->peer.uid = (uid_t)-1;
		cl->peer.gid = (gid_t)-1;
		if (!control_peer_allowed(c, fd, &cl->peer, why, sizeof(why))) {
			LOG(WARNING, "control: %s", why);
			control_queue(cl, ctl_reply_error("%s", why));
			cl->closing = true;
		}
	}
}

static void control_client_free(struct control_client *cl)
{
	close(cl->fd);
	ctl_framer_free(&cl->in);
	free(cl->out);
	cl->fd = -1;
	cl->out = NULL;
}

/* Read and serve what @p cl sent. @return false once it is to be closed now. */
static bool control_client_input(struct control *c, struct control_client *cl, int64_t now)
{
	for (int k = 0; k < CONTROL_READS_TURN && !cl->closing; k++) {
		ssize_t r = recv(cl->fd, c->chunk, CONTROL_READ_CHUNK, MSG_DONTWAIT);
		int rc;

		if (r == 0) {
			/* half-closed: answer what came, then close */
			cl->closing = true;
			break;
		}
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			return false;
		}
		cl->last_ms = now;
		rc = ctl_framer_feed(&cl->in, c->chunk, (size_t)r);
		if (rc == -ENOMEM) {
			control_queue(cl, ctl_reply_error("out of memory"));
			cl->closing = true;
		}
		for (;;) {
			char *line;
			size_t len;

			rc = ctl_framer_next(&cl->in, &line, &len);
			if (rc == 0)
				break;
			if (rc == -EBADMSG) {
				control_queue(cl, ctl_reply_error("request contains a NUL byte"));
				continue;
			}
			if (rc < 0) {
				control_queue(cl,
					      ctl_reply_error("request too large (max %u bytes)",
							      CTL_MSG_MAX));
				cl->closing = true;
				break;
			}
			control_queue(cl, control_dispatch(c, cl, line, len));
		}
		if (cl->out_len - cl->out_off > CONTROL_OUT_MAX)
			break;
	}
	return true;
}

static void control_neigh_work(struct control *c, int64_t now_ms)
{
	const struct cfg_snapshot *snap = cfg_live;
	uint64_t hz, reachable, stale;

	if (c->ctx.neigh == NULL)
		return;
	neigh_drain(c->ctx.neigh, rte_rdtsc());
	if (now_ms < c->next_age_ms || snap == NULL)
		return;
	c->next_age_ms = now_ms + CONTROL_AGE_MS;
	hz = rte_get_tsc_hz();
	reachable = (uint64_t)snap->neigh.reachable_ms * hz / 1000;
	stale = (uint64_t)snap->neigh.stale_ms * hz / 1000;
	if (neigh_age(c->ctx.neigh, rte_rdtsc(), reachable, stale) > 0) {
		synchronize_rcu();
		neigh_reclaim(c->ctx.neigh);
	}
	if (c->ctx.l4 != NULL)
		l4_control_tick(c->ctx.l4, snap, rte_rdtsc());
	if (c->ctx.workers != NULL)
		proxy_reclaim(c->ctx.workers->proxy);
}

int control_run(struct control *c, volatile sig_atomic_t *stop)
{
	while (!*stop) {
		int64_t now;
		unsigned int i, n = 0;
		int rc;

		c->pfd[n++] = (struct pollfd){.fd = c->lfd, .events = POLLIN};
		for (i = 0; i < c->n_clients; i++) {
			struct control_client *cl = &c->clients[i];
			short ev = 0;

			if (!cl->closing && cl->out_len - cl->out_off <= CONTROL_OUT_MAX)
				ev |= POLLIN;
			if (cl->out_off < cl->out_len)
				ev |= POLLOUT;
			c->pfd[n++] = (struct pollfd){.fd = cl->fd, .events = ev};
		}
		rc = poll(c->pfd, n, 1);
		now = control_now_ms();
		if (rc < 0 && errno != EINTR)
			LOG(WARNING, "control: poll: %s", strerror(errno));
		if (rc > 0) {
			/* clients first: accept() appends to the array the pfds describe */
			for (i = 0; i < c->n_clients; i++) {
				struct control_client *cl = &c->clients[i];
				short re = c->pfd[i + 1].revents;
				bool alive = true;

				if (re & (POLLIN | POLLHUP | POLLERR))
					alive = control_client_input(c, cl, now);
				if (alive && (cl->out_off < cl->out_len || cl->closing))
					alive = control_flush(cl, now);
				if (!alive)
					control_client_free(cl);
			}
			if (c->pfd[0].revents & POLLIN)
				control_accept(c, now);
		}
		for (i = 0; i < c->n_clients; i++) {
			struct control_client *cl = &c->clients[i];

			if (cl->fd >= 0 && now - cl->last_ms > CONTROL_IDLE_MS)
				control_client_free(cl);
		}
		/* compact: closed clients leave holes */
		n = 0;
		for (i = 0; i < c->n_clients; i++)
			if (c->clients[i].fd >= 0)
				c->clients[n++] = c->clients[i];
		c->n_clients = n;
		control_neigh_work(c, now);
	}
	return 0;
}

void control_close(struct control *c)
{
	if (c == NULL)
		return;
	for (unsigned int i = 0; i < c->n_clients; i++)
		control_client_free(&c->clients[i]);
	close(c->lfd);
	unlink(c->path);
	free(c->prev_text);
	free(c->chunk);
	free(c);
}
