/* Command-line settings of the daemon; see options.h. */
#include <ctype.h>
#include <inttypes.h>
#include <errno.h>
#include <fcntl.h>
#include <langinfo.h>
#include <locale.h>
#include <pwd.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>

#include "dx_config.h"
#include "dx_lists.h"
#include "dx_log.h"
#include "options.h"

#define OPT(t, p)                                                                                  \
	{                                                                                          \
		t, offsetof(struct dx_options, p), 1                                               \
	}

static const struct fuse_opt option_spec[] = { OPT("api_url=%s", api_url),
					       OPT("token_file=%s", token_file),
					       OPT("config=%s", config),
					       OPT("cache_dir=%s", cache_dir),
					       OPT("deployment=%s", deployment),
					       OPT("time_format=%s", time_format),
					       OPT("resolutions=%s", resolutions),
					       OPT("formats=%s", formats),
					       OPT("csv_dialect=%s", csv_dialect),
					       OPT("cache_size=%s", cache_size),
					       OPT("offline", offline),
					       OPT("allow_insecure_http", allow_insecure_http),
					       OPT("allow_other", allow_other),
					       OPT("nonempty", nonempty),
					       OPT("xattr", xattr),
					       OPT("log_file=%s", log_file),
					       OPT("keep=%s", keep),
					       OPT("verbose", verbose),
					       OPT("-h", show_help),
					       OPT("--help", show_help),
					       OPT("-V", show_version),
					       OPT("--version", show_version),
					       FUSE_OPT_END };

/* The usage lines and the options up to formats=, from the table of
 * formats. */
static void help_first(void)
{
	char all[256], listed[256];

	printf("usage: dexmafs [options] [dexma:DEPLOYMENT] MOUNTPOINT\n"
	       "       dexmafs prefetch [--since DATE] [--until DATE] [--budget N] [--jobs N] "
	       "PATH...\n"
	       "       dexmafs plan [--json] PATH...\n"
	       "       dexmafs token --app-id ID --secret-file FILE --temp-token T [--api-url "
	       "URL] [--output FILE]\n\n"
	       "dexmafs options (-o NAME=VALUE; also in [defaults] of the config file):\n"
	       "    config=PATH            config file ($XDG_CONFIG_HOME/dexmafs/config)\n"
	       "    api_url=URL            API base (https://api.dexma.com/v3)\n"
	       "    token_file=PATH        file with the 20-hex token (else env DEXMA_TOKEN,\n"
	       "                           else the config file's [deployment NAME] sections)\n"
	       "    deployment=NAME        the deployment's directory name in the mount\n"
	       "                           (\"default\" when not given); with a config file,\n"
	       "                           the one [deployment NAME] to mount\n"
	       "    cache_dir=PATH         cache ($XDG_CACHE_HOME/dexmafs)\n"
	       "    offline                never call the API; serve what is cached\n"
	       "    xattr                  period files answer getxattr user.dexmafs.fetched\n"
	       "                           (off: ls -l then costs no xattr round trips)\n"
	       "    time_format=F          local_utc (default), local, utc, iso, epoch\n"
	       "    resolutions=LIST       listed resolutions, '+' between items\n"
	       "                           (15min+hourly+daily+monthly)\n");
	dx_formats_names(dx_formats_with(0), " ", all, sizeof(all));
	dx_formats_names(dx_formats_with(DX_FORMAT_LISTED), "+", listed, sizeof(listed));
	printf("    formats=LIST           listed twins of readings files, of: %s\n"
	       "                           (%s)\n",
	       all, listed);
}

/* The options after formats=. */
static void help_rest(void)
{
	printf("    csv_dialect=D          auto (default: eu when the locale has a decimal "
	       "comma),\n"
	       "                           standard (',', decimal point) or eu (';', decimal\n"
	       "                           comma, BOM)\n"
	       "    cache_size=N[KMG]      cache size cap (1G)\n"
	       "    ttl_meta=S             seconds listings stay fresh (86400)\n"
	       "    ttl_open=S             seconds open periods stay fresh (900)\n"
	       "    late_margin=S          seconds a period may still change after its end "
	       "(172800)\n"
	       "    parallel=N             API requests in flight (4)\n"
	       "    readahead=N            requests made ahead of a walk (parallel; 0: off)\n"
	       "    keep=PATH[+PATH...]    subtrees kept fresh in the background\n"
	       "    keep_share=F           share of each hour's quota above the reserve keep may "
	       "spend (0.5)\n"
	       "    keep_interval=S        seconds between keep's passes (a tenth of ttl_open)\n"
	       "    retries=N              retries of a failed request (3)\n"
	       "    timeout=S              longest a file system call waits for the API (20)\n"
	       "    quota_wait=S           longest a call waits for quota before EAGAIN (3)\n"
	       "    reserve=F              share of the hourly quota kept for interactive use "
	       "(0.2)\n"
	       "    log_file=PATH          append the log to PATH (default: stderr with -f,\n"
	       "                           else syslog, else\n"
	       "                           $XDG_STATE_HOME/dexmafs/dexmafs.log)\n"
	       "    verbose                log every API request, as -v does\n"
	       "    allow_insecure_http    allow http:// to hosts other than loopback\n"
	       "    allow_other            let other users (smbd, nfsd) read the mount (unless "
	       "root,\n"
	       "                           needs user_allow_other in /etc/fuse.conf)\n"
	       "    nonempty               mount over a directory that is not empty\n\n");
}

