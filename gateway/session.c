/*
 * session.c — one connection: key exchange, login, channels, the SFTP
 * transport loop, account refresh, orderly close.  Contract in session.h.
 */
#include "session.h"

#include <errno.h>
#include <inttypes.h>
#include <libssh/callbacks.h>
#include <libssh/server.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "err.h"
#include "exec.h"
#include "fs.h"
#include "log.h"
#include "pubkey.h"
#include "sandbox.h"
#include "sftp.h"
#include "store.h"

#define READ_CHUNK (8 * 1024 * 1024) /* grows libssh's window to ~this */
#define IN_CAP (READ_CHUNK + SFTP_MAX_FRAME + 4)

enum want { WANT_NONE = 0, WANT_SFTP, WANT_EXEC, WANT_SHELL };

struct conn {
	ssh_session s;
	const struct gw *gw;
	const char *addr;
	struct store *st;
	int tries;           /* failed authentication attempts */
	int authed;
	struct account *acct;
	int locked_ro;       /* Landlock entered read-only: no writes ever */
	time_t refreshed;    /* last account refresh (exec front ends) */
	struct fs *fs;       /* the account's fs, once logged in */
	ssh_channel chan;    /* the session channel being served */
	enum want want;
	char *command;       /* exec command line */
	ssh_channel next;    /* one more, opened while chan is closing; */
	enum want next_want; /* served when chan is done */
	char *next_command;
	struct ssh_server_callbacks_struct scb;
	struct ssh_channel_callbacks_struct ccb;
};

static char grace_msg[160]; /* formatted before the alarm is set */
static volatile sig_atomic_t stop_asked; /* SIGTERM: end at the next tick */

static void
on_sigterm(int sig)
{
	(void)sig;
	stop_asked = 1;
}

/*
 * A SIGTERM ends the session at its next tick (within a second), through
 * the same orderly path as an account change: a front end mid-file drops
 * its temporary copy and says why.  0 to go on, -1 to end.
 */
static int
stop_tick(void)
{
	if (!stop_asked)
		return 0;
	log_info("stopping on SIGTERM: ending the session");
	return -1;
}

static void
grace_expired(int sig)
{
	(void)sig;
	(void)!write(2, grace_msg, strlen(grace_msg));
	_exit(1);
}

static void
too_many_tries(struct conn *c)
{
	if (++c->tries >= c->gw->cfg->max_auth_tries) {
		log_warn("too many authentication failures, disconnecting");
		ssh_disconnect(c->s);
	}
}

static void
log_login(struct conn *c, const char *user, const char *method,
    enum auth_result r)
{
	if (r == AUTH_OK)
		log_info("login ok user=%s method=%s addr=%s", user, method,
		    c->addr);
	else
		log_warn("login failed user=%s method=%s addr=%s reason=\"%s\"",
		    user, method, c->addr, auth_result_str(r));
}

static int
cb_auth_password(ssh_session s, const char *user, const char *password,
    void *ud)
{
	struct conn *c = ud;
	struct account *a = NULL;
	enum auth_result r;

	if (c->authed || c->tries >= c->gw->cfg->max_auth_tries)
		return SSH_AUTH_DENIED;
	r = auth_password(c->st, user, password, &a);
	log_login(c, user, "password", r);
	if (r != AUTH_OK) {
		too_many_tries(c);
		return SSH_AUTH_DENIED;
	}
	c->acct = a;
	c->authed = 1;
	return SSH_AUTH_SUCCESS;
}

