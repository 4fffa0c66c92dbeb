/* The status producer: one snapshot of the counters (struct status),
 * rendered as the text of .dexmafs/status and as .dexmafs/status.json (the
 * format is documented in the man page, STATUS.JSON).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tree_impl.h"

#define STATUS_VERSION 1

struct status_dep {
	const char *name;
	int offline;
	const char *api;
	struct dx_client_stats s;
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
	size_t ndeps;
	struct status_dep *deps;
};

static const char *api_state(const struct dx_client_stats *s, int64_t now)
{
	if (s->quota.blocked_until > now)
		return "over quota";
	return s->unreachable_since ? "unreachable" : "reachable";
}

/* Fills st once; free st->deps. 0 or -ENOMEM. */
static int status_fill(struct dx_tree *t, struct status *st)
{
	size_t i;

	st->now = dx_tree_now(t);
	t->source->ops->cache_stats(t->source->ctx, &st->cache);
	st->json_decodes = __atomic_load_n(&t->json_decodes, __ATOMIC_RELAXED);
	st->stat_renders = __atomic_load_n(&t->stat_renders, __ATOMIC_RELAXED);
	st->twin_renders = __atomic_load_n(&t->twin_renders, __ATOMIC_RELAXED);
	st->twins_kept = __atomic_load_n(&t->twins_kept, __ATOMIC_RELAXED);
	st->twins_from_store = __atomic_load_n(&t->twins_from_store, __ATOMIC_RELAXED);
	st->opens = __atomic_load_n(&t->opens, __ATOMIC_RELAXED);
	dx_readahead_counts(t, &st->ahead_fetches, &st->ahead_used);
	dx_reads_counts(t->reads, &st->renders_ahead, &st->renders_ahead_used);
	st->damaged = t->opts.cache_damaged;
	st->dialect = dx_csv_dialect_name(t->opts.dialect);
	st->dialect_why = t->opts.dialect_why;
	st->ndeps = t->opts.ndeps;
	st->deps = calloc(st->ndeps ? st->ndeps : 1, sizeof(*st->deps));
	if (!st->deps)
		return -ENOMEM;
	for (i = 0; i < st->ndeps; i++) {
		struct status_dep *d = &st->deps[i];

		d->name = t->opts.deps[i].name;
		d->offline = t->source->ops->client_stats(t->source->ctx, (int)i, &d->s) != 0;
		d->api = d->offline ? "offline" : api_state(&d->s, st->now);
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
	for (i = 0; i < st->ndeps; i++) {
		rc |= dx_buf_printf(out, "\ndeployment: %s\n", st->deps[i].name);
		rc |= text_dep(&st->deps[i], out);
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
		return rc ? rc : dx_buf_puts(out, " }");
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
		", \"bytes\": %" PRIu64 ", \"latency_ms_avg\": %" PRIu64 " }",
		s->quota.hour_remaining, s->quota.hour_limit, s->quota.hour_reset_at,
		s->quota.day_remaining, s->quota.day_limit, s->quota.day_reset_at,
		s->quota.blocked_until > 0 ? s->quota.blocked_until : 0, s->reserve, s->calls,
		s->calls_list, s->calls_object, s->calls_readings, s->status_429, s->retries,
		s->errors, s->bytes, s->calls ? s->latency_ms_total / s->calls : 0);
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
	}
	return rc ? rc : dx_buf_puts(out, " ] }\n");
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
