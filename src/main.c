/* dexmafs: wires the modules together, mounts, runs the FUSE loop and
 * tears everything down in reverse order. Startup checks (token, cache
 * directory, API) happen before anything is mounted, so a failure leaves
 * no mount behind and says why in one line. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>

#include "dx_cache.h"
#include "dx_client.h"
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

static int make_cache_dir(const char *dir)
{
	char path[4096], *p;
	struct stat st;

	snprintf(path, sizeof(path), "%s", dir);
	for (p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0700) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(path, 0700) && errno != EEXIST)
		return -errno;
	if (stat(path, &st))
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	if (access(path, W_OK | X_OK))
		return -errno;
	if ((st.st_mode & 077) && chmod(path, 0700))
		return -errno;
	return 0;
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

static int new_client(const struct dx_options *o, const struct dx_mount_dep *d,
		      const char *token, struct quota_sink *sink, struct dx_client **out)
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
	struct dx_quota_state quota;   /* the ledger as the startup check left it */
	struct dx_quota_state saved;   /* the ledger of earlier mounts */
	struct dx_client_stats check;  /* the startup check's calls, counted in status */
	int have_saved;
	struct quota_sink sink;
	struct dx_client *client;
};

/* The one call a deployment's mount costs: is the API there and does it
 * take the token? */
static int check_api(const struct dx_options *o, const struct dx_mount_dep *d,
		     struct dep_run *r)
{
	struct dx_options no_wait = *o;  /* shallow: only read while checking */
	struct dx_client *client;
	struct dx_client_stats st;
	char why[512] = "";
	int rc;

	no_wait.quota_wait = 0;          /* a spent quota is an answer, not a wait */
	rc = new_client(&no_wait, d, r->token, NULL, &client);

	if (rc) {
		fprintf(stderr, "dexmafs: cannot mount %s: bad api_url '%s' (https:// required "
			"except to loopback; see allow_insecure_http)\n", d->name, d->api_url);
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
	if (rc) {
		fprintf(stderr, "dexmafs: cannot mount %s: %s\n", d->name,
			why[0] ? why : strerror(-rc));
		return -1;
	}
	return 0;
}

/* The cache is opened for real only after daemonising (LMDB does not
 * survive fork); opening it once here makes an unusable one a startup
 * failure instead of a mount that dies at once. */
static int check_cache(const struct dx_options *o, struct dep_run *run)
{
	struct dx_cache_opts co = { 0 };
	struct dx_cache *cache;
	int rc = make_cache_dir(o->cache_dir);

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
						sizeof(run[i].saved), &len) && len == sizeof(run[i].saved);
		}
		dx_cache_close(cache);
	}
	if (rc)
		fprintf(stderr, "dexmafs: cannot mount: cache directory %s is not usable: %s "
			"(choose another with -o cache_dir=PATH)\n", o->cache_dir, strerror(-rc));
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

