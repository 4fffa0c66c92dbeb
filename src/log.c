/* Logging to stderr or syslog; see dx_log.h. */
#include "dx_log.h"

#include <stdarg.h>
#include <string.h>
#include <stdio.h>
#include <sys/time.h>
#include <syslog.h>
#include <time.h>

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

/* syslog and the journal stamp their lines; stderr gets local time with
 * milliseconds and the UTC offset, e.g. 2026-12-01T18:30:05.123+0100. */
static const char *stamp(char *out, size_t size)
{
	struct timeval tv;
	struct tm tm;
	char zone[8];

	gettimeofday(&tv, NULL);
	localtime_r(&tv.tv_sec, &tm);
	strftime(out, size, "%Y-%m-%dT%H:%M:%S", &tm);
	strftime(zone, sizeof(zone), "%z", &tm);
	snprintf(out + strlen(out), size - strlen(out), ".%03ld%s", (long)(tv.tv_usec / 1000),
		 zone);
	return out;
}

void dx_log(enum dx_log_level level, const char *fmt, ...)
{
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	static const char *const word[] = { "error", "warning", "info", "debug" };
	char line[1024], when[40];
	va_list ap;

	if (log_muted || (level == DX_LOG_DEBUG && !log_debug))
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (log_to_syslog)
		syslog(prio[level], "%s", line);
	else
		fprintf(stderr, "%s dexmafs: %s: %s\n", stamp(when, sizeof(when)), word[level],
			line);
}
