/* Internals shared by the files of the tree module. Not a public header:
 * only the tree module (and its unit test) includes it.
 *
 * Every kind of node is one row of a table (struct kind_row): its file type,
 * its flags and the functions that resolve a child, list children and
 * produce content, and the key families a refresh of it expires. The
 * namespace calls dispatch through the rows; nothing switches on a kind.
 *
 * The files, in dependency order: each calls only files below it in this
 * list's reverse (tests/cycles.py, the call_cycles test, checks with nm
 * that no files call each other round a loop). Upward news goes through
 * hooks set by tree.c: the data tells the readahead and refresh.c through
 * t->observe, the node table tells handles.c through t->node_created. The
 * table is reached through t->kinds, never by name, except by tree.c, so
 * rows may point at functions of any family.
 *   tree_base.c      the clock, deployment names, the key-name rule
 *   source.c         the sources: cache in front of the client; the fake
 *   readahead.c      the walk readahead: data a walk needs next, fetched ahead
 *   readahead_order.c  where a series lies in a walk's order (readahead_impl.h)
 *   memo.c           the memo: decoded listings and readings chunks by key
 *   content.c        the data: listings, series, periods and their readings
 *   keep.c           kept subtrees refreshed in the background (a thread),
 *                    oldest first, within a share of the quota (keep_plan.c)
 *   tree_reads.c     renderings being read, by inode (a leaf: renders
 *                    through a callback)
 *   compact.c, slices.c  the compact form of chunks; where a listing's items lie
 *   nodes.c          the inode table and inode numbers
 *   entries.c        attributes, timeouts, the ring of rendered files
 *   refresh.c        refresh (expiry through the source) and kernel invalidation
 *   tree_status.c    the status producer: .dexmafs/status and status.json
 *   tree_names.c     helpers of the families: name lists, entity matching
 *   tree_control.c   family: the root, .dexmafs and its files
 *   tree_series.c    family: parameters, resolutions, period files
 *   tree_entities.c  family: deployments, locations, devices, supplies, links
 *   tree_datasources.c  family: datasources and their device links
 *   tree_reference.c  family: a location's reference devices (links)
 *   tree_contracts.c  family: the electricity contracts
 *   tree_views.c     family: the views (a device's, a location's series side
 *                    by side) and the twins (csv, xlsx, svg) of period files
 *   tree_kinds.c     the table of kinds
 *   tree.c           the namespace: lookup, readdir, getattr, read; lifetime
 */
#ifndef DX_TREE_IMPL_H
#define DX_TREE_IMPL_H

#include <pthread.h>
#include <stdint.h>

#include "dx_client.h"
#include "dx_json.h"
#include "dx_render.h"
#include "dx_requests.h"
#include "dx_source.h"
#include "dx_tree.h"

struct memo;

/* What a node stands for. The values are part of inode numbers: append new
 * kinds at the end, never reorder. */
enum kind {
	K_ROOT,
	K_CTL,
	K_STATUS,
	K_REFRESH,
	K_DEP,
	K_LOCS,
	K_LOC,
	K_LOC_JSON,
	K_LOC_PARENT,
	K_LOC_DEVS,
	K_LOC_DEVLINK,
	K_DEVS,
	K_DEV,
	K_DEV_JSON,
	K_DEV_LOCLINK,
	K_PARAM,
	K_PARAM_JSON,
	K_RES,
	K_FILE,
	K_SUPS,
	K_SRC,
	K_SUP_JSON,
	K_IDLINK,
	K_STATUS_JSON,
	K_DSS,
	K_DS,
	K_DS_DEVS,
	K_DS_DEVLINK,
	K_DEV_RES,
	K_DEV_FILE,
	K_LOC_RES,
	K_LOC_FILE,
	K_LOC_REFS,
	K_LOC_REFLINK,
	K_CONTRACTS,
	K_CONTRACTS_EL,
	K_CONTRACT_JSON,
	K_PLAN,
	K_METRICS,
	K_COST, /* tree_cost.c */
	K_COST_RES,
	K_COST_FILE,
	K_COUNT
};

#define KEY_MAX 64

/* How many renderings of files are kept for the open that follows a stat. */
#define RENDER_RING_SIZE 8
/* Buckets of the decoded-data memo's table (memo.c). */
#define DX_MEMO_BUCKETS 2048
/* Dangling reference devices remembered as logged (tree_reference.c). */
#define DX_REFS_LOGGED 4096
/* The largest file the tree produces. */
#define DX_FILE_MAX DX_TREE_FILE_MAX

