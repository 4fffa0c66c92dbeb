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

static int new_client(const struct dx_options *o, const char *token,
		      struct quota_sink *sink, struct dx_client **out)
{
	struct dx_client_opts co;

	dx_client_opts_default(&co);
	co.api_url = o->api_url;
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

/* The one call a mount costs: is the API there and does it take the token? */
static int check_api(const struct dx_options *o, const char *token,
		     struct dx_quota_state *quota)
{
	struct dx_client *client;
	struct dx_client_stats st;
	char why[512] = "";
	int rc = new_client(o, token, NULL, &client);

	if (rc) {
		fprintf(stderr, "dexmafs: cannot mount: bad api_url '%s' (https:// required "
			"except to loopback; see allow_insecure_http)\n", o->api_url);
		return -1;
	}
	dx_log_mute(1);
	rc = dx_client_check(client, why, sizeof(why));
	dx_log_mute(0);
	dx_client_stats(client, &st);
	*quota = st.quota;
	dx_client_free(client);
	if (rc) {
		fprintf(stderr, "dexmafs: cannot mount: %s\n",
			why[0] ? why : strerror(-rc));
		return -1;
	}
	return 0;
}

static int add_mount_options(struct fuse_args *args, const char *deployment)
{
	char opt[512];

	snprintf(opt, sizeof(opt), "-ofsname=dexma:%s,subtype=dexmafs,ro,default_permissions",
		 deployment);
	return fuse_opt_add_arg(args, opt);
}

int main(int argc, char *argv[])
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct fuse_cmdline_opts cmd = { 0 };
	struct dx_options o;
	struct dx_ops_ctx ctx = { 0 };
	struct fuse_session *se = NULL;
	struct fuse_loop_config *loop = NULL;
	struct dx_cache *cache = NULL;
	struct dx_client *client = NULL;
	struct dx_tree *tree = NULL;
	struct dx_deployment dep;
	struct dx_cache_opts cache_opts = { 0 };
	struct dx_tree_opts tree_opts = { 0 };
	struct dx_quota_state quota = { -1, -1, -1, -1, 0, 0, 0 };
	struct quota_sink sink = { 0 };
	pthread_t refresher;
	int have_refresher = 0, mounted = 0, ret = 1, rc;
	char token[21] = "", why[512];

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
		fprintf(stderr, "usage: dexmafs [options] MOUNTPOINT (dexmafs -h for help)\n");
		goto out_args;
	}
	if (dx_options_finish(&o))
		goto out_args;
	dx_log_setup(0, cmd.debug);
	if (!o.offline && dx_options_token(&o, token, why, sizeof(why))) {
		fprintf(stderr, "dexmafs: cannot mount: %s\n", why);
		goto out_args;
	}
	rc = make_cache_dir(o.cache_dir);
	if (rc) {
		fprintf(stderr, "dexmafs: cannot mount: cache directory %s is not usable: %s\n",
			o.cache_dir, strerror(-rc));
		goto out_args;
	}
	if (!o.offline && check_api(&o, token, &quota))
		goto out_args;
	if (add_mount_options(&args, o.deployment))
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
	sink.cache = cache;
	snprintf(sink.name, sizeof(sink.name), "quota:%s", o.deployment);
	if (!o.offline) {
		struct dx_quota_state saved;
		size_t len;

		if (new_client(&o, token, &sink, &client)) {
			dx_log(DX_LOG_ERR, "cannot create the API client");
			goto out_cache;
		}
		/* The ledger of earlier mounts, unless the check just saw newer. */
		if (!dx_cache_get_record(cache, sink.name, &saved, sizeof(saved), &len) &&
		    len == sizeof(saved) && quota.hour_limit < 0)
			quota = saved;
		dx_client_set_quota(client, &quota);
		save_quota(&sink, &quota);
	}
	memset(token, 0, sizeof(token));
	dep.name = o.deployment;
	dep.client = client;
	tree_opts.cache = cache;
	tree_opts.deps = &dep;
	tree_opts.ndeps = 1;
	tree_opts.listed_res = o.listed_res;
	tree_opts.timefmt = o.timefmt;
	tree_opts.ttl_meta = o.ttl_meta;
	tree_opts.ttl_open = o.ttl_open;
	tree_opts.late_margin = o.late_margin;
	tree_opts.uid = getuid();
	tree_opts.gid = getgid();
	if (dx_tree_new(&tree_opts, &tree)) {
		dx_log(DX_LOG_ERR, "out of memory");
		goto out_client;
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
out_client:
	dx_client_free(client);
out_cache:
	dx_cache_close(cache);
out_unmount:
	if (mounted)
		fuse_session_unmount(se);
out_signals:
	fuse_remove_signal_handlers(se);
out_session:
	fuse_session_destroy(se);
out_args:
	memset(token, 0, sizeof(token));
	free(cmd.mountpoint);
	fuse_opt_free_args(&args);
	dx_options_release(&o);
	return ret;
}
