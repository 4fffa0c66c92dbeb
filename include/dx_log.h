/* dx_log: one line per event, to stderr in the foreground (each line
 * starting with the local time, "2026-12-01T18:30:05.123+0100 dexmafs:
 * warning: ...") and to syslog when daemonised. Nothing passed here may contain the token.
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
	DX_LOG_DEBUG,
};

/* to_syslog: 0 for stderr. debug: 1 to emit DX_LOG_DEBUG lines. */
void dx_log_setup(int to_syslog, int debug);

/* While muted, nothing is logged: main prints startup failures itself, as
 * one line, and mutes the client's own report of them. */
void dx_log_mute(int mute);

void dx_log(enum dx_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
