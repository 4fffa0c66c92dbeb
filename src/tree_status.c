/* The status producer: one snapshot of the counters (struct status),
 * rendered as the text of .dexmafs/status and as .dexmafs/status.json (the
 * format is documented in the man page, STATUS.JSON).
 */
#include <errno.h>
#include <stddef.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "readahead.h"
#include "tree_impl.h"
#include "tree_keep.h"
#include "tree_reads.h"
#include "tree_status.h"

#define STATUS_VERSION 1

struct status_dep {
	const char *name;
	int offline;
	const char *api;
	struct dx_client_stats s;
	struct dx_cache_open open; /* open chunks kept; held 0 when unknown */
};

struct status {
	int64_t now;
	struct dx_cache_stats cache;
	uint64_t json_decodes;
	uint64_t stat_renders;
	uint64_t twin_renders, twins_kept, twins_from_store;
	uint64_t opens;
	uint64_t ahead_fetches, ahead_used; /* the walk readahead's */
	uint64_t renders_ahead, renders_ahead_used;
	const char *damaged;     /* the damaged-cache report, or NULL */
	const char *dialect;     /* the CSV dialect's name */
	const char *dialect_why; /* how it was chosen, or NULL */
	int keeping;             /* subtrees are kept: keep holds keep's counts */
	struct dx_keep_counts keep;
	size_t ndeps;
	struct status_dep *deps;
};

static const char *api_state(const struct dx_client_stats *s, int64_t now)
{
	if (s->quota.blocked_until > now)
		return "over quota";
	return s->unreachable_since ? "unreachable" : "reachable";
}

/* The deployment's open chunks kept in the cache (a scan of its keys). */
static void open_chunks(struct dx_tree *t, struct status_dep *d)
{
	char prefix[DX_REQUEST_KEY_MAX];

	memset(&d->open, 0, sizeof(d->open));
	if (!dx_request_prefix(DX_PREFIX_DEPLOYMENT, d->name, 0, NULL, DX_RES_MONTHLY, prefix,
			       sizeof(prefix)))
		t->source->ops->open_chunks(t->source->ctx, prefix, t->opts.ttl_open, &d->open);
}

/* Fills st once; free st->deps. 0 or -ENOMEM. */
static int status_fill(struct dx_tree *t, struct status *st)
{
	size_t i;

	st->now = dx_tree_now(t);
	t->source->ops->cache_stats(t->source->ctx, &st->cache);
	st->json_decodes = dx_data_decodes(t->data);
	st->stat_renders = __atomic_load_n(&t->stat_renders, __ATOMIC_RELAXED);
	st->twin_renders = __atomic_load_n(&t->twin_renders, __ATOMIC_RELAXED);
	st->twins_kept = __atomic_load_n(&t->twins_kept, __ATOMIC_RELAXED);
	st->twins_from_store = __atomic_load_n(&t->twins_from_store, __ATOMIC_RELAXED);
	st->opens = __atomic_load_n(&t->opens, __ATOMIC_RELAXED);
	dx_readahead_counts(t->ra, &st->ahead_fetches, &st->ahead_used);
	dx_reads_counts(t->reads, &st->renders_ahead, &st->renders_ahead_used);
	st->damaged = t->opts.cache_damaged;
	st->dialect = dx_csv_dialect_name(t->opts.dialect);
	st->dialect_why = t->opts.dialect_why;
	st->keeping = !dx_keep_counts(t, &st->keep);
	st->ndeps = t->opts.ndeps;
	st->deps = calloc(st->ndeps ? st->ndeps : 1, sizeof(*st->deps));
	if (!st->deps)
		return -ENOMEM;
	for (i = 0; i < st->ndeps; i++) {
		struct status_dep *d = &st->deps[i];

		d->name = t->opts.deps[i].name;
		d->offline = t->source->ops->client_stats(t->source->ctx, (int)i, &d->s) != 0;
		d->api = d->offline ? "offline" : api_state(&d->s, st->now);
		open_chunks(t, d);
	}
	return 0;
}

static void format_time(int64_t t, char out[32])
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (t <= 0) {
		snprintf(out, 32, "unknown");
		return;
	}
	gmtime_r(&tt, &tm);
	strftime(out, 32, "%Y-%m-%d %H:%M:%S UTC", &tm);
}