static int
cb_auth_pubkey(ssh_session s, const char *user, struct ssh_key_struct *key,
    char sig_state, void *ud)
{
	struct conn *c = ud;
	struct account *a = NULL;
	struct pubkey *pk = NULL;
	char *b64 = NULL, *line = NULL, err[128];
	enum auth_result r;

	if (c->authed || c->tries >= c->gw->cfg->max_auth_tries)
		return SSH_AUTH_DENIED;
	if (sig_state == SSH_PUBLICKEY_STATE_WRONG) {
		log_login(c, user, "publickey", AUTH_BAD_CREDENTIAL);
		too_many_tries(c);
		return SSH_AUTH_DENIED;
	}
	/* The key's wire blob, through its OpenSSH text form. */
	if (ssh_pki_export_pubkey_base64(key, &b64) != SSH_OK ||
	    asprintf(&line, "%s %s", ssh_key_type_to_char(ssh_key_type(key)),
		b64) < 0) {
		ssh_string_free_char(b64);
		return SSH_AUTH_DENIED;
	}
	ssh_string_free_char(b64);
	if (pubkey_parse(line, &pk, err, sizeof(err)) != 0) {
		log_debug("key refused: %s", err);
		free(line);
		too_many_tries(c);
		return SSH_AUTH_DENIED;
	}
	free(line);
	r = auth_pubkey(c->st, user, pk->blob, pk->blob_len, &a);
	pubkey_free(pk);
	if (r != AUTH_OK) {
		/* Disabled/expired: the key is the account's own (it
		 * matched), so even a probe is a real login attempt. */
		if (sig_state == SSH_PUBLICKEY_STATE_VALID ||
		    r == AUTH_DISABLED || r == AUTH_EXPIRED)
			log_login(c, user, "publickey", r);
		else
			log_debug("key probe refused user=%s (%s)", user,
			    auth_result_str(r));
		too_many_tries(c);
		return SSH_AUTH_DENIED;
	}
	if (sig_state == SSH_PUBLICKEY_STATE_NONE) {
		account_free(a); /* a probe: the key would be accepted */
		return SSH_AUTH_SUCCESS;
	}
	log_login(c, user, "publickey", AUTH_OK);
	c->acct = a;
	c->authed = 1;
	return SSH_AUTH_SUCCESS;
}

static int
cb_subsystem(ssh_session s, ssh_channel ch, const char *name, void *ud)
{
	struct conn *c = ud;
	enum want *w = ch == c->chan ? &c->want : &c->next_want;

	if (*w != WANT_NONE || strcmp(name, "sftp") != 0) {
		log_info("refused subsystem \"%s\"", name);
		return SSH_ERROR;
	}
	*w = WANT_SFTP;
	return SSH_OK;
}

static int
cb_exec(ssh_session s, ssh_channel ch, const char *command, void *ud)
{
	struct conn *c = ud;
	enum want *w = ch == c->chan ? &c->want : &c->next_want;
	char **cmd = ch == c->chan ? &c->command : &c->next_command;

	if (*w != WANT_NONE)
		return SSH_ERROR;
	free(*cmd);
	if ((*cmd = strdup(command)) == NULL)
		return SSH_ERROR;
	*w = WANT_EXEC;
	return SSH_OK;
}

static int
cb_shell(ssh_session s, ssh_channel ch, void *ud)
{
	struct conn *c = ud;
	enum want *w = ch == c->chan ? &c->want : &c->next_want;

	if (*w != WANT_NONE)
		return SSH_ERROR;
	*w = WANT_SHELL;
	return SSH_OK;
}

static int
cb_pty(ssh_session s, ssh_channel ch, const char *term, int w, int h,
    int pw, int ph, void *ud)
{
	log_debug("refused pty");
	return SSH_ERROR;
}

static int
cb_env(ssh_session s, ssh_channel ch, const char *name, const char *value,
    void *ud)
{
	return SSH_OK; /* LANG and friends: accepted, ignored */
}

static ssh_channel
cb_channel_open(ssh_session s, void *ud)
{
	struct conn *c = ud;
	ssh_channel ch;

	/* One channel is served at a time; one more may wait (a client
	 * opening its next channel while the last one is closing). */
	if (!c->authed || c->next != NULL) {
		log_info("refused a third session channel");
		return NULL;
	}
	if ((ch = ssh_channel_new(s)) == NULL)
		return NULL;
	if (c->chan == NULL)
		c->chan = ch;
	else
		c->next = ch;
	memset(&c->ccb, 0, sizeof(c->ccb));
	c->ccb.userdata = c;
	c->ccb.channel_subsystem_request_function = cb_subsystem;
	c->ccb.channel_exec_request_function = cb_exec;
	c->ccb.channel_shell_request_function = cb_shell;
	c->ccb.channel_pty_request_function = cb_pty;
	c->ccb.channel_env_request_function = cb_env;
	/* x11 and agent requests have no callback: libssh refuses them. */
	ssh_callbacks_init(&c->ccb);
	ssh_set_channel_callbacks(ch, &c->ccb);
	return ch;
}

