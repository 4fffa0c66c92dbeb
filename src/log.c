/* Logging to stderr or syslog; see dx_log.h. */
#include "dx_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>

static int log_to_syslog;
static int log_debug;
static int log_muted;

void dx_log_setup(int to_syslog, int debug)
{
	log_to_syslog = to_syslog;
	log_debug = debug;
	if (to_syslog)
		openlog("dexmafs", LOG_PID, LOG_DAEMON);
}

void dx_log_mute(int mute)
{
	log_muted = mute;
}

void dx_log(enum dx_log_level level, const char *fmt, ...)
{
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	static const char *const word[] = { "error", "warning", "info", "debug" };
	char line[1024];
	va_list ap;

	if (log_muted || (level == DX_LOG_DEBUG && !log_debug))
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (log_to_syslog)
		syslog(prio[level], "%s", line);
	else
		fprintf(stderr, "dexmafs: %s: %s\n", word[level], line);
}