/* An inode, described by DEXMA ids and never by names. Every field is part
 * of the inode number (see nodes.c), so a resolve that sets one field per
 * name gives distinct inodes for distinct names. */
struct node {
	struct node *next;
	uint64_t ino;
	uint64_t nlookup;
	uint64_t parent; /* inode of the directory it was found in (handles.c); not hashed */
	enum kind kind;
	unsigned flags; /* the row's, copied at resolve (refresh.c reads them) */
	int dep;
	int64_t id;        /* location, device, supply or datasource id */
	int64_t id2;       /* linked device */
	char key[KEY_MAX]; /* parameter key, energy source, or K_IDLINK's parent kind */
	enum dx_res res;
	struct dx_range range; /* a period file's dates; zero otherwise */
	enum dx_format fmt;    /* a period file's twin: csv (0), xlsx, svg */
};

/* A node as the inode table keeps it (nodes.c): the identity packed, the
 * key as long as it is, so that an account of 100,000 files costs a few
 * MiB. The flags are the row's. */
struct slot {
	struct slot *next;
	uint64_t ino, nlookup, parent;
	int64_t id, id2;
	uint32_t from, to; /* the range's dates, packed (nodes.c) */
	uint16_t dep;
	uint8_t kind, res, fmt;
	char key[]; /* NUL-terminated */
};

/* Who asks: the tree, the priority the reader is served at, whether it
 * is the walk readahead (readahead.c) rather than a reader, and whether it
 * looks up a name (a step of a walk: ls -l, rsync and du look each name up
 * once, while a getattr re-checks a file the kernel knows, as when rsync
 * opens files behind the walk to copy them). */
struct ask {
	struct dx_tree *t;
	enum dx_priority prio;
	int ahead;
	int stat_only; /* a file that acts when read says what it would print */
	int hold;      /* from an open file: a volatile file keeps its snapshot */
	int lookup;    /* a LOOKUP: a walk's step (readahead.c) */
	int memo_only; /* a rendering ahead (tree.c): only data decoded in memory,
			* -EAGAIN for anything else; nothing is loaded or fetched */
	/* keep.c: data within lead seconds of turning stale counts as stale,
	 * so what keep refreshes stays fresh until its next pass; and the
	 * loads that had the API asked, or were served stale, are counted. */
	int64_t lead;
	struct keep_tally {
		long fetched, stale;
	} * tally;
	struct plan_hook *plan; /* a plan's walk (tree_plan.c), else NULL */
};

/* A plan's walk (tree_plan.c) watching what the data layer loads, through
 * pointers so that the data never calls up into the planner. */
struct plan_hook {
	/* 1: load only what is kept and fresh (costs no call); anything
	 * else is told to note (m NULL) and fails with -EAGAIN. */
	int peek;
	/* A listing or chunk that was loaded (m), or that peek refused (m
	 * NULL); fetched 1 when this load asked the API. */
	void (*note)(struct plan_hook *h, const struct dx_request *req,
		     const struct dx_cache_policy *policy, const struct memo *m, int fetched);
	/* A readings chunk that a file's content needs (dx_series_chunks). */
	void (*chunk)(struct plan_hook *h, const struct dx_request *req,
		      const struct dx_cache_policy *policy, enum dx_res res);
};

/* *closed of a content function whose bytes can never change. */
#define CLOSED_FINAL 2

/* Row flags. */
#define KF_DIR 0x01u      /* a directory (else a file, or a link with KF_LINK) */
#define KF_LINK 0x02u     /* a symbolic link: content is its target */
#define KF_STATIC 0x04u   /* a directory whose names never change: long timeout */
#define KF_GLOBAL 0x08u   /* the same for every deployment (control files) */
#define KF_VOLATILE 0x10u /* content changes at every read: timeout 0 */
#define KF_ON_READ 0x20u  /* acts when read: a stat shows size 0, produces nothing */
#define KF_DATED 0x40u    /* a period file: closed once its range is past (keep_cache) */
#define KF_RENDERED 0x80u /* rendered for a stat; kept for the open that follows */
#define KF_SERIES 0x100u  /* shows one series' data (res is part of its identity) */
#define KF_DOTS 0x200u    /* resolves names with a leading dot itself (the root) */

struct names;
struct memo;
struct plan_hook;

/* What a KF_RENDERED file's bytes are made of, without rendering them: a
 * hash of every input (names, units, and unless the file is final, which
 * chunks and when their bytes changed), and the time and closedness its
 * content function would give. */
struct stamp {
	uint64_t hash;
	int64_t mtime;
	int closed;
};

#define DX_STAMP_INIT 0xcbf29ce484222325ull