/* The general options and FUSE's. */
static void help_general(void)
{
	printf("general options:\n"
	       "    -h   --help            print this help\n"
	       "    -V   --version         print the version\n"
	       "    -f                     stay in the foreground, log to stderr\n"
	       "    -v   --verbose         log every API request: path, status, time\n"
	       "    -d   -o debug          -v, internals and FUSE's request trace (implies -f)\n"
	       "    -s                     one thread\n\n"
	       "FUSE options passed on (see mount.fuse3(8)): allow_root, auto_unmount,\n"
	       "default_permissions (always on), max_threads=N (16), max_idle_threads=N,\n"
	       "clone_fd, noatime and the other mount flags.\n");
}

void dx_options_help(void)
{
	help_first();
	help_rest();
	help_general();
}

/* $HOME, else the password database: mount(8) runs helpers without HOME. */
static const char *home_dir(void)
{
	const char *home = getenv("HOME");
	struct passwd *pw;

	if (home && *home)
		return home;
	pw = getpwuid(getuid());
	return pw && pw->pw_dir && *pw->pw_dir ? pw->pw_dir : NULL;
}

/* Options the first pass takes out of the command line, by name; their
 * values are parsed after merging with the config file. */
enum { KEY_OURS, KEY_HELP, KEY_VERSION, KEY_VERBOSE };

static const struct fuse_opt collect_spec[] = {
	FUSE_OPT_KEY("api_url=", KEY_OURS),     FUSE_OPT_KEY("token_file=", KEY_OURS),
	FUSE_OPT_KEY("config=", KEY_OURS),      FUSE_OPT_KEY("cache_dir=", KEY_OURS),
	FUSE_OPT_KEY("deployment=", KEY_OURS),  FUSE_OPT_KEY("time_format=", KEY_OURS),
	FUSE_OPT_KEY("resolutions=", KEY_OURS), FUSE_OPT_KEY("cache_size=", KEY_OURS),
	FUSE_OPT_KEY("formats=", KEY_OURS),     FUSE_OPT_KEY("csv_dialect=", KEY_OURS),
	FUSE_OPT_KEY("offline", KEY_OURS),      FUSE_OPT_KEY("allow_insecure_http", KEY_OURS),
	FUSE_OPT_KEY("allow_other", KEY_OURS),  FUSE_OPT_KEY("nonempty", KEY_OURS),
	FUSE_OPT_KEY("xattr", KEY_OURS),        FUSE_OPT_KEY("ttl_meta=", KEY_OURS),
	FUSE_OPT_KEY("ttl_open=", KEY_OURS),    FUSE_OPT_KEY("late_margin=", KEY_OURS),
	FUSE_OPT_KEY("parallel=", KEY_OURS),    FUSE_OPT_KEY("readahead=", KEY_OURS),
	FUSE_OPT_KEY("retries=", KEY_OURS),     FUSE_OPT_KEY("timeout=", KEY_OURS),
	FUSE_OPT_KEY("quota_wait=", KEY_OURS),  FUSE_OPT_KEY("reserve=", KEY_OURS),
	FUSE_OPT_KEY("log_file=", KEY_OURS),    FUSE_OPT_KEY("verbose", KEY_OURS),
	FUSE_OPT_KEY("-v", KEY_VERBOSE),        FUSE_OPT_KEY("keep=", KEY_OURS),
	FUSE_OPT_KEY("keep_share=", KEY_OURS),  FUSE_OPT_KEY("keep_interval=", KEY_OURS),
	FUSE_OPT_KEY("--verbose", KEY_VERBOSE), FUSE_OPT_KEY("-h", KEY_HELP),
	FUSE_OPT_KEY("--help", KEY_HELP),       FUSE_OPT_KEY("-V", KEY_VERSION),
	FUSE_OPT_KEY("--version", KEY_VERSION), FUSE_OPT_END
};

struct collect {
	struct dx_optlist cmd;
	int help, version, nonopts, failed;
	char *first; /* the first non-option argument */
	char *last;  /* the last one: the mount point */
};

/* Options fstab, mount(8) and systemd pass that only mean something to
 * them. "rw" is dropped because the mount is always read-only. */
static int ignored(const char *opt)
{
	static const char *const names[] = { "_netdev", "nofail", "auto",   "noauto",
					     "user",    "users",  "nouser", "defaults",
					     "rw",      "owner",  "group",  NULL };
	size_t i;

	if (!strncmp(opt, "x-", 2) || !strncmp(opt, "comment=", 8))
		return 1; /* x-systemd.*, x-gvfs-*, x-mount.* and friends */
	for (i = 0; names[i]; i++)
		if (!strcmp(opt, names[i]))
			return 1;
	return 0;
}

