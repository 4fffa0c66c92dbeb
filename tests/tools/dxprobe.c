/* dxprobe: a small command line over dx_client, for the client tests and
 * the benchmarks.
 *
 *   dxprobe [options] URL list PATH
 *   dxprobe [options] URL get PATH
 *   dxprobe [options] URL readings DEVICE KEY RES FROM TO [OP]
 *   dxprobe [options] URL check
 *   dxprobe [options] URL stats
 *
 * RES is a directory name (raw, 5min, ..., hourly, daily, weekly,
 * monthly); FROM and TO are YYYY-MM-DD. The token comes from the
 * environment variable DEXMA_TOKEN. The answer's bytes go to stdout.
 *
 * Options: --parallel N, --retries N, --deadline-ms N, --quota-wait-ms N,
 * --attempt-timeout-ms N, --reserve F, --background, --debug, --insecure
 * (http:// to any host), --threads N (run the command from N threads at
 * once; stdout gets the first thread's answer), --state FILE (load the
 * quota ledger from FILE and save it back, like the cache does across
 * mounts), --stats (print the counters to stderr at the end).
 *
 * Exit status: 0 success; 2 usage; otherwise derived from the errno:
 *   3 ENOENT, 4 EACCES, 5 EAGAIN, 6 EIO, 7 ETIMEDOUT, 8 EPROTO,
 *   9 EINVAL, 10 EHOSTUNREACH, 11 E2BIG, 12 EOVERFLOW, 1 anything else.
 * On failure it prints "error: <strerror>" (and for check the reason).
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dx_client.h"
#include "dx_dates.h"
#include "dx_log.h"

#define MAX_THREADS 256
#define OUT_MAX ((size_t)256 << 20)

enum command { CMD_LIST, CMD_GET, CMD_READINGS, CMD_CHECK, CMD_STATS };

struct probe {
	struct dx_client *client;
	enum command cmd;
	enum dx_priority prio;
	const char *path;
	struct dx_readings_req req;
};

struct worker {
	pthread_t thread;
	struct probe *probe;
	struct dx_buf out;
	char reason[512];
	int rc;
};

static int exit_code(int err)
{
	static const int map[][2] = {
		{ ENOENT, 3 },    { EACCES, 4 },     { EAGAIN, 5 }, { EIO, 6 },
		{ ETIMEDOUT, 7 }, { EPROTO, 8 },     { EINVAL, 9 }, { EHOSTUNREACH, 10 },
		{ E2BIG, 11 },    { EOVERFLOW, 12 },
	};
	size_t i;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (map[i][0] == err)
			return map[i][1];
	return 1;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: dxprobe [--parallel N] [--retries N] [--deadline-ms N]\n"
		"               [--quota-wait-ms N] [--attempt-timeout-ms N] [--reserve F]\n"
		"               [--background] [--debug] [--insecure] [--threads N]\n"
		"               [--state FILE] [--stats] URL COMMAND ...\n"
		"commands: list PATH | get PATH | readings DEVICE KEY RES FROM TO [OP]\n"
		"          | check | stats\n");
}

static void *run(void *arg)
{
	struct worker *w = arg;
	struct probe *p = w->probe;

	switch (p->cmd) {
	case CMD_LIST:
		w->rc = dx_client_list(p->client, p->path, p->prio, &w->out);
		break;
	case CMD_GET:
		w->rc = dx_client_get(p->client, p->path, p->prio, &w->out);
		break;
	case CMD_READINGS:
		w->rc = dx_client_readings(p->client, &p->req, p->prio, &w->out);
		break;
	case CMD_CHECK:
		w->rc = dx_client_check(p->client, w->reason, sizeof(w->reason));
		break;
	case CMD_STATS:
		w->rc = 0;
		break;
	}
	return NULL;
}

static int load_state(const char *file, struct dx_quota_state *q)
{
	FILE *f = fopen(file, "r");
	int n;

	if (!f)
		return -errno;
	n = fscanf(f, "%ld %ld %ld %ld %" SCNd64 " %" SCNd64 " %" SCNd64, &q->hour_limit,
		   &q->hour_remaining, &q->day_limit, &q->day_remaining, &q->hour_reset_at,
		   &q->day_reset_at, &q->blocked_until);
	fclose(f);
	return n == 7 ? 0 : -EINVAL;
}

static int save_state(const char *file, const struct dx_quota_state *q)
{
	FILE *f = fopen(file, "w");

	if (!f)
		return -errno;
	fprintf(f, "%ld %ld %ld %ld %" PRId64 " %" PRId64 " %" PRId64 "\n", q->hour_limit,
		q->hour_remaining, q->day_limit, q->day_remaining, q->hour_reset_at,
		q->day_reset_at, q->blocked_until);
	return fclose(f) ? -EIO : 0;
}

static void print_stats(FILE *f, const struct dx_client_stats *s)
{
	fprintf(f,
		"calls %" PRIu64 "\ncalls_list %" PRIu64 "\ncalls_object %" PRIu64 "\n"
		"calls_readings %" PRIu64 "\nstatus_429 %" PRIu64 "\nretries %" PRIu64 "\n"
		"errors %" PRIu64 "\nbytes %" PRIu64 "\nlatency_ms_total %" PRIu64 "\n"
		"reserve %ld\nhour_limit %ld\nhour_remaining %ld\nhour_reset_at %" PRId64 "\n"
		"day_limit %ld\nday_remaining %ld\nday_reset_at %" PRId64 "\n"
		"blocked_until %" PRId64 "\n",
		s->calls, s->calls_list, s->calls_object, s->calls_readings, s->status_429,
		s->retries, s->errors, s->bytes, s->latency_ms_total, s->reserve,
		s->quota.hour_limit, s->quota.hour_remaining, s->quota.hour_reset_at,
		s->quota.day_limit, s->quota.day_remaining, s->quota.day_reset_at,
		s->quota.blocked_until);
}

static int parse_readings(char **argv, int argc, struct dx_readings_req *req)
{
	char *end;

	if (argc < 5 || argc > 6)
		return -EINVAL;
	req->device_id = strtoll(argv[0], &end, 10);
	if (*end)
		return -EINVAL;
	req->key = argv[1];
	if (dx_res_from_name(argv[2], &req->res))
		return -EINVAL;
	if (dx_date_parse(argv[3], strlen(argv[3]), &req->range.from) ||
	    dx_date_parse(argv[4], strlen(argv[4]), &req->range.to))
		return -EINVAL;
	req->operation = argc == 6 ? argv[5] : NULL;
	return 0;
}

static int parse_command(char **argv, int argc, struct probe *p)
{
	const char *cmd = argv[0];

	if (strcmp(cmd, "list") == 0 && argc == 2)
		p->cmd = CMD_LIST;
	else if (strcmp(cmd, "get") == 0 && argc == 2)
		p->cmd = CMD_GET;
	else if (strcmp(cmd, "check") == 0 && argc == 1)
		p->cmd = CMD_CHECK;
	else if (strcmp(cmd, "stats") == 0 && argc == 1)
		p->cmd = CMD_STATS;
	else if (strcmp(cmd, "readings") == 0) {
		p->cmd = CMD_READINGS;
		return parse_readings(argv + 1, argc - 1, &p->req);
	} else
		return -EINVAL;
	p->path = argc == 2 ? argv[1] : NULL;
	return 0;
}

struct cli {
	struct dx_client_opts opts;
	int threads, show_stats, debug;
	const char *state;
	struct probe probe;
};

/* Parses options into cli; returns the index of URL, or -1. */
static int parse_options(int argc, char **argv, struct cli *cli)
{
	int i;

	for (i = 1; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		const char *o = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(o, "--background") == 0)
			cli->probe.prio = DX_PRIO_BACKGROUND;
		else if (strcmp(o, "--debug") == 0)
			cli->debug = 1;
		else if (strcmp(o, "--insecure") == 0)
			cli->opts.allow_insecure_http = 1;
		else if (strcmp(o, "--stats") == 0)
			cli->show_stats = 1;
		else if (!v)
			return -1;
		else if (strcmp(o, "--parallel") == 0)
			cli->opts.max_parallel = atoi(v), i++;
		else if (strcmp(o, "--retries") == 0)
			cli->opts.max_retries = atoi(v), i++;
		else if (strcmp(o, "--deadline-ms") == 0)
			cli->opts.deadline_ms = atol(v), i++;
		else if (strcmp(o, "--quota-wait-ms") == 0)
			cli->opts.quota_wait_ms = atol(v), i++;
		else if (strcmp(o, "--attempt-timeout-ms") == 0)
			cli->opts.attempt_timeout_ms = atol(v), i++;
		else if (strcmp(o, "--reserve") == 0)
			cli->opts.reserve = atof(v), i++;
		else if (strcmp(o, "--threads") == 0)
			cli->threads = atoi(v), i++;
		else if (strcmp(o, "--state") == 0)
			cli->state = v, i++;
		else
			return -1;
	}
	if (cli->threads < 1 || cli->threads > MAX_THREADS || i + 2 > argc)
		return -1;
	return i;
}