/* FNV-1a: mixes len bytes at p into hash h. */
static inline uint64_t dx_stamp_mix(uint64_t h, const void *p, size_t len)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < len; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	return h;
}

/* One kind of node. Directories have resolve and list; files and links
 * have content. */
struct kind_row {
	const char *name; /* for logs and tests */
	unsigned flags;
	/* Builds the child named name of p into c (c arrives as a copy of p's
	 * identity with kind, flags and range cleared). 0, -ENOENT, or a
	 * fetch error. */
	int (*resolve)(const struct ask *a, const struct node *p, const char *name, struct node *c);
	/* Adds the names of p's children to s. 0 or an error. */
	int (*list)(const struct ask *a, const struct node *p, struct names *s);
	/* Appends the file's bytes or the link's target to out; sets *mtime and
	 * *closed when it knows better than "since the mount, open". *closed
	 * CLOSED_FINAL: closed, and made only of data that is final (fetched
	 * after its period's end and margin), so the bytes never change: a
	 * KF_RENDERED row's size and time are then kept for good (entries.c),
	 * and a later stat, on this mount or another, renders nothing. */
	int (*content)(const struct ask *a, const struct node *n, struct dx_buf *out,
		       int64_t *mtime, int *closed);
	/* KF_RENDERED rows: the stamp of n's bytes as content would make them
	 * now. With frame_only, only the hash of what is not readings (names,
	 * units), from listings alone: a final file's whole stamp. 0 or the
	 * errors of content. */
	int (*stamp)(const struct ask *a, const struct node *n, int frame_only, struct stamp *out);
	/* Period files: tells a->plan->chunk of each readings chunk its
	 * content needs, without loading them (the listings that say which
	 * are loaded). 0 or a fetch error. */
	int (*chunks)(const struct ask *a, const struct node *n);
	/* The key families (dx_requests.h) a refresh of such a node expires. */
	int nexpires;
	enum dx_prefix expires[3];
};

struct dx_tree {
	struct dx_tree_opts opts;
	const struct kind_row *kinds; /* the table, indexed by enum kind */
	struct dx_source *source;     /* opts.source, or own_source */
	struct dx_source *own_source;
	int64_t started_at;
	int64_t born_at; /* when the cache first held this tree's data (tree.c) */

	pthread_mutex_t lock; /* guards the node table */
	struct slot **buckets;
	size_t nbuckets;
	size_t nnodes;
	struct dx_handles *handles; /* export support, NULL when off (handles.c) */
	/* Told of each node created in the table (handles.c's dx_handles_note,
	 * set by tree.c), so the node table never calls up into handles.c. */
	void (*node_created)(struct dx_tree *t, const struct node *n);
	/* What the data (memo.c, content.c) tells the layers above it, set by
	 * tree.c: the readahead watches loads, refresh.c watches changes.
	 * So the data never calls up into them. */
	struct dx_data_observer {
		int (*asked)(struct dx_tree *t, const char *key, int wait);
		int (*admit)(struct dx_tree *t, const char *key);
		void (*landed)(struct dx_tree *t, const char *key, int fetched);
		void (*fetched)(struct dx_tree *t);
		void (*series_changed)(struct dx_tree *t, int dep, int64_t device, const char *key,
				       enum dx_res res, const struct dx_range *chunk);
	} observe;

	pthread_mutex_t render_lock; /* guards the rendered-file ring */
	struct rendered {
		uint64_t ino;
		int64_t at;
		int64_t mtime;
		long nsec; /* entries.c: content_nsec() of content */
		int closed;
		struct dx_buf content;
	} rendered[RENDER_RING_SIZE];
	unsigned rendered_next;

	pthread_mutex_t memo_lock;                /* guards the decoded-data memo (memo.c only) */
	struct memo *memos;                       /* most recently used first (memo.c) */
	struct memo *memo_last;                   /* least recently used */
	struct memo *memo_table[DX_MEMO_BUCKETS]; /* by hash of the key */
	size_t nmemos;
	size_t memo_bytes;
	uint64_t json_decodes; /* API answers decoded from JSON (atomic) */
	uint64_t stat_renders; /* files rendered for a stat: their kept size did not serve (atomic) */
	/* Twins (.xlsx, .svg): renderings, of them kept in the store (closed
	 * for good), and ones served from the store without a rendering
	 * (atomic). */
	uint64_t twin_renders, twins_kept, twins_from_store;
	struct dx_keeper *keeper; /* writes closed twins into the store */

