/*
 * cofferd — the Coffer SSH/SFTP gateway.
 *
 *   cofferd [-c FILE] [-l ADDR] [-p PORT] [-d] [-t]
 */
#include <errno.h>
#include <getopt.h>
#include <libssh/libssh.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "err.h"
#include "gw.h"
#include "ledger.h"
#include "listener.h"
#include "log.h"
#include "store.h"

#define COFFER_VERSION "0.1.0"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: cofferd [-c FILE] [-l ADDR] [-p PORT] [-d] [-t]\n"
	    "\n"
	    "  -c FILE  configuration file (default: $COFFER_CONF, else\n"
	    "           built-in defaults with the state folder ./var)\n"
	    "  -l ADDR  listen address (overrides listen_address)\n"
	    "  -p PORT  port (overrides port)\n"
	    "  -d       debug: serve one connection in the foreground,\n"
	    "           no fork, verbose log\n"
	    "  -t       check the configuration, the store and the host keys,\n"
	    "           then exit; changes nothing (a missing ledger or host\n"
	    "           key is made at start, not by -t)\n"
	    "  -h       this help;  -V  version\n");
}

/* Loads the store's settings and brings the ledger up to date; with
 * test (-t), only looks. */
static int
prepare_store(struct gw *gw, struct config *cfg, int test)
{
	struct store *st = NULL;
	struct store_info info;
	struct account **list = NULL;
	size_t n = 0;
	char *lpath = NULL;
	int rc;

	memset(&info, 0, sizeof(info));
	if ((rc = store_open(cfg->database, 0, &st)) != 0) {
		if (rc == COF_ENOENT)
			log_error("no store at %s; create one with "
			    "'coffer init --root DIR --size SIZE --admin NAME'",
			    cfg->database);
		else
			log_error("%s: %s", cfg->database, cof_strerror(rc));
		goto out;
	}
	if ((rc = store_info_get(st, &info)) != 0) {
		log_error("%s: %s", cfg->database, cof_strerror(rc));
		goto out;
	}
	if ((gw->store_root = realpath(info.root, NULL)) == NULL) {
		log_error("store folder %s: %s", info.root, strerror(errno));
		rc = COF_EIO;
		goto out;
	}
	if ((lpath = ledger_path_for(cfg->database)) == NULL) {
		rc = COF_ENOMEM;
		goto out;
	}
	if (test) {
		/* -t changes nothing: the ledger is only looked at. */
		rc = ledger_open(lpath, 0, &gw->lg);
		if (rc == COF_ENOENT || rc == COF_EINVAL) {
			log_info("ledger %s: %s; made from disk at start",
			    lpath, rc == COF_ENOENT ? "missing" :
			    "another version's or damaged");
			rc = 0;
		} else if (rc != 0) {
			log_error("ledger %s: %s", lpath, cof_strerror(rc));
			goto out;
		}
		if ((rc = store_account_list(st, &list, &n)) != 0)
			goto out;
		log_info("store %s: %zu accounts", gw->store_root, n);
		goto out;
	}
	if ((rc = ledger_open(lpath, 1, &gw->lg)) != 0) {
		log_error("ledger %s: %s", lpath, cof_strerror(rc));
		goto out;
	}
	if ((rc = store_account_list(st, &list, &n)) != 0 ||
	    (rc = ledger_sync(gw->lg, gw->store_root, info.size, list, n)) != 0)
		goto out;
	/* After a crash, usage may have drifted: recount. */
	if ((rc = ledger_rescan(gw->lg, gw->store_root, NULL)) != 0) {
		log_error("rescan: %s", cof_strerror(rc));
		goto out;
	}
	log_info("store %s: %zu accounts", gw->store_root, n);
out:
	account_list_free(list, n);
	store_info_clear(&info);
	store_close(st);
	free(lpath);
	return rc;
}

int
main(int argc, char **argv)
{
	struct config *cfg = NULL;
	struct gw gw;
	const char *cpath = NULL, *addr = NULL;
	char err[512], ed[PATH_MAX], rsa[PATH_MAX];
	int c, port = 0, test = 0, rc;

	memset(&gw, 0, sizeof(gw));
	while ((c = getopt(argc, argv, "c:l:p:dthV")) != -1) {
		switch (c) {
		case 'c':
			cpath = optarg;
			break;
		case 'l':
			addr = optarg;
			break;
		case 'p': {
			char *end;
			long v = strtol(optarg, &end, 10);

			if (*optarg == '\0' || *end != '\0' || v < 1 ||
			    v > 65535) {
				fprintf(stderr, "cofferd: bad port '%s'\n",
				    optarg);
				return 2;
			}
			port = (int)v;
			break;
		}
		case 'd':
			gw.debug = 1;
			break;
		case 't':
			test = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("cofferd %s (libssh %s)\n", COFFER_VERSION,
			    ssh_version(0));
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (config_load(cpath, &cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "cofferd: %s\n", err);
		return 1;
	}
	if (addr != NULL) {
		free(cfg->listen_address);
		if ((cfg->listen_address = strdup(addr)) == NULL)
			return 1;
	}
	if (port != 0)
		cfg->port = port;
	log_init("cofferd", cfg->log_syslog && !gw.debug,
	    gw.debug ? LOG_LVL_DEBUG : cfg->log_level);
	gw.cfg = cfg;
	umask(022);

	if (cfg->user[0] != '\0') {
		struct passwd *pw = getpwnam(cfg->user);

		if (pw == NULL)
			fatal("user \"%s\" (setting 'user') does not exist",
			    cfg->user);
		if (geteuid() == 0) {
			gw.drop = 1;
			gw.uid = pw->pw_uid;
			gw.gid = pw->pw_gid;
		} else if (geteuid() != pw->pw_uid) {
			log_warn("not root: running as uid %u, not as \"%s\"",
			    (unsigned)geteuid(), cfg->user);
		}
	} else if (geteuid() == 0) {
		log_warn("connections run as root: set 'user' in the "
		    "configuration to a service user");
	}
	if (ssh_init() != SSH_OK)
		fatal("libssh initialisation failed");
	rc = prepare_store(&gw, cfg, test);
	if (rc != 0)
		return 1;
	if (listener_host_keys(cfg->host_key_dir, !test, ed, rsa,
	    sizeof(ed)) != 0)
		return 1;
	if (test) {
		printf("cofferd: configuration %s is valid\n",
		    cfg->path ? cfg->path : "(built-in defaults)");
		return 0;
	}
	rc = listener_run(&gw, ed, rsa);
	ssh_finalize();
	return rc;
}
