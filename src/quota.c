/* The quota ledger and the retry schedule; see dx_quota.h. */
#include "dx_quota.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Two answers whose reset instants differ by less than this belong to the
 * same window: Reset is rounded to whole seconds and the answers travel. */
#define SAME_WINDOW_SLACK_S 5

struct dx_quota {
	struct dx_quota_state s;
	double fraction;
	int in_flight;
	/* Answers seen since start: until the first one, nothing is known
	 * about the limits and only one call is let through. */
	unsigned long answers;
};

static void state_init(struct dx_quota_state *s)
{
	s->hour_limit = s->hour_remaining = -1;
	s->day_limit = s->day_remaining = -1;
	s->hour_reset_at = s->day_reset_at = 0;
	s->blocked_until = 0;
}

int dx_quota_new(double reserve_fraction, struct dx_quota **out)
{
	struct dx_quota *q;

	if (!(reserve_fraction >= 0.0 && reserve_fraction <= 1.0))
		return -EINVAL;
	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	state_init(&q->s);
	q->fraction = reserve_fraction;
	*out = q;
	return 0;
}

void dx_quota_free(struct dx_quota *q)
{
	free(q);
}

void dx_quota_set_state(struct dx_quota *q, const struct dx_quota_state *s)
{
	q->s = *s;
}

void dx_quota_get_state(const struct dx_quota *q, struct dx_quota_state *out)
{
	*out = q->s;
}

long dx_quota_reserve(const struct dx_quota *q)
{
	double share;
	long n;

	if (q->s.hour_limit <= 0)
		return 0;
	share = q->fraction * (double)q->s.hour_limit;
	n = (long)share;
	/* 1e-9 absorbs the binary rounding of fractions such as 0.2 */
	return share - (double)n > 1e-9 ? n + 1 : n;
}

int dx_quota_in_flight(const struct dx_quota *q)
{
	return q->in_flight;
}

/* Once a window's reset has passed, its limit is assumed restored; the
 * next answer tells the truth. */
static void roll_window(long limit, long *remaining, int64_t *reset_at, int64_t now)
{
	if (*reset_at > 0 && now >= *reset_at) {
		*remaining = limit;
		*reset_at = 0;
	}
}

static void roll(struct dx_quota *q, int64_t now)
{
	roll_window(q->s.hour_limit, &q->s.hour_remaining, &q->s.hour_reset_at, now);
	roll_window(q->s.day_limit, &q->s.day_remaining, &q->s.day_reset_at, now);
	if (q->s.blocked_until <= now)
		q->s.blocked_until = 0;
}

/* Calls still available in a window, or -1 when unknown. A remaining
 * count without a reset instant cannot be trusted to ever come back, so
 * it counts as unknown. */
static long available(long remaining, int64_t reset_at, int in_flight)
{
	if (remaining < 0 || reset_at <= 0)
		return -1;
	return remaining > in_flight ? remaining - in_flight : 0;
}

static int64_t until(int64_t at, int64_t now)
{
	return at > now ? at - now : 1;
}

int dx_quota_admit(struct dx_quota *q, enum dx_priority prio, int64_t now, int64_t *wait_s)
{
	long hour, day;

	roll(q, now);
	if (q->s.blocked_until > now) {
		*wait_s = q->s.blocked_until - now;
		return -EAGAIN;
	}
	hour = available(q->s.hour_remaining, q->s.hour_reset_at, q->in_flight);
	day = available(q->s.day_remaining, q->s.day_reset_at, q->in_flight);
	if (day == 0) {
		*wait_s = until(q->s.day_reset_at, now);
		return -EAGAIN;
	}
	if (hour == 0 || (hour > 0 && prio == DX_PRIO_BACKGROUND && hour <= dx_quota_reserve(q))) {
		*wait_s = until(q->s.hour_reset_at, now);
		return -EAGAIN;
	}
	if (hour < 0 && q->answers == 0 && q->in_flight > 0)
		return -EBUSY;
	q->in_flight++;
	return 0;
}

/* Learns one window from an answer's headers. Within one window the
 * smaller remaining wins, since answers to parallel calls may arrive out
 * of order; a later reset instant means the server started a new window. */
static void learn_window(long h_limit, long h_remaining, long h_reset, long *limit, long *remaining,
			 int64_t *reset_at, int64_t now)
{
	int64_t at;

	if (h_limit >= 0)
		*limit = h_limit;
	if (h_remaining < 0) {
		if (*remaining > 0)
			(*remaining)--;
		return;
	}
	at = h_reset >= 0 ? now + h_reset : *reset_at;
	if (*remaining < 0 || *reset_at <= 0 || at > *reset_at + SAME_WINDOW_SLACK_S ||
	    h_remaining < *remaining)
		*remaining = h_remaining;
	if (at > 0)
		*reset_at = at;
}

static void block_after_429(struct dx_quota *q, const struct dx_rate_headers *h, int64_t now)
{
	long wait = h->retry_after;
	long reset;

	if (h->day_remaining == 0) {
		q->s.day_remaining = 0;
		reset = h->day_reset;
	} else {
		q->s.hour_remaining = 0;
		reset = h->hour_reset;
	}
	if (reset > wait)
		wait = reset;
	if (wait < 0)
		wait = DX_QUOTA_DEFAULT_BACKOFF_S;
	if (wait == 0)
		wait = 1;
	if (now + wait > q->s.blocked_until)
		q->s.blocked_until = now + wait;
	/* Without a reset instant the exhausted window would never be
	 * assumed restored; let it come back when the block ends. */
	if (h->day_remaining == 0 && q->s.day_reset_at <= 0)
		q->s.day_reset_at = q->s.blocked_until;
	if (h->day_remaining != 0 && q->s.hour_reset_at <= 0)
		q->s.hour_reset_at = q->s.blocked_until;
}

int dx_quota_answer(struct dx_quota *q, long status, const struct dx_rate_headers *h, int64_t now)
{
	struct dx_quota_state before = q->s;

	if (q->in_flight > 0)
		q->in_flight--;
	q->answers++;
	roll(q, now);
	learn_window(h->hour_limit, h->hour_remaining, h->hour_reset, &q->s.hour_limit,
		     &q->s.hour_remaining, &q->s.hour_reset_at, now);
	learn_window(h->day_limit, h->day_remaining, h->day_reset, &q->s.day_limit,
		     &q->s.day_remaining, &q->s.day_reset_at, now);
	if (status == 429)
		block_after_429(q, h, now);
	return memcmp(&before, &q->s, sizeof(before)) != 0;
}

void dx_quota_cancel(struct dx_quota *q, int sent)
{
	if (q->in_flight > 0)
		q->in_flight--;
	if (!sent)
		return;
	if (q->s.hour_remaining > 0)
		q->s.hour_remaining--;
	if (q->s.day_remaining > 0)
		q->s.day_remaining--;
}

long dx_backoff_ms(int attempt, uint64_t rnd)
{
	long ceiling = DX_BACKOFF_BASE_MS;

	if (attempt < 0)
		attempt = 0;
	while (attempt-- > 0 && ceiling < DX_BACKOFF_CAP_MS)
		ceiling *= 2;
	if (ceiling > DX_BACKOFF_CAP_MS)
		ceiling = DX_BACKOFF_CAP_MS;
	return (long)(rnd % (uint64_t)(ceiling + 1));
}