	struct dx_readahead *ra; /* the walk readahead, or NULL when off */
	struct dx_keep *keep;    /* keep's refresher (keep.c), or NULL when nothing is kept */
	struct dx_reads *reads;  /* renderings being read (tree_reads.c) */
	uint64_t on_read_stats;  /* stats of act-on-read files: their time's nanoseconds */
	uint64_t opens; /* OPENs the kernel sent (none in no-open mode but the first; atomic) */
	uint64_t refs_logged[DX_REFS_LOGGED]; /* dangling references logged (tree_reference.c) */
	unsigned refs_missing;                /* how many (tree_reference.c) */
};

static inline const struct kind_row *kind_of(const struct dx_tree *t, const struct node *n)
{
	return &t->kinds[n->kind];
}

/* The table of kinds (tree_kinds.c), K_COUNT rows. */
extern const struct kind_row dx_tree_kinds[K_COUNT];

/* ---- tree_reads.c: renderings being read, by inode ---- */
struct dx_reads;

/* Closed twins kept in the store by a thread of their own (tree_keeper.c):
 * dx_keeper_put queues a copy of bytes under req (a derived key) and the
 * record under record_name; 0, -EAGAIN (queue full: not kept) or
 * -ENOMEM. *kept (atomic) counts what was written. Free drains the queue;
 * source (borrowed) must outlive the keeper. */
struct dx_keeper;
int dx_keeper_new(struct dx_source *source, uint64_t *kept, struct dx_keeper **out);
int dx_keeper_put(struct dx_keeper *k, const struct dx_request *req, const struct dx_buf *bytes,
		  const char *record_name, const void *record, size_t record_len);
void dx_keeper_free(struct dx_keeper *k);
/* Records that only save work (the sizes and times of entries.c), kept
 * through the keeper: put queues name -> data (0, or the store's error
 * when written at once: a long name, a full table), the thread writes
 * them in batches; get reads the queue, then the store (as the source's
 * get_record). Any thread. */
int dx_keeper_record_put(struct dx_keeper *k, const char *name, const void *data, size_t len);
int dx_keeper_record_get(struct dx_keeper *k, const char *name, void *data, size_t size,
			 size_t *len);
struct dx_reads_source {
	/* Renders the whole of ino into out; *stable 1 when its bytes can no
	 * longer change. 0 or a negative errno. */
	int (*render)(void *ctx, uint64_t ino, struct dx_buf *out, int *stable);
	void *ctx;
	int64_t now; /* seconds */
};
int dx_reads_new(struct dx_reads **out);
void dx_reads_free(struct dx_reads *r);
/* Renderings that may change are not served any more (new data, refresh). */
void dx_reads_changed(struct dx_reads *r);
/* The piece [off, off + size) of ino for one READ: from the rendering kept
 * for ino, made now if there is none; with keep 0 (a volatile file),
 * rendered for this READ alone. Each success is ended by dx_reads_end(). */
int dx_reads_begin(struct dx_reads *r, const struct dx_reads_source *src, uint64_t ino,
		   uint64_t off, size_t size, int keep, struct dx_read *out);
/* Returns 1 when this READ was the last of a file read whole (every byte
 * went out once), 0 otherwise. */
int dx_reads_end(struct dx_reads *r, struct dx_read *rd);
/* Renders ino into a slot before its first READ, unless it has one or
 * every slot is busy; a failure leaves no slot. */
void dx_reads_prefill(struct dx_reads *r, const struct dx_reads_source *src, uint64_t ino);
/* Renderings made by dx_reads_prefill, and how many of them a READ used. */
void dx_reads_counts(struct dx_reads *r, uint64_t *ahead, uint64_t *used);

/* Where one element of a JSON array lies in its text. */
struct dx_slice {
	size_t off, len;
};

/* The bounds of the n elements of the JSON array in raw (slices.c), in
 * order. Returns a new array; free with free(). 0, -EINVAL when the text
 * does not show n elements, -ENOMEM. */
int dx_slices_of(const char *raw, size_t len, size_t n, struct dx_slice **out);

/* A decoded listing or readings chunk, shared by reference. */
struct dx_listing {
	struct dx_entity_list list;
	char *raw; /* the API bytes, for pretty-printing one item */
	size_t rawlen;
	struct dx_slice *items;  /* where list.items[i] lies in raw, or NULL */
	int64_t *sorted_refs[2]; /* pairs (ref_id, index), (ref2_id, index), sorted */
	int64_t changed_at;
	int64_t *sorted_ids; /* index into list.items, sorted by id: pairs (id, index) */
};

/* ---- memo.c: decoded listings and chunks, by key ---- */

/* How long data served stale, or a listing that failed, is trusted before
 * the API is tried again. */
