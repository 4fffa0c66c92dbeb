/* dexmafs plan: what a first copy and a nightly refresh of subtrees of a
 * mounted dexmafs cost in API calls, against the token's quota. The
 * daemon knows what is cached: for each PATH this reads
 * MOUNT/.dexmafs/plan.INO (INO: the path's inode), whose content is the
 * plan of that subtree as one flat JSON object (tree_plan.c); the plans
 * are summed, checked against the quota and printed.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "dx_dates.h"

#define PLAN_TEXT_MAX (64 * 1024)
#define RES_LISTINGS DX_RES_COUNT

#define SHARED_MAX 64

struct totals {
	/* by resolution, then the listings (the shared ones included) */
	long long first[DX_RES_COUNT + 1], refresh[DX_RES_COUNT + 1];
	/* the deployment's own listings every plan counts: counted once */
	char shared[SHARED_MAX][320];
	size_t nshared;
	long long plan_calls, incomplete, chunks;
	long long hour_limit, day_limit, reserve;
	unsigned listed_res;
	char deployment[240];
};

static void usage(FILE *out)
{
	fprintf(out, "usage: dexmafs plan [--json] PATH...\n"
		     "PATH is a directory or file inside a mounted dexmafs.\n");
}

/* The number after "key": in text, or dflt. */
static long long number_of(const char *text, const char *key, long long dflt)
{
	char pat[64];
	const char *p;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	p = strstr(text, pat);
	return p ? strtoll(p + strlen(pat), NULL, 10) : dflt;
}

/* The mount's root: the nearest directory up from path that has
 * .dexmafs/status.json (reachable by name only, never listed). */
static int mount_root(const char *path, char root[PATH_MAX])
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

/* Reads the whole of path into text (NUL-terminated). 0 or -errno. */
static int read_text(const char *path, char *text, size_t size)
{
	size_t len = 0;
	ssize_t got;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return -errno;
	while (len + 1 < size && (got = read(fd, text + len, size - 1 - len)) > 0)
		len += (size_t)got;
	got = got < 0 ? -errno : 0;
	close(fd);
	text[len] = '\0';
	return (int)got;
}

/* Adds the shared listings of one plan ("PATH=FIRST:REFRESH,...") that
 * no plan before had. */
static void add_shared(struct totals *t, const char *text)
{
	const char *p = strstr(text, "\"shared\":\"");
	char one[64], id[320];
	long long first, refresh;
	size_t i;

	for (p = p ? p + 10 : NULL;
	     p && sscanf(p, "%63[^=\",]=%lld:%lld", one, &first, &refresh) == 3;
	     p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL) {
		snprintf(id, sizeof(id), "%s|%s", t->deployment, one);
		for (i = 0; i < t->nshared && strcmp(t->shared[i], id); i++)
			;
		if (i < t->nshared || t->nshared == SHARED_MAX)
			continue;
		snprintf(t->shared[t->nshared++], sizeof(t->shared[0]), "%s", id);
		t->first[RES_LISTINGS] += first;
		t->refresh[RES_LISTINGS] += refresh;
	}
}

static void add_plan(struct totals *t, const char *text)
{
	char key[64];
	const char *d;

	for (int r = 0; r < DX_RES_COUNT; r++) {
		snprintf(key, sizeof(key), "first_copy_%s", dx_res_name(r));
		t->first[r] += number_of(text, key, 0);
		snprintf(key, sizeof(key), "refresh_%s", dx_res_name(r));
		t->refresh[r] += number_of(text, key, 0);
	}
	t->first[RES_LISTINGS] += number_of(text, "first_copy_listing_calls", 0);
	t->refresh[RES_LISTINGS] += number_of(text, "refresh_listing_calls", 0);
	t->plan_calls += number_of(text, "plan_calls", 0);
	t->incomplete += number_of(text, "incomplete", 0);
	t->chunks += number_of(text, "chunks", 0);
	t->hour_limit = number_of(text, "hour_limit", -1);
	t->day_limit = number_of(text, "day_limit", -1);
	t->reserve = number_of(text, "reserve", 0);
	t->listed_res = (unsigned)number_of(text, "listed_res", 0);
	d = strstr(text, "\"deployment\":\"");
	if (d)
		sscanf(d + 14, "%239[^\"]", t->deployment);
	add_shared(t, text);
}