/* n bytes for a reader: "512 B", "1.5 KiB", "158.6 MiB"; status.json
 * keeps the exact count. */
static void human_bytes(uint64_t n, char out[32])
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	double v = (double)n;
	size_t u = 0;

	if (n < 1024) {
		snprintf(out, 32, "%" PRIu64 " B", n);
		return;
	}
	for (v /= 1024; v >= 1023.95 && u + 1 < sizeof(units) / sizeof(units[0]); u++)
		v /= 1024;
	snprintf(out, 32, "%.1f %s", v, units[u]);
}

static int text_dep(const struct status_dep *d, struct dx_buf *out)
{
	const struct dx_client_stats *s = &d->s;
	char hr[32], dr[32], bl[32], since[32], got[32];

	if (d->offline)
		return dx_buf_puts(out, "api: offline (no calls are made)\n");
	format_time(s->quota.hour_reset_at, hr);
	format_time(s->quota.day_reset_at, dr);
	format_time(s->quota.blocked_until, bl);
	format_time(s->unreachable_since, since);
	human_bytes(s->bytes, got);
	return dx_buf_printf(out,
			     "api: %s%s%s\n"
			     "quota hour: %ld of %ld left, resets %s\n"
			     "quota day: %ld of %ld left, resets %s\n"
			     "reserve: %ld calls kept for interactive use\n"
			     "blocked until: %s\n"
			     "calls: %" PRIu64 " (listings %" PRIu64 ", objects %" PRIu64
			     ", readings %" PRIu64 ")\n"
			     "429 answers: %" PRIu64 "\nretries: %" PRIu64 "\nerrors: %" PRIu64 "\n"
			     "received: %s\naverage latency: %" PRIu64 " ms\n",
			     d->api, strcmp(d->api, "unreachable") ? "" : " since ",
			     strcmp(d->api, "unreachable") ? "" : since, s->quota.hour_remaining,
			     s->quota.hour_limit, hr, s->quota.day_remaining, s->quota.day_limit,
			     dr, s->reserve, s->quota.blocked_until > 0 ? bl : "not blocked",
			     s->calls, s->calls_list, s->calls_object, s->calls_readings,
			     s->status_429, s->retries, s->errors, got,
			     s->calls ? s->latency_ms_total / s->calls : 0);
}

/* keep's line: what it keeps, its last pass, what it spent. */
static int text_keep(const struct dx_keep_counts *k, struct dx_buf *out)
{
	char started[32], ended[32], full[32];

	format_time(k->pass_started, started);
	format_time(k->pass_ended, ended);
	format_time(k->cache_full_since, full);
	return dx_buf_printf(out,
			     "keep: %zu subtrees, %zu series; last pass %s to %s refreshed %zu, "
			     "%zu wait for the next; %ld calls this hour (share %.2f), %" PRIu64
			     " in all%s%s\n",
			     k->paths, k->series, started, k->pass_ended ? ended : "(running)",
			     k->refreshed, k->waiting, k->calls_hour, k->share, k->calls,
			     k->cache_full_since ? "; stopped at cache_size since " : "",
			     k->cache_full_since ? full : "");
}

/* "open chunks: 12 held, 3 stale, oldest fetched 2026-12-07 18:00:00 UTC
 * (3600 s ago)". */
static int text_open(const struct status_dep *d, int64_t now, struct dx_buf *out)
{
	char when[32];

	if (!d->open.held)
		return dx_buf_puts(out, "open chunks: 0 held\n");
	format_time(d->open.oldest_fetched_at, when);
	return dx_buf_printf(out,
			     "open chunks: %" PRIu64 " held, %" PRIu64 " stale, oldest fetched %s "
			     "(%" PRId64 " s ago)\n",
			     d->open.held, d->open.stale, when, now - d->open.oldest_fetched_at);
}

