/* The data layer's handle: its clock, its observer, its counters. It is
 * made and freed with its memo (memo.c); the content (content.c) loads
 * through it.
 */
#include <time.h>

#include "data_impl.h"

void dx_data_observe(struct dx_data *d, const struct dx_data_observer *o)
{
	d->observe = *o;
}

int64_t dx_data_now(const struct dx_data *d)
{
	if (d->opts.now)
		return d->opts.now(d->opts.now_ctx);
	return (int64_t)time(NULL);
}

uint64_t dx_data_decodes(const struct dx_data *d)
{
	return __atomic_load_n(&d->json_decodes, __ATOMIC_RELAXED);
}
