/* dx_quota: the ledger of API calls, and the retry schedule. Pure: no
 * clock, no locks, no I/O. The caller passes the time (`now`, epoch
 * seconds) and serialises access (dx_client holds its mutex around every
 * call here).
 *
 * The ledger learns the limits from the X-Ratelimit-* headers of every
 * answer and admits or refuses each call before it is sent, so that a
 * burst of parallel calls can never overshoot the quota: calls admitted
 * but not yet answered count as spent.
 */
#ifndef DX_QUOTA_H
#define DX_QUOTA_H

#include <stdint.h>

#include "dx_http.h"

/* Interactive work (a person's open, stat or listing) may spend the
 * reserve; background work (prefetch, refresh) may not. */
enum dx_priority {
	DX_PRIO_INTERACTIVE,
	DX_PRIO_BACKGROUND,
};

/* The quota ledger, as the client knows it; persisted by the caller so a
 * remount counts the same calls. Times are epoch seconds. */
struct dx_quota_state {
	long hour_limit, hour_remaining; /* -1 when never seen */
	long day_limit, day_remaining;
	int64_t hour_reset_at, day_reset_at;
	int64_t blocked_until; /* after a 429: send nothing before */
};

/* How long the ledger blocks after a 429 that carried no usable header. */
#define DX_QUOTA_DEFAULT_BACKOFF_S 60

struct dx_quota;

/* Returns a new ledger that knows nothing; free with dx_quota_free().
 * reserve_fraction (0..1) of the hourly limit is kept for interactive
 * calls. -EINVAL for a fraction out of range, -ENOMEM. */
int dx_quota_new(double reserve_fraction, struct dx_quota **out);
void dx_quota_free(struct dx_quota *q);

/* Replaces the persisted part of the ledger (calls in flight are kept). */
void dx_quota_set_state(struct dx_quota *q, const struct dx_quota_state *s);
void dx_quota_get_state(const struct dx_quota *q, struct dx_quota_state *out);

/* Calls kept for interactive use this hour: ceil(fraction * hour limit),
 * 0 while the limit is unknown. */
long dx_quota_reserve(const struct dx_quota *q);

/* Calls admitted and not yet answered or cancelled. */
int dx_quota_in_flight(const struct dx_quota *q);

/* Asks to send one call now. 0: admitted, and counted in flight until
 * dx_quota_answer() or dx_quota_cancel(). -EAGAIN: refused; *wait_s is
 * how many seconds until the answer may change (at least 1). -EBUSY: the
 * limits are still unknown and a first call is in flight; wait for its
 * answer rather than guess (this is what keeps the first burst at one). */
int dx_quota_admit(struct dx_quota *q, enum dx_priority prio, int64_t now, int64_t *wait_s);

/* Records the answer to an admitted call: its HTTP status and headers.
 * A 429 blocks every call until the larger of Retry-After and the reset
 * of the exhausted window (DX_QUOTA_DEFAULT_BACKOFF_S without either).
 * Returns 1 when the persisted state changed, else 0. */
int dx_quota_answer(struct dx_quota *q, long status, const struct dx_rate_headers *h, int64_t now);

/* Releases an admitted call that got no answer. sent: the request may
 * have reached the server, so it is counted as spent. */
void dx_quota_cancel(struct dx_quota *q, int sent);

/* The retry schedule: full jitter over an exponential ceiling,
 * min(DX_BACKOFF_CAP_MS, DX_BACKOFF_BASE_MS * 2^attempt), picked by rnd
 * (any 64-bit random number). attempt counts from 0 for the first retry. */
#define DX_BACKOFF_BASE_MS 250
#define DX_BACKOFF_CAP_MS 4000
long dx_backoff_ms(int attempt, uint64_t rnd);

#endif