/* Adds the plan of path (inside the mount at root) to t. 0 or -1. */
static int plan_path(const char *path, const char *root, struct totals *t)
{
	char file[PATH_MAX + 64], *text = malloc(PLAN_TEXT_MAX);
	struct stat st;
	int rc = -1;

	if (!text)
		return fprintf(stderr, "dexmafs plan: out of memory\n"), -1;
	if (stat(path, &st)) {
		fprintf(stderr, "dexmafs plan: %s: %s\n", path, strerror(errno));
		goto out;
	}
	snprintf(file, sizeof(file), "%s/.dexmafs/plan.%llu", root, (unsigned long long)st.st_ino);
	if ((rc = read_text(file, text, PLAN_TEXT_MAX)) || !strstr(text, "first_copy_calls")) {
		fprintf(stderr, "dexmafs plan: %s: %s\n", path,
			rc      ? strerror(-rc) :
			text[0] ? text :
				  "no plan");
		rc = -1;
		goto out;
	}
	add_plan(t, text);
out:
	free(text);
	return rc;
}

static long long total(const long long *v)
{
	long long s = 0;

	for (int i = 0; i <= DX_RES_COUNT; i++)
		s += v[i];
	return s;
}

/* Calls a day the background may spend: the day's limit less the reserve
 * (the reserve is kept for interactive readers); -1 when not known. */
static long long day_budget(const struct totals *t)
{
	return t->day_limit > 0 ? t->day_limit - t->reserve : -1;
}

/* The listed resolutions whose refresh fits budget, dropping the one
 * whose refresh costs most until it fits (monthly stays: the periods are
 * listed from it). Writes "a+b+c" into out; 0, or -1 when none fits. */
static int suggest(const struct totals *t, long long budget, char *out, size_t size)
{
	unsigned keep = t->listed_res | (1u << DX_RES_MONTHLY);
	long long need = total(t->refresh);
	size_t len = 0;

	while (need > budget) {
		int worst = -1;

		for (int r = 0; r < DX_RES_MONTHLY; r++)
			if (keep & (1u << r) && (worst < 0 || t->refresh[r] > t->refresh[worst]))
				worst = r;
		if (worst < 0)
			return -1;
		keep &= ~(1u << worst);
		need -= t->refresh[worst];
	}
	out[0] = '\0';
	for (int r = 0; r < DX_RES_COUNT; r++)
		if (keep & (1u << r) && (t->listed_res & (1u << r) || r == DX_RES_MONTHLY))
			len += (size_t)snprintf(out + len, len < size ? size - len : 0, "%s%s",
						len ? "+" : "", dx_res_name(r));
	return 0;
}

struct verdict {
	long long budget, first_days;
	long long refresh_hours; /* at the hour's limit less the reserve; -1 unknown */
	int fits;                /* 1, 0, or -1: the limits were never seen */
	int suggested;           /* suggestion holds a set of resolutions */
	char suggestion[128];
};

static void judge(const struct totals *t, struct verdict *v)
{
	memset(v, 0, sizeof(*v));
	v->budget = day_budget(t);
	v->fits = v->budget < 0 ? -1 : total(t->refresh) <= v->budget;
	if (v->budget > 0)
		v->first_days = (total(t->first) + v->budget - 1) / v->budget;
	v->refresh_hours = -1;
	if (t->hour_limit > t->reserve)
		v->refresh_hours = (total(t->refresh) + t->hour_limit - t->reserve - 1) /
				   (t->hour_limit - t->reserve);
	if (v->fits == 0)
		v->suggested = !suggest(t, v->budget, v->suggestion, sizeof(v->suggestion));
}

