/* The keeper: closed twins written into the store by a thread of its own.
 * Keeping one is an LMDB commit, a disk sync of a few milliseconds: on
 * the reader's path it made a cold copy with the twins a quarter slower.
 * The queue is bounded (a twin that does not fit is not kept: the next
 * read renders it again) and drained when the tree is freed. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "tree_keeper.h"

#define KEEP_QUEUE 256
#define KEEP_QUEUE_BYTES ((size_t)32 << 20)

struct keep_job {
	struct dx_request req;
	char record_name[DX_REQUEST_KEY_MAX];
	unsigned char record[64];
	size_t record_len;
	struct dx_buf bytes;
};

struct dx_keeper {
	struct dx_source *source;
	uint64_t *kept; /* counter, atomic */
	pthread_mutex_t lock;
	pthread_cond_t more;
	pthread_t thread;
	int stop;
	size_t head, n, bytes;
	struct keep_job *jobs[KEEP_QUEUE];
};

/* Final bytes never change: kept for good, whenever they were made. */
static const struct dx_cache_policy keep_policy = { DX_CLASS_READINGS, 0, 0 };

static int copy_bytes(void *ctx, struct dx_buf *out)
{
	const struct dx_buf *b = ctx;

	return dx_buf_append(out, b->data, b->len);
}

static void keep(struct dx_keeper *k, struct keep_job *j)
{
	struct dx_cache_info info = { 0 };
	struct dx_buf copy;

	unsigned char old[sizeof(j->record)];
	size_t len = 0;
	int rc;

	dx_buf_init(&copy, j->bytes.max);
	rc = k->source->ops->derived(k->source->ctx, &j->req, &keep_policy, copy_bytes, &j->bytes,
				     &copy, &info);
	dx_buf_release(&copy);
	if (rc)
		return;
	/* A stat has most often kept the same record already: a commit (and
	 * a disk sync) saved. */
	if (k->source->ops->get_record(k->source->ctx, j->record_name, old, sizeof(old), &len) ||
	    len != j->record_len || memcmp(old, j->record, len))
		rc = k->source->ops->put_record(k->source->ctx, j->record_name, j->record,
						j->record_len);
	if (!rc)
		__atomic_add_fetch(k->kept, 1, __ATOMIC_RELAXED);
}

static void *worker(void *arg)
{
	struct dx_keeper *k = arg;

	pthread_mutex_lock(&k->lock);
	for (;;) {
		struct keep_job *j;

		while (!k->n && !k->stop)
			pthread_cond_wait(&k->more, &k->lock);
		if (!k->n)
			break; /* stopped, and drained */
		j = k->jobs[k->head];
		k->head = (k->head + 1) % KEEP_QUEUE;
		k->n--;
		pthread_mutex_unlock(&k->lock);
		keep(k, j);
		pthread_mutex_lock(&k->lock);
		k->bytes -= j->bytes.len;
		dx_buf_release(&j->bytes);
		free(j);
	}
	pthread_mutex_unlock(&k->lock);
	return NULL;
}

int dx_keeper_new(struct dx_source *source, uint64_t *kept, struct dx_keeper **out)
{
	struct dx_keeper *k = calloc(1, sizeof(*k));

	if (!k)
		return -ENOMEM;
	k->source = source;
	k->kept = kept;
	pthread_mutex_init(&k->lock, NULL);
	pthread_cond_init(&k->more, NULL);
	if (pthread_create(&k->thread, NULL, worker, k)) {
		pthread_cond_destroy(&k->more);
		pthread_mutex_destroy(&k->lock);
		free(k);
		return -ENOMEM;
	}
	*out = k;
	return 0;
}

void dx_keeper_free(struct dx_keeper *k)
{
	if (!k)
		return;
	pthread_mutex_lock(&k->lock);
	k->stop = 1;
	pthread_cond_signal(&k->more);
	pthread_mutex_unlock(&k->lock);
	pthread_join(k->thread, NULL);
	pthread_cond_destroy(&k->more);
	pthread_mutex_destroy(&k->lock);
	free(k);
}

int dx_keeper_put(struct dx_keeper *k, const struct dx_request *req, const struct dx_buf *bytes,
		  const char *record_name, const void *record, size_t record_len)
{
	struct keep_job *j;
	int rc = 0;

	if (record_len > sizeof(j->record) || strlen(record_name) >= sizeof(j->record_name) ||
	    !(j = calloc(1, sizeof(*j))))
		return -ENOMEM;
	j->req = *req;
	strcpy(j->record_name, record_name);
	memcpy(j->record, record, record_len);
	j->record_len = record_len;
	dx_buf_init(&j->bytes, bytes->len + 1);
	if (dx_buf_append(&j->bytes, bytes->data, bytes->len)) {
		free(j);
		return -ENOMEM;
	}
	pthread_mutex_lock(&k->lock);
	if (k->n == KEEP_QUEUE || k->bytes + bytes->len > KEEP_QUEUE_BYTES || k->stop) {
		rc = -EAGAIN;
	} else {
		k->jobs[(k->head + k->n) % KEEP_QUEUE] = j;
		k->n++;
		k->bytes += bytes->len;
		pthread_cond_signal(&k->more);
	}
	pthread_mutex_unlock(&k->lock);
	if (rc) {
		dx_buf_release(&j->bytes);
		free(j);
	}
	return rc;
}