/* The -o options libfuse 3 takes itself (mount, session and command
 * line options), by name: they pass through; any other name is a typo. */
static int fuse_option(const char *opt)
{
	static const char *const names[] = { "allow_root",
					     "auto_unmount",
					     "blkdev",
					     "blksize",
					     "default_permissions",
					     "context",
					     "fscontext",
					     "defcontext",
					     "rootcontext",
					     "max_read",
					     "fsname",
					     "subtype",
					     "ro",
					     "suid",
					     "nosuid",
					     "dev",
					     "nodev",
					     "exec",
					     "noexec",
					     "async",
					     "sync",
					     "atime",
					     "noatime",
					     "diratime",
					     "nodiratime",
					     "lazytime",
					     "nolazytime",
					     "relatime",
					     "norelatime",
					     "strictatime",
					     "nostrictatime",
					     "dirsync",
					     "debug",
					     "clone_fd",
					     "max_idle_threads",
					     "max_threads",
					     "large_read",
					     "fd",
					     "rootmode",
					     "user_id",
					     "group_id",
					     "kernel_cache",
					     "umask",
					     "uid",
					     "gid",
					     NULL };
	size_t len = strcspn(opt, "=");

	for (size_t i = 0; names[i]; i++)
		if (strlen(names[i]) == len && !strncmp(opt, names[i], len))
			return 1;
	return 0;
}

/* An -o option nobody takes: say so, with the nearest name we know. */
static int unknown_option(const char *opt)
{
	char name[64];
	const char *near;

	if (opt[0] == '-' || fuse_option(opt))
		return 0;
	snprintf(name, sizeof(name), "%.*s", (int)strcspn(opt, "="), opt);
	near = dx_config_nearest(name);
	if (near)
		fprintf(stderr,
			"dexmafs: unknown option '%s' (did you mean '%s'?); dexmafs -h lists "
			"them\n",
			name, near);
	else
		fprintf(stderr, "dexmafs: unknown option '%s'; dexmafs -h lists them\n", name);
	return 1;
}

/* A list of formats to show in a message: the first and the last of the
 * table ("csv+svg"). */
static void format_example(char *out, size_t size)
{
	dx_formats_names(1u | 1u << (DX_FORMAT_COUNT - 1), "+", out, size);
}

/* "-o resolutions=raw,hourly" reaches us split at the comma: a bare
 * resolution or format name is the tail of such a list, so say how to
 * write it rather than let libfuse call it an unknown option. */
static int list_item(const char *opt)
{
	enum dx_res r;
	enum dx_format f;
	char example[128];

	if (dx_res_from_name(opt, &r) && dx_format_from_name(opt, &f))
		return 0;
	format_example(example, sizeof(example));
	fprintf(stderr,
		"dexmafs: -o %s: separate list items with '+' "
		"(resolutions=raw+hourly, formats=%s)\n",
		opt, example);
	return 1;
}

static int collect_one(void *data, const char *arg, int key, struct fuse_args *outargs)
{
	struct collect *c = data;

	(void)outargs;
	switch (key) {
	case KEY_OURS:
		if (dx_optlist_set(&c->cmd, arg))
			c->failed = 1;
		return 0;
	case KEY_HELP:
		c->help = 1;
		return 1; /* libfuse prints its part too */
	case KEY_VERSION:
		c->version = 1;
		return 1;
	case KEY_VERBOSE:
		if (dx_optlist_set(&c->cmd, "verbose"))
			c->failed = 1;
		return 0;
	case FUSE_OPT_KEY_OPT:
		if (ignored(arg))
			return 0;
		if (list_item(arg) || unknown_option(arg)) {
			c->failed = 1;
			return 0;
		}
		return 1;
	case FUSE_OPT_KEY_NONOPT:
		if (++c->nonopts == 1 && !(c->first = strdup(arg)))
			c->failed = 1;
		free(c->last);
		if (!(c->last = strdup(arg)))
			c->failed = 1;
		return 1;
	default:
		return 1;
	}
}

/* mount.fuse3 runs "dexmafs SOURCE MOUNTPOINT -o ...": take the source out
 * so libfuse sees one mount point. */
static int take_source(struct fuse_args *args, const char *source)
{
	int i;

	for (i = 1; i < args->argc; i++) {
		if (strcmp(args->argv[i], source))
			continue;
		free(args->argv[i]);
		memmove(&args->argv[i], &args->argv[i + 1],
			(size_t)(args->argc - i) * sizeof(*args->argv));
		args->argc--;
		return 0;
	}
	return -1;
}

static int load_config(const struct dx_optlist *cmd, struct dx_config *cfg, char **used)
{
	const char *path = dx_optlist_get(cmd, "config");
	char def[4096], err[1024];
	int rc;

	if (!path) {
		if (dx_config_default_path(getenv("XDG_CONFIG_HOME"), home_dir(), def, sizeof(def)))
			return 0;
		path = def;
	}
	rc = dx_config_load(path, cfg, err, sizeof(err));
	/* Only a config file asked for by name must exist. */
	if (rc == -ENOENT && path == def)
		return 0;
	if (rc) {
		fprintf(stderr, "dexmafs: %s\n", err);
		return -1;
	}
	*used = strdup(path);
	return *used ? 0 : -1;
}

