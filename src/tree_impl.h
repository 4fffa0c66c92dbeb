/* The namespace's private header: nodes, the rows of the table of kinds
 * (tree_kinds.h), the tree's state. Only namespace files include it; at
 * most 200 lines (tests/layers.py): put a module's declarations in its own
 * header. The layers below (data.h, readahead.h): doc/DESIGN.md. */
#ifndef DX_TREE_IMPL_H
#define DX_TREE_IMPL_H

#include <stdint.h>

#include "data.h"
#include "dx_names.h"
#include "dx_render.h"
#include "dx_tree.h"

/* What a node stands for. The values are part of inode numbers: append new
 * kinds at the end, never reorder. */
/* clang-format off */
enum kind {
	K_ROOT, K_CTL, K_STATUS, K_REFRESH, K_DEP, K_LOCS, K_LOC, K_LOC_JSON, K_LOC_PARENT,
	K_LOC_DEVS, K_LOC_DEVLINK, K_DEVS, K_DEV, K_DEV_JSON, K_DEV_LOCLINK, K_PARAM,
	K_PARAM_JSON, K_RES, K_FILE, K_SUPS, K_SRC, K_SUP_JSON, K_IDLINK, K_STATUS_JSON, K_DSS,
	K_DS, K_DS_DEVS, K_DS_DEVLINK, K_DEV_RES, K_DEV_FILE, K_LOC_RES, K_LOC_FILE, K_LOC_REFS,
	K_LOC_REFLINK, K_CONTRACTS, K_CONTRACTS_EL, K_CONTRACT_JSON, K_PLAN, K_METRICS,
	K_COST, K_COST_RES, K_COST_FILE, /* tree_cost.c */
	K_COUNT
};
/* clang-format on */

#define KEY_MAX DX_KEY_MAX
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

/* Who asks: the tree, the load policy its loads go with (data.h), and
 * what the namespace itself must know of the asker. */
struct ask {
	struct dx_tree *t;
	struct dx_load ld;
	int stat_only; /* a file that acts when read says what it would print */
	int hold;      /* from an open file: a volatile file keeps its snapshot */
	/* a LOOKUP: a walk's step (ls -l, rsync and du look each name up
	 * once, while a getattr re-checks a file the kernel knows) */
	int lookup;
};

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

/* What a KF_RENDERED file's bytes are made of, without rendering them: a
 * hash (dx_stamp_mix) of every input (names, units, and unless the file is
 * final, which chunks and when their bytes changed), and the time and
 * closedness its content function would give. */
struct stamp {
	uint64_t hash;
	int64_t mtime;
	int closed;
};

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
	 * CLOSED_FINAL: closed, and made only of data that is final, so the
	 * bytes never change: a KF_RENDERED row's size and time are then kept
	 * for good (entries.c), and a later stat renders nothing. */
	int (*content)(const struct ask *a, const struct node *n, struct dx_buf *out,
		       int64_t *mtime, int *closed);
	/* KF_RENDERED rows: the stamp of n's bytes as content would make them
	 * now. With frame_only, only the hash of what is not readings (names,
	 * units), from listings alone: a final file's whole stamp. */
	int (*stamp)(const struct ask *a, const struct node *n, int frame_only, struct stamp *out);
	/* Period files: tells a->ld.plan->chunk of each readings chunk its
	 * content needs, without loading them. 0 or a fetch error. */
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
	struct dx_data *data;        /* the data layer (data.h) */
	const char **dep_names;      /* opts.deps' names, lent to the data */
	int64_t started_at, born_at; /* born: when the cache first held its data (tree.c) */
	struct node_table *nodes;    /* the inode table (nodes.c only) */
	struct dx_handles *handles;  /* export support, NULL when off (handles.c) */
	/* Told of each node created (handles.c's, set by tree.c): up, no call. */
	void (*node_created)(struct dx_tree *t, const struct node *n);
	/* Counters (atomic): files rendered for a stat whose kept size did not
	 * serve; twins rendered, kept in the store, served from the store;
	 * stats of act-on-read files (their time's nanoseconds); OPENs. */
	uint64_t stat_renders, twin_renders, twins_kept, twins_from_store;
	uint64_t on_read_stats, opens;
	struct dx_keeper *keeper; /* writes closed twins into the store */
	struct dx_readahead *ra;  /* the walk readahead, or NULL when off */
	struct dx_keep *keep;     /* keep's refresher (keep.c), or NULL when nothing is kept */
	struct dx_reads *reads;   /* renderings being read (tree_reads.c) */
	uint64_t refs_logged[DX_REFS_LOGGED]; /* dangling references logged (tree_reference.c) */
	unsigned refs_missing;                /* how many (tree_reference.c) */
};

static inline const struct kind_row *kind_of(const struct dx_tree *t, const struct node *n)
{
	return &t->kinds[n->kind];
}

/* ---- tree_base.c: the clock (from opts.now when given), deployment names ---- */
int64_t dx_tree_now(struct dx_tree *t);
const char *dx_tree_dep_name(const struct dx_tree *t, int dep);

/* ---- entries.c: attributes ---- */
/* Fills attr with n's attributes. With content, also appends n's bytes to
 * it (a read); without, renders a KF_RENDERED file only for its size and
 * keeps that rendering a few seconds for the open that follows (tree_reads.h). */
int dx_node_attr(const struct ask *a, const struct node *n, struct dx_attr *attr,
		 struct dx_buf *content);
/* Fills attr with n's attributes only when they are known without asking
 * the source for data or rendering. 0, or -EAGAIN when they are not. */
int dx_node_attr_known(const struct ask *a, const struct node *n, struct dx_attr *attr);
/* Directory n was listed with the names s: its time moves to now if they
 * differ from those it was last listed with. */
void dx_dir_listed(const struct ask *a, const struct node *n, const struct names *s);
enum dx_ftype dx_kind_ftype(const struct kind_row *k); /* the file type of a row */

/* ---- refresh.c: new bytes came for an open chunk of a series: has the
 * kernel drop what it caches of the files and directory of that series. */
void dx_tree_series_changed(struct dx_tree *t, int dep, int64_t device, const char *key,
			    enum dx_res res, const struct dx_range *chunk);

#endif
