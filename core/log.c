#include "log.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

static const char *log_ident = "coffer";
static int log_syslog;
static enum log_level log_lvl = LOG_LVL_INFO;
static char log_ctx[256];
static pid_t self_pid; /* 0: not known in this process yet */

static void
self_forked(void)
{
	self_pid = 0;
}

pid_t
log_pid(void)
{
	static int hooked;

	if (!hooked) {
		pthread_atfork(NULL, NULL, self_forked);
		hooked = 1;
	}
	if (self_pid == 0)
		self_pid = getpid();
	return self_pid;
}

void
log_init(const char *ident, int to_syslog, enum log_level level)
{
	log_ident = ident;
	log_syslog = to_syslog;
	log_lvl = level;
	if (to_syslog)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void
log_set_level(enum log_level level)
{
	log_lvl = level;
}

void
log_context(const char *fmt, ...)
{
	va_list ap;

	if (fmt == NULL) {
		log_ctx[0] = '\0';
		return;
	}
	va_start(ap, fmt);
	vsnprintf(log_ctx, sizeof(log_ctx), fmt, ap);
	va_end(ap);
}

static void
vlog(enum log_level lvl, const char *fmt, va_list ap)
{
	static const char *names[] = { "error", "warn", "info", "debug" };
	static const int prios[] = { LOG_ERR, LOG_WARNING, LOG_INFO,
		LOG_DEBUG };
	char msg[1024];
	size_t i;

	if (lvl > log_lvl)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	/* A client-chosen string must not forge a second log line. */
	for (i = 0; msg[i] != '\0'; i++)
		if ((unsigned char)msg[i] < 0x20 || msg[i] == 0x7f)
			msg[i] = '?';
	if (log_syslog) {
		syslog(prios[lvl], "%s%s%s", log_ctx, log_ctx[0] ? " " : "",
		    msg);
	} else {
		char ts[32];
		struct timespec now;
		struct tm tm;

		clock_gettime(CLOCK_REALTIME, &now);
		gmtime_r(&now.tv_sec, &tm);
		strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
		fprintf(stderr, "%s.%03ldZ %s[%ld] %s: %s%s%s\n", ts,
		    now.tv_nsec / 1000000, log_ident, (long)log_pid(),
		    names[lvl], log_ctx, log_ctx[0] ? " " : "", msg);
	}
}

#define LOG_FN(name, lvl)                   \
	void name(const char *fmt, ...)     \
	{                                   \
		va_list ap;                 \
		va_start(ap, fmt);          \
		vlog(lvl, fmt, ap);         \
		va_end(ap);                 \
	}

LOG_FN(log_error, LOG_LVL_ERROR)
LOG_FN(log_warn, LOG_LVL_WARN)
LOG_FN(log_info, LOG_LVL_INFO)
LOG_FN(log_debug, LOG_LVL_DEBUG)

void
fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LVL_ERROR, fmt, ap);
	va_end(ap);
	exit(1);
}