static int status_text(const struct status *st, struct dx_buf *out)
{
	const struct dx_cache_stats *cs = &st->cache;
	char when[32], used[32];
	size_t i;
	int rc = 0;

	format_time(st->now, when);
	human_bytes(cs->bytes_used, used);
	rc |= dx_buf_printf(out, "time: %s\n", when);
	rc |= dx_buf_printf(out, "csv dialect: %s%s%s%s\n", st->dialect,
			    st->dialect_why ? " (" : "", st->dialect_why ? st->dialect_why : "",
			    st->dialect_why ? ")" : "");
	if (st->damaged)
		rc |= dx_buf_printf(out, "damaged cache: %s\n", st->damaged);
	if (cs->full_since) {
		char since[32];

		format_time(cs->full_since, since);
		rc |= dx_buf_printf(out,
				    "cache full since %s: nothing more fits in the cache "
				    "directory; answers are served but not kept\n",
				    since);
	}
	if (cs->stale_served)
		rc |= dx_buf_printf(out,
				    "stale: %" PRIu64 " answers were served from the cache "
				    "because the API failed or the quota was spent\n",
				    cs->stale_served);
	rc |= dx_buf_printf(out,
			    "cache: %" PRIu64 " entries, %s, "
			    "%" PRIu64 " hits, %" PRIu64 " misses, %" PRIu64 " stale served, "
			    "%" PRIu64 " fetch errors, %" PRIu64 " evictions\n",
			    cs->entries, used, cs->hits, cs->misses, cs->stale_served,
			    cs->fetch_errors, cs->evictions);
	if (st->keeping)
		rc |= text_keep(&st->keep, out);
	for (i = 0; i < st->ndeps; i++) {
		rc |= dx_buf_printf(out, "\ndeployment: %s\n", st->deps[i].name);
		rc |= text_dep(&st->deps[i], out);
		rc |= text_open(&st->deps[i], st->now, out);
	}
	return rc ? -ENOMEM : 0;
}

/* A JSON string: quotes, backslashes and control characters escaped;
 * other bytes (UTF-8) as they are. */
static int json_string(struct dx_buf *out, const char *s)
{
	int rc = dx_buf_puts(out, "\"");

	for (; *s && !rc; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			rc = dx_buf_printf(out, "\\%c", ch);
		else if (ch < 0x20)
			rc = dx_buf_printf(out, "\\u%04x", ch);
		else
			rc = dx_buf_append(out, s, 1);
	}
	return rc ? rc : dx_buf_puts(out, "\"");
}

static int json_dep(const struct status_dep *d, struct dx_buf *out)
{
	const struct dx_client_stats *s = &d->s;
	int rc = dx_buf_puts(out, "    { \"name\": ");

	rc = rc ? rc : json_string(out, d->name);
	rc = rc ? rc :
		  dx_buf_printf(out,
				",\n      \"api\": \"%s\",\n      "
				"\"unreachable_since\": ",
				d->api);
	if (!rc && !d->offline && s->unreachable_since)
		rc = dx_buf_printf(out, "%" PRId64, s->unreachable_since);
	else if (!rc)
		rc = dx_buf_puts(out, "null");
	if (rc || d->offline)
		return rc;
	return dx_buf_printf(
		out,
		",\n"
		"      \"quota\": { \"hour_remaining\": %ld, \"hour_limit\": %ld, "
		"\"hour_reset_at\": %" PRId64 ",\n"
		"                 \"day_remaining\": %ld, \"day_limit\": %ld, "
		"\"day_reset_at\": %" PRId64 ",\n"
		"                 \"blocked_until\": %" PRId64 ", \"reserve\": %ld },\n"
		"      \"calls\": { \"total\": %" PRIu64 ", \"listings\": %" PRIu64 ", "
		"\"objects\": %" PRIu64 ", \"readings\": %" PRIu64 " },\n"
		"      \"status_429\": %" PRIu64 ", \"retries\": %" PRIu64 ", \"errors\": %" PRIu64
		", \"bytes\": %" PRIu64 ", \"latency_ms_avg\": %" PRIu64,
		s->quota.hour_remaining, s->quota.hour_limit, s->quota.hour_reset_at,
		s->quota.day_remaining, s->quota.day_limit, s->quota.day_reset_at,
		s->quota.blocked_until > 0 ? s->quota.blocked_until : 0, s->reserve, s->calls,
		s->calls_list, s->calls_object, s->calls_readings, s->status_429, s->retries,
		s->errors, s->bytes, s->calls ? s->latency_ms_total / s->calls : 0);
}