/* The numeric options: fuse_opt's sscanf would take "5x" and wrap
 * 99999999999, so they are parsed by dx_config_number() instead. */
enum num_type { NUM_INT, NUM_I64, NUM_DOUBLE };

static const struct {
	const char *name;
	size_t offset;
	enum num_type type;
} number_fields[] = {
	{ "ttl_meta", offsetof(struct dx_options, ttl_meta), NUM_I64 },
	{ "ttl_open", offsetof(struct dx_options, ttl_open), NUM_I64 },
	{ "late_margin", offsetof(struct dx_options, late_margin), NUM_I64 },
	{ "parallel", offsetof(struct dx_options, parallel), NUM_INT },
	{ "readahead", offsetof(struct dx_options, readahead), NUM_INT },
	{ "retries", offsetof(struct dx_options, retries), NUM_INT },
	{ "timeout", offsetof(struct dx_options, timeout), NUM_INT },
	{ "quota_wait", offsetof(struct dx_options, quota_wait), NUM_INT },
	{ "reserve", offsetof(struct dx_options, reserve), NUM_DOUBLE },
	{ "keep_share", offsetof(struct dx_options, keep_share), NUM_DOUBLE },
	{ "keep_interval", offsetof(struct dx_options, keep_interval), NUM_I64 },
};

static int parse_numbers(const struct dx_optlist *eff, struct dx_options *o)
{
	char err[256];
	double v;

	for (size_t i = 0; i < sizeof(number_fields) / sizeof(number_fields[0]); i++) {
		const char *text = dx_optlist_get(eff, number_fields[i].name);
		char *field = (char *)o + number_fields[i].offset;

		if (!text)
			continue;
		if (dx_config_number(number_fields[i].name, text, &v, err, sizeof(err))) {
			fprintf(stderr, "dexmafs: bad option %s\n", err);
			return -1;
		}
		if (number_fields[i].type == NUM_INT)
			*(int *)(void *)field = (int)v;
		else if (number_fields[i].type == NUM_I64)
			*(int64_t *)(void *)field = (int64_t)v;
		else
			*(double *)(void *)field = v;
	}
	return 0;
}

/* Parses the effective options into o with fuse_opt, so values are read
 * exactly as on the command line; numbers go through parse_numbers(). */
static int parse_effective(const struct dx_optlist *eff, struct dx_options *o)
{
	struct fuse_args tmp = FUSE_ARGS_INIT(0, NULL);
	char *joined = NULL;
	size_t i;
	int rc = -1;

	if (fuse_opt_add_arg(&tmp, "dexmafs"))
		goto out;
	for (i = 0; i < eff->n; i++) {
		char name[32];

		snprintf(name, sizeof(name), "%.*s", (int)strcspn(eff->v[i], "="), eff->v[i]);
		if (dx_config_is_number(name))
			continue;
		if (fuse_opt_add_opt_escaped(&joined, eff->v[i]))
			goto out;
	}
	if (joined && (fuse_opt_add_arg(&tmp, "-o") || fuse_opt_add_arg(&tmp, joined)))
		goto out;
	rc = fuse_opt_parse(&tmp, o, option_spec, NULL);
	if (!rc)
		rc = parse_numbers(eff, o);
out:
	free(joined);
	fuse_opt_free_args(&tmp);
	return rc;
}

static int add_dep(struct dx_options *o, const char *name, const char *api_url,
		   const char *token_path)
{
	struct dx_mount_dep *grown = realloc(o->deps, (o->ndeps + 1) * sizeof(*o->deps)), *d;

	if (!grown)
		return -1;
	o->deps = grown;
	d = &o->deps[o->ndeps];
	d->name = strdup(name);
	d->line = 0;
	d->keep = NULL;
	d->api_url = api_url ? strdup(api_url) : NULL;
	d->token_path = token_path ? strdup(token_path) : NULL;
	o->ndeps++;
	if (!d->name || (api_url && !d->api_url) || (token_path && !d->token_path))
		return -1;
	return 0;
}

static int no_such_deployment(const char *want, const struct dx_config *cfg, const char *path)
{
	char names[2048] = "";
	size_t len;

	for (size_t i = 0; i < cfg->ndeps; i++) {
		len = strlen(names);
		snprintf(names + len, sizeof(names) - len, "%s%s", i ? ", " : "",
			 cfg->deps[i].name);
	}
	fprintf(stderr,
		"dexmafs: cannot mount: no [deployment %s] in %s; it has: %s (-o deployment=NAME "
		"picks one, or leave it out to mount them all)\n",
		want, path, names);
	return -1;
}

/* With deployments in the config file and no token given otherwise (-o
 * token_file, DEXMA_TOKEN), the config's deployments are mounted: all of
 * them, or the one -o deployment (or a dexma:NAME source) names. */