/* Account changes by the admin reach running sessions here. */
static int
refresh_account(struct conn *c, struct fs *fs)
{
	struct account *a = NULL;
	enum auth_result why;
	int rc;

	rc = store_account_get(c->st, c->acct->name, &a);
	if (rc == COF_ENOENT) {
		log_info("account removed: ending the session");
		return -1;
	}
	if (rc != 0) {
		log_warn("account refresh failed: %s", cof_strerror(rc));
		return 0; /* keep serving; retry next period */
	}
	/* Usable is checked every time: an expiry passes without a change
	 * to the record. */
	if (!auth_account_usable(a, &why)) {
		log_info("%s: ending the session", auth_result_str(why));
		account_free(a);
		return -1;
	}
	if (a->generation == c->acct->generation) {
		account_free(a);
		return 0;
	}
	if (strcmp(a->folder, c->acct->folder) != 0) {
		log_info("account folder changed: ending the session");
		account_free(a);
		return -1;
	}
	if (a->read_only != c->acct->read_only) {
		if (!a->read_only && c->locked_ro)
			log_info("account is now read-write: from its next "
			    "login (this session stays read-only)");
		else
			log_info("account is now %s",
			    a->read_only ? "read-only" : "read-write");
		fs_set_read_only(fs, a->read_only || c->locked_ro);
	}
	account_free(c->acct);
	c->acct = a;
	return 0;
}

