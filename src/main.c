/* dexmafs: wires the modules together, mounts, runs the FUSE loop and
 * tears everything down in reverse order. Startup checks (token, cache
 * directory, API) happen before anything is mounted, so a failure leaves
 * no mount behind and says why in one line. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>

#include "dx_cache.h"
#include "dx_client.h"
#include "dx_fsutil.h"
#include "dx_log.h"
#include "dx_tree.h"
#include "cli.h"
#include "ops.h"
#include "options.h"

#ifndef DEXMAFS_VERSION
#define DEXMAFS_VERSION "0.1.0"
#endif

static int refresh_pipe[2] = { -1, -1 };

/* SIGHUP asks the refresh thread to drop freshness; the handler only
 * writes a byte, the work happens outside any FUSE request. */
static void on_hup(int sig)
{
	char c = 'r';
	ssize_t ignored;

	(void)sig;
	ignored = write(refresh_pipe[1], &c, 1);
	(void)ignored;
}

static void *refresh_thread(void *arg)
{
	struct dx_tree *tree = arg;
	char c;

	while (read(refresh_pipe[0], &c, 1) == 1) {
		if (c != 'r')
			break;
		dx_log(DX_LOG_INFO, "refresh: listings and open periods will be fetched again");
		dx_tree_refresh(tree);
	}
	return NULL;
}

struct quota_sink {
	struct dx_cache *cache;
	char name[300];
};

static void save_quota(void *ctx, const struct dx_quota_state *q)
{
	struct quota_sink *s = ctx;

	if (s->cache)
		dx_cache_put_record(s->cache, s->name, q, sizeof(*q));
}

static int new_client(const struct dx_options *o, const struct dx_mount_dep *d, const char *token,
		      struct quota_sink *sink, struct dx_client **out)
{
	struct dx_client_opts co;

	dx_client_opts_default(&co);
	co.api_url = d->api_url;
	co.token = token;
	co.max_parallel = o->parallel;
	co.max_retries = o->retries;
	co.deadline_ms = (long)o->timeout * 1000;
	if (co.attempt_timeout_ms > co.deadline_ms)
		co.attempt_timeout_ms = co.deadline_ms;
	co.quota_wait_ms = (long)o->quota_wait * 1000;
	co.reserve = o->reserve;
	co.allow_insecure_http = o->allow_insecure_http;
	co.on_quota = sink ? save_quota : NULL;
	co.on_quota_ctx = sink;
	return dx_client_new(&co, out);
}

/* What main keeps per deployment while it starts and runs. */
struct dep_run {
	char token[21];
	struct dx_quota_state quota;  /* the ledger as the startup check left it */
	struct dx_quota_state saved;  /* the ledger of earlier mounts */
	struct dx_client_stats check; /* the startup check's calls, counted in status */
	int have_saved;
	struct quota_sink sink;
	struct dx_client *client;
};

/* "cannot mount NAME" when the user named the deployment, else "cannot
 * mount" (the directory "default" means nothing to them). */
static const char *cannot_mount(const struct dx_options *o, const struct dx_mount_dep *d, char *buf,
				size_t size)
{
	snprintf(buf, size, "cannot mount%s%s", o->deployment_given ? " " : "",
		 o->deployment_given ? d->name : "");
	return buf;
}

/* A rejected token: say which one and what to check. */
static void say_rejected(const struct dx_options *o, size_t i, const char *why)
{
	char what[300], source[8600];

	dx_options_token_source(o, i, source, sizeof(source));
	fprintf(stderr,
		"dexmafs: %s: %s; it was %s: check that it is the deployment's current API "
		"token (20 hex characters) and that api_url %s is where it belongs\n",
		cannot_mount(o, &o->deps[i], what, sizeof(what)), why, source, o->deps[i].api_url);
}

/* The one call a deployment's mount costs: is the API there and does it
 * take the token? */