static int choose_deployments(struct dx_options *o, const struct dx_optlist *cmd,
			      const struct dx_config *cfg)
{
	const char *env = getenv("DEXMA_TOKEN"), *want = dx_optlist_get(cmd, "deployment");
	char path[4096], err[1024];
	size_t i;

	if (!cfg || !cfg->ndeps || dx_optlist_get(cmd, "token_file") || (env && *env))
		return 0;
	for (i = 0; i < cfg->ndeps; i++) {
		const struct dx_config_deployment *d = &cfg->deps[i];

		if (want && strcmp(want, d->name))
			continue;
		if (!o->offline && dx_config_token_path(d, getenv("CREDENTIALS_DIRECTORY"), path,
							sizeof(path), err, sizeof(err))) {
			fprintf(stderr, "dexmafs: cannot mount: %s\n", err);
			return -1;
		}
		if (add_dep(o, d->name, d->api_url, o->offline ? NULL : path)) {
			fprintf(stderr, "dexmafs: out of memory\n");
			return -1;
		}
		o->deps[o->ndeps - 1].line = d->line;
		if (d->keep && !(o->deps[o->ndeps - 1].keep = strdup(d->keep))) {
			fprintf(stderr, "dexmafs: out of memory\n");
			return -1;
		}
	}
	if (!o->ndeps)
		return no_such_deployment(want, cfg, o->config_used);
	return 0;
}

/* Which options came from the config file's [defaults], and from which
 * line, so a bad value is reported where it was written. */
static void note_origins(struct dx_options *o, const struct dx_optlist *cmd,
			 const struct dx_config *cfg)
{
	for (size_t i = 0; cfg && i < cfg->defaults.n && o->nfrom_config < 64; i++) {
		char name[32];

		snprintf(name, sizeof(name), "%.*s", (int)strcspn(cfg->defaults.v[i], "="),
			 cfg->defaults.v[i]);
		if (dx_optlist_get(cmd, name))
			continue;
		snprintf(o->from_config[o->nfrom_config].name, sizeof(name), "%s", name);
		o->from_config[o->nfrom_config++].line = dx_config_line_of(cfg, name);
	}
}

/* " (config PATH, line N)" when name came from the config file, else "". */
static const char *origin(const struct dx_options *o, const char *name, char *buf, size_t size)
{
	buf[0] = '\0';
	for (size_t i = 0; i < o->nfrom_config; i++)
		if (!strcmp(o->from_config[i].name, name))
			snprintf(buf, size, " (config %s, line %d)", o->config_used,
				 o->from_config[i].line);
	return buf;
}

int dx_options_parse(struct fuse_args *args, struct dx_options *o)
{
	struct collect c = { 0 };
	struct dx_config cfg = { 0 };
	struct dx_optlist eff = { 0 };
	char opt[512];
	int rc = -1;

	memset(o, 0, sizeof(*o));
	o->ttl_meta = 86400;
	o->ttl_open = 900;
	o->late_margin = 2 * 86400;
	o->parallel = 4;
	o->readahead = -1;
	o->retries = 3;
	o->timeout = 20;
	o->quota_wait = 3;
	o->reserve = 0.2;
	o->keep_share = 0.5;
	o->keep_interval = -1;
	if (fuse_opt_parse(args, &c, collect_spec, collect_one) == -1 || c.failed)
		goto out;
	o->show_help = c.help;
	o->show_version = c.version;
	o->mountpoint = c.last;
	c.last = NULL;
	if (c.nonopts == 2) {
		o->source = c.first;
		c.first = NULL;
		if (take_source(args, o->source))
			goto out;
		/* dexma:NAME names the deployment unless -o deployment does. */
		if (!strncmp(o->source, "dexma:", 6) && o->source[6] &&
		    !dx_optlist_get(&c.cmd, "deployment")) {
			snprintf(opt, sizeof(opt), "deployment=%s", o->source + 6);
			if (dx_optlist_set(&c.cmd, opt))
				goto out;
		}
	}
	if (o->show_help || o->show_version) {
		rc = 0;
		goto out;
	}
	if (load_config(&c.cmd, &cfg, &o->config_used) ||
	    dx_config_merge(o->config_used ? &cfg : NULL, &c.cmd, &eff) || parse_effective(&eff, o))
		goto out;
	note_origins(o, &c.cmd, o->config_used ? &cfg : NULL);
	/* From the command line or [defaults]: FUSE does the rest (the daemon
	 * always adds default_permissions, so modes still apply). */
	if (o->allow_other && fuse_opt_add_arg(args, "-oallow_other"))
		goto out;
	rc = choose_deployments(o, &c.cmd, o->config_used ? &cfg : NULL);
out:
	dx_optlist_release(&eff);
	dx_config_release(&cfg);
	dx_optlist_release(&c.cmd);
	free(c.first);
	free(c.last); /* the mount point, when parsing failed before taking it */
	return rc;
}

static int set_default(char **field, const char *value)
{
	if (*field)
		return 0;
	*field = strdup(value);
	return *field ? 0 : -1;
}