#define DX_FAILED_RETRY_SECONDS 30

enum memo_kind { MEMO_LISTING, MEMO_READINGS };

struct memo {
	struct memo *prev, *next; /* the recency list, most recent first */
	struct memo *hnext;       /* the next in its bucket of the table */
	uint64_t hash;            /* of the key */
	char *key;
	enum memo_kind kind;
	int refs;
	int linked;
	int64_t valid_until;
	int64_t changed_at;
	int64_t api_fetched_at; /* readings: when their API bytes were fetched */
	size_t bytes;
	struct dx_listing listing;
	struct dx_readings readings;
	char *blob; /* readings: their compact form, which values point into */
};

/* The decoded data of req's key, with a reference (dx_memo_release): a
 * valid memo, else the cache's bytes (fetched with req on a miss), decoded
 * and published; with a->memo_only, -EAGAIN instead of a load.
 * info->fetched is 1 only when this call had the API asked. */
int dx_memo_load(const struct ask *a, enum memo_kind kind, enum dx_entity_kind ekind,
		 const struct dx_cache_policy *policy, const struct dx_request *req,
		 struct memo **out, struct dx_cache_info *info);
void dx_memo_release(struct dx_tree *t, struct memo *m);
/* Publishes an empty listing under key that stays valid for ttl seconds:
 * a listing that failed and is not asked again before then. */
int dx_memo_remember_empty(struct dx_tree *t, const char *key, int64_t ttl,
			   const struct dx_listing **out);
/* Forgets every decoded listing and chunk, so the next get decodes again;
 * those still referenced are freed when put back. */
void dx_tree_memo_clear(struct dx_tree *t);

/* ---- tree_base.c: the clock, deployment names, key names ---- */

/* The time now, from opts.now when given. */
int64_t dx_tree_now(struct dx_tree *t);

/* The name of deployment dep. */
const char *dx_tree_dep_name(const struct dx_tree *t, int dep);

/* Whether a parameter key can be a directory name. */
int dx_key_is_name(const char *key);

/* ---- content.c: the data behind the entries ---- */

/* The listing that request r answers, decoded, asked at a->prio. Returns a
 * reference; drop it with dx_listing_put(). -ENOENT, -EIO, -EAGAIN, or
 * another error of the source. */
int dx_listing_get(const struct ask *a, enum dx_entity_kind kind, struct dx_request *r,
		   const struct dx_listing **out);
void dx_listing_put(struct dx_tree *t, const struct dx_listing *l);

/* The listings of deployment dep, by kind; drop with dx_listing_put(). */
int dx_get_locations(const struct ask *a, int dep, const struct dx_listing **l);
int dx_get_devices(const struct ask *a, int dep, const struct dx_listing **l);
int dx_get_datasources(const struct ask *a, int dep, const struct dx_listing **l);
int dx_get_parameters(const struct ask *a, int dep, int64_t device, const struct dx_listing **l);
int dx_get_supplies(const struct ask *a, int dep, const char *source, const struct dx_listing **l);
int dx_get_contracts(const struct ask *a, int dep, const struct dx_listing **l);

/* The items whose ref_id (which 0) or ref2_id (which 1) is ref: returns
 * how many, and in *pairs (borrowed, valid while l is held) their pairs
 * (ref, index into list.items), in listing order. */
size_t dx_listing_refs(const struct dx_listing *l, int which, int64_t ref, const int64_t **pairs);

/* The item with id, or NULL. */
const struct dx_entity *dx_listing_find(const struct dx_listing *l, int64_t id);

/* Pretty JSON of the item with id of a listing. */
int dx_listing_pretty(const struct dx_listing *l, int64_t id, struct dx_buf *out);

/* Which chunks of a series came back different from what was kept (open
 * chunks only): the caller has the kernel drop what it holds of them. */
struct changed {
	int any;
	struct dx_range span; /* from the first changed chunk to the last */
};

/* Which periods of res hold data for the series, oldest first, from the
 * monthly chunks (the same calls that monthly files use). */
int dx_series_periods(const struct ask *a, int dep, int64_t device, const char *key,
		      const char *nature, enum dx_res res, struct dx_range **out, size_t *n,
		      struct changed *changed);

/* The IANA zone of a series (as its readings give it; "" when they name
 * none), from this decade's monthly chunk: the first chunk the period
 * listing loads, so no call once the series was listed. */
int dx_series_timezone(const struct ask *a, int dep, int64_t device, const char *key,
		       const char *nature, char *out, size_t size);

/* The operation asked of the API for a series: "DELTA", "AVG" or "RAW". */
const char *dx_series_operation(const char *key, const char *nature, enum dx_res res);

