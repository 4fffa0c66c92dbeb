/* Logging to stderr, syslog or a file; see dx_log.h. */
#include "dx_log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

static enum dx_log_dest log_dest = DX_LOG_STDERR;
static int log_fd = -1;
static int log_verbose;
static int log_debug;
static int log_tee;
static int log_muted;

int dx_log_open(const struct dx_log_opts *o)
{
	dx_log_close();
	log_verbose = o->verbose || o->debug;
	log_debug = o->debug;
	log_tee = o->tee_stderr;
	if (o->dest == DX_LOG_SYSLOG)
		openlog("dexmafs", LOG_PID, LOG_DAEMON);
	if (o->dest == DX_LOG_FILE) {
		log_fd = open(o->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
		if (log_fd < 0)
			return -errno;
	}
	log_dest = o->dest;
	return 0;
}

void dx_log_detached(void)
{
	log_tee = 0;
}

void dx_log_close(void)
{
	if (log_dest == DX_LOG_SYSLOG)
		closelog();
	if (log_fd >= 0)
		close(log_fd);
	log_fd = -1;
	log_dest = DX_LOG_STDERR;
}

void dx_log_mute(int mute)
{
	log_muted = mute;
}

/* syslog and the journal stamp their lines; stderr and files get local
 * time with milliseconds and the UTC offset, 2026-12-01T18:30:05.123+0100. */
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

/* One write per line: lines of threads never mix (O_APPEND). */
static void write_line(int fd, const char *who, const char *word, const char *line)
{
	char when[40], out[1200];
	int n = snprintf(out, sizeof(out), "%s %s: %s: %s\n", stamp(when, sizeof(when)), who, word,
			 line);
	ssize_t ignored;

	if (n < 0)
		return;
	if ((size_t)n >= sizeof(out)) {
		n = sizeof(out) - 1;
		out[n - 1] = '\n';
	}
	ignored = write(fd, out, (size_t)n);
	(void)ignored;
}

void dx_log(enum dx_log_level level, const char *fmt, ...)
{
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_INFO, LOG_DEBUG };
	static const char *const word[] = { "error", "warning", "info", "api", "debug" };
	char line[1024], who[32];
	va_list ap;

	if ((log_muted && level <= DX_LOG_INFO) || (level == DX_LOG_API && !log_verbose) ||
	    (level == DX_LOG_DEBUG && !log_debug))
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (log_tee && log_dest != DX_LOG_STDERR && level <= DX_LOG_WARN)
		write_line(STDERR_FILENO, "dexmafs", word[level], line);
	if (log_dest == DX_LOG_SYSLOG) {
		syslog(prio[level], "%s", line);
	} else if (log_dest == DX_LOG_FILE) {
		snprintf(who, sizeof(who), "dexmafs[%ld]", (long)getpid());
		write_line(log_fd, who, word[level], line);
	} else {
		write_line(STDERR_FILENO, "dexmafs", word[level], line);
	}
}