/* The formats of the table's rows marked DX_FORMAT_LISTED ("csv+xlsx+svg"). */
static int default_formats(struct dx_options *o)
{
	char listed[256];

	dx_formats_names(dx_formats_with(DX_FORMAT_LISTED), "+", listed, sizeof(listed));
	return set_default(&o->formats, listed);
}

static int default_cache_dir(struct dx_options *o)
{
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = home_dir();
	char path[4096];

	if (o->cache_dir)
		return 0;
	if (xdg && *xdg)
		snprintf(path, sizeof(path), "%s/dexmafs", xdg);
	else if (home && *home)
		snprintf(path, sizeof(path), "%s/.cache/dexmafs", home);
	else
		return fprintf(stderr, "dexmafs: no cache directory: set -o cache_dir, "
				       "XDG_CACHE_HOME or HOME\n"),
		       -1;
	return set_default(&o->cache_dir, path);
}

static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -1;
	switch (toupper((unsigned char)*end)) {
	case 'K':
		v <<= 10;
		end++;
		break;
	case 'M':
		v <<= 20;
		end++;
		break;
	case 'G':
		v <<= 30;
		end++;
		break;
	default:
		break;
	}
	if (*end == 'B' || *end == 'b')
		end++;
	if (*end || v < (1u << 20))
		return -1;
	*out = v;
	return 0;
}

/* A '+'-separated list (see dx_lists.h) of resolution names. */
static int parse_resolutions(const char *list, unsigned *mask, const char *where)
{
	const char *names[DX_RES_COUNT];
	char bad[64];

	for (int r = 0; r < DX_RES_COUNT; r++)
		names[r] = dx_res_name((enum dx_res)r);
	if (!dx_list_mask(list, names, DX_RES_COUNT, mask, bad, sizeof(bad)))
		return 0;
	fprintf(stderr,
		"dexmafs: unknown resolution '%s' in resolutions%s (a list such as "
		"raw+hourly of: raw 5min 10min 15min 30min hourly daily weekly monthly)\n",
		bad, where);
	return -1;
}

static int parse_formats(const char *list, unsigned *mask, const char *where)
{
	const char *names[DX_FORMAT_COUNT];
	char bad[64], example[128], all[256];

	for (int f = 0; f < DX_FORMAT_COUNT; f++)
		names[f] = dx_format_name((enum dx_format)f);
	if (!dx_list_mask(list, names, DX_FORMAT_COUNT, mask, bad, sizeof(bad)))
		return 0;
	format_example(example, sizeof(example));
	dx_formats_names(dx_formats_with(0), " ", all, sizeof(all));
	fprintf(stderr, "dexmafs: unknown format '%s' in formats%s (a list such as %s of: %s)\n",
		bad, where, example, all);
	return -1;
}

/* The locale LC_NUMERIC takes from the environment, as setlocale(3)
 * chooses it: LC_ALL, else LC_NUMERIC, else LANG, else "C". */
static const char *numeric_locale_name(void)
{
	static const char *const vars[] = { "LC_ALL", "LC_NUMERIC", "LANG" };

	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
		const char *v = getenv(vars[i]);

		if (v && *v)
			return v;
	}
	return "C";
}

/* csv_dialect=auto: eu when the mounting user's locale writes numbers
 * with a decimal comma, else standard. The locale is looked at without
 * changing the process's own (which stays "C" for every number written).
 * o->dialect_why says which and why, for the log and the status files. */
static void dialect_of_locale(struct dx_options *o)
{
	const char *name = numeric_locale_name();
	locale_t loc = newlocale(LC_NUMERIC_MASK, "", (locale_t)0);
	const char *point = loc != (locale_t)0 ? nl_langinfo_l(RADIXCHAR, loc) : NULL;

	o->dialect = point && !strcmp(point, ",") ? DX_CSV_EU : DX_CSV_STANDARD;
	if (!point)
		snprintf(o->dialect_why, sizeof(o->dialect_why),
			 "csv_dialect=auto: locale %.64s is not installed", name);
	else
		snprintf(o->dialect_why, sizeof(o->dialect_why),
			 "csv_dialect=auto: locale %.64s has a decimal %s", name,
			 o->dialect == DX_CSV_EU ? "comma" : "point");
	if (loc != (locale_t)0)
		freelocale(loc);
}

/* where: room for the message's "(config PATH, line N)". */
static int parse_dialect(struct dx_options *o, char *where, size_t size)
{
	if (!strcmp(o->csv_dialect, "auto")) {
		dialect_of_locale(o);
		return 0;
	}
	if (dx_csv_dialect_from_name(o->csv_dialect, &o->dialect)) {
		fprintf(stderr, "dexmafs: unknown csv_dialect '%s'%s (auto, standard, eu)\n",
			o->csv_dialect, origin(o, "csv_dialect", where, size));
		return -1;
	}
	snprintf(o->dialect_why, sizeof(o->dialect_why), "csv_dialect=%s", o->csv_dialect);
	return 0;
}

