/*
 * config.h — the settings both programs read from one libconfig file.
 *
 * Lookup: an explicit path (-c FILE), else $COFFER_CONF, else no file and
 * every default below (state folder ./var under the working directory).
 * conf/coffer.conf documents every setting.
 */
#ifndef COFFER_CONFIG_H
#define COFFER_CONFIG_H

#include <stddef.h>
#include <stdint.h>

struct config {
	char *path;          /* file read, or NULL when defaults only */
	char *state_dir;     /* database, host keys; default "./var" */
	char *database;      /* default <state_dir>/coffer.db */
	char *host_key_dir;  /* default <state_dir> */
	char *listen_address; /* default "127.0.0.1" */
	int port;            /* default 2222 */
	char *user;          /* service user when started as root; "" none */
	int log_syslog;      /* log = "syslog" (1) or "stderr" (0) */
	int log_level;       /* enum log_level; log_level = "info" */
	int max_auth_tries;  /* per connection; default 6 */
	int login_grace_time; /* seconds to authenticate; default 60 */
	int max_connections; /* concurrent children; default 100 */
	int refresh_seconds; /* account re-check period; default 2 */
	int idle_timeout;    /* seconds without traffic, 0 = none */
	int max_handles;     /* open SFTP handles per session; default 256 */
};

/*
 * Reads the config.  path may be NULL (then $COFFER_CONF, then defaults).
 * On error returns COF_ECONFIG and writes one line into errbuf.
 * *out is set only on success; free it with config_free().
 */
int config_load(const char *path, struct config **out, char *errbuf,
    size_t errlen);
void config_free(struct config *cfg);

#endif
