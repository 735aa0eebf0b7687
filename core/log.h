/*
 * log.h — one line per event, to stderr (foreground, journald) or syslog.
 *
 * Lines carry a context prefix set once per process with log_context():
 * the gateway sets "sid=… user=… addr=…" after login so every later line
 * says who did what.  Never pass a secret to these functions.
 */
#ifndef COFFER_LOG_H
#define COFFER_LOG_H

#include <stdarg.h>
#include <sys/types.h>

enum log_level { LOG_LVL_ERROR = 0, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

/* ident: program name; to_syslog: 0 stderr, 1 syslog(LOG_DAEMON). */
void log_init(const char *ident, int to_syslog, enum log_level level);
void log_set_level(enum log_level level);
/* Context prefix for every following line (copied); NULL clears it. */
void log_context(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * This process's pid without a system call each time (glibc no longer
 * caches it): taken once, and again in a child after fork().
 */
pid_t log_pid(void);

/* Start-up only: log and exit(1).  Never on client input. */
void fatal(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));

#endif