static int parse_views(struct dx_options *o)
{
	char where[2][4200];

	if (parse_resolutions(o->resolutions, &o->listed_res,
			      origin(o, "resolutions", where[0], sizeof(where[0]))) ||
	    parse_formats(o->formats, &o->listed_formats,
			  origin(o, "formats", where[1], sizeof(where[1]))))
		return -1;
	return parse_dialect(o, where[0], sizeof(where[0]));
}

static int valid_dep_name(const char *s)
{
	return s[0] && s[0] != '.' && !strpbrk(s, "/,\\") && strlen(s) < 200;
}

/* The daemon leaves for / when it detaches: a relative path given on the
 * command line is made absolute against the current directory. */
static int make_absolute(char **field)
{
	char cwd[4096], *joined;
	size_t need;

	if (!*field || (*field)[0] == '/')
		return 0;
	if (!getcwd(cwd, sizeof(cwd)))
		return fprintf(stderr, "dexmafs: cannot resolve %s: %s\n", *field, strerror(errno)),
		       -1;
	need = strlen(cwd) + strlen(*field) + 2;
	joined = malloc(need);
	if (!joined)
		return -1;
	snprintf(joined, need, "%s/%s", cwd, *field);
	free(*field);
	*field = joined;
	return 0;
}

int dx_options_log(const struct dx_options *o, int foreground, int debug, struct dx_log_opts *out,
		   char *path, size_t size)
{
	const char *state = getenv("XDG_STATE_HOME");

	memset(out, 0, sizeof(*out));
	out->verbose = o->verbose;
	out->debug = debug;
	out->tee_stderr = !foreground;
	out->dest = DX_LOG_FILE;
	out->path = path;
	if (o->log_file)
		return snprintf(path, size, "%s", o->log_file), 0;
	if (foreground || !access("/dev/log", F_OK)) {
		out->dest = foreground ? DX_LOG_STDERR : DX_LOG_SYSLOG;
		out->path = NULL;
		return 0;
	}
	if (dx_config_default_log_path(state, home_dir(), path, size)) {
		fprintf(stderr, "dexmafs: warning: no syslog (/dev/log) and no place for a log; "
				"once detached the log is lost (set -o log_file=PATH)\n");
		out->dest = DX_LOG_STDERR;
		out->path = NULL;
	}
	return 0;
}

/* Adds the kept path text (copied) of deployment dep. 0 or -1. */
static int keep_add(struct dx_options *o, int dep, const char *text, size_t len)
{
	char **t = realloc(o->keep_text, (o->nkeep_text + 1) * sizeof(*t));
	struct dx_keep_path *p;

	if (t)
		o->keep_text = t;
	p = t ? realloc(o->keep_paths, (o->nkeep + 1) * sizeof(*p)) : NULL;
	if (p)
		o->keep_paths = p;
	if (!p || !(t[o->nkeep_text] = strndup(text, len)))
		return -1;
	p[o->nkeep].dep = dep;
	p[o->nkeep++].path = t[o->nkeep_text++];
	return 0;
}

/* The deployment a path of -o keep starts with, when several are mounted
 * (its length in *skip); with one, the path is relative to it. */
static int keep_dep(const struct dx_options *o, const char *path, size_t len, size_t *skip)
{
	size_t i, n;

	*skip = 0;
	if (o->ndeps == 1)
		return 0;
	for (i = 0; i < o->ndeps; i++) {
		n = strlen(o->deps[i].name);
		if (n <= len && !strncmp(path, o->deps[i].name, n) &&
		    (n == len || path[n] == '/')) {
			*skip = n < len ? n + 1 : n;
			return (int)i;
		}
	}
	return -1;
}

/* Splits one keep list (PATH[+PATH...]) of deployment dep, or of -o keep
 * when dep is -1. 0 or -1 (message printed). */
static int keep_split(struct dx_options *o, const char *list, int dep)
{
	const char *p = list;
	size_t len, skip;
	int d;

	while (*p) {
		len = strcspn(p, "+");
		d = dep >= 0 ? dep : keep_dep(o, p, len, &skip);
		if (dep >= 0)
			skip = 0;
		if (d < 0) {
			fprintf(stderr,
				"dexmafs: keep=%.*s: with several deployments, a kept path starts "
				"with the deployment's name (keep=NAME/devices)\n",
				(int)len, p);
			return -1;
		}
		if (len && keep_add(o, d, p + skip, len - skip)) {
			fprintf(stderr, "dexmafs: out of memory\n");
			return -1;
		}
		p += len + (p[len] == '+');
	}
	return 0;
}

static int parse_keep(struct dx_options *o)
{
	size_t i;

	for (i = 0; i < o->ndeps; i++)
		if (o->deps[i].keep && keep_split(o, o->deps[i].keep, (int)i))
			return -1;
	return o->keep ? keep_split(o, o->keep, -1) : 0;
}