static int check_api(const struct dx_options *o, size_t i, struct dep_run *r)
{
	const struct dx_mount_dep *d = &o->deps[i];
	char what[300];
	struct dx_options no_wait = *o; /* shallow: only read while checking */
	struct dx_client *client;
	struct dx_client_stats st;
	char why[512] = "";
	int rc;

	no_wait.quota_wait = 0; /* a spent quota is an answer, not a wait */
	rc = new_client(&no_wait, d, r->token, NULL, &client);

	if (rc) {
		fprintf(stderr,
			"dexmafs: %s: bad api_url '%s' (https:// required "
			"except to loopback; see allow_insecure_http)\n",
			cannot_mount(o, d, what, sizeof(what)), d->api_url);
		return -1;
	}
	/* A ledger that says the quota is spent until later makes the check
	 * send nothing: no 429 at every remount. */
	if (r->have_saved)
		dx_client_set_quota(client, &r->saved);
	dx_log_mute(1);
	rc = dx_client_check(client, why, sizeof(why));
	dx_log_mute(0);
	dx_client_stats(client, &st);
	r->quota = st.quota;
	r->check = st;
	dx_client_free(client);
	if (rc == -EACCES)
		say_rejected(o, i, why);
	else if (rc)
		fprintf(stderr, "dexmafs: %s: %s\n", cannot_mount(o, d, what, sizeof(what)),
			why[0] ? why : strerror(-rc));
	return rc ? -1 : 0;
}

/* The cache is opened for real only after daemonising (LMDB does not
 * survive fork); opening it once here makes an unusable one a startup
 * failure instead of a mount that dies at once. */
static int check_cache(const struct dx_options *o, struct dep_run *run, char *damaged,
		       size_t damaged_size)
{
	struct dx_cache_opts co = { 0 };
	struct dx_cache_stats st;
	struct dx_cache *cache;
	int rc = dx_mkdir_p(o->cache_dir, 0700);

	if (!rc) {
		co.dir = o->cache_dir;
		co.max_bytes = o->cache_bytes;
		co.offline = o->offline;
		rc = dx_cache_open(&co, &cache);
	}
	if (!rc) {
		for (size_t i = 0; i < o->ndeps; i++) {
			char name[300];
			size_t len;

			snprintf(name, sizeof(name), "quota:%s", o->deps[i].name);
			run[i].have_saved = !dx_cache_get_record(cache, name, &run[i].saved,
								 sizeof(run[i].saved), &len) &&
					    len == sizeof(run[i].saved);
		}
		dx_cache_stats(cache, &st);
		if (st.damaged)
			snprintf(damaged, damaged_size, "%s", st.damaged);
		dx_cache_close(cache);
	}
	if (rc)
		fprintf(stderr,
			"dexmafs: cannot mount: cache directory %s is not usable: %s "
			"(choose another with -o cache_dir=PATH)\n",
			o->cache_dir, strerror(-rc));
	return rc ? -1 : 0;
}

static int add_mount_options(struct fuse_args *args, const struct dx_options *o)
{
	char fsname[512], *escaped = NULL, *opt = NULL;
	size_t len;
	int rc = -1;

	dx_options_fsname(o, fsname, sizeof(fsname));
	/* A source may hold commas; libfuse splits -o at unescaped ones. */
	if (fuse_opt_add_opt_escaped(&escaped, fsname))
		goto out;
	len = strlen(escaped) + 64;
	opt = malloc(len);
	if (!opt)
		goto out;
	snprintf(opt, len, "-ofsname=%s,subtype=dexmafs,ro,default_permissions", escaped);
	rc = fuse_opt_add_arg(args, opt);
out:
	free(opt);
	free(escaped);
	return rc;
}

/* Everything main holds, so that the checks, the setup, the loop and the
 * teardown are separate functions. */
struct daemon {
	struct fuse_args args;
	struct fuse_cmdline_opts cmd;
	struct dx_options o;
	struct dx_ops_ctx ctx;
	struct fuse_session *se;
	struct dx_cache *cache;
	struct dx_tree *tree;
	struct dx_deployment *deps;
	struct dep_run *run;
	size_t nclients;
	pthread_t refresher;
	int have_refresher, have_signals, mounted;
	char damaged[2048];  /* the cache's report of a damaged file, or "" */
	char log_path[4096]; /* the log file, when logging to one */
};

/* unsetenv() only drops the pointer: the bytes stay in the block the
 * kernel shows as /proc/PID/environ, so they are overwritten as well.
 * glibc never frees an environment string, so zeroing after is safe. */
static void scrub_token_env(void)
{
	char *value = getenv("DEXMA_TOKEN");
	char *entry;

	if (!value)
		return;
	entry = value - strlen("DEXMA_TOKEN=");
	unsetenv("DEXMA_TOKEN");
	explicit_bzero(entry, strlen(entry));
}

