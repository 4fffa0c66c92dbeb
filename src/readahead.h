/* The walk readahead (readahead.c): data a walk needs next, loaded ahead
 * through the data layer (data.h), which is all it knows: the namespace
 * tells it of the period files readers ask for, and registers it to hear
 * of loads from the data layer. Every function may be called with r NULL
 * (readahead off), and from any thread. */
#ifndef DX_READAHEAD_H
#define DX_READAHEAD_H

#include <stdint.h>

#include "data.h"

struct dx_readahead;

/* A period file a reader asks for: its series and dates. */
struct dx_ra_file {
	int dep;
	int64_t device;
	const char *key; /* the parameter key */
	enum dx_res res;
	struct dx_range range;
};

/* A readahead loading through d (borrowed, outlives it) with a window of
 * that many requests, over the resolutions of listed_res (bit (1u << enum
 * dx_res) each: the directories a walk sees); workers start at the first
 * walk seen. *out NULL when window is 0 (off). 0 or -ENOMEM. */
int dx_readahead_new(struct dx_data *d, unsigned listed_res, int window, struct dx_readahead **out);
/* Stops the workers and frees it. */
void dx_readahead_free(struct dx_readahead *r);
/* A reader (loading with ld) looks up period file f and needs its data:
 * follows the walk if it is one. */
void dx_readahead_seen(struct dx_readahead *r, const struct dx_load *ld,
		       const struct dx_ra_file *f);
/* A reader lists the resolution directory of f's series (a walk lists
 * before it looks up). */
void dx_readahead_listed(struct dx_readahead *r, const struct dx_load *ld,
			 const struct dx_ra_file *f);
/* Before the readahead loads key: 1 when the window has room (the load
 * then counts against it until a reader asks for key; tell
 * dx_readahead_landed when it ends), 0 after another worker's load of key
 * ended (look again, load only if it failed), -EBUSY when the window is
 * full or the readahead is off. */
int dx_readahead_admit(struct dx_readahead *r, const char *key);
/* A load admitted ahead ended; fetched: it had the API asked. */
void dx_readahead_landed(struct dx_readahead *r, const char *key, int fetched);
/* A reader's load had the API asked: the walk is over data not cached. */
void dx_readahead_fetched(struct dx_readahead *r);
/* A reader needs key: what was loaded ahead is used. With wait (the reader
 * has no decoded data), waits while a load of key made ahead is in
 * flight; 1 if it waited (look again, load only if it failed). */
int dx_readahead_asked(struct dx_readahead *r, const char *key, int wait);
/* API calls the readahead made, and how many of them readers then used
 * (0 when it is off). */
void dx_readahead_counts(struct dx_readahead *r, uint64_t *fetches, uint64_t *used);

#endif
