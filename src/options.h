/* The daemon's settings: -o options, the config file, the mount source,
 * the deployments to mount and their tokens. Used by main.c only; FUSE's
 * option parser does the splitting.
 *
 * Precedence: -o on the command line (and a "dexma:NAME" source for the
 * deployment), then [defaults] of the config file, then built-in
 * defaults. */
#ifndef DX_OPTIONS_H
#define DX_OPTIONS_H

#include <stddef.h>
#include <stdint.h>

#include "dx_readings.h"
#include "dx_render.h"

struct fuse_args;

/* One deployment to mount. */
struct dx_mount_dep {
	char *name; /* directory name under the mount point */
	char *api_url;
	char *token_path; /* token file; NULL means env DEXMA_TOKEN */
	int line;         /* of its [deployment NAME] in the config file; 0: not from there */
};

struct dx_options {
	char *api_url;
	char *token_file;
	char *config;
	char *cache_dir;
	char *deployment;
	char *time_format;
	char *resolutions; /* a list: see dx_lists.h */
	char *formats;     /* a list of csv, xlsx, svg */
	char *csv_dialect;
	char *cache_size;
	char *log_file; /* -o log_file=PATH, or NULL */
	int offline;
	int verbose; /* -v or -o verbose: log every API request */
	int allow_insecure_http;
	int allow_other; /* passed on to FUSE by dx_options_parse() */
	int nonempty;    /* -o nonempty: mount over a directory that holds files */
	int64_t ttl_meta, ttl_open, late_margin;
	int parallel, retries, timeout, quota_wait;
	int readahead; /* requests a walk's readahead may make ahead; 0: off; -1 (default): parallel */
	double reserve;
	int show_help, show_version;
	int deployment_given; /* the user named the deployment(s): not "default" */
	char *source;         /* the mount source (mount(8)'s first argument), or NULL */
	char *config_used;    /* the config file read, or NULL */
	struct {
		char name[32];
		int line;
	} from_config[64]; /* options [defaults] set (and the command line did not) */
	size_t nfrom_config;
	char *mountpoint; /* the last non-option argument as given, or NULL */
	/* Derived by dx_options_finish(). */
	enum dx_timefmt timefmt;
	unsigned listed_res;
	unsigned listed_formats; /* bit 1 << DX_FORMAT_* for each listed twin */
	enum dx_csv_dialect dialect;
	/* How the dialect was chosen: "csv_dialect=eu", or for auto the
	 * locale and its decimal separator. */
	char dialect_why[128];
	uint64_t cache_bytes;
	struct dx_mount_dep *deps;
	size_t ndeps;
};

/* Removes our -o options, the options mount(8) and systemd add that mean
 * nothing here (x-systemd.*, x-gvfs-*, _netdev, nofail, auto, noauto,
 * user, users, nouser, defaults, rw) and a leading mount source from args,
 * reads the config file and fills opts. 0 or -1 (message printed). */
int dx_options_parse(struct fuse_args *args, struct dx_options *opts);

/* Checks and derives values after parsing, and decides which deployments
 * to mount. 0 or -1 (message printed). */
int dx_options_finish(struct dx_options *opts);

void dx_options_release(struct dx_options *opts);

/* Reads the token of deployment i: from its token file (which must not be
 * readable by group or others), else env DEXMA_TOKEN. Writes it into out
 * (21 bytes) and checks it is 20 hex characters. 0 or -1 (one-line reason
 * in err). */
int dx_options_token(const struct dx_options *opts, size_t i, char out[21], char *err,
		     size_t errsize);

/* Where deployment i's token came from, for messages: "the token in
 * DEXMA_TOKEN", "the token of PATH (token_file)", "... ([deployment NAME],
 * config PATH, line N)". */
void dx_options_token_source(const struct dx_options *opts, size_t i, char *out, size_t size);

/* The file system name shown by mount(8) and df: the source, else
 * "dexma:NAME[+NAME...]". Writes into out. */
void dx_options_fsname(const struct dx_options *opts, char *out, size_t size);

/* Where the daemon logs (into out; path is the buffer out->path may
 * point to): -o log_file when given, else stderr in the foreground, else
 * syslog, else (no /dev/log) $XDG_STATE_HOME/dexmafs/dexmafs.log or
 * ~/.local/state/dexmafs/dexmafs.log. 0 or -1 (message printed). */
struct dx_log_opts;
int dx_options_log(const struct dx_options *opts, int foreground, int debug,
		   struct dx_log_opts *out, char *path, size_t size);

void dx_options_help(void);

/* Checks the mount point before any API call or token read (mountpoint.c):
 * it must exist and be a directory, not be a dead FUSE mount (ENOTCONN,
 * left by a killed daemon: the message says to run fusermount3 -uz), not
 * already carry a dexmafs, and be empty unless nonempty is set. 0 or -1
 * with a one-line reason in err. */
int dx_mountpoint_check(const char *path, int nonempty, char *err, size_t errsize);

#endif
