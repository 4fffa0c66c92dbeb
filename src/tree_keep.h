/* Kept subtrees refreshed in the background (keep.c, keep_plan.c). */
#ifndef DX_TREE_KEEP_H
#define DX_TREE_KEEP_H

#include <stddef.h>
#include <stdint.h>

struct dx_tree;

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

#endif