static int json_keep(const struct dx_keep_counts *k, struct dx_buf *out)
{
	return dx_buf_printf(out,
			     ",\n  \"keep\": { \"paths\": %zu, \"series\": %zu, "
			     "\"refreshed_last_pass\": %zu, \"waiting\": %zu,\n"
			     "            \"last_pass_started\": %" PRId64
			     ", \"last_pass_ended\": %" PRId64 ", \"calls_this_hour\": %ld"
			     ", \"calls\": %" PRIu64 ",\n"
			     "            \"share\": %.3f, \"interval\": %" PRId64
			     ", \"cache_full_since\": %" PRId64 " }",
			     k->paths, k->series, k->refreshed, k->waiting, k->pass_started,
			     k->pass_ended, k->calls_hour, k->calls, k->share, k->interval,
			     k->cache_full_since);
}

/* Closes a deployment's object with its open chunks. */
static int json_open(const struct status_dep *d, int64_t now, struct dx_buf *out)
{
	int rc = dx_buf_printf(out,
			       ",\n      \"open_chunks\": { \"held\": %" PRIu64
			       ", \"stale\": %" PRIu64 ", \"oldest_fetched_at\": ",
			       d->open.held, d->open.stale);

	if (!rc && d->open.held)
		rc = dx_buf_printf(out, "%" PRId64 ", \"oldest_age_s\": %" PRId64,
				   d->open.oldest_fetched_at, now - d->open.oldest_fetched_at);
	else if (!rc)
		rc = dx_buf_puts(out, "null, \"oldest_age_s\": null");
	return rc ? rc : dx_buf_puts(out, " } }");
}

/* The cache's "full_since": when nothing more fit, or null. */
static int json_full(const struct dx_cache_stats *cs, struct dx_buf *out)
{
	if (!cs->full_since)
		return dx_buf_puts(out, ", \"full_since\": null");
	return dx_buf_printf(out, ", \"full_since\": %" PRId64, cs->full_since);
}

static int status_json(const struct status *st, struct dx_buf *out)
{
	const struct dx_cache_stats *cs = &st->cache;
	size_t i;
	int rc;

	rc = dx_buf_printf(out,
			   "{ \"version\": %d,\n  \"time\": %" PRId64 ",\n"
			   "  \"cache\": { \"entries\": %" PRIu64 ", \"bytes\": %" PRIu64
			   ", \"hits\": %" PRIu64 ", \"misses\": %" PRIu64
			   ", \"stale_served\": %" PRIu64 ",\n"
			   "             \"fetch_errors\": %" PRIu64 ", \"evictions\": %" PRIu64
			   ", \"damaged\": ",
			   STATUS_VERSION, st->now, cs->entries, cs->bytes_used, cs->hits,
			   cs->misses, cs->stale_served, cs->fetch_errors, cs->evictions);
	rc = rc ? rc : st->damaged ? json_string(out, st->damaged) : dx_buf_puts(out, "null");
	rc = rc ? rc : json_full(cs, out);
	rc = rc ? rc :
		  dx_buf_printf(out, " },\n  \"csv_dialect\": \"%s\", \"csv_dialect_why\": ",
				st->dialect);
	rc = rc              ? rc :
	     st->dialect_why ? json_string(out, st->dialect_why) :
			       dx_buf_puts(out, "null");
	rc = rc ? rc :
		  dx_buf_printf(out,
				",\n  \"counters\": { \"json_decodes\": %" PRIu64
				", \"stat_renders\": %" PRIu64 ", \"opens\": %" PRIu64
				", \"readahead_fetches\": %" PRIu64 ", \"readahead_used\": %" PRIu64
				", \"renders_ahead\": %" PRIu64 ", \"renders_ahead_used\": %" PRIu64
				",\n                \"twin_renders\": %" PRIu64
				", \"twins_kept\": %" PRIu64 ", \"twins_from_store\": %" PRIu64
				" },\n  \"deployments\": [",
				st->json_decodes, st->stat_renders, st->opens, st->ahead_fetches,
				st->ahead_used, st->renders_ahead, st->renders_ahead_used,
				st->twin_renders, st->twins_kept, st->twins_from_store);
	for (i = 0; i < st->ndeps && !rc; i++) {
		rc = dx_buf_puts(out, i ? ",\n" : "\n");
		rc = rc ? rc : json_dep(&st->deps[i], out);
		rc = rc ? rc : json_open(&st->deps[i], st->now, out);
	}
	rc = rc ? rc : dx_buf_puts(out, " ]");
	if (!rc && st->keeping)
		rc = json_keep(&st->keep, out);
	return rc ? rc : dx_buf_puts(out, " }\n");
}

