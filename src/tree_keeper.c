/* The keeper: closed twins, and the records that only save a rendering
 * (sizes, times), written into the store by a thread of its own. Keeping
 * one is an LMDB commit, a disk sync of a few milliseconds: on the
 * reader's path it made a cold copy with the twins a quarter slower, and a
 * size record kept by each stat of a cold ls -lR was a fifth of its CPU.
 * Records wait in a table (read back from it) and are written in batches,
 * one transaction for up to RECS_MAX, at least every RECS_AGE seconds: a
 * crash loses at most that much, which costs a rendering again, nothing
 * more. The twins' queue is bounded (a twin that does not fit is not
 * kept: the next read renders it again); both are written out when the
 * tree is freed. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "data.h"
#include "dx_log.h"
#include "tree_keeper.h"

#define KEEP_QUEUE 256
#define KEEP_QUEUE_BYTES ((size_t)32 << 20)
#define RECS_MAX 256     /* records in one transaction */
#define RECS_AGE 1       /* seconds a record may wait for its batch */
#define REC_NAME_MAX 160 /* longer names are written at once */
#define REC_DATA_MAX 64

struct rec {
	uint64_t hash;
	size_t len;
	char name[REC_NAME_MAX];
	unsigned char data[REC_DATA_MAX];
};

/* pending: waiting for the thread; writing: taken by it, in the store's
 * transaction being committed. Both are read by gets (pending first). */
struct recs {
	struct rec *pending, *writing;
	size_t npending, nwriting;
	struct timespec first_at; /* of the oldest pending */
	size_t waiting;           /* npending + nwriting, read without the lock */
};

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
	struct recs recs;
};

static uint64_t name_hash(const char *name)
{
	return dx_stamp_mix(DX_STAMP_INIT, name, strlen(name));
}

static struct rec *rec_find(struct rec *v, size_t n, uint64_t hash, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].hash == hash && !strcmp(v[i].name, name))
			return &v[i];
	return NULL;
}

static int recs_due(const struct recs *r, int stop)
{
	struct timespec now;

	if (!r->npending)
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return stop || r->npending >= RECS_MAX / 2 || now.tv_sec - r->first_at.tv_sec >= RECS_AGE;
}

/* Called with k->lock held, released meanwhile: writes the pending
 * records in one transaction. A batch that cannot be written is dropped
 * (the sizes are found again by rendering). */
static void recs_write(struct dx_keeper *k)
{
	struct recs *r = &k->recs;
	const char *names[RECS_MAX];
	const void *data[RECS_MAX];
	size_t lens[RECS_MAX], i, n;
	struct rec *w = r->writing;
	int rc;

	r->writing = r->pending;
	r->pending = w;
	r->nwriting = n = r->npending;
	r->npending = 0;
	for (i = 0; i < n; i++) {
		names[i] = r->writing[i].name;
		data[i] = r->writing[i].data;
		lens[i] = r->writing[i].len;
	}
	pthread_mutex_unlock(&k->lock);
	rc = k->source->ops->put_records(k->source->ctx, names, data, lens, n);
	if (rc)
		dx_log(DX_LOG_DEBUG, "cache: %zu size records not kept: %s", n, strerror(-rc));
	pthread_mutex_lock(&k->lock);
	r->nwriting = 0;
	__atomic_sub_fetch(&r->waiting, n, __ATOMIC_RELEASE);
}

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
	if (dx_keeper_record_get(k, j->record_name, old, sizeof(old), &len) ||
	    len != j->record_len || memcmp(old, j->record, len))
		rc = dx_keeper_record_put(k, j->record_name, j->record, j->record_len);
	if (!rc)
		__atomic_add_fetch(k->kept, 1, __ATOMIC_RELAXED);
}

/* Called with k->lock held: until a job comes, or the oldest pending
 * record is due. */