static int
write_all(ssh_channel ch, const uint8_t *p, size_t len)
{
	while (len > 0) {
		uint32_t n = len > (1u << 30) ? (1u << 30) : (uint32_t)len;
		int w = ssh_channel_write(ch, p, n);

		if (w <= 0)
			return -1;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/* The SFTP transport: big blocking reads (window growth), batched
 * replies, a refresh tick.  Returns when the channel or session ends. */
static void
serve_sftp(struct conn *c, struct fs *fs)
{
	struct sftp *sf = NULL;
	uint8_t *in = NULL;
	size_t have = 0;
	time_t last_refresh = time(NULL), last_io = time(NULL);
	int idle = c->gw->cfg->idle_timeout;

	if (sftp_new(fs, c->acct->name, c->gw->cfg->max_handles, &sf) != 0 ||
	    (in = malloc(IN_CAP)) == NULL) {
		log_error("out of memory");
		goto out;
	}
	log_info("sftp session started");
	for (;;) {
		size_t olen, used;
		const uint8_t *out = sftp_output(sf, &olen);
		int n;

		if (olen > 0) {
			if (write_all(c->chan, out, olen) != 0)
				break;
			sftp_sent(sf, olen);
		}
		if (stop_tick() != 0)
			break;
		if (time(NULL) - last_refresh >= c->gw->cfg->refresh_seconds) {
			last_refresh = time(NULL);
			if (refresh_account(c, fs) != 0)
				break;
		}
		if (idle > 0 && time(NULL) - last_io > idle) {
			log_info("idle timeout");
			break;
		}
		n = ssh_channel_read_timeout(c->chan, in + have,
		    (uint32_t)(IN_CAP - have), 0, 1000);
		if (n == SSH_ERROR || (n == 0 && (ssh_channel_is_eof(c->chan) ||
		    !ssh_is_connected(c->s) ||
		    ssh_channel_is_closed(c->chan))))
			break;
		if (n <= 0)
			continue; /* timeout tick */
		last_io = time(NULL);
		have += (size_t)n;
		do {
			if (sftp_input(sf, in, have, &used) != 0)
				goto out;
			memmove(in, in + used, have - used);
			have -= used;
			out = sftp_output(sf, &olen);
			if (olen > 0) {
				if (write_all(c->chan, out, olen) != 0)
					goto out;
				sftp_sent(sf, olen);
			}
		} while (used > 0 && have >= 4);
	}
out:
	sftp_free(sf);
	free(in);
	log_info("sftp session ended");
}

static void
refuse_exec(struct conn *c, const char *what)
{
	char msg[256];

	snprintf(msg, sizeof(msg),
	    "cofferd: %s is not available here; this service allows SFTP "
	    "only.\n", what);
	ssh_channel_write_stderr(c->chan, msg, (uint32_t)strlen(msg));
	ssh_channel_request_send_exit_status(c->chan, 1);
}

/* Frees the served channel; the waiting one, if any, takes its place. */
static void
drop_channel(struct conn *c)
{
	ssh_channel_free(c->chan);
	free(c->command);
	c->chan = c->next;
	c->want = c->next_want;
	c->command = c->next_command;
	c->next = NULL;
	c->next_want = WANT_NONE;
	c->next_command = NULL;
}

/* exit-status, EOF, close; then wait for the peer to close. */
static void
finish_channel(struct conn *c, ssh_event ev, int status)
{
	time_t until = time(NULL) + 10;

	if (ssh_channel_is_open(c->chan)) {
		if (status >= 0)
			ssh_channel_request_send_exit_status(c->chan, status);
		ssh_channel_send_eof(c->chan);
		ssh_channel_close(c->chan);
	}
	while (ssh_is_connected(c->s) && !ssh_channel_is_closed(c->chan) &&
	    time(NULL) < until)
		ssh_event_dopoll(ev, 200);
	drop_channel(c);
}

/* The channel as a byte stream for the exec front ends. */
struct chan_ctx {
	struct conn *c;
};

/* The exec front ends' refresh tick: -1 when the session must end. */
static int
exec_tick(struct conn *c)
{
	time_t now = time(NULL);

	if (stop_tick() != 0)
		return -1;
	if (now - c->refreshed < c->gw->cfg->refresh_seconds)
		return 0;
	c->refreshed = now;
	return refresh_account(c, c->fs);
}

static ssize_t
io_read(void *ctx, void *buf, size_t len)
{
	struct conn *c = ((struct chan_ctx *)ctx)->c;
	uint32_t n = len > READ_CHUNK ? READ_CHUNK : (uint32_t)len;
	int r;

	for (;;) {
		if (exec_tick(c) != 0)
			return -1;
		r = ssh_channel_read_timeout(c->chan, buf, n, 0, 1000);
		if (r > 0)
			return r;
		if (r == SSH_ERROR)
			return -1;
		if (ssh_channel_is_eof(c->chan) || !ssh_is_connected(c->s) ||
		    ssh_channel_is_closed(c->chan))
			return 0;
	}
}

static int
io_write(void *ctx, const void *buf, size_t len)
{
	struct conn *c = ((struct chan_ctx *)ctx)->c;

	if (exec_tick(c) != 0)
		return -1;
	return write_all(c->chan, buf, len);
}

static int
io_write_err(void *ctx, const void *buf, size_t len)
{
	struct conn *c = ((struct chan_ctx *)ctx)->c;

	return ssh_channel_write_stderr(c->chan, buf, (uint32_t)len) < 0 ?
	    -1 : 0;
}

static int
serve_exec(struct conn *c, struct fs *fs)
{
	struct chan_ctx cc = { c };
	struct chan_io io = { &cc, io_read, io_write, io_write_err };
	int status;

	c->refreshed = time(NULL);

	if (exec_is_scp(c->command)) {
		log_info("scp \"%.200s\"", c->command);
		status = scp_main(fs, c->acct->name, c->command, &io);
	} else if (exec_is_rsync(c->command)) {
		log_info("rsync \"%.200s\"", c->command);
		status = rsync_main(fs, c->acct->name, c->command, &io);
	} else {
		log_info("refused exec \"%.200s\"", c->command);
		refuse_exec(c, "command execution");
		return -1;
	}
	log_info("%s ended, exit status %d",
	    exec_is_scp(c->command) ? "scp" : "rsync", status);
	return status;
}

static void
make_sid(char *buf, size_t len)
{
	unsigned char r[4] = { 0 };

	if (getrandom(r, sizeof(r), 0) != sizeof(r))
		r[0] = (unsigned char)getpid();
	snprintf(buf, len, "%02x%02x%02x%02x", r[0], r[1], r[2], r[3]);
}

int
session_run(ssh_session s, const struct gw *gw, const char *addr)
{
	struct conn c;
	struct fs *fs = NULL;
	ssh_event ev = NULL;
	struct sigaction sa;
	char sid[16];
	int rc, status = 1;

	memset(&c, 0, sizeof(c));
	c.s = s;
	c.gw = gw;
	c.addr = addr;
	make_sid(sid, sizeof(sid));
	log_context("sid=%s addr=%s", sid, addr);
	log_debug("connection from %s", addr);
	snprintf(grace_msg, sizeof(grace_msg),
	    "cofferd[%ld]: sid=%s addr=%s login grace time exceeded\n",
	    (long)getpid(), sid, addr);
	signal(SIGALRM, grace_expired);
	alarm((unsigned)gw->cfg->login_grace_time);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigterm; /* no SA_RESTART: a wait is cut short */
	sigaction(SIGTERM, &sa, NULL);

	if ((rc = store_open(gw->cfg->database, 0, &c.st)) != 0) {
		log_error("cannot open the store: %s", cof_strerror(rc));
		goto out;
	}
	/* The store stays open through its descriptors; from here on the
	 * process is the service user. */
	if (sandbox_drop(gw) != 0)
		goto out;
	memset(&c.scb, 0, sizeof(c.scb));
	c.scb.userdata = &c;
	c.scb.auth_password_function = cb_auth_password;
	c.scb.auth_pubkey_function = cb_auth_pubkey;
	c.scb.channel_open_request_session_function = cb_channel_open;
	ssh_callbacks_init(&c.scb);
	ssh_set_server_callbacks(s, &c.scb);
	ssh_set_auth_methods(s, SSH_AUTH_METHOD_PASSWORD |
	    SSH_AUTH_METHOD_PUBLICKEY);
	if (ssh_handle_key_exchange(s) != SSH_OK) {
		log_info("key exchange failed addr=%s: %s", addr,
		    ssh_get_error(s));
		goto out;
	}
	if ((ev = ssh_event_new()) == NULL || ssh_event_add_session(ev, s))
		goto out;
	while (!c.authed && ssh_is_connected(s))
		if (ssh_event_dopoll(ev, 1000) == SSH_ERROR)
			break;
	if (!c.authed)
		goto out;
	alarm(0);
	log_context("sid=%s user=%s addr=%s", sid, c.acct->name, addr);

	rc = fs_new(gw->store_root, c.acct->folder, c.acct->read_only, gw->lg,
	    &fs);
	if (rc != 0) {
		log_error("cannot open folder %s: %s", c.acct->folder,
		    cof_strerror(rc));
		goto out;
	}
	sandbox_enter(fs_root_fd(fs), c.acct->read_only);
	c.locked_ro = c.acct->read_only;
	c.fs = fs;

	status = 0;
	while (ssh_is_connected(s)) {
		time_t last = time(NULL);

		while (ssh_is_connected(s) && (c.chan == NULL ||
		    c.want == WANT_NONE)) {
			if (ssh_event_dopoll(ev, 1000) == SSH_ERROR)
				break;
			if (time(NULL) - last >= gw->cfg->refresh_seconds) {
				last = time(NULL);
				if (refresh_account(&c, fs) != 0)
					goto out;
			}
			if (c.chan != NULL && ssh_channel_is_closed(c.chan))
				drop_channel(&c);
		}
		if (c.chan == NULL || c.want == WANT_NONE)
			break;
		switch (c.want) {
		case WANT_SFTP:
			serve_sftp(&c, fs);
			finish_channel(&c, ev, 0);
			break;
		case WANT_EXEC:
			finish_channel(&c, ev, serve_exec(&c, fs));
			break;
		case WANT_SHELL:
			log_info("refused shell");
			refuse_exec(&c, "a shell");
			finish_channel(&c, ev, -1);
			break;
		case WANT_NONE:
			break;
		}
	}
out:
	if (c.chan != NULL)
		ssh_channel_free(c.chan);
	if (c.next != NULL)
		ssh_channel_free(c.next);
	free(c.next_command);
	if (ev != NULL)
		ssh_event_free(ev);
	ssh_disconnect(s);
	fs_free(fs);
	account_free(c.acct);
	free(c.command);
	store_close(c.st);
	log_info("connection closed");
	return status;
}