/* What each mounted deployment holds while the daemon runs. */
int main(int argc, char *argv[])
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct fuse_cmdline_opts cmd = { 0 };
	struct dx_options o;
	struct dx_ops_ctx ctx = { 0 };
	struct fuse_session *se = NULL;
	struct fuse_loop_config *loop = NULL;
	struct dx_cache *cache = NULL;
	struct dx_tree *tree = NULL;
	struct dx_deployment *deps = NULL;
	struct dep_run *run = NULL;
	struct dx_cache_opts cache_opts = { 0 };
	struct dx_tree_opts tree_opts = { 0 };
	pthread_t refresher;
	int have_refresher = 0, mounted = 0, ret = 1, rc;
	char why[1024];
	size_t i, nclients = 0;

	if (argc > 1 && !strcmp(argv[1], "prefetch"))
		return dx_prefetch_main(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "token"))
		return dx_token_main(argc - 1, argv + 1);
	if (dx_options_parse(&args, &o) || fuse_parse_cmdline(&args, &cmd))
		goto out_args;
	if (cmd.show_help || o.show_help) {
		dx_options_help();
		fuse_cmdline_help();
		fuse_lowlevel_help();
		ret = 0;
		goto out_args;
	}
	if (cmd.show_version || o.show_version) {
		printf("dexmafs %s\nFUSE library %s\n", DEXMAFS_VERSION, fuse_pkgversion());
		ret = 0;
		goto out_args;
	}
	if (!cmd.mountpoint) {
		fprintf(stderr, "usage: dexmafs [options] [dexma:DEPLOYMENT] MOUNTPOINT "
			"(dexmafs -h for help)\n");
		goto out_args;
	}
	if (dx_options_finish(&o))
		goto out_args;
	dx_log_setup(0, cmd.debug);
	run = calloc(o.ndeps, sizeof(*run));
	deps = calloc(o.ndeps, sizeof(*deps));
	if (!run || !deps) {
		fprintf(stderr, "dexmafs: out of memory\n");
		goto out_args;
	}
	for (i = 0; i < o.ndeps; i++) {
		struct dx_quota_state unknown = { -1, -1, -1, -1, 0, 0, 0 };

		run[i].quota = unknown;
		if (!o.offline && dx_options_token(&o, i, run[i].token, why, sizeof(why))) {
			fprintf(stderr, "dexmafs: cannot mount %s: %s\n", o.deps[i].name, why);
			goto out_args;
		}
	}
	if (check_cache(&o, run))
		goto out_args;
	for (i = 0; i < o.ndeps && !o.offline; i++)
		if (check_api(&o, &o.deps[i], &run[i]))
			goto out_args;
	if (add_mount_options(&args, &o))
		goto out_args;

	se = fuse_session_new(&args, &dx_ops, sizeof(dx_ops), &ctx);
	if (!se)
		goto out_args;
	if (fuse_set_signal_handlers(se))
		goto out_session;
	if (fuse_session_mount(se, cmd.mountpoint)) {
		fprintf(stderr, "dexmafs: cannot mount on %s\n", cmd.mountpoint);
		goto out_signals;
	}
	mounted = 1;
	if (fuse_daemonize(cmd.foreground))
		goto out_unmount;
	dx_log_setup(!cmd.foreground, cmd.debug);

	/* LMDB and curl are opened after daemonising: neither survives fork. */
	cache_opts.dir = o.cache_dir;
	cache_opts.max_bytes = o.cache_bytes;
	cache_opts.offline = o.offline;
	rc = dx_cache_open(&cache_opts, &cache);
	if (rc) {
		dx_log(DX_LOG_ERR, "cannot open the cache in %s: %s", o.cache_dir, strerror(-rc));
		goto out_unmount;
	}
	for (i = 0; i < o.ndeps; i++) {
		struct dep_run *r = &run[i];

		deps[i].name = o.deps[i].name;
		r->sink.cache = cache;
		/* One ledger per deployment: each token has its own quota. */
		snprintf(r->sink.name, sizeof(r->sink.name), "quota:%s", o.deps[i].name);
		if (o.offline)
			continue;
		if (new_client(&o, &o.deps[i], r->token, &r->sink, &r->client)) {
			dx_log(DX_LOG_ERR, "%s: cannot create the API client for %s", o.deps[i].name,
			       o.deps[i].api_url);
			goto out_clients;
		}
		nclients = i + 1;
		deps[i].client = r->client;
		/* The check started from the saved ledger and added what it saw. */
		dx_client_set_quota(r->client, &r->quota);
		dx_client_add_stats(r->client, &r->check);
		save_quota(&r->sink, &r->quota);
		explicit_bzero(r->token, sizeof(r->token));
	}
	tree_opts.cache = cache;
	tree_opts.deps = deps;
	tree_opts.ndeps = o.ndeps;
	tree_opts.listed_res = o.listed_res;
	tree_opts.timefmt = o.timefmt;
	tree_opts.listed_formats = o.listed_formats;
	tree_opts.dialect = o.dialect;
	tree_opts.tmpdir = o.cache_dir;  /* private (0700): workbooks are written there */
	tree_opts.ttl_meta = o.ttl_meta;
	tree_opts.ttl_open = o.ttl_open;
	tree_opts.late_margin = o.late_margin;
	tree_opts.uid = getuid();
	tree_opts.gid = getgid();
	if (!dx_ops_start_invalidator(&ctx, se)) {
		tree_opts.invalidate = dx_ops_invalidate;
		tree_opts.invalidate_ctx = &ctx;
	}
	if (dx_tree_new(&tree_opts, &tree)) {
		dx_log(DX_LOG_ERR, "out of memory");
		goto out_clients;
	}
	ctx.tree = tree;

	if (!pipe2(refresh_pipe, O_CLOEXEC) &&
	    !pthread_create(&refresher, NULL, refresh_thread, tree)) {
		have_refresher = 1;
		signal(SIGHUP, on_hup);
	}

	if (cmd.singlethread) {
		ret = fuse_session_loop(se) ? 1 : 0;
	} else {
		loop = fuse_loop_cfg_create();
		if (!loop)
			goto out_refresher;
		fuse_loop_cfg_set_clone_fd(loop, cmd.clone_fd);
		fuse_loop_cfg_set_max_threads(loop, cmd.max_threads ? cmd.max_threads : 16);
		ret = fuse_session_loop_mt(se, loop) ? 1 : 0;
		fuse_loop_cfg_destroy(loop);
	}

out_refresher:
	if (have_refresher) {
		signal(SIGHUP, SIG_IGN);
		close(refresh_pipe[1]);
		pthread_join(refresher, NULL);
		close(refresh_pipe[0]);
	}
	dx_tree_free(tree);
out_clients:
	dx_ops_stop_invalidator(&ctx);
	for (i = 0; i < nclients; i++)
		dx_client_free(run[i].client);
	dx_cache_close(cache);
out_unmount:
	if (mounted)
		fuse_session_unmount(se);
out_signals:
	fuse_remove_signal_handlers(se);
out_session:
	fuse_session_destroy(se);
out_args:
	if (run)
		explicit_bzero(run, o.ndeps * sizeof(*run));
	free(run);
	free(deps);
	free(cmd.mountpoint);
	fuse_opt_free_args(&args);
	dx_options_release(&o);
	return ret;
}