static void wait_more(struct dx_keeper *k)
{
	struct timespec until = k->recs.first_at;

	if (!k->recs.npending) {
		pthread_cond_wait(&k->more, &k->lock);
		return;
	}
	until.tv_sec += RECS_AGE;
	pthread_cond_timedwait(&k->more, &k->lock, &until);
}

static void *worker(void *arg)
{
	struct dx_keeper *k = arg;

	pthread_mutex_lock(&k->lock);
	for (;;) {
		struct keep_job *j;

		while (!k->n && !k->stop && !recs_due(&k->recs, 0))
			wait_more(k);
		if (recs_due(&k->recs, k->stop))
			recs_write(k);
		if (!k->n && k->stop && !k->recs.npending)
			break; /* stopped, and drained */
		if (!k->n)
			continue;
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

static void keeper_release(struct dx_keeper *k)
{
	pthread_cond_destroy(&k->more);
	pthread_mutex_destroy(&k->lock);
	free(k->recs.pending);
	free(k->recs.writing);
	free(k);
}

int dx_keeper_new(struct dx_source *source, uint64_t *kept, struct dx_keeper **out)
{
	struct dx_keeper *k = calloc(1, sizeof(*k));
	pthread_condattr_t attr;

	if (!k)
		return -ENOMEM;
	k->source = source;
	k->kept = kept;
	pthread_mutex_init(&k->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&k->more, &attr);
	pthread_condattr_destroy(&attr);
	k->recs.pending = calloc(RECS_MAX, sizeof(struct rec));
	k->recs.writing = calloc(RECS_MAX, sizeof(struct rec));
	if (!k->recs.pending || !k->recs.writing || pthread_create(&k->thread, NULL, worker, k)) {
		keeper_release(k);
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
	keeper_release(k);
}

int dx_keeper_record_put(struct dx_keeper *k, const char *name, const void *data, size_t len)
{
	uint64_t hash = name_hash(name);
	struct recs *r = &k->recs;
	struct rec *e;

	if (len > REC_DATA_MAX || strlen(name) >= REC_NAME_MAX)
		return k->source->ops->put_record(k->source->ctx, name, data, len);
	pthread_mutex_lock(&k->lock);
	e = rec_find(r->pending, r->npending, hash, name);
	if (!e && r->npending == RECS_MAX) {
		pthread_mutex_unlock(&k->lock); /* the thread is behind: at once */
		return k->source->ops->put_record(k->source->ctx, name, data, len);
	}
	if (!e) {
		e = &r->pending[r->npending++];
		__atomic_add_fetch(&r->waiting, 1, __ATOMIC_RELEASE);
		e->hash = hash;
		strcpy(e->name, name);
		if (r->npending == 1)
			clock_gettime(CLOCK_MONOTONIC, &r->first_at);
	}
	memcpy(e->data, data, len);
	e->len = len;
	if (r->npending == 1 || r->npending == RECS_MAX / 2)
		pthread_cond_signal(&k->more);
	pthread_mutex_unlock(&k->lock);
	return 0;
}

int dx_keeper_record_get(struct dx_keeper *k, const char *name, void *data, size_t size,
			 size_t *len)
{
	uint64_t hash;
	struct recs *r = &k->recs;
	struct rec *e;

	/* Every stat of a cached walk asks: with nothing waiting (a record
	 * leaves the count only once it is in the store), no lock. */
	if (!__atomic_load_n(&r->waiting, __ATOMIC_ACQUIRE))
		return k->source->ops->get_record(k->source->ctx, name, data, size, len);
	hash = name_hash(name);
	pthread_mutex_lock(&k->lock);
	e = rec_find(r->pending, r->npending, hash, name);
	if (!e)
		e = rec_find(r->writing, r->nwriting, hash, name);
	if (e) {
		memcpy(data, e->data, e->len < size ? e->len : size);
		*len = e->len;
	}
	pthread_mutex_unlock(&k->lock);
	if (e)
		return 0;
	return k->source->ops->get_record(k->source->ctx, name, data, size, len);
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