int dx_status_text(struct dx_tree *t, struct dx_buf *out)
{
	struct status st;
	int rc = status_fill(t, &st);

	if (!rc)
		rc = status_text(&st, out);
	free(st.deps);
	return rc;
}

int dx_status_json(struct dx_tree *t, struct dx_buf *out)
{
	struct status st;
	int rc = status_fill(t, &st);

	if (!rc)
		rc = status_json(&st, out);
	free(st.deps);
	return rc;
}

/* ---- .dexmafs/metrics: the Prometheus text exposition format ---- */

static int metric_head(struct dx_buf *out, const char *name, const char *type, const char *help)
{
	return dx_buf_printf(out, "# HELP dexmafs_%s %s\n# TYPE dexmafs_%s %s\n", name, help, name,
			     type);
}

/* A label value: backslash, double quote and newline escaped. */
static int metric_label(struct dx_buf *out, const char *s)
{
	int rc = 0;

	for (; *s && !rc; s++)
		rc = *s == '\\' ? dx_buf_puts(out, "\\\\") :
		     *s == '"'  ? dx_buf_puts(out, "\\\"") :
		     *s == '\n' ? dx_buf_puts(out, "\\n") :
				  dx_buf_append(out, s, 1);
	return rc;
}

/* One sample per deployment (that makes calls, with online) of
 * value(dep, arg), labelled extra="arg" when extra is set. */
static int metric_deps(const struct status *st, struct dx_buf *out, const char *name, int online,
		       const char *extra, const char *arg,
		       int64_t (*value)(const struct status_dep *d, const char *arg, int64_t now))
{
	int rc = 0;

	for (size_t i = 0; i < st->ndeps && !rc; i++) {
		if (online && st->deps[i].offline)
			continue;
		rc = dx_buf_printf(out, "dexmafs_%s{deployment=\"", name);
		rc = rc ? rc : metric_label(out, st->deps[i].name);
		if (!rc && extra)
			rc = dx_buf_printf(out, "\",%s=\"%s", extra, arg);
		rc = rc ? rc :
			  dx_buf_printf(out, "\"} %" PRId64 "\n",
					value(&st->deps[i], arg, st->now));
	}
	return rc;
}

static int64_t v_quota_left(const struct status_dep *d, const char *w, int64_t now)
{
	(void)now;
	return *w == 'h' ? d->s.quota.hour_remaining : d->s.quota.day_remaining;
}

static int64_t v_quota_limit(const struct status_dep *d, const char *w, int64_t now)
{
	(void)now;
	return *w == 'h' ? d->s.quota.hour_limit : d->s.quota.day_limit;
}

static int64_t v_calls(const struct status_dep *d, const char *kind, int64_t now)
{
	(void)now;
	return (int64_t)(*kind == 'l' ? d->s.calls_list :
			 *kind == 'o' ? d->s.calls_object :
					d->s.calls_readings);
}

static int64_t v_errors(const struct status_dep *d, const char *arg, int64_t now)
{
	(void)arg;
	(void)now;
	return (int64_t)d->s.errors;
}

static int64_t v_open(const struct status_dep *d, const char *which, int64_t now)
{
	if (*which == 'h')
		return (int64_t)d->open.held;
	if (*which == 's')
		return (int64_t)d->open.stale;
	return d->open.held ? now - d->open.oldest_fetched_at : 0;
}