static void print_json(const struct totals *t, const struct verdict *v)
{
	printf("{\"deployment\":\"%s\",\"first_copy_calls\":%lld,\"refresh_calls\":%lld,"
	       "\"first_copy_listing_calls\":%lld,\"refresh_listing_calls\":%lld,"
	       "\"chunks\":%lld,\"plan_calls\":%lld,\"complete\":%s,"
	       "\"hour_limit\":%lld,\"day_limit\":%lld,\"reserve\":%lld,\"day_budget\":%lld,"
	       "\"fits\":%s,\"first_copy_days\":%lld,\"refresh_hours\":%lld,"
	       "\"suggested_resolutions\":",
	       t->deployment, total(t->first), total(t->refresh), t->first[RES_LISTINGS],
	       t->refresh[RES_LISTINGS], t->chunks, t->plan_calls, t->incomplete ? "false" : "true",
	       t->hour_limit, t->day_limit, t->reserve, v->budget,
	       v->fits < 0 ? "null" :
	       v->fits     ? "true" :
			     "false",
	       v->first_days, v->refresh_hours);
	printf(v->suggested ? "\"%s\"" : "null", v->suggestion);
	for (int which = 0; which < 2; which++) {
		const long long *c = which ? t->refresh : t->first;
		int any = 0;

		printf(",\"%s_by_resolution\":{", which ? "refresh" : "first_copy");
		for (int r = 0; r < DX_RES_COUNT; r++)
			if (c[r])
				printf("%s\"%s\":%lld", any++ ? "," : "", dx_res_name(r), c[r]);
		printf("}");
	}
	printf("}\n");
}

static void print_by_res(const char *what, const long long *c)
{
	printf("  %-12s", what);
	for (int r = 0; r < DX_RES_COUNT; r++)
		if (c[r])
			printf(" %s %lld,", dx_res_name(r), c[r]);
	printf(" listings %lld\n", c[RES_LISTINGS]);
}

static void print_text(const struct totals *t, const struct verdict *v)
{
	printf("first copy:  %lld calls%s\n", total(t->first),
	       t->incomplete ? " (at least: some listings could not be read)" : "");
	print_by_res("", t->first);
	printf("refresh:     %lld calls a day (the open periods and the listings)\n",
	       total(t->refresh));
	print_by_res("", t->refresh);
	if (v->fits < 0) {
		printf("quota:       not seen yet (no call answered since the mount)\n");
		return;
	}
	printf("quota:       %lld calls an hour, %lld a day; %lld an hour kept for "
	       "interactive use\n",
	       t->hour_limit, t->day_limit, t->reserve);
	printf("fits:        %s: the refresh needs %lld of the %lld calls a day leaves above "
	       "the reserve\n",
	       v->fits ? "yes" : "no", total(t->refresh), v->budget);
	printf("first copy:  %lld day%s of quota\n", v->first_days, v->first_days == 1 ? "" : "s");
	if (v->refresh_hours >= 0)
		printf("refresh:     %lld hour%s at the hourly limit less the reserve\n",
		       v->refresh_hours, v->refresh_hours == 1 ? "" : "s");
	if (!v->fits && v->suggested)
		printf("suggestion:  -o resolutions=%s fits\n", v->suggestion);
	else if (!v->fits)
		printf("suggestion:  no set of resolutions fits: plan fewer paths, or ask DEXMA "
		       "for a larger quota\n");
}

int dx_plan_main(int argc, char *argv[])
{
	char root[PATH_MAX], first_root[PATH_MAX] = "";
	struct totals t = { 0 };
	struct verdict v;
	int json = 0, i = 1, rc;

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--json"))
			json = 1;
		else if (!strcmp(argv[i], "--help"))
			return usage(stdout), 0;
		else
			return usage(stderr), 1;
	}
	if (i == argc)
		return usage(stderr), 1;
	for (; i < argc; i++) {
		if ((rc = mount_root(argv[i], root)))
			return fprintf(stderr, "dexmafs plan: %s is not inside a mounted dexmafs\n",
				       argv[i]),
			       1;
		if (first_root[0] && strcmp(root, first_root))
			return fprintf(stderr, "dexmafs plan: all paths must be in one mount\n"), 1;
		snprintf(first_root, sizeof(first_root), "%s", root);
		if (plan_path(argv[i], root, &t))
			return 1;
	}
	judge(&t, &v);
	if (json)
		print_json(&t, &v);
	else
		print_text(&t, &v);
	return 0;
}