/* Reads each deployment's token, then removes DEXMA_TOKEN from the
 * environment. 0 or -1 (message printed). */
static int read_tokens(struct daemon *d)
{
	char why[1024], what[300];
	int rc = 0;

	for (size_t i = 0; i < d->o.ndeps && !rc; i++) {
		struct dx_quota_state unknown = { -1, -1, -1, -1, 0, 0, 0 };

		d->run[i].quota = unknown;
		if (d->o.offline)
			continue;
		rc = dx_options_token(&d->o, i, d->run[i].token, why, sizeof(why));
		if (rc)
			fprintf(stderr, "dexmafs: %s: %s\n",
				cannot_mount(&d->o, &d->o.deps[i], what, sizeof(what)), why);
	}
	scrub_token_env();
	return rc ? -1 : 0;
}

/* The command line: 0 to go on, 1 when done (help, version, usage or a
 * bad option: *ret says how). */
static int parse_command_line(struct daemon *d, int *ret)
{
	char why[2 * 4096 + 256];

	*ret = 1;
	if (dx_options_parse(&d->args, &d->o))
		return 1;
	/* Before libfuse resolves it (which fails on a dead mount with a bare
	 * "Transport endpoint is not connected") and before any API call. */
	if (!d->o.show_help && !d->o.show_version && d->o.mountpoint &&
	    dx_mountpoint_check(d->o.mountpoint, d->o.nonempty, why, sizeof(why))) {
		fprintf(stderr, "dexmafs: cannot mount: %s\n", why);
		return 1;
	}
	if (fuse_parse_cmdline(&d->args, &d->cmd))
		return 1;
	if (d->cmd.show_help || d->o.show_help) {
		dx_options_help(); /* libfuse's options too, without repeating allow_other */
		return *ret = 0, 1;
	}
	if (d->cmd.show_version || d->o.show_version) {
		printf("dexmafs %s\nFUSE library %s\n", DEXMAFS_VERSION, fuse_pkgversion());
		return *ret = 0, 1;
	}
	if (!d->cmd.mountpoint) {
		fprintf(stderr, "usage: dexmafs [options] [dexma:DEPLOYMENT] MOUNTPOINT "
				"(dexmafs -h for help)\n");
		return 1;
	}
	return dx_options_finish(&d->o) ? 1 : 0;
}

/* The log goes where it will stay from the start, so the startup
 * check's API line is in it; the default file's directory is made. */
static int open_log(struct daemon *d)
{
	struct dx_log_opts lo;
	char dir[4096], *slash;
	int rc;

	if (dx_options_log(&d->o, d->cmd.foreground, d->cmd.debug, &lo, d->log_path,
			   sizeof(d->log_path)))
		return -1;
	if (lo.dest == DX_LOG_FILE && !d->o.log_file) {
		snprintf(dir, sizeof(dir), "%s", d->log_path);
		slash = strrchr(dir, '/');
		if (slash && slash != dir)
			*slash = '\0';
		(void)dx_mkdir_p(dir, 0700);
	}
	rc = dx_log_open(&lo);
	if (rc && d->o.log_file) {
		fprintf(stderr,
			"dexmafs: cannot mount: cannot write the log %s: %s "
			"(choose another with -o log_file=PATH)\n",
			d->log_path, strerror(-rc));
		return -1;
	}
	/* The default file only stands in for a missing syslog: a user
	 * without a writable home (a service's) still mounts, warned. */
	if (rc)
		fprintf(stderr,
			"dexmafs: warning: no syslog (/dev/log) and cannot write %s: %s; "
			"once detached the log is lost (set -o log_file=PATH)\n",
			d->log_path, strerror(-rc));
	return 0;
}

/* Everything that can fail before mounting: the mount point, the
 * options, the log, the tokens, the cache, one API call per deployment. */
static int startup_checks(struct daemon *d)
{
	if (open_log(d))
		return -1;
	d->run = calloc(d->o.ndeps, sizeof(*d->run));
	d->deps = calloc(d->o.ndeps, sizeof(*d->deps));
	if (!d->run || !d->deps) {
		fprintf(stderr, "dexmafs: out of memory\n");
		return -1;
	}
	if (read_tokens(d) || check_cache(&d->o, d->run, d->damaged, sizeof(d->damaged)))
		return -1;
	for (size_t i = 0; i < d->o.ndeps && !d->o.offline; i++)
		if (check_api(&d->o, i, &d->run[i]))
			return -1;
	return 0;
}

