/* dx_config: the configuration file and the precedence of settings.
 *
 * The file is INI (parsed by libinih):
 *
 *     [defaults]
 *     cache_dir = /var/cache/dexmafs
 *     time_format = iso
 *
 *     [deployment acme]
 *     token_file = acme.token        ; relative to the config file's directory
 *
 *     [deployment globex]
 *     token_credential = globex.token ; $CREDENTIALS_DIRECTORY/globex.token
 *     api_url = https://api.dexma.com/v3
 *
 * [defaults] takes any dexmafs -o option (flags as "offline = yes"); each
 * [deployment NAME] section is one deployment mounted as MOUNTPOINT/NAME.
 * Settings are options in the -o form, "name=value" or "name" for a flag;
 * the command line wins over [defaults], which wins over built-in
 * defaults (applied by the caller).
 *
 * Pure apart from dx_config_load() and dx_config_read_token(), which read
 * files. Any thread; no shared state.
 */
#ifndef DX_CONFIG_H
#define DX_CONFIG_H

#include <stddef.h>

/* A list of options, each "name=value" or "name", at most one per name. */
struct dx_optlist {
	char **v;
	size_t n;
};

/* Adds opt, replacing an option of the same name. 0 or -ENOMEM. */
int dx_optlist_set(struct dx_optlist *l, const char *opt);

/* The value of name: the text after '=', "" for a flag, NULL when absent.
 * Borrowed, valid until the list changes. */
const char *dx_optlist_get(const struct dx_optlist *l, const char *name);

void dx_optlist_release(struct dx_optlist *l);

struct dx_config_deployment {
	char *name;
	char *token_file;       /* absolute after dx_config_load(), or NULL */
	char *token_credential; /* a systemd credential name, or NULL */
	char *api_url;          /* NULL: the default api_url */
	int line;               /* of its [deployment NAME] header */
};

struct dx_config {
	struct dx_optlist defaults;
	int default_lines[64];             /* the line of each of defaults.v */
	struct dx_config_deployment *deps; /* in file order */
	size_t ndeps;
};

/* The line of [defaults] that set name, or 0. */
int dx_config_line_of(const struct dx_config *c, const char *name);

/* 1 when name is a dexmafs option that [defaults] may set. */
int dx_config_is_option(const char *name);

/* The option name (one [defaults] may set, or "config") nearest to name,
 * a likely misspelling of it (at most two edits away), or NULL. Static
 * string. */
const char *dx_config_nearest(const char *name);

/* 1 when name is a numeric option (ttl_meta, ttl_open, late_margin,
 * parallel, retries, timeout, quota_wait, reserve). */
int dx_config_is_number(const char *name);

/* The one parser of numeric option values, for the command line and the
 * config file alike: value must be plain decimal notation (whole numbers
 * for every option but reserve; no blanks, units, "nan", "inf" or hex) and
 * within the option's range. 0 with the value in out; -EINVAL with a
 * one-line reason naming the option ("timeout=5x: not a whole number") in
 * err; -ENOENT when name is not a numeric option. */
int dx_config_number(const char *name, const char *value, double *out, char *err, size_t errsize);

/* Parses text into c (zeroed first). base_dir, when not NULL, is where
 * relative token_file paths start. 0; -EINVAL with a one-line reason
 * ("line 3: unknown option 'foo' in [defaults]") in err; -ENOMEM. On
 * failure c holds nothing. */
int dx_config_parse_string(const char *text, const char *base_dir, struct dx_config *c, char *err,
			   size_t errsize);

/* Reads and parses the file at path. -ENOENT when it does not exist (err
 * says so too), else as dx_config_parse_string(). */
int dx_config_load(const char *path, struct dx_config *c, char *err, size_t errsize);

void dx_config_release(struct dx_config *c);

/* The default path: xdg_config_home/dexmafs/config when xdg_config_home is
 * set and not empty, else home/.config/dexmafs/config. -ENOENT when both
 * are unset, -ENAMETOOLONG. */
int dx_config_default_path(const char *xdg_config_home, const char *home, char *out, size_t size);

/* The log file of a daemon without syslog (no /dev/log):
 * xdg_state_home/dexmafs/dexmafs.log when xdg_state_home is set and not
 * empty, else home/.local/state/dexmafs/dexmafs.log. -ENOENT when both are
 * unset, -ENAMETOOLONG. */
int dx_config_default_log_path(const char *xdg_state_home, const char *home, char *out,
			       size_t size);

/* The effective options: every option of cmdline, plus each option of
 * c->defaults whose name cmdline does not have. out is zeroed first. c
 * may be NULL. 0 or -ENOMEM. */
int dx_config_merge(const struct dx_config *c, const struct dx_optlist *cmdline,
		    struct dx_optlist *out);

/* The token file of deployment d: token_file, or credentials_dir/NAME for
 * token_credential. -ENOENT when credentials_dir is NULL or empty (err
 * says so), -ENAMETOOLONG. */
int dx_config_token_path(const struct dx_config_deployment *d, const char *credentials_dir,
			 char *out, size_t size, char *err, size_t errsize);

/* Reads a token file: it must be a regular file (not a symbolic link),
 * owned by the effective user or root, not readable or writable by group
 * or others, and hold 20 hexadecimal characters (surrounding
 * blanks and a final newline allowed). Writes the token and a NUL into
 * out. 0 or -1 with a one-line reason in err (never the token itself). */
int dx_config_read_token(const char *path, char out[21], char *err, size_t errsize);

/* 1 when s is exactly 20 hexadecimal characters followed by a NUL. */
int dx_config_token_ok(const char *s);

#endif
