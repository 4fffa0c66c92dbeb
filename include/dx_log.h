/* dx_log: one line per event, each starting with the local time
 * ("2026-12-01T18:30:05.123+0100 dexmafs: warning: ..."): to stderr in the
 * foreground, to syslog or to a file (appended, created 0600, the process
 * id in each line) when daemonised. Nothing passed here may contain the
 * token.
 *
 * The destination is process-wide state, set once in main before any
 * thread starts: logging is the one place where a global is clearer than
 * threading a handle through every module.
 */
#ifndef DX_LOG_H
#define DX_LOG_H

enum dx_log_level {
	DX_LOG_ERR,
	DX_LOG_WARN,
	DX_LOG_INFO,
	DX_LOG_API,   /* one line per API request: with -v (verbose) or -d */
	DX_LOG_DEBUG, /* internals: with -d only */
};

enum dx_log_dest {
	DX_LOG_STDERR,
	DX_LOG_SYSLOG,
	DX_LOG_FILE,
};

struct dx_log_opts {
	enum dx_log_dest dest;
	const char *path; /* DX_LOG_FILE: the file, absolute (the daemon chdirs to /) */
	int verbose;      /* emit DX_LOG_API lines */
	int debug;        /* emit DX_LOG_API and DX_LOG_DEBUG lines */
	int tee_stderr;   /* errors and warnings also to stderr until dx_log_detached() */
};

/* Sets where lines go. For DX_LOG_FILE, opens the file for appending
 * (created with mode 0600): 0 or -errno (lines then go to stderr). */
int dx_log_open(const struct dx_log_opts *opts);

/* The process has left the terminal: stop copying lines to stderr. */
void dx_log_detached(void);

/* Closes a log file or syslog; later lines go to stderr. */
void dx_log_close(void);

/* While muted, errors, warnings and notes are not logged (API and debug
 * lines still are): main prints startup failures itself, as one line, and
 * mutes the client's own report of them. */
void dx_log_mute(int mute);

void dx_log(enum dx_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