static int mount_session(struct daemon *d)
{
	struct fuse_lowlevel_ops ops = dx_ops;

	if (add_mount_options(&d->args, &d->o))
		return -1;
	/* Without getxattr the kernel stops asking after the first ENOSYS;
	 * with it, ls -l's security.selinux probe of every entry is a round
	 * trip: only when asked for. */
	if (!d->o.xattr)
		ops.getxattr = NULL;
	d->se = fuse_session_new(&d->args, &ops, sizeof(ops), &d->ctx);
	if (!d->se)
		return -1;
	if (fuse_set_signal_handlers(d->se))
		return -1;
	d->have_signals = 1;
	if (fuse_session_mount(d->se, d->cmd.mountpoint)) {
		fprintf(stderr, "dexmafs: cannot mount on %s\n", d->cmd.mountpoint);
		return -1;
	}
	d->mounted = 1;
	if (fuse_daemonize(d->cmd.foreground))
		return -1;
	dx_log_detached();
	return 0;
}

/* One API client per deployment, each with its own quota ledger. */
static int open_clients(struct daemon *d)
{
	for (size_t i = 0; i < d->o.ndeps; i++) {
		struct dep_run *r = &d->run[i];

		d->deps[i].name = d->o.deps[i].name;
		r->sink.cache = d->cache;
		snprintf(r->sink.name, sizeof(r->sink.name), "quota:%s", d->o.deps[i].name);
		if (d->o.offline)
			continue;
		if (new_client(&d->o, &d->o.deps[i], r->token, &r->sink, &r->client)) {
			dx_log(DX_LOG_ERR, "%s: cannot create the API client for %s",
			       d->o.deps[i].name, d->o.deps[i].api_url);
			return -1;
		}
		d->nclients = i + 1;
		d->deps[i].client = r->client;
		/* The check started from the saved ledger and added what it saw. */
		dx_client_set_quota(r->client, &r->quota);
		dx_client_add_stats(r->client, &r->check);
		save_quota(&r->sink, &r->quota);
		explicit_bzero(r->token, sizeof(r->token));
	}
	return 0;
}

static int open_tree(struct daemon *d)
{
	struct dx_tree_opts t = { 0 };

	t.cache = d->cache;
	t.deps = d->deps;
	t.ndeps = d->o.ndeps;
	t.listed_res = d->o.listed_res;
	t.timefmt = d->o.timefmt;
	t.listed_formats = d->o.listed_formats;
	t.dialect = d->o.dialect;
	t.dialect_why = d->o.dialect_why;
	t.ttl_meta = d->o.ttl_meta;
	t.ttl_open = d->o.ttl_open;
	t.late_margin = d->o.late_margin;
	t.readahead = d->o.readahead < 0 ? d->o.parallel : d->o.readahead;
	t.keep = d->o.keep_paths;
	t.nkeep = d->o.nkeep;
	t.keep_share = d->o.keep_share;
	t.keep_interval = d->o.keep_interval;
	t.cache_max = d->o.cache_bytes;
	t.uid = getuid();
	t.gid = getgid();
	t.cache_damaged = d->damaged[0] ? d->damaged : NULL;
	if (!dx_ops_start_invalidator(&d->ctx, d->se)) {
		t.invalidate = dx_ops_invalidate;
		t.invalidate_ctx = &d->ctx;
	}
	if (dx_tree_new(&t, &d->tree) || dx_dirs_new(&d->ctx.dirs)) {
		dx_log(DX_LOG_ERR, "out of memory");
		return -1;
	}
	d->ctx.tree = d->tree;
	return 0;
}

/* After mounting: LMDB and curl are opened after daemonising, as neither
 * survives fork. */
static int setup(struct daemon *d)
{
	struct dx_cache_opts co = { 0 };
	int rc;

	if (mount_session(d))
		return -1;
	co.dir = d->o.cache_dir;
	co.max_bytes = d->o.cache_bytes;
	co.offline = d->o.offline;
	rc = dx_cache_open(&co, &d->cache);
	if (rc) {
		dx_log(DX_LOG_ERR, "cannot open the cache in %s: %s", d->o.cache_dir,
		       strerror(-rc));
		return -1;
	}
	if (open_clients(d) || open_tree(d))
		return -1;
	if (!pipe2(refresh_pipe, O_CLOEXEC) &&
	    !pthread_create(&d->refresher, NULL, refresh_thread, d->tree)) {
		d->have_refresher = 1;
		signal(SIGHUP, on_hup);
	}
	return 0;
}

