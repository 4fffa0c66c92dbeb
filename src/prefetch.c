/* dexmafs prefetch: warms the cache of a mounted dexmafs by reading
 * through the mount, so the daemon fetches and keeps what is read.
 *
 * It runs itself at background priority (I/O class idle, nice 10), so the
 * daemon never spends the reserve for it: a read that would answers EAGAIN,
 * and the run stops there (or, with --wait, sleeps until the hourly quota
 * resets). The budget and the progress line come from the mount's
 * .dexmafs/status.json, read between steps. A cached file costs nothing,
 * so an interrupted run resumes by running it again. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "dx_dates.h"

#define MAX_JOBS 1000000
#define MAX_DEPS 64
#define MAX_THREADS 16
#define MAX_DEPTH 12
#define STATUS_MAX (1 << 20)
/* Background priority, as the daemon reads it (see ops.c). */
#define IOPRIO_WHO_PROCESS 1
#define IOPRIO_CLASS_SHIFT 13
#define IOPRIO_CLASS_IDLE 3
#define BACKGROUND_NICE 10

/* Set by SIGINT/SIGTERM; a signal handler can only reach a global. */
static volatile sig_atomic_t interrupted;

static void on_interrupt(int sig)
{
	(void)sig;
	interrupted = 1;
}

struct job {
	char *path; /* a resolution directory or one CSV file */
	int is_file;
	ino_t ino;
};

struct dep_quota {
	char name[256];
	long hour_left, hour_limit, reserve;
	int64_t reset_at;
	uint64_t calls;
};

struct pf {
	char root[PATH_MAX];
	int have_since, have_until, wait, tty, njobs_threads;
	struct dx_date since, until;
	long budget; /* calls; -1 for none */
	struct job *jobs;
	size_t njobs, next, jobs_done;
	pthread_mutex_t lock;
	uint64_t calls_start, calls_now;
	struct dep_quota q[MAX_DEPS];
	size_t nq;
	int at_reserve; /* a read answered EAGAIN: the reserve is reached */
	size_t files_done, files_failed;
	uint64_t bytes;
	int first_error;
	char first_error_path[PATH_MAX];
	const char *stop; /* why the run stopped early, or NULL */
	time_t started;
	int scanning;       /* still walking for directories */
	int64_t last_draw;  /* ms (monotonic) of the last progress line */
	size_t dirs_known;  /* directories whose files are counted */
	size_t files_known; /* the files of those */
};

static void usage(FILE *out)
{
	fprintf(out, "usage: dexmafs prefetch [--since YYYY-MM-DD] [--until YYYY-MM-DD] "
		     "[--budget CALLS] [--jobs N] [--wait] PATH...\n"
		     "PATH is a directory or file inside a mounted dexmafs.\n");
}

static void help(void)
{
	usage(stdout);
	printf("\nReads every CSV file under PATH so that the mount fetches and caches it,\n"
	       "at background priority: it never spends the quota's reserve.\n\n"
	       "  --since DATE   only periods that end on or after DATE; periods are opened\n"
	       "                 by name, so nothing outside the range is fetched\n"
	       "  --until DATE   only periods that start on or before DATE\n"
	       "  --budget N     stop after N API calls (counted from .dexmafs/status.json)\n"
	       "  --jobs N       read with N threads, 1 to 16 (default 2)\n"
	       "  --wait         when the hour's quota is down to the reserve, sleep until\n"
	       "                 it resets instead of stopping\n"
	       "  --help         print this help and exit\n\n"
	       "Exit status: 0 done, 1 error, 2 stopped early (budget or quota reserve;\n"
	       "run the same command again to go on), 130 interrupted.\n");
}

/* The number after "key": in text, or -1. */
static long long json_number(const char *text, const char *key)
{
	char pat[64];
	const char *p;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	p = strstr(text, pat);
	return p ? strtoll(p + strlen(pat), NULL, 10) : -1;
}