/* The readings of a series whose local date lies in range, from the
 * chunks that cover it (through memo and cache), into out: a new copy;
 * release with dx_readings_release(). Sets *mtime and *closed as for the
 * period's CSV. -ENOENT for a range of too many chunks, or a fetch error. */
int dx_series_readings(const struct ask *a, int dep, int64_t device, const char *key,
		       const char *nature, enum dx_res res, const struct dx_range *range,
		       struct dx_readings *out, int64_t *mtime, int *closed,
		       struct changed *changed);

/* The stamp of the readings dx_series_readings would give (mixed into
 * *stamp: which chunks, when their bytes changed), with their *mtime and
 * *closed, without copying them. */
int dx_series_stamp(const struct ask *a, int dep, int64_t device, const char *key,
		    const char *nature, enum dx_res res, const struct dx_range *range,
		    uint64_t *stamp, int64_t *mtime, int *closed, struct changed *changed);

/* When the API's bytes of the oldest chunk behind the readings
 * dx_series_readings would give were fetched: lowers *fetched_at to it
 * (0 stands for none yet). 0 or the errors of a read. */
int dx_series_fetched(const struct ask *a, int dep, int64_t device, const char *key,
		      const char *nature, enum dx_res res, const struct dx_range *range,
		      int64_t *fetched_at);

/* Warms one chunk of a series (into the memo and the cache), as a read of
 * a file in it would. 0 or the errors of a read. */
int dx_series_chunk(const struct ask *a, int dep, int64_t device, const char *key,
		    const char *nature, enum dx_res res, const struct dx_range *chunk);

/* Tells a->plan->chunk of each readings chunk a file of the series over
 * range needs (as a read of it would ask them: clipped to the series'
 * extent, which is loaded), loading none of them. 0 or a fetch error. */
int dx_series_chunks(const struct ask *a, int dep, int64_t device, const char *key,
		     const char *nature, enum dx_res res, const struct dx_range *range);

/* ---- tree_plan.c: what a copy and a refresh of a subtree cost ---- */

/* Appends to out the plan of the subtree at ino as one JSON object (see
 * the man page's PLAN): walks its names at background priority, asks the
 * cache which chunks it holds, fetches no readings. 0, -ENOENT (ino not
 * known), -ENOMEM, or an error of out. */
int dx_tree_plan(struct dx_tree *t, uint64_t ino, struct dx_buf *out);
/* The size of .dexmafs/plan.INO: the object, then spaces and a newline. */
#define DX_PLAN_FILE_SIZE 4096

/* ---- readahead.c: the walk readahead ---- */

/* Starts the readahead of t with a window of that many requests (0: off;
 * workers start at the first walk seen). 0 or -ENOMEM. */
int dx_readahead_new(struct dx_tree *t, int window);
/* Stops the workers and frees it. */
void dx_readahead_free(struct dx_tree *t);
/* A reader looks up period file n and needs its data: follows the walk
 * if it is one. */
void dx_readahead_seen(const struct ask *a, const struct node *n);
/* A reader lists resolution directory n (a walk lists before it looks
 * up). */
void dx_readahead_listed(const struct ask *a, const struct node *n);
/* Before the readahead loads key: 1 when the window has room (the load
 * then counts against it until a reader asks for key; tell
 * dx_readahead_landed when it ends), 0 after another worker's load of key
 * ended (look again, load only if it failed), -EBUSY when the window is
 * full or the readahead is off. */
int dx_readahead_admit(struct dx_tree *t, const char *key);
/* A load admitted ahead ended; fetched: it had the API asked. */
void dx_readahead_landed(struct dx_tree *t, const char *key, int fetched);
/* A reader's load had the API asked: the walk is over data not cached. */
void dx_readahead_fetched(struct dx_tree *t);
/* A reader needs key: what was loaded ahead is used. With wait (the reader
 * has no decoded data), waits while a load of key made ahead is in
 * flight; 1 if it waited (look again, load only if it failed). */
int dx_readahead_asked(struct dx_tree *t, const char *key, int wait);
/* API calls the readahead made, and how many of them readers then used
 * (0 when it is off). */
void dx_readahead_counts(struct dx_tree *t, uint64_t *fetches, uint64_t *used);

/* ---- keep.c: kept subtrees refreshed in the background ---- */

