#include "config.h"

#include <libconfig.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "log.h"

static char *
join(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *p = malloc(n);

	if (p != NULL)
		snprintf(p, n, "%s/%s", dir, name);
	return p;
}

static int
get_str(config_t *cf, const char *key, const char *def, char **out)
{
	const char *v = NULL;

	if (cf == NULL || !config_lookup_string(cf, key, &v))
		v = def;
	if (v == NULL) {
		*out = NULL;
		return 0;
	}
	*out = strdup(v);
	return *out == NULL ? COF_ENOMEM : 0;
}

static int
get_int(config_t *cf, const char *key, int def, int lo, int hi, int *out,
    char *errbuf, size_t errlen)
{
	int v = def;

	if (cf != NULL && config_lookup(cf, key) != NULL &&
	    !config_lookup_int(cf, key, &v)) {
		snprintf(errbuf, errlen, "%s: must be an integer", key);
		return COF_ECONFIG;
	}
	if (v < lo || v > hi) {
		snprintf(errbuf, errlen, "%s: %d is out of range %d..%d", key,
		    v, lo, hi);
		return COF_ECONFIG;
	}
	*out = v;
	return 0;
}

static const char *known_keys[] = { "state_dir", "database", "host_key_dir",
	"listen_address", "port", "user", "log", "log_level", "max_auth_tries",
	"login_grace_time", "max_connections", "refresh_seconds",
	"idle_timeout", "max_handles", NULL };

static int
check_unknown(config_t *cf, char *errbuf, size_t errlen)
{
	config_setting_t *root = config_root_setting(cf);
	int i, n = config_setting_length(root);

	for (i = 0; i < n; i++) {
		config_setting_t *s = config_setting_get_elem(root, i);
		const char *name = config_setting_name(s);
		size_t k;

		for (k = 0; known_keys[k] != NULL; k++)
			if (name != NULL && strcmp(name, known_keys[k]) == 0)
				break;
		if (known_keys[k] == NULL) {
			snprintf(errbuf, errlen, "%s:%d: unknown setting '%s'",
			    config_setting_source_file(s) ?
				config_setting_source_file(s) : "config",
			    config_setting_source_line(s),
			    name ? name : "?");
			return COF_ECONFIG;
		}
	}
	return 0;
}

int
config_load(const char *path, struct config **out, char *errbuf,
    size_t errlen)
{
	config_t cfbuf, *cf = NULL;
	struct config *c = NULL;
	char *logdst = NULL, *level = NULL;
	int rc = COF_ENOMEM;

	if (path == NULL || *path == '\0')
		path = getenv("COFFER_CONF");
	if (path != NULL && *path == '\0')
		path = NULL;
	if (path != NULL) {
		cf = &cfbuf;
		config_init(cf);
		if (!config_read_file(cf, path)) {
			if (config_error_type(cf) == CONFIG_ERR_FILE_IO)
				snprintf(errbuf, errlen,
				    "%s: cannot read config file", path);
			else
				snprintf(errbuf, errlen, "%s:%d: %s", path,
				    config_error_line(cf),
				    config_error_text(cf));
			rc = COF_ECONFIG;
			goto out;
		}
		if ((rc = check_unknown(cf, errbuf, errlen)) != 0)
			goto out;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL)
		goto out;
	rc = COF_ENOMEM;
	if (path != NULL && (c->path = strdup(path)) == NULL)
		goto out;
	if (get_str(cf, "state_dir", "./var", &c->state_dir) ||
	    get_str(cf, "database", NULL, &c->database) ||
	    get_str(cf, "host_key_dir", NULL, &c->host_key_dir) ||
	    get_str(cf, "listen_address", "127.0.0.1", &c->listen_address) ||
	    get_str(cf, "user", "", &c->user) ||
	    get_str(cf, "log", "stderr", &logdst) ||
	    get_str(cf, "log_level", "info", &level))
		goto out;
	if (c->database == NULL || *c->database == '\0') {
		free(c->database);
		if ((c->database = join(c->state_dir, "coffer.db")) == NULL)
			goto out;
	}
	if (c->host_key_dir == NULL || *c->host_key_dir == '\0') {
		free(c->host_key_dir);
		if ((c->host_key_dir = strdup(c->state_dir)) == NULL)
			goto out;
	}
	rc = COF_ECONFIG;
	if (strcmp(logdst, "stderr") == 0)
		c->log_syslog = 0;
	else if (strcmp(logdst, "syslog") == 0)
		c->log_syslog = 1;
	else {
		snprintf(errbuf, errlen,
		    "log: '%s' is neither \"stderr\" nor \"syslog\"", logdst);
		goto out;
	}
	if (strcmp(level, "error") == 0)
		c->log_level = LOG_LVL_ERROR;
	else if (strcmp(level, "warn") == 0)
		c->log_level = LOG_LVL_WARN;
	else if (strcmp(level, "info") == 0)
		c->log_level = LOG_LVL_INFO;
	else if (strcmp(level, "debug") == 0)
		c->log_level = LOG_LVL_DEBUG;
	else {
		snprintf(errbuf, errlen,
		    "log_level: '%s' is not error, warn, info or debug", level);
		goto out;
	}
	if ((rc = get_int(cf, "port", 2222, 1, 65535, &c->port, errbuf,
		 errlen)) ||
	    (rc = get_int(cf, "max_auth_tries", 6, 1, 100, &c->max_auth_tries,
		 errbuf, errlen)) ||
	    (rc = get_int(cf, "login_grace_time", 60, 1, 3600,
		 &c->login_grace_time, errbuf, errlen)) ||
	    (rc = get_int(cf, "max_connections", 100, 1, 100000,
		 &c->max_connections, errbuf, errlen)) ||
	    (rc = get_int(cf, "refresh_seconds", 2, 1, 3600,
		 &c->refresh_seconds, errbuf, errlen)) ||
	    (rc = get_int(cf, "idle_timeout", 0, 0, 86400 * 7,
		 &c->idle_timeout, errbuf, errlen)) ||
	    (rc = get_int(cf, "max_handles", 256, 4, 4096, &c->max_handles,
		 errbuf, errlen)))
		goto out;
	*out = c;
	c = NULL;
	rc = 0;
out:
	if (rc == COF_ENOMEM)
		snprintf(errbuf, errlen, "out of memory");
	free(logdst);
	free(level);
	config_free(c);
	if (cf != NULL)
		config_destroy(cf);
	return rc;
}

void
config_free(struct config *c)
{
	if (c == NULL)
		return;
	free(c->path);
	free(c->state_dir);
	free(c->database);
	free(c->host_key_dir);
	free(c->listen_address);
	free(c->user);
	free(c);
}