/* One deployment object of status.json (text starts at its "name"). */
static void status_dep(const char *text, struct dep_quota *q, uint64_t *total)
{
	const char *name = strchr(text + strlen("\"name\":"), '"');
	size_t len = name ? strcspn(name + 1, "\"") : 0;
	long long calls;

	memset(q, 0, sizeof(*q));
	q->hour_left = q->hour_limit = -1;
	if (name)
		snprintf(q->name, sizeof(q->name), "%.*s", (int)len, name + 1);
	if (!strstr(text, "\"quota\":") || strstr(text, "\"quota\":") > strstr(text, "}"))
		return; /* offline: no quota, no calls */
	q->hour_left = (long)json_number(text, "hour_remaining");
	q->hour_limit = (long)json_number(text, "hour_limit");
	q->reserve = (long)json_number(text, "reserve");
	q->reset_at = json_number(text, "hour_reset_at");
	calls = json_number(text, "total");
	q->calls = calls > 0 ? (uint64_t)calls : 0;
	*total += q->calls;
}

static int slurp(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "re");
	size_t n;

	if (!f)
		return -errno;
	n = fread(buf, 1, size - 1, f);
	buf[n] = '\0';
	fclose(f);
	return 0;
}

/* Reads .dexmafs/status.json into pf->q and pf->calls_now (the format is
 * the one this program's daemon writes; see the man page). Call with lock
 * held (or before the threads start). */
static int read_status(struct pf *pf)
{
	char path[PATH_MAX + 32], *text = malloc(STATUS_MAX);
	const char *p;
	uint64_t total = 0;
	int rc;

	if (!text)
		return -ENOMEM;
	snprintf(path, sizeof(path), "%s/.dexmafs/status.json", pf->root);
	rc = slurp(path, text, STATUS_MAX);
	pf->nq = 0;
	p = rc ? NULL : strstr(text, "\"deployments\":");
	while (p && (p = strstr(p + 1, "{ \"name\":")) && pf->nq < MAX_DEPS)
		status_dep(p + 2, &pf->q[pf->nq++], &total);
	free(text);
	if (!rc)
		pf->calls_now = total;
	return rc;
}

/* The deployment a path under the mount belongs to: its first component. */
static struct dep_quota *quota_of(struct pf *pf, const char *path)
{
	size_t rl = strlen(pf->root), i;
	const char *rel = path + rl, *end;

	while (*rel == '/')
		rel++;
	end = rel + strcspn(rel, "/");
	for (i = 0; i < pf->nq; i++)
		if (strlen(pf->q[i].name) == (size_t)(end - rel) &&
		    !strncmp(pf->q[i].name, rel, (size_t)(end - rel)))
			return &pf->q[i];
	return NULL;
}

static void fmt_duration(int64_t s, char *out, size_t size)
{
	if (s < 0)
		snprintf(out, size, "?");
	else if (s >= 3600)
		snprintf(out, size, "%" PRId64 "h%02" PRId64 "m", s / 3600, s / 60 % 60);
	else
		snprintf(out, size, "%" PRId64 "m%02" PRId64 "s", s / 60, s % 60);
}

/* The calls that do not fit above the reserve in this hour, as time:
 * whole hours of quota after the reset. -1 when they fit (or unknown). */
static int64_t quota_eta(const struct dep_quota *q, double need, int64_t now)
{
	long above = q && q->hour_left >= 0 ? q->hour_left - q->reserve : -1;
	double windows;

	if (above < 0 || need <= (double)above || q->hour_limit <= q->reserve)
		return -1;
	windows = (need - (double)above) / (double)(q->hour_limit - q->reserve);
	return (q->reset_at > now ? q->reset_at - now : 0) + (int64_t)windows * 3600;
}

/* The files to read: those of the directories listed so far, and as many
 * again per directory for those not listed yet. 0 when nothing is known. */
static size_t files_estimate(const struct pf *pf)
{
	size_t left = pf->njobs > pf->dirs_known ? pf->njobs - pf->dirs_known : 0;

	if (!pf->dirs_known)
		return 0;
	return pf->files_known + left * pf->files_known / pf->dirs_known;
}

/* Time left: the pace so far, or the hourly quota when the calls still
 * needed (one a file at most, before any is read) do not fit above the
 * reserve in this hour. */