static int run_workers(struct cli *cli, struct worker *w)
{
	int i, rc = 0;

	for (i = 0; i < cli->threads; i++) {
		w[i].probe = &cli->probe;
		dx_buf_init(&w[i].out, OUT_MAX);
	}
	for (i = 0; i < cli->threads; i++)
		if (pthread_create(&w[i].thread, NULL, run, &w[i]))
			return -EAGAIN;
	for (i = 0; i < cli->threads; i++) {
		pthread_join(w[i].thread, NULL);
		if (w[i].rc && !rc)
			rc = w[i].rc;
		if (cli->threads > 1)
			fprintf(stderr, "thread %d: %s %zu bytes\n", i,
				w[i].rc ? strerror(-w[i].rc) : "ok", w[i].out.len);
	}
	return rc;
}

int main(int argc, char **argv)
{
	static struct worker workers[MAX_THREADS];
	struct dx_client_stats stats;
	struct dx_quota_state q;
	struct cli cli;
	int first, rc, i, status;

	memset(&cli, 0, sizeof(cli));
	dx_client_opts_default(&cli.opts);
	cli.threads = 1;
	first = parse_options(argc, argv, &cli);
	if (first < 0 || parse_command(argv + first + 1, argc - first - 1, &cli.probe)) {
		usage();
		return 2;
	}
	dx_log_open(&(struct dx_log_opts){ .dest = DX_LOG_STDERR, .debug = cli.debug });
	cli.opts.api_url = argv[first];
	cli.opts.token = getenv("DEXMA_TOKEN");
	if (!cli.opts.token) {
		fprintf(stderr, "error: DEXMA_TOKEN is not set\n");
		return 2;
	}
	rc = dx_client_new(&cli.opts, &cli.probe.client);
	if (rc) {
		fprintf(stderr, "error: %s\n", strerror(-rc));
		return exit_code(-rc);
	}
	if (cli.state && load_state(cli.state, &q) == 0)
		dx_client_set_quota(cli.probe.client, &q);
	rc = run_workers(&cli, workers);
	if (workers[0].out.len)
		fwrite(workers[0].out.data, 1, workers[0].out.len, stdout);
	if (cli.probe.cmd == CMD_CHECK)
		fprintf(rc ? stderr : stdout, "%s\n", workers[0].reason);
	dx_client_stats(cli.probe.client, &stats);
	if (cli.probe.cmd == CMD_STATS)
		print_stats(stdout, &stats);
	if (cli.show_stats)
		print_stats(stderr, &stats);
	if (cli.state)
		save_state(cli.state, &stats.quota);
	status = 0;
	if (rc) {
		fprintf(stderr, "error: %s\n", strerror(-rc));
		status = exit_code(-rc);
	}
	for (i = 0; i < cli.threads; i++)
		dx_buf_release(&workers[i].out);
	dx_client_free(cli.probe.client);
	return status;
}
