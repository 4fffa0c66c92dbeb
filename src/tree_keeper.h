/* Closed twins kept in the store by a thread of their own (tree_keeper.c). */
#ifndef DX_TREE_KEEPER_H
#define DX_TREE_KEEPER_H

#include <stdint.h>

#include "dx_source.h"

/* dx_keeper_put queues a copy of bytes under req (a derived key) and the
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

#endif