/* What keep did, for the status files. */
struct dx_keep_counts {
	size_t paths;             /* kept subtrees */
	size_t series;            /* series in them */
	size_t refreshed;         /* series refreshed by the last pass */
	size_t waiting;           /* series the last pass left for the next (quota, size) */
	int64_t pass_started;     /* the last pass's start, 0 before the first */
	int64_t pass_ended;       /* its end, 0 while the first runs */
	long calls_hour;          /* API calls keep made in this hour's windows */
	uint64_t calls;           /* since the mount */
	int64_t cache_full_since; /* keep stopped at cache_size, 0 otherwise */
	double share;
	int64_t interval;
};

/* Starts keep's thread when t->opts names kept subtrees. 0 or -ENOMEM. */
int dx_keep_new(struct dx_tree *t);
/* Stops the thread and frees it. */
void dx_keep_free(struct dx_tree *t);
/* 0 with *out filled, -ENOENT when nothing is kept. */
int dx_keep_counts(struct dx_tree *t, struct dx_keep_counts *out);

/* ---- nodes.c: the inode table. Every function takes t->lock itself. ---- */

/* The inode number of n: a hash of every field of its identity, stable
 * across mounts; DX_ROOT_INO for the root. */
uint64_t dx_node_ino(const struct dx_tree *t, const struct node *n);

/* Copies the node of ino into out. 0 or -ENOENT (unknown or forgotten). */
int dx_node_get(struct dx_tree *t, uint64_t ino, struct node *out);

/* Adds one lookup of the node described by tmpl (sets tmpl->ino), creating
 * it if needed. 0 or -ENOMEM. */
int dx_node_ref(struct dx_tree *t, struct node *tmpl);

/* The node a slot of the table stands for. */
void dx_node_of_slot(const struct dx_tree *t, const struct slot *s, struct node *out);

/* ---- entries.c: attributes ---- */

/* Fills attr with n's attributes. With content, also appends n's bytes to
 * it (a read); without, renders a KF_RENDERED file only for its size and
 * keeps that rendering a few seconds for the open that follows. */
int dx_node_attr(const struct ask *a, const struct node *n, struct dx_attr *attr,
		 struct dx_buf *content);

/* Fills attr with n's attributes only when they are known without asking
 * the source for data or rendering (a KF_RENDERED file whose size was
 * kept). 0, or -EAGAIN when they are not known. */
int dx_node_attr_known(const struct ask *a, const struct node *n, struct dx_attr *attr);

/* Directory n was listed with the names s: its time (a directory's and a
 * link's is when it was first seen as it is, kept beside the data) moves
 * to now if they differ from those it was last listed with. */
void dx_dir_listed(const struct ask *a, const struct node *n, const struct names *s);

/* The file type of a row. */
enum dx_ftype dx_kind_ftype(const struct kind_row *k);

/* Drops every kept rendering. */
void dx_rendered_clear(struct dx_tree *t);

/* ---- refresh.c: refresh and kernel invalidation ---- */

/* New bytes came for an open chunk of a series: has the kernel drop what
 * it caches of the files (sizes, pages) and directory of that series. */
void dx_tree_series_changed(struct dx_tree *t, int dep, int64_t device, const char *key,
			    enum dx_res res, const struct dx_range *chunk);

/* ---- tree_views.c: the period files ---- */

/* When the oldest chunk behind period file n (any kind of them) was
 * fetched, into *out: -ENODATA when n is no period file or holds no chunk,
 * else 0 or the errors of a read. */
int dx_period_fetched(const struct ask *a, const struct node *n, int64_t *out);

/* ---- tree_status.c: the status producer ---- */

/* The text of .dexmafs/status, and the JSON of .dexmafs/status.json. */
int dx_status_text(struct dx_tree *t, struct dx_buf *out);
int dx_status_json(struct dx_tree *t, struct dx_buf *out);
/* The same counters in the Prometheus text exposition format, for
 * .dexmafs/metrics (node_exporter's textfile collector reads it). */
int dx_status_metrics(struct dx_tree *t, struct dx_buf *out);

/* ---- tree_names.c: helpers of the families ---- */

struct names {
	char **v;
	size_t n, cap;
};

/* Adds a copy of name. 0 or -ENOMEM. */
int dx_names_add(struct names *s, const char *name);
void dx_names_free(struct names *s);

/* Adds "NAME (ID)" (with suffix, cut to fit) of every item of l; with
 * filter, only items whose ref_id is only_ref. */
int dx_names_add_entities(const struct dx_listing *l, int64_t only_ref, int filter,
			  const char *suffix, struct names *s);

/* Resolves an "anything (ID)" + suffix name against a listing, exactly.
 * 0 or -ENOENT. */
int dx_match_entity(const struct dx_listing *l, const char *name, const char *suffix,
		    const struct dx_entity **out);