static void eta_text(const struct pf *pf, const struct dep_quota *q, char *out, size_t size)
{
	int64_t now = time(NULL), elapsed = now - pf->started, eta = -1, qeta;
	size_t total = files_estimate(pf), done = pf->files_done + pf->files_failed;
	size_t left = total > done ? total - done : 0;
	uint64_t spent = pf->calls_now - pf->calls_start;
	double need = done ? (double)spent / (double)done * (double)left : (double)left;

	if (done && elapsed > 0)
		eta = elapsed * (int64_t)left / (int64_t)done;
	qeta = total ? quota_eta(q, need, now) : -1;
	if (qeta > eta) {
		fmt_duration(qeta, out, size);
		snprintf(out + strlen(out), size - strlen(out), " (hourly quota)");
	} else if (eta >= 0) {
		fmt_duration(eta, out, size);
	} else {
		snprintf(out, size, "soon");
	}
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A progress line: redrawn at most 4 times a second on a terminal, a
 * plain line every 10 seconds otherwise (a log, a pipe). force draws now
 * (the first line after the scan). Lock held. */
static void progress(struct pf *pf, const struct dep_quota *q, int force)
{
	char line[512], eta_s[48], quota_s[64] = "", files_s[48];
	int64_t now = now_ms();

	if (!force && now - pf->last_draw < (pf->tty ? 250 : 10000))
		return;
	pf->last_draw = now;
	if (q && q->hour_left >= 0)
		snprintf(quota_s, sizeof(quota_s), ", quota %ld/%ld left (reserve %ld)",
			 q->hour_left, q->hour_limit, q->reserve);
	if (pf->scanning) {
		snprintf(line, sizeof(line),
			 "scanning: %zu directories to read so far, calls %" PRIu64, pf->njobs,
			 pf->calls_now - pf->calls_start);
	} else {
		eta_text(pf, q, eta_s, sizeof(eta_s));
		if (files_estimate(pf))
			snprintf(files_s, sizeof(files_s), "/%s%zu",
				 pf->dirs_known < pf->njobs ? "~" : "", files_estimate(pf));
		snprintf(line, sizeof(line),
			 "dirs %zu/%zu, files %zu%s, calls %" PRIu64 "%s, ETA %s", pf->jobs_done,
			 pf->njobs, pf->files_done, files_s, pf->calls_now - pf->calls_start,
			 quota_s, eta_s);
	}
	if (pf->tty)
		fprintf(stderr, "\r\033[K%s", line);
	else
		fprintf(stderr, "prefetch: %s\n", line);
}

/* Whether the next step (in path) may spend calls: not interrupted, not
 * stopped, and the budget not spent. Lock held. */
static int may_spend(struct pf *pf, const char *path)
{
	if (interrupted) {
		pf->stop = pf->stop ? pf->stop : "interrupted";
		return 0;
	}
	if (pf->stop)
		return 0;
	if (read_status(pf)) {
		pf->stop = "the mount's .dexmafs/status.json is gone (unmounted?)";
		return 0;
	}
	if (pf->budget >= 0 && pf->calls_now - pf->calls_start >= (uint64_t)pf->budget) {
		pf->stop = "budget reached";
		return 0;
	}
	progress(pf, quota_of(pf, path), 0);
	return 1;
}

/* The daemon answered EAGAIN for path: the hour's quota is down to the
 * reserve, which a background reader never spends. Without --wait the run
 * stops; with it, this sleeps until the hourly quota resets. 1: try path
 * again; 0: give up. Lock held (released while sleeping). */
static int at_reserve(struct pf *pf, const char *path)
{
	const struct dep_quota *q;
	int64_t now, until;

	if (!pf->wait) {
		if (!pf->stop)
			pf->stop = "hourly quota down to the reserve (use --wait to wait for the "
				   "next hour)";
		return 0;
	}
	read_status(pf);
	q = quota_of(pf, path);
	now = time(NULL);
	until = q && q->reset_at > now ? q->reset_at + 1 : now + 5;
	fprintf(stderr,
		pf->tty ? "\r\033[Kwaiting for the hourly quota of %s" :
			  "prefetch: waiting for the hourly quota of %s\n",
		q ? q->name : "?");
	pthread_mutex_unlock(&pf->lock);
	while (!interrupted && time(NULL) < until)
		sleep(1);
	pthread_mutex_lock(&pf->lock);
	return !interrupted && may_spend(pf, path);
}

static int add_job(struct pf *pf, const char *path, int is_file, ino_t ino)
{
	struct job *grown;
	size_t i;

	for (i = 0; i < pf->njobs; i++)
		if (pf->jobs[i].ino == ino && pf->jobs[i].is_file == is_file)
			return 0; /* reached twice, e.g. through a location's devices/ */
	if (pf->njobs >= MAX_JOBS)
		return -E2BIG;
	grown = realloc(pf->jobs, (pf->njobs + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	pf->jobs = grown;
	pf->jobs[pf->njobs].path = strdup(path);
	if (!pf->jobs[pf->njobs].path)
		return -ENOMEM;
	pf->jobs[pf->njobs].is_file = is_file;
	pf->jobs[pf->njobs].ino = ino;
	pf->njobs++;
	return 0;
}

static int is_res_dir(const char *path)
{
	const char *base = strrchr(path, '/');
	enum dx_res r;

	return !dx_res_from_name(base ? base + 1 : path, &r);
}

static const char *base_name(const char *path)
{
	const char *b = strrchr(path, '/');

	return b ? b + 1 : path;
}

/* Collects the resolution directories under path. Listing a directory may
 * cost calls (devices, parameters), so each one is a budget step. Links
 * are followed only inside a location's devices/, where they lead to
 * devices; "location" and "parent" links would walk the whole tree. */
static int walk(struct pf *pf, const char *path, int depth)
{
	struct dirent *e;
	struct stat st;
	char child[PATH_MAX];
	DIR *d;
	int rc = 0, in_links = !strcmp(base_name(path), "devices") && depth > 0;

	if (depth > MAX_DEPTH || !may_spend(pf, path))
		return 0;
	while (!(d = opendir(path)) && errno == EAGAIN)
		if (!at_reserve(pf, path))
			return 0;
	if (!d)
		return -errno;
	while (!rc && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		if ((size_t)snprintf(child, sizeof(child), "%s/%s", path, e->d_name) >=
		    sizeof(child))
			continue;
		if (lstat(child, &st) &&
		    (errno != EAGAIN || !at_reserve(pf, child) || lstat(child, &st)))
			continue;
		if (S_ISLNK(st.st_mode)) {
			char target[PATH_MAX];

			if (!in_links || !realpath(child, target) || stat(target, &st) ||
			    !S_ISDIR(st.st_mode))
				continue;
			rc = walk(pf, target, depth + 1);
		} else if (S_ISDIR(st.st_mode)) {
			rc = is_res_dir(child) ? add_job(pf, child, 0, st.st_ino) :
						 walk(pf, child, depth + 1);
		}
	}
	closedir(d);
	return rc;
}

static int in_range(const struct pf *pf, const struct dx_range *r)
{
	if (pf->have_since && dx_date_cmp(r->to, pf->since) < 0)
		return 0;
	if (pf->have_until && dx_date_cmp(r->from, pf->until) > 0)
		return 0;
	return 1;
}

/* Reads a whole file, which makes the daemon fetch and cache it. */
static int read_file(const char *path, uint64_t *bytes)
{
	char buf[65536];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = 0;

	if (fd < 0)
		return -errno;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		*bytes += (uint64_t)n;
	if (n < 0)
		rc = -errno;
	close(fd);
	return rc;
}

/* Lock held. */
static void record_failure(struct pf *pf, const char *path, int rc)
{
	pf->files_failed++;
	if (!pf->first_error) {
		pf->first_error = rc;
		snprintf(pf->first_error_path, sizeof(pf->first_error_path), "%s", path);
	}
}

static void do_file(struct pf *pf, const char *path)
{
	uint64_t bytes = 0;
	int rc;

	pthread_mutex_lock(&pf->lock);
	rc = may_spend(pf, path);
	pthread_mutex_unlock(&pf->lock);
	if (!rc)
		return;
	for (;;) {
		rc = read_file(path, &bytes);
		if (rc != -EAGAIN)
			break;
		pthread_mutex_lock(&pf->lock);
		rc = at_reserve(pf, path);
		pthread_mutex_unlock(&pf->lock);
		if (!rc)
			return;
		bytes = 0;
	}
	pthread_mutex_lock(&pf->lock);
	if (rc) {
		record_failure(pf, path, rc);
	} else {
		pf->files_done++;
		pf->bytes += bytes;
	}
	pthread_mutex_unlock(&pf->lock);
}

/* The canonical periods of a resolution between --since and --until,
 * opened by name: no listing, so nothing outside the range is fetched. */
static int periods_by_name(struct pf *pf, const char *dir, char ***names, size_t *n)
{
	enum dx_res r;
	struct dx_date d = pf->since,
		       end = pf->have_until ? pf->until : dx_date_of_epoch(time(NULL));
	char name[DX_RANGE_NAME_MAX], **grown;

	dx_res_from_name(base_name(dir), &r);
	*names = NULL;
	*n = 0;
	while (dx_date_cmp(d, end) <= 0 && *n < 10000) {
		struct dx_range p = dx_period_of(r, d);

		dx_range_format_name(&p, name);
		grown = realloc(*names, (*n + 1) * sizeof(**names));
		if (!grown || !(grown[*n] = strdup(name))) {
			*names = grown ? grown : *names;
			return -ENOMEM;
		}
		*names = grown;
		(*n)++;
		d = dx_date_from_days(dx_date_to_days(p.to) + 1);
	}
	return 0;
}

static int listed_periods(struct pf *pf, const char *dir, char ***names, size_t *n)
{
	struct dirent *e;
	enum dx_res r;
	char **grown;
	DIR *d = opendir(dir);

	*names = NULL;
	*n = 0;
	if (!d)
		return -errno;
	dx_res_from_name(base_name(dir), &r);
	while ((e = readdir(d))) {
		struct dx_range range;

		if (dx_range_parse_name(e->d_name, r, &range) || !in_range(pf, &range))
			continue;
		grown = realloc(*names, (*n + 1) * sizeof(**names));
		if (!grown)
			break;
		*names = grown;
		if (!(grown[*n] = strdup(e->d_name)))
			break;
		(*n)++;
	}
	closedir(d);
	return 0;
}

static void do_dir(struct pf *pf, const char *dir)
{
	char **names = NULL, path[PATH_MAX];
	size_t n = 0, i;
	int rc;

	pthread_mutex_lock(&pf->lock);
	rc = may_spend(pf, dir);
	pthread_mutex_unlock(&pf->lock);
	if (!rc)
		return;
	/* Listing a resolution directory fetches what ls -l needs, i.e. every
	 * period's data; with --since the names are made instead. */
	for (;;) {
		rc = pf->have_since ? periods_by_name(pf, dir, &names, &n) :
				      listed_periods(pf, dir, &names, &n);
		if (rc != -EAGAIN)
			break;
		pthread_mutex_lock(&pf->lock);
		rc = at_reserve(pf, dir);
		pthread_mutex_unlock(&pf->lock);
		if (!rc)
			return;
	}
	if (!rc && !pf->have_since) {
		pthread_mutex_lock(&pf->lock);
		pf->dirs_known++;
		pf->files_known += n;
		pthread_mutex_unlock(&pf->lock);
	}
	for (i = 0; i < n; i++) {
		if (!rc &&
		    (size_t)snprintf(path, sizeof(path), "%s/%s", dir, names[i]) < sizeof(path))
			do_file(pf, path);
		free(names[i]);
	}
	free(names);
	if (rc) {
		pthread_mutex_lock(&pf->lock);
		record_failure(pf, dir, rc);
		pthread_mutex_unlock(&pf->lock);
	}
}

static void *worker(void *arg)
{
	struct pf *pf = arg;
	struct job *j;

	for (;;) {
		pthread_mutex_lock(&pf->lock);
		j = pf->next < pf->njobs && !pf->stop && !interrupted ? &pf->jobs[pf->next++] :
									NULL;
		pthread_mutex_unlock(&pf->lock);
		if (!j)
			return NULL;
		if (j->is_file)
			do_file(pf, j->path);
		else
			do_dir(pf, j->path);
		pthread_mutex_lock(&pf->lock);
		pf->jobs_done++;
		pthread_mutex_unlock(&pf->lock);
	}
}

/* The mount's root: the nearest directory up from path that has
 * .dexmafs/status.json (reachable by name only, never listed). */
static int find_root(const char *path, char root[PATH_MAX])
{
	char probe[PATH_MAX + 32], *slash;

	if (!realpath(path, root))
		return -errno;
	for (;;) {
		snprintf(probe, sizeof(probe), "%s/.dexmafs/status.json", root);
		if (!access(probe, R_OK))
			return 0;
		slash = strrchr(root, '/');
		if (!slash || slash == root)
			return -ENOENT;
		*slash = '\0';
	}
}

static int parse_date(const char *s, struct dx_date *d)
{
	return dx_date_parse(s, strlen(s), d);
}

/* One option of the command line: 0 to go on, 1 for --help, -1 on a
 * bad value (message printed). */
static int parse_one(struct pf *pf, int c, const char *arg)
{
	char *end;

	switch (c) {
	case 's':
	case 'u':
		if (parse_date(arg, c == 's' ? &pf->since : &pf->until))
			return fprintf(stderr, "dexmafs prefetch: bad --%s '%s' (YYYY-MM-DD)\n",
				       c == 's' ? "since" : "until", arg),
			       -1;
		*(c == 's' ? &pf->have_since : &pf->have_until) = 1;
		return 0;
	case 'b':
		pf->budget = strtol(arg, &end, 10);
		if (*end || end == arg || pf->budget < 0)
			return fprintf(stderr, "dexmafs prefetch: bad --budget '%s'\n", arg), -1;
		return 0;
	case 'j':
		pf->njobs_threads = (int)strtol(arg, &end, 10);
		if (*end || pf->njobs_threads < 1 || pf->njobs_threads > MAX_THREADS)
			return fprintf(stderr, "dexmafs prefetch: --jobs takes 1 to 16\n"), -1;
		return 0;
	case 'w':
		pf->wait = 1;
		return 0;
	case 'h':
		help();
		return 1;
	default:
		usage(stderr);
		return -1;
	}
}

static int parse_args(struct pf *pf, int argc, char *argv[])
{
	static const struct option longopts[] = { { "since", required_argument, NULL, 's' },
						  { "until", required_argument, NULL, 'u' },
						  { "budget", required_argument, NULL, 'b' },
						  { "jobs", required_argument, NULL, 'j' },
						  { "wait", no_argument, NULL, 'w' },
						  { "help", no_argument, NULL, 'h' },
						  { NULL, 0, NULL, 0 } };
	int c, rc;

	while ((c = getopt_long(argc, argv, "s:u:b:j:wh", longopts, NULL)) != -1)
		if ((rc = parse_one(pf, c, optarg)))
			return rc;
	if (optind >= argc) {
		usage(stderr);
		return -1;
	}
	if (pf->have_since && pf->have_until && dx_date_cmp(pf->since, pf->until) > 0)
		return fprintf(stderr, "dexmafs prefetch: --since is after --until\n"), -1;
	return 0;
}

static int collect(struct pf *pf, int argc, char *argv[])
{
	char root[PATH_MAX], real[PATH_MAX];
	struct stat st;
	int i, rc;

	for (i = optind; i < argc; i++) {
		if (stat(argv[i], &st))
			return fprintf(stderr, "dexmafs prefetch: %s %s\n", argv[i],
				       errno == ENOENT ? "does not exist" : strerror(errno)),
			       -1;
		if ((rc = find_root(argv[i], root))) {
			fprintf(stderr,
				"dexmafs prefetch: %s is not inside a mounted dexmafs%s%s\n",
				argv[i], rc == -ENOENT ? "" : ": ",
				rc == -ENOENT ? "" : strerror(-rc));
			return -1;
		}
		if (pf->root[0] && strcmp(pf->root, root)) {
			fprintf(stderr, "dexmafs prefetch: all paths must be in one mount\n");
			return -1;
		}
		snprintf(pf->root, sizeof(pf->root), "%s", root);
		if (!realpath(argv[i], real) || stat(real, &st))
			return fprintf(stderr, "dexmafs prefetch: %s: %s\n", argv[i],
				       strerror(errno)),
			       -1;
		if (read_status(pf))
			return fprintf(stderr,
				       "dexmafs prefetch: cannot read %s/.dexmafs/status.json\n",
				       root),
			       -1;
		if (!pf->calls_start)
			pf->calls_start = pf->calls_now;
		if (S_ISREG(st.st_mode))
			rc = add_job(pf, real, 1, st.st_ino);
		else if (is_res_dir(real))
			rc = add_job(pf, real, 0, st.st_ino);
		else
			rc = walk(pf, real, 0);
		if (rc) {
			fprintf(stderr, "dexmafs prefetch: %s: %s\n", argv[i], strerror(-rc));
			return -1;
		}
	}
	return 0;
}

/* What is known before reading: the files named jobs, and with --since
 * every directory's periods (made by name, not listed). Lock held. */
static void count_known(struct pf *pf)
{
	char **names;
	size_t n, k;

	for (size_t i = 0; i < pf->njobs; i++) {
		if (pf->jobs[i].is_file) {
			pf->dirs_known++;
			pf->files_known++;
		} else if (pf->have_since && !periods_by_name(pf, pf->jobs[i].path, &names, &n)) {
			pf->dirs_known++;
			pf->files_known += n;
			for (k = 0; k < n; k++)
				free(names[k]);
			free(names);
		}
	}
}

/* Runs this process at the priority the daemon serves as background:
 * I/O class idle and nice 10 (threads started later inherit both). */
static void become_background(void)
{
	int nice_value;

	if (syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0,
		    IOPRIO_CLASS_IDLE << IOPRIO_CLASS_SHIFT) != 0)
		fprintf(stderr, "dexmafs prefetch: cannot set the idle I/O class: %s\n",
			strerror(errno));
	errno = 0;
	nice_value = getpriority(PRIO_PROCESS, 0);
	if (errno == 0 && nice_value < BACKGROUND_NICE &&
	    setpriority(PRIO_PROCESS, 0, BACKGROUND_NICE) != 0)
		fprintf(stderr, "dexmafs prefetch: cannot set nice %d: %s\n", BACKGROUND_NICE,
			strerror(errno));
}

static void run_workers(struct pf *pf)
{
	pthread_t threads[MAX_THREADS];
	int i, started = 0;

	for (i = 0; i < pf->njobs_threads; i++)
		if (!pthread_create(&threads[i], NULL, worker, pf))
			started++;
	if (!started)
		worker(pf);
	for (i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
}

/* The summary lines and the exit status. */
static int report(struct pf *pf)
{
	char size_s[32], took[32];

	pthread_mutex_lock(&pf->lock);
	if (!pf->stop && interrupted)
		pf->stop = "interrupted";
	read_status(pf);
	if (pf->tty)
		fprintf(stderr, "\r\033[K");
	snprintf(size_s, sizeof(size_s), "%.1f MB", (double)pf->bytes / 1e6);
	fmt_duration(time(NULL) - pf->started, took, sizeof(took));
	printf("prefetch: %zu files (%s) in %zu of %zu directories, %" PRIu64
	       " API calls, %s; %s\n",
	       pf->files_done, size_s, pf->jobs_done, pf->njobs, pf->calls_now - pf->calls_start,
	       took, pf->stop ? pf->stop : "done");
	if (pf->files_failed)
		fprintf(stderr, "dexmafs prefetch: %zu failed, first %s: %s\n", pf->files_failed,
			pf->first_error_path, strerror(-pf->first_error));
	if (pf->stop)
		printf("prefetch: run the same command again to go on; cached files cost "
		       "nothing\n");
	pthread_mutex_unlock(&pf->lock);
	return interrupted ? 130 : pf->files_failed ? 1 : pf->stop ? 2 : 0;
}

int dx_prefetch_main(int argc, char *argv[])
{
	struct pf *pf = calloc(1, sizeof(*pf));
	struct sigaction sa = { 0 };
	int rc, ret = 1;
	size_t k;

	if (!pf)
		return 1;
	pf->budget = -1;
	pf->njobs_threads = 2;
	pthread_mutex_init(&pf->lock, NULL);
	pf->tty = isatty(STDERR_FILENO);
	pf->started = time(NULL);
	pf->last_draw = now_ms();     /* a quick scan draws nothing */
	sa.sa_handler = on_interrupt; /* no SA_RESTART: a blocked read returns */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	rc = parse_args(pf, argc, argv);
	if (rc)
		goto out;
	become_background();
	pthread_mutex_lock(&pf->lock);
	pf->scanning = 1;
	rc = collect(pf, argc, argv);
	pf->scanning = 0;
	if (!rc) {
		count_known(pf);
		progress(pf, pf->nq ? &pf->q[0] : NULL, 1);
	}
	pthread_mutex_unlock(&pf->lock);
	if (rc)
		goto out;
	run_workers(pf);
	ret = report(pf);
out:
	if (rc == 1)
		ret = 0; /* --help */
	for (k = 0; k < pf->njobs; k++)
		free(pf->jobs[k].path);
	free(pf->jobs);
	pthread_mutex_destroy(&pf->lock);
	free(pf);
	return ret;
}