/* The one line that says the mount is up: what, where, how. */
static void log_mounted(const struct daemon *d)
{
	char names[1024] = "";
	size_t len;

	for (size_t i = 0; i < d->o.ndeps; i++) {
		len = strlen(names);
		snprintf(names + len, sizeof(names) - len, "%s%s", i ? ", " : "",
			 d->o.deps[i].name);
	}
	dx_log(DX_LOG_INFO, "mounted %s %s on %s (%s, cache %s)",
	       d->o.ndeps > 1 ? "deployments" : "deployment", names, d->cmd.mountpoint,
	       d->o.offline   ? "offline: no API calls" :
	       d->o.ndeps > 1 ? "several APIs" :
				d->o.deps[0].api_url,
	       d->o.cache_dir);
}

/* The FUSE loop until unmounted or signalled: 0 or 1, the exit status. */
static int run_loop(struct daemon *d)
{
	struct fuse_loop_config *loop;
	int ret;

	if (d->cmd.singlethread)
		return fuse_session_loop(d->se) ? 1 : 0;
	loop = fuse_loop_cfg_create();
	if (!loop)
		return 1;
	fuse_loop_cfg_set_clone_fd(loop, d->cmd.clone_fd);
	fuse_loop_cfg_set_max_threads(loop, d->cmd.max_threads ? d->cmd.max_threads : 16);
	ret = fuse_session_loop_mt(d->se, loop) ? 1 : 0;
	fuse_loop_cfg_destroy(loop);
	return ret;
}

/* Releases what the steps above acquired, in reverse order. */
static void teardown(struct daemon *d)
{
	if (d->have_refresher) {
		signal(SIGHUP, SIG_IGN);
		close(refresh_pipe[1]);
		pthread_join(d->refresher, NULL);
		close(refresh_pipe[0]);
	}
	dx_dirs_free(d->ctx.dirs);
	dx_tree_free(d->tree);
	dx_ops_stop_invalidator(&d->ctx);
	for (size_t i = 0; i < d->nclients; i++)
		dx_client_free(d->run[i].client);
	dx_cache_close(d->cache);
	if (d->mounted)
		fuse_session_unmount(d->se);
	if (d->have_signals)
		fuse_remove_signal_handlers(d->se);
	if (d->se)
		fuse_session_destroy(d->se);
	if (d->run)
		explicit_bzero(d->run, d->o.ndeps * sizeof(*d->run));
	free(d->run);
	free(d->deps);
	free(d->cmd.mountpoint);
	fuse_opt_free_args(&d->args);
	dx_options_release(&d->o);
}

/* Memory bounded whatever the account's size. Every FUSE worker would get
 * its own malloc arena, each keeping the freed memory of its busiest
 * moment: two arenas serve a daemon whose work is mostly waiting. A fixed
 * mmap threshold keeps glibc from raising it after large buffers (a
 * rendered file, a chunk's bytes) are freed, so such buffers go back to
 * the system instead of staying in the heap. */
static void tune_malloc(void)
{
	(void)mallopt(M_ARENA_MAX, 2);
	(void)mallopt(M_MMAP_THRESHOLD, 256 << 10);
	(void)mallopt(M_TRIM_THRESHOLD, 1 << 20);
}

int main(int argc, char *argv[])
{
	static struct daemon d; /* static: large, and zeroed */
	int ret = 1;

	if (argc > 1 && !strcmp(argv[1], "prefetch"))
		return dx_prefetch_main(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "plan"))
		return dx_plan_main(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "token"))
		return dx_token_main(argc - 1, argv + 1);
	/* No core file, no ptrace by other processes of the user: the
	 * daemon holds tokens. */
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	tune_malloc();
	d.args = (struct fuse_args)FUSE_ARGS_INIT(argc, argv);
	if (!parse_command_line(&d, &ret)) {
		ret = 1;
		if (!startup_checks(&d) && !setup(&d)) {
			log_mounted(&d);
			ret = run_loop(&d);
		}
	}
	if (d.mounted)
		dx_log(DX_LOG_INFO, "unmounted %s", d.cmd.mountpoint);
	teardown(&d);
	dx_log_close();
	return ret;
}
