/* dx_keep: the order and the budget of keep (keep.c), pure.
 *
 * Keep refreshes the series of the kept subtrees in the background,
 * oldest refresh first, spending at most a share of each hour's quota
 * above the reserve. When a pass cannot cover every series, the series
 * left keep their old refresh time, so the next pass starts with them:
 * no series is starved. No state but what the caller passes; any thread.
 */
#ifndef DX_KEEP_H
#define DX_KEEP_H

#include <stddef.h>
#include <stdint.h>

#include "dx_quota.h"

/* Fills order with 0..n-1 sorted by last (the time of each series' last
 * refresh, 0 for never), oldest first; ties keep the index order (the
 * walk's). */
void dx_keep_order(const int64_t *last, size_t n, size_t *order);

/* What keep spent in one hour window of one token's quota. */
struct dx_keep_budget {
	int64_t window_end; /* the latest reset instant the ledger gave; 0: not known */
	long spent;         /* calls keep made in the window */
};

/* The calls keep may still make now: share (0..1) of the hour's limit
 * above the reserve, less what it spent in this window, and never more
 * than what is left above the reserve in the hour and the day. A window
 * that ended (now past its reset) counts as a new, full one; reset
 * instants of the ledger a few seconds apart are one window. While the
 * limits are unknown (no answer seen yet), 1 until keep made a call.
 * Updates b's window. */
long dx_keep_allowance(struct dx_keep_budget *b, const struct dx_quota_state *q, long reserve,
		       double share, int64_t now);

/* The seconds ahead of its staleness keep refreshes data (the interval
 * between passes, at most half of ttl), so that what keep holds is fresh
 * until its next pass. */
int64_t dx_keep_lead(int64_t interval, int64_t ttl);

#endif
