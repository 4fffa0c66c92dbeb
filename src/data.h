/* The data layer: the listings (locations, devices, parameters, supplies,
 * datasources, contracts) and a series' periods and readings, loaded
 * through the source (dx_source.h) and kept decoded in the memo (memo.c),
 * by key, bounded in bytes. Files: data.c (the handle, the clock),
 * memo.c, content.c, slices.c, compact.c (dx_compact.h). Not a public
 * header: the namespace, the readahead and keep include it.
 *
 * The data layer calls nothing above it: what the layers above must hear
 * of (a load asked, admitted, landed; a series whose bytes changed) goes
 * through the observer they register. Every load is asked with a policy
 * (struct dx_load): who asks, at what priority, and how far it may go.
 * All functions are safe from any thread.
 */
#ifndef DX_DATA_H
#define DX_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "dx_json.h"
#include "dx_requests.h"
#include "dx_source.h"

struct dx_data;
struct dx_listing;
struct dx_cost;

struct dx_data_opts {
	struct dx_source *source;     /* borrowed; outlives the data */
	const char *const *dep_names; /* borrowed array of ndeps, for the requests */
	size_t ndeps;
	int64_t ttl_meta;          /* seconds listings stay fresh */
	int64_t ttl_open;          /* seconds readings of open periods stay fresh */
	int64_t late_margin;       /* seconds after a period's end it may still change */
	int64_t started_at;        /* the mount's start: an open series' time before any change */
	int64_t (*now)(void *ctx); /* the clock, seconds; NULL means time() */
	void *now_ctx;
};

/* What the data tells the layers above it; every callback gets ctx. The
 * readahead watches loads: asked (a reader needs key; with wait, waits for
 * a load ahead of it in flight; 1 if it waited), admit (before a load
 * ahead: 1 room, 0 another's load ended, -EBUSY full), landed (a load
 * admitted ended), fetched (a reader's load had the API asked). The
 * namespace hears of series_changed: new bytes for an open chunk. */
struct dx_data_observer {
	void *ctx;
	int (*asked)(void *ctx, const char *key, int wait);
	int (*admit)(void *ctx, const char *key);
	void (*landed)(void *ctx, const char *key, int fetched);
	void (*fetched)(void *ctx);
	void (*series_changed)(void *ctx, int dep, int64_t device, const char *key, enum dx_res res,
			       const struct dx_range *chunk);
};

/* A new data layer; free with dx_data_free. 0 or -ENOMEM. Loads before
 * dx_data_observe are told to nobody. */
int dx_data_new(const struct dx_data_opts *opts, struct dx_data **out);
void dx_data_free(struct dx_data *d);
/* Sets the observer (copied). Call before the first load. */
void dx_data_observe(struct dx_data *d, const struct dx_data_observer *o);
/* The time now, from the clock it was given. */
int64_t dx_data_now(const struct dx_data *d);
/* API answers decoded from JSON since it was made. */
uint64_t dx_data_decodes(const struct dx_data *d);
/* Forgets every decoded listing and chunk, so the next load decodes again;
 * those still referenced are freed when put back. */
void dx_data_forget(struct dx_data *d);

/* How far a load may go. */
enum dx_load_mode {
	DX_LOAD_READ,      /* a reader: memo, cache, API */
	DX_LOAD_AHEAD,     /* the readahead: a load counts against its window */
	DX_LOAD_MEMO_ONLY, /* only data decoded in memory; -EAGAIN for the rest */
};

/* Loads counted for keep: ones that had the API asked, or were served stale. */
struct keep_tally {
	long fetched, stale;
};

/* A plan's walk (tree_plan.c) watching what the loads ask, so that the
 * data never calls up into the planner. */
struct plan_hook {
	/* 1: load only what is kept and fresh (costs no call); anything
	 * else is told to note (l NULL) and fails with -EAGAIN. */
	int peek;
	/* A listing (l) or chunk (l NULL) that was loaded, or that peek
	 * refused (l NULL); fetched 1 when this load asked the API. */
	void (*note)(struct plan_hook *h, const struct dx_request *req,
		     const struct dx_cache_policy *policy, const struct dx_listing *l, int fetched);
	/* A readings chunk that a file's content needs (dx_series_chunks). */
	void (*chunk)(struct plan_hook *h, const struct dx_request *req,
		      const struct dx_cache_policy *policy, enum dx_res res);
};

/* The load policy, the first parameter of every load. */
struct dx_load {
	struct dx_data *d;
	enum dx_priority prio;
	enum dx_load_mode mode;
	/* keep: data within lead seconds of turning stale counts as stale,
	 * so what keep refreshes stays fresh until its next pass. */
	int64_t lead;
	struct keep_tally *tally; /* counted into when not NULL */
	struct plan_hook *plan;   /* a plan's walk, else NULL */
};

/* *closed of a content function whose bytes can never change. */
#define CLOSED_FINAL 2

/* How long data served stale, or a listing that failed, is trusted before
 * the API is tried again. */
#define DX_FAILED_RETRY_SECONDS 30

#define DX_STAMP_INIT 0xcbf29ce484222325ull

/* FNV-1a: mixes len bytes at p into hash h. */
static inline uint64_t dx_stamp_mix(uint64_t h, const void *p, size_t len)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < len; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	return h;
}

/* Where one element of a JSON array lies in its text. */
struct dx_slice {
	size_t off, len;
};

/* A decoded listing, shared by reference. */
struct dx_listing {
	struct dx_entity_list list;
	char *raw; /* the API bytes, for pretty-printing one item */
	size_t rawlen;
	struct dx_slice *items;  /* where list.items[i] lies in raw, or NULL */
	int64_t *sorted_refs[2]; /* pairs (ref_id, index), (ref2_id, index), sorted */
	int64_t changed_at;
	int64_t *sorted_ids; /* index into list.items, sorted by id: pairs (id, index) */
};

