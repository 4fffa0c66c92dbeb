/* Internals shared by readahead.c (the detector, the plan, the workers)
 * and readahead_order.c (where a series lies in a walk's order). Only
 * these two files include it. */
#ifndef DX_READAHEAD_IMPL_H
#define DX_READAHEAD_IMPL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "data.h"
#include "readahead.h"

/* A series as the walk reaches it: device di of the devices listing (in
 * the order of their directory names), parameter pi of its parameters
 * listing (by key), listed resolution ri (by name). */
struct pos {
	int dep;
	size_t di, pi, ri;
};

/* How far apart two successive series of a walk lie: the level of the
 * directory whose children they are. A walk seen crossing a level is a
 * walk of a directory above it, so the readahead may cross it too. */
enum walk_span {
	SPAN_DIR,    /* one resolution directory */
	SPAN_RES,    /* the resolutions of one parameter */
	SPAN_PARAM,  /* the parameters of one device */
	SPAN_DEVICE, /* the devices of the deployment */
};

/* The devices' order, made once per devices listing. */
struct walk_order {
	pthread_mutex_t lock;
	const struct dx_listing *of; /* the listing it was made from */
	int64_t stamp;
	size_t n;
	size_t *order; /* rank -> index in the listing */
	size_t *rank;  /* index -> rank */
};

void dx_walk_order_init(struct walk_order *o);
void dx_walk_order_free(struct walk_order *o);

int dx_pos_eq(const struct pos *a, const struct pos *b);
/* <0, 0 or >0 as a comes before, with or after b in the walk. */
int dx_pos_cmp(const struct pos *a, const struct pos *b);
/* The level at which the walk steps from a to b (b after a). */
enum walk_span dx_pos_span(const struct pos *a, const struct pos *b);
/* The series after at. nparams: the parameters of at's device, 0 while
 * not listed (the next device is then assumed). */
void dx_pos_next(unsigned listed_res, const struct pos *at, size_t nparams, struct pos *next);
/* Where the series of period file f lies, among the resolutions of
 * listed_res. 0 or an error of the listings, loaded with ld. */
int dx_pos_of(const struct dx_load *ld, unsigned listed_res, struct walk_order *o,
	      const struct dx_ra_file *f, struct pos *p);

/* The resolution of rank ri among those of listed_res, or -1. */
int dx_walk_res_at(unsigned listed_res, size_t ri);
/* The parameter of rank pi among the parameter directories of l, or NULL;
 * *n the number of those directories. */
const struct dx_entity *dx_walk_param_at(const struct dx_listing *l, size_t pi, size_t *n);
/* The index in dl of the device of rank di. 0 or -ENOENT, -ENOMEM. */
int dx_walk_device_at(struct walk_order *o, const struct dx_listing *dl, size_t di, size_t *index);

#endif
