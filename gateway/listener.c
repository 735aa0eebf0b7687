#include "listener.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libssh/libssh.h>
#include <libssh/server.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "session.h"
#include "sockbuf.h"

static volatile sig_atomic_t live_children;

static void
on_sigchld(int sig)
{
	int saved = errno;

	(void)sig;
	while (waitpid(-1, NULL, WNOHANG) > 0)
		live_children--;
	errno = saved;
}

static int
make_key(const char *path, enum ssh_keytypes_e type, int bits, int create)
{
	ssh_key key = NULL, loaded = NULL;
	unsigned char *hash = NULL;
	size_t hlen = 0;
	char *fp;
	mode_t old;
	int rc;

	if (access(path, F_OK) != 0 && !create) {
		log_info("host key %s missing; generated at start", path);
		return 0;
	}
	if (access(path, F_OK) != 0) {
		log_info("generating host key %s", path);
		if (ssh_pki_generate(type, bits, &key) != SSH_OK)
			return -1;
		old = umask(077);
		rc = ssh_pki_export_privkey_file(key, NULL, NULL, NULL, path);
		umask(old);
		ssh_key_free(key);
		if (rc != SSH_OK) {
			log_error("cannot write %s", path);
			return -1;
		}
		chmod(path, 0600);
	}
	if (ssh_pki_import_privkey_file(path, NULL, NULL, NULL, &loaded) !=
	    SSH_OK) {
		log_error("cannot read host key %s", path);
		return -1;
	}
	if (ssh_get_publickey_hash(loaded, SSH_PUBLICKEY_HASH_SHA256, &hash,
		&hlen) == 0) {
		fp = ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, hash,
		    hlen);
		log_info("host key %s %s", ssh_key_type_to_char(
		    ssh_key_type(loaded)), fp ? fp : "?");
		ssh_string_free_char(fp);
		ssh_clean_pubkey_hash(&hash);
	}
	ssh_key_free(loaded);
	return 0;
}

int
listener_host_keys(const char *dir, int create, char *ed, char *rsa,
    size_t len)
{
	if (create && mkdir(dir, 0700) != 0 && errno != EEXIST) {
		log_error("cannot create %s: %s", dir, strerror(errno));
		return -1;
	}
	if ((size_t)snprintf(ed, len, "%s/ssh_host_ed25519_key", dir) >= len ||
	    (size_t)snprintf(rsa, len, "%s/ssh_host_rsa_key", dir) >= len)
		return -1;
	if (make_key(ed, SSH_KEYTYPE_ED25519, 0, create) != 0 ||
	    make_key(rsa, SSH_KEYTYPE_RSA, 3072, create) != 0)
		return -1;
	return 0;
}

static void
peer_addr(ssh_session s, char *buf, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int fd = ssh_get_fd(s), one = 1;
	char host[INET6_ADDRSTRLEN] = "?";
	int port = 0;

	if (fd >= 0 && getpeername(fd, (struct sockaddr *)&ss, &sl) == 0) {
		if (ss.ss_family == AF_INET) {
			struct sockaddr_in *in = (struct sockaddr_in *)&ss;

			inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
			port = ntohs(in->sin_port);
		} else if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *in = (struct sockaddr_in6 *)&ss;

			inet_ntop(AF_INET6, &in->sin6_addr, host,
			    sizeof(host));
			port = ntohs(in->sin6_port);
		}
	}
	/* Small SFTP replies must not wait for delayed ACKs; a peer that
	 * vanished without a FIN is noticed by TCP keepalives. */
	if (fd >= 0) {
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	}
	snprintf(buf, len, "%s:%d", host, port);
}

/* The connection's socket read ahead (sockbuf.h); without it libssh
 * still works, 4 KiB per read. */
static void
read_ahead(ssh_session s)
{
	if (sockbuf_attach(ssh_get_fd(s)) != 0)
		log_warn("socket read-ahead unavailable; going on without");
}

int
listener_run(const struct gw *gw, const char *ed, const char *rsa)
{
	ssh_bind b;
	struct sigaction sa;
	bool no = false;
	int verbosity = gw->debug ? SSH_LOG_PROTOCOL : SSH_LOG_NOLOG;

	if ((b = ssh_bind_new()) == NULL)
		fatal("out of memory");
	ssh_bind_options_set(b, SSH_BIND_OPTIONS_PROCESS_CONFIG, &no);
	if (ssh_bind_options_set(b, SSH_BIND_OPTIONS_BINDADDR,
		gw->cfg->listen_address) != SSH_OK ||
	    ssh_bind_options_set(b, SSH_BIND_OPTIONS_BINDPORT,
		&gw->cfg->port) != SSH_OK ||
	    ssh_bind_options_set(b, SSH_BIND_OPTIONS_HOSTKEY, ed) != SSH_OK ||
	    ssh_bind_options_set(b, SSH_BIND_OPTIONS_HOSTKEY, rsa) != SSH_OK)
		fatal("ssh_bind options: %s", ssh_get_error(b));
	if (gw->debug)
		ssh_bind_options_set(b, SSH_BIND_OPTIONS_LOG_VERBOSITY,
		    &verbosity);
	if (ssh_bind_listen(b) != SSH_OK)
		fatal("cannot listen on %s port %d: %s",
		    gw->cfg->listen_address, gw->cfg->port, ssh_get_error(b));
	log_info("listening on %s port %d", gw->cfg->listen_address,
	    gw->cfg->port);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigchld;
	sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
	sigaction(SIGCHLD, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	for (;;) {
		ssh_session s = ssh_new();
		char addr[80];
		pid_t pid;

		if (s == NULL) {
			sleep(1);
			continue;
		}
		if (ssh_bind_accept(b, s) != SSH_OK) {
			log_warn("accept: %s", ssh_get_error(b));
			ssh_free(s);
			continue;
		}
		peer_addr(s, addr, sizeof(addr));
		if (gw->debug) {
			int st;

			read_ahead(s);
			st = session_run(s, gw, addr);

			ssh_free(s);
			ssh_bind_free(b);
			return st;
		}
		if (live_children >= gw->cfg->max_connections) {
			log_warn("refused %s: %d connections already", addr,
			    (int)live_children);
			ssh_free(s);
			continue;
		}
		pid = fork();
		if (pid == 0) {
			int st;

			signal(SIGCHLD, SIG_DFL);
			ssh_bind_free(b);
			read_ahead(s);
			st = session_run(s, gw, addr);
			ssh_free(s);
			_exit(st);
		}
		if (pid < 0)
			log_error("fork: %s", strerror(errno));
		else
			live_children++;
		ssh_free(s);
	}
}