/* The listing that request r answers, decoded. Returns a reference; drop
 * it with dx_listing_put(). -ENOENT, -EIO, -EAGAIN, or another error of
 * the source. */
int dx_listing_get(const struct dx_load *ld, enum dx_entity_kind kind, struct dx_request *r,
		   const struct dx_listing **out);
void dx_listing_put(struct dx_data *d, const struct dx_listing *l);

/* The listings of deployment dep, by kind; drop with dx_listing_put(). */
int dx_get_locations(const struct dx_load *ld, int dep, const struct dx_listing **l);
int dx_get_devices(const struct dx_load *ld, int dep, const struct dx_listing **l);
int dx_get_datasources(const struct dx_load *ld, int dep, const struct dx_listing **l);
int dx_get_parameters(const struct dx_load *ld, int dep, int64_t device,
		      const struct dx_listing **l);
int dx_get_supplies(const struct dx_load *ld, int dep, const char *source,
		    const struct dx_listing **l);
/* Contracts refused (-ENOENT, -EACCES, -EINVAL): an empty listing,
 * remembered for ttl_meta. */
int dx_get_contracts(const struct dx_load *ld, int dep, const struct dx_listing **l);

/* The items whose ref_id (which 0) or ref2_id (which 1) is ref: returns
 * how many, and in *pairs (borrowed, valid while l is held) their pairs
 * (ref, index into list.items), in listing order. */
size_t dx_listing_refs(const struct dx_listing *l, int which, int64_t ref, const int64_t **pairs);
/* The item with id, or NULL. */
const struct dx_entity *dx_listing_find(const struct dx_listing *l, int64_t id);
/* Pretty JSON of the item with id of a listing. */
int dx_listing_pretty(const struct dx_listing *l, int64_t id, struct dx_buf *out);

/* A decoded cost chunk (dx_cost.h), shared by reference. */
struct dx_data_cost {
	const struct dx_cost *cost;
	int64_t fetched_at; /* when its API bytes were fetched */
	int64_t changed_at; /* when they last changed */
	void *memo;         /* the data layer's */
};
/* The cost chunk that request r answers, kept as policy says, through
 * memo and cache, with a reference: drop it with dx_data_cost_put(). The
 * errors of dx_listing_get (-EIO for bytes that do not decode). */
int dx_data_cost_get(const struct dx_load *ld, struct dx_request *r,
		     const struct dx_cache_policy *policy, struct dx_data_cost *out);
void dx_data_cost_put(struct dx_data *d, struct dx_data_cost *c);

/* Which chunks of a series came back different from what was kept (open
 * chunks only): the caller has the kernel drop what it holds of them. */
struct changed {
	int any;
	struct dx_range span; /* from the first changed chunk to the last */
};

/* Which periods of res hold data for the series, oldest first, from the
 * monthly chunks (the same calls that monthly files use). */
int dx_series_periods(const struct dx_load *ld, int dep, int64_t device, const char *key,
		      const char *nature, enum dx_res res, struct dx_range **out, size_t *n,
		      struct changed *changed);

/* The IANA zone of a series (as its readings give it; "" when they name
 * none), from this decade's monthly chunk: the first chunk the period
 * listing loads, so no call once the series was listed. */
int dx_series_timezone(const struct dx_load *ld, int dep, int64_t device, const char *key,
		       const char *nature, char *out, size_t size);

/* The operation asked of the API for a series: "DELTA", "AVG" or "RAW". */
const char *dx_series_operation(const char *key, const char *nature, enum dx_res res);

/* The readings of a series whose local date lies in range, from the
 * chunks that cover it (through memo and cache), into out: a new copy;
 * release with dx_readings_release(). Sets *mtime and *closed as for the
 * period's CSV. -ENOENT for a range of too many chunks, or a fetch error. */
int dx_series_readings(const struct dx_load *ld, int dep, int64_t device, const char *key,
		       const char *nature, enum dx_res res, const struct dx_range *range,
		       struct dx_readings *out, int64_t *mtime, int *closed,
		       struct changed *changed);

/* The stamp of the readings dx_series_readings would give (mixed into
 * *stamp: which chunks, when their bytes changed), with their *mtime and
 * *closed, without copying them. */
int dx_series_stamp(const struct dx_load *ld, int dep, int64_t device, const char *key,
		    const char *nature, enum dx_res res, const struct dx_range *range,
		    uint64_t *stamp, int64_t *mtime, int *closed, struct changed *changed);

/* When the API's bytes of the oldest chunk behind the readings
 * dx_series_readings would give were fetched: lowers *fetched_at to it
 * (0 stands for none yet). 0 or the errors of a read. */
int dx_series_fetched(const struct dx_load *ld, int dep, int64_t device, const char *key,
		      const char *nature, enum dx_res res, const struct dx_range *range,
		      int64_t *fetched_at);

/* Warms one chunk of a series (into the memo and the cache), as a read of
 * a file in it would. 0 or the errors of a read. */
int dx_series_chunk(const struct dx_load *ld, int dep, int64_t device, const char *key,
		    const char *nature, enum dx_res res, const struct dx_range *chunk);

/* Tells ld->plan->chunk of each readings chunk a file of the series over
 * range needs (as a read of it would ask them: clipped to the series'
 * extent, which is loaded), loading none of them. 0 or a fetch error. */
int dx_series_chunks(const struct dx_load *ld, int dep, int64_t device, const char *key,
		     const char *nature, enum dx_res res, const struct dx_range *range);

#endif
