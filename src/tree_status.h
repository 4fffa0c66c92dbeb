/* The status producer (tree_status.c) and what a copy of a subtree costs
 * (tree_plan.c): the files of .dexmafs that describe the mount. */
#ifndef DX_TREE_STATUS_H
#define DX_TREE_STATUS_H

#include <stdint.h>

#include "dx_buf.h"

struct dx_tree;

/* The text of .dexmafs/status, and the JSON of .dexmafs/status.json. */
int dx_status_text(struct dx_tree *t, struct dx_buf *out);
int dx_status_json(struct dx_tree *t, struct dx_buf *out);
/* The same counters in the Prometheus text exposition format, for
 * .dexmafs/metrics (node_exporter's textfile collector reads it). */
int dx_status_metrics(struct dx_tree *t, struct dx_buf *out);

/* Appends to out the plan of the subtree at ino as one JSON object (see
 * the man page's PLAN): walks its names at background priority, asks the
 * cache which chunks it holds, fetches no readings. 0, -ENOENT (ino not
 * known), -ENOMEM, or an error of out. */
int dx_tree_plan(struct dx_tree *t, uint64_t ino, struct dx_buf *out);
/* The size of .dexmafs/plan.INO: the object, then spaces and a newline. */
#define DX_PLAN_FILE_SIZE 4096

#endif