/* 1 when name is all digits and a valid id, which it sets. */
int dx_bare_id(const char *name, int64_t *id);

/* Parses a period file name "FROM--TO.EXT" of resolution res: the range
 * and the twin of extension EXT (csv, xlsx, svg; listed or not). 0 or
 * -ENOENT. */
int dx_period_parse_name(const char *name, enum dx_res res, struct dx_range *range,
			 enum dx_format *fmt);

/* Adds the names of period p, one per format listed (opts.listed_formats). */
int dx_period_add_names(const struct dx_tree *t, const struct dx_range *p, struct names *s);

/* ---- tree_series.c ---- */

/* The parameter n->key of device n->id: *param points into *l, which the
 * caller puts back. -ENOENT (and *l NULL) when the device has no such key,
 * or an error of the listing. */
int dx_find_parameter(const struct ask *a, const struct node *n, const struct dx_listing **l,
		      const struct dx_entity **param);

/* ---- tree_reference.c ---- */

/* The MAINSUPPLY reference device of location loc that devs holds (its
 * entry MAINSUPPLY in reference/): 1 and *device, or 0 when none. */
int dx_location_main_supply(const struct ask *a, const struct dx_entity *loc,
			    const struct dx_listing *devs, int64_t *device);

/* ---- the families' row functions (tree_control.c, tree_entities.c,
 * tree_series.c), named for their kind; see tree_kinds.c ---- */
#define ROW_FUNCS(prefix)                                                                          \
	int prefix##_resolve(const struct ask *a, const struct node *p, const char *name,          \
			     struct node *c);                                                      \
	int prefix##_list(const struct ask *a, const struct node *p, struct names *s);
#define ROW_CONTENT(prefix)                                                                        \
	int prefix##_content(const struct ask *a, const struct node *n, struct dx_buf *out,        \
			     int64_t *mtime, int *closed);

#define ROW_STAMP(prefix)                                                                          \
	int prefix##_stamp(const struct ask *a, const struct node *n, int frame_only,              \
			   struct stamp *out);

/* clang-format off */
ROW_FUNCS(root) ROW_FUNCS(ctl) ROW_CONTENT(status) ROW_CONTENT(status_json)
ROW_CONTENT(refresh) ROW_CONTENT(metrics)
ROW_FUNCS(dep) ROW_FUNCS(locs) ROW_FUNCS(loc) ROW_CONTENT(loc_json) ROW_CONTENT(loc_parent)
ROW_FUNCS(loc_devs) ROW_CONTENT(loc_devlink)
ROW_FUNCS(devs) ROW_FUNCS(dev) ROW_CONTENT(dev_json) ROW_CONTENT(dev_loclink)
ROW_FUNCS(sups) ROW_FUNCS(src) ROW_CONTENT(sup_json) ROW_CONTENT(idlink)
ROW_FUNCS(dss) ROW_FUNCS(ds) ROW_FUNCS(ds_devs) ROW_CONTENT(ds_devlink)
ROW_FUNCS(param) ROW_CONTENT(param_json) ROW_FUNCS(res) ROW_CONTENT(file)
ROW_FUNCS(dev_views) ROW_FUNCS(dev_res) ROW_CONTENT(dev_file)
ROW_FUNCS(loc_views) ROW_FUNCS(loc_res) ROW_CONTENT(loc_file)
ROW_STAMP(file) ROW_STAMP(dev_file) ROW_STAMP(loc_file)
ROW_FUNCS(loc_refs) ROW_CONTENT(loc_reflink)
ROW_FUNCS(contracts) ROW_FUNCS(contracts_el) ROW_CONTENT(contract_json)
ROW_CONTENT(plan)
ROW_FUNCS(cost) ROW_FUNCS(cost_res) ROW_CONTENT(cost_file)
	/* clang-format on */
	int file_chunks(const struct ask *a, const struct node *n);
int dev_file_chunks(const struct ask *a, const struct node *n);
int loc_file_chunks(const struct ask *a, const struct node *n);

/* ---- tree_cost.c: a device's cost by tariff period ---- */

/* Whether device is some location's reference of that type ("MAINSUPPLY"),
 * from the locations listing: 1, 0, or the listing's error. */
int dx_device_is_reference(const struct ask *a, int dep, int64_t device, const char *type);
/* Whether device dev shows a cost/ entry: 1, 0, or an error. */
int dx_cost_dir_listed(const struct ask *a, const struct node *dev);
/* Resolves dev's "cost" into c: 0, -ENOENT, or an error. */
int dx_cost_enter(const struct ask *a, const struct node *dev, struct node *c);

#endif