int dx_options_finish(struct dx_options *o)
{
	char where[4200];
	size_t i;

	o->deployment_given = o->deployment != NULL || o->ndeps > 0;
	if (make_absolute(&o->log_file) || make_absolute(&o->cache_dir))
		return -1;

	if (set_default(&o->api_url, "https://api.dexma.com/v3") ||
	    set_default(&o->deployment, "default") || set_default(&o->time_format, "local_utc") ||
	    set_default(&o->resolutions, "15min+hourly+daily+monthly") || default_formats(o) ||
	    set_default(&o->csv_dialect, "auto") || set_default(&o->cache_size, "1G") ||
	    default_cache_dir(o))
		return -1;
	if (dx_timefmt_from_name(o->time_format, &o->timefmt)) {
		fprintf(stderr,
			"dexmafs: unknown time_format '%s'%s (local_utc, local, utc, iso, epoch)\n",
			o->time_format, origin(o, "time_format", where, sizeof(where)));
		return -1;
	}
	if (parse_views(o))
		return -1;
	if (parse_size(o->cache_size, &o->cache_bytes)) {
		fprintf(stderr, "dexmafs: bad cache_size '%s'%s (e.g. 512M, 1G; at least 1M)\n",
			o->cache_size, origin(o, "cache_size", where, sizeof(where)));
		return -1;
	}
	/* Single-token mode: one deployment, token from token_file or env. */
	if (!o->ndeps && add_dep(o, o->deployment, NULL, o->token_file)) {
		fprintf(stderr, "dexmafs: out of memory\n");
		return -1;
	}
	for (i = 0; i < o->ndeps; i++) {
		struct dx_mount_dep *d = &o->deps[i];

		if (!valid_dep_name(d->name)) {
			fprintf(stderr, "dexmafs: bad deployment name '%s'\n", d->name);
			return -1;
		}
		if (!d->api_url && !(d->api_url = strdup(o->api_url)))
			return -1;
	}
	if (o->keep_interval < 0)
		o->keep_interval = o->ttl_open / 10 > 1 ? o->ttl_open / 10 : 1;
	return parse_keep(o);
}

void dx_options_release(struct dx_options *o)
{
	size_t i;

	free(o->api_url);
	free(o->token_file);
	free(o->config);
	free(o->cache_dir);
	free(o->deployment);
	free(o->time_format);
	free(o->resolutions);
	free(o->formats);
	free(o->csv_dialect);
	free(o->cache_size);
	free(o->log_file);
	free(o->keep);
	for (i = 0; i < o->nkeep_text; i++)
		free(o->keep_text[i]);
	free(o->keep_text);
	free(o->keep_paths);
	free(o->source);
	free(o->config_used);
	free(o->mountpoint);
	for (i = 0; i < o->ndeps; i++) {
		free(o->deps[i].name);
		free(o->deps[i].api_url);
		free(o->deps[i].keep);
		free(o->deps[i].token_path);
	}
	free(o->deps);
	memset(o, 0, sizeof(*o));
}

int dx_options_token(const struct dx_options *o, size_t i, char out[21], char *err, size_t errsize)
{
	const struct dx_mount_dep *d = &o->deps[i];
	const char *env = getenv("DEXMA_TOKEN");
	char buf[64];
	size_t len;
	int rc = 0;

	if (d->token_path)
		return dx_config_read_token(d->token_path, out, err, errsize);
	if (!env || !*env)
		return snprintf(err, errsize,
				"no token: use -o token_file=PATH, set DEXMA_TOKEN "
				"or list deployments in the config file (see dexmafs(1))"),
		       -1;
	env += strspn(env, " \t\r\n");
	len = strcspn(env, " \t\r\n");
	snprintf(buf, sizeof(buf), "%.*s", (int)(len < sizeof(buf) ? len : sizeof(buf) - 1), env);
	if (!dx_config_token_ok(buf) || env[len + strspn(env + len, " \t\r\n")]) {
		snprintf(err, errsize,
			 "the token in DEXMA_TOKEN must be 20 hexadecimal characters");
		rc = -1;
	} else {
		memcpy(out, buf, 21);
	}
	explicit_bzero(buf, sizeof(buf));
	return rc;
}

void dx_options_token_source(const struct dx_options *o, size_t i, char *out, size_t size)
{
	const struct dx_mount_dep *d = &o->deps[i];
	char where[4200];

	if (!d->token_path)
		snprintf(out, size, "the token in DEXMA_TOKEN");
	else if (d->line)
		snprintf(out, size, "the token of %s ([deployment %s], config %s, line %d)",
			 d->token_path, d->name, o->config_used, d->line);
	else
		snprintf(out, size, "the token of %s (token_file%s)", d->token_path,
			 origin(o, "token_file", where, sizeof(where)));
}

void dx_options_fsname(const struct dx_options *o, char *out, size_t size)
{
	size_t i, len;

	if (o->source) {
		snprintf(out, size, "%s", o->source);
		return;
	}
	snprintf(out, size, "dexma:");
	for (i = 0; i < o->ndeps; i++) {
		len = strlen(out);
		snprintf(out + len, size - len, "%s%s", i ? "+" : "", o->deps[i].name);
	}
}
