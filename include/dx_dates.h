/* dx_dates: calendar dates, resolutions, periods, fetch chunks and the
 * timestamps of readings. Pure functions: no clock, no time zone database.
 *
 * DEXMA takes `from`/`to` as local wall-clock times of the location's zone
 * and includes both ends; its `ts` carry a numeric UTC offset. Everything
 * here works on civil dates (proleptic Gregorian) and on those offsets, so
 * it needs no TZ rules and behaves the same on every machine.
 */
#ifndef DX_DATES_H
#define DX_DATES_H

#include <stddef.h>
#include <stdint.h>

struct dx_date {
	int year;  /* 1..9999 */
	int month; /* 1..12 */
	int day;   /* 1..31 */
};

/* Parses exactly "YYYY-MM-DD" from s[0..len) and checks it is a real day.
 * 0 or -EINVAL. */
int dx_date_parse(const char *s, size_t len, struct dx_date *out);

/* Writes "YYYY-MM-DD" and a NUL into out (11 bytes). */
void dx_date_format(struct dx_date d, char out[11]);

/* Days since 1970-01-01 (negative before) and back. */
int64_t dx_date_to_days(struct dx_date d);
struct dx_date dx_date_from_days(int64_t days);

int dx_date_days_in_month(int year, int month);

/* -1, 0 or 1. */
int dx_date_cmp(struct dx_date a, struct dx_date b);

/* The date of the UTC day that holds the epoch second t. */
struct dx_date dx_date_of_epoch(int64_t t);

/* d moved by n months; the day is clamped to the end of the month. */
struct dx_date dx_date_add_months(struct dx_date d, int n);

/* Resolutions, finest first. The names are the directory names. */
enum dx_res {
	DX_RES_RAW,     /* "raw",    API code B  */
	DX_RES_5MIN,    /* "5min",   FM */
	DX_RES_10MIN,   /* "10min",  TM */
	DX_RES_15MIN,   /* "15min",  QH */
	DX_RES_30MIN,   /* "30min",  HH */
	DX_RES_HOURLY,  /* "hourly", H  */
	DX_RES_DAILY,   /* "daily",  D  */
	DX_RES_WEEKLY,  /* "weekly", W  */
	DX_RES_MONTHLY, /* "monthly", M */
	DX_RES_COUNT
};

const char *dx_res_name(enum dx_res r);
const char *dx_res_code(enum dx_res r);

/* Looks a directory name up. 0 or -ENOENT. */
int dx_res_from_name(const char *name, enum dx_res *out);

/* The API's largest `to - from` for one request, in months: 1 for raw and
 * 5min, 12 for 10min..hourly, 120 for daily..monthly. */
int dx_res_span_months(enum dx_res r);

/* 1 when the canonical listed period of r is a calendar year (daily and
 * coarser), 0 when it is a calendar month (raw..hourly). */
int dx_res_period_is_year(enum dx_res r);

/* Days, both ends inclusive. */
struct dx_range {
	struct dx_date from;
	struct dx_date to;
};

/* Parses a file name "YYYY-MM-DD--YYYY-MM-DD.csv" for resolution r.
 * Accepts it when from <= to, both years are in 1970..2199, and the range
 * needs at most DX_RANGE_MAX_CHUNKS fetch chunks at r. 0 or -ENOENT. */
#define DX_RANGE_MAX_CHUNKS 12
int dx_range_parse_name(const char *name, enum dx_res r, struct dx_range *out);

/* Writes "YYYY-MM-DD--YYYY-MM-DD.csv" (26 bytes + NUL) into out. */
#define DX_RANGE_NAME_MAX 28
void dx_range_format_name(const struct dx_range *range, char out[DX_RANGE_NAME_MAX]);

/* The canonical period (calendar month, or year for daily and coarser) of
 * r that holds day d. */
struct dx_range dx_period_of(enum dx_res r, struct dx_date d);

/* The aligned fetch chunk of r that holds day d: the calendar month for raw
 * and 5min, the calendar year for 10min..hourly, the decade (years
 * 2020..2029) for daily..monthly. Every chunk fits the API's span limit,
 * and asking for one whole chunk lets later files of it cost nothing. */
struct dx_range dx_chunk_of(enum dx_res r, struct dx_date d);

/* The aligned chunks that cover range, in order, into out[0..max). Sets *n.
 * 0, or -E2BIG when more than max are needed. */
int dx_range_chunks(enum dx_res r, const struct dx_range *range, struct dx_range *out, size_t max,
		    size_t *n);

/* The API query bounds of range: from = "YYYY-MM-DDT00:00:00" of its first
 * day, to = "YYYY-MM-DDT23:59:59" of its last day. The API includes `to`,
 * so adjacent ranges share no reading. Each out is 20 bytes. */
void dx_range_api_bounds(const struct dx_range *range, char from[20], char to[20]);

/* The instant (epoch seconds, UTC) when a range is over everywhere on
 * Earth: 00:00 UTC of the day after range->to, plus 14 hours. */
int64_t dx_range_end_epoch(const struct dx_range *range);

/* One reading timestamp as DEXMA writes it: "2022-03-01T00:00:00+01:00"
 * (also "Z", "+0100", or no seconds). */
struct dx_ts {
	int64_t utc;        /* epoch seconds of the instant */
	int32_t offset_min; /* local = utc + offset_min * 60 */
};

/* 0 or -EINVAL. A missing offset is rejected: without it a local time is
 * ambiguous across DST. */
int dx_ts_parse(const char *s, size_t len, struct dx_ts *out);

/* Writes "YYYY-MM-DD HH:MM:SS" of the epoch second t (20 bytes with NUL). */
void dx_epoch_format(int64_t t, char out[20]);

#endif