static int metrics_quota(const struct status *st, struct dx_buf *out)
{
	int rc =
		metric_head(out, "quota_remaining", "gauge",
			    "API calls left in the quota window, as last seen (-1: not seen yet).");

	rc = rc ? rc : metric_deps(st, out, "quota_remaining", 1, "window", "hour", v_quota_left);
	rc = rc ? rc : metric_deps(st, out, "quota_remaining", 1, "window", "day", v_quota_left);
	rc = rc ? rc :
		  metric_head(
			  out, "quota_limit", "gauge",
			  "API calls allowed per quota window, as last seen (-1: not seen yet).");
	rc = rc ? rc : metric_deps(st, out, "quota_limit", 1, "window", "hour", v_quota_limit);
	rc = rc ? rc : metric_deps(st, out, "quota_limit", 1, "window", "day", v_quota_limit);
	rc = rc ? rc :
		  metric_head(out, "api_calls_total", "counter",
			      "API calls sent since the mount, by kind.");
	rc = rc ? rc : metric_deps(st, out, "api_calls_total", 1, "kind", "listings", v_calls);
	rc = rc ? rc : metric_deps(st, out, "api_calls_total", 1, "kind", "objects", v_calls);
	rc = rc ? rc : metric_deps(st, out, "api_calls_total", 1, "kind", "readings", v_calls);
	rc = rc ? rc : metric_head(out, "api_errors_total", "counter", "API calls that failed.");
	return rc ? rc : metric_deps(st, out, "api_errors_total", 1, NULL, NULL, v_errors);
}

static int metrics_open(const struct status *st, struct dx_buf *out)
{
	int rc = metric_head(out, "open_chunks", "gauge",
			     "Readings chunks of open periods kept in the cache.");

	rc = rc ? rc : metric_deps(st, out, "open_chunks", 0, NULL, "held", v_open);
	rc = rc ? rc :
		  metric_head(out, "open_chunks_stale", "gauge",
			      "Open chunks kept that are due for a refresh.");
	rc = rc ? rc : metric_deps(st, out, "open_chunks_stale", 0, NULL, "stale", v_open);
	rc = rc ? rc :
		  metric_head(out, "open_chunk_oldest_age_seconds", "gauge",
			      "Seconds since the oldest open chunk kept was fetched (0: none).");
	return rc ? rc :
		    metric_deps(st, out, "open_chunk_oldest_age_seconds", 0, NULL, "age", v_open);
}

static int metrics_cache(const struct status *st, struct dx_buf *out)
{
	const struct dx_cache_stats *cs = &st->cache;
	static const struct {
		const char *name, *type, *help;
		size_t off;
	} rows[] = {
		{ "cache_hits_total", "counter", "Answers served from the cache.",
		  offsetof(struct dx_cache_stats, hits) },
		{ "cache_misses_total", "counter", "Answers the cache did not hold fresh.",
		  offsetof(struct dx_cache_stats, misses) },
		{ "stale_answers_total", "counter",
		  "Answers served stale from the cache (the API failed or the quota was spent).",
		  offsetof(struct dx_cache_stats, stale_served) },
		{ "cache_evictions_total", "counter", "Cache entries evicted to make room.",
		  offsetof(struct dx_cache_stats, evictions) },
		{ "cache_bytes", "gauge", "Bytes of the cache file in use.",
		  offsetof(struct dx_cache_stats, bytes_used) },
	};
	int rc = 0;

	rc = metric_head(out, "cache_full_since_seconds", "gauge",
			 "Since when nothing more fits in the cache (epoch seconds; 0: room).");
	rc = rc ? rc :
		  dx_buf_printf(out, "dexmafs_cache_full_since_seconds %" PRId64 "\n",
				cs->full_since);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]) && !rc; i++) {
		uint64_t v;

		memcpy(&v, (const char *)cs + rows[i].off, sizeof(v));
		rc = metric_head(out, rows[i].name, rows[i].type, rows[i].help);
		rc = rc ? rc : dx_buf_printf(out, "dexmafs_%s %" PRIu64 "\n", rows[i].name, v);
	}
	return rc;
}

int dx_status_metrics(struct dx_tree *t, struct dx_buf *out)
{
	struct status st;
	int rc = status_fill(t, &st);

	rc = rc ? rc : metrics_quota(&st, out);
	rc = rc ? rc : metrics_open(&st, out);
	rc = rc ? rc : metrics_cache(&st, out);
	free(st.deps);
	return rc;
}
