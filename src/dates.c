/* Civil dates, resolutions, fetch chunks and reading timestamps; see
 * dx_dates.h. */
#include "dx_dates.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

static const struct {
	const char *name;
	const char *code;
	int span_months;
} res_table[DX_RES_COUNT] = {
	[DX_RES_RAW] = { "raw", "B", 1 },           [DX_RES_5MIN] = { "5min", "FM", 1 },
	[DX_RES_10MIN] = { "10min", "TM", 12 },     [DX_RES_15MIN] = { "15min", "QH", 12 },
	[DX_RES_30MIN] = { "30min", "HH", 12 },     [DX_RES_HOURLY] = { "hourly", "H", 12 },
	[DX_RES_DAILY] = { "daily", "D", 120 },     [DX_RES_WEEKLY] = { "weekly", "W", 120 },
	[DX_RES_MONTHLY] = { "monthly", "M", 120 },
};

/* Floor division, so negative epoch seconds land on the day before. */
static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	if ((a % b != 0) && ((a < 0) != (b < 0)))
		q--;
	return q;
}

static int is_leap(int year)
{
	return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

int dx_date_days_in_month(int year, int month)
{
	static const int days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	if (month < 1 || month > 12)
		return 0;
	if (month == 2 && is_leap(year))
		return 29;
	return days[month - 1];
}

/* Reads exactly n decimal digits; -1 if any is not a digit. */
static int read_digits(const char *s, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

static void write_digits(char *out, int v, int n)
{
	for (int i = n - 1; i >= 0; i--) {
		out[i] = (char)('0' + v % 10);
		v /= 10;
	}
}

int dx_date_parse(const char *s, size_t len, struct dx_date *out)
{
	struct dx_date d;

	if (len != 10 || s[4] != '-' || s[7] != '-')
		return -EINVAL;
	d.year = read_digits(s, 4);
	d.month = read_digits(s + 5, 2);
	d.day = read_digits(s + 8, 2);
	if (d.year < 1 || d.month < 1 || d.month > 12 || d.day < 1 ||
	    d.day > dx_date_days_in_month(d.year, d.month))
		return -EINVAL;
	*out = d;
	return 0;
}

void dx_date_format(struct dx_date d, char out[11])
{
	/* Digits by hand: the year is 1..9999 by contract, and this keeps
	 * -Wformat-truncation quiet without a bigger buffer. */
	write_digits(out, d.year, 4);
	out[4] = '-';
	write_digits(out + 5, d.month, 2);
	out[7] = '-';
	write_digits(out + 8, d.day, 2);
	out[10] = '\0';
}

/* Howard Hinnant's days_from_civil: eras of 400 years starting in March,
 * so the leap day is the last day of each shifted year. */
int64_t dx_date_to_days(struct dx_date d)
{
	int64_t y = d.year - (d.month <= 2);
	int64_t era = floor_div(y, 400);
	int64_t yoe = y - era * 400;
	int64_t mp = (d.month + 9) % 12;
	int64_t doy = (153 * mp + 2) / 5 + d.day - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + doe - 719468;
}

struct dx_date dx_date_from_days(int64_t days)
{
	int64_t z = days + 719468;
	int64_t era = floor_div(z, 146097);
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	struct dx_date d;

	d.day = (int)(doy - (153 * mp + 2) / 5 + 1);
	d.month = (int)(mp < 10 ? mp + 3 : mp - 9);
	d.year = (int)(yoe + era * 400 + (d.month <= 2));
	return d;
}

int dx_date_cmp(struct dx_date a, struct dx_date b)
{
	if (a.year != b.year)
		return a.year < b.year ? -1 : 1;
	if (a.month != b.month)
		return a.month < b.month ? -1 : 1;
	if (a.day != b.day)
		return a.day < b.day ? -1 : 1;
	return 0;
}

struct dx_date dx_date_of_epoch(int64_t t)
{
	return dx_date_from_days(floor_div(t, 86400));
}

struct dx_date dx_date_add_months(struct dx_date d, int n)
{
	int64_t m = (int64_t)d.year * 12 + (d.month - 1) + n;
	struct dx_date r;
	int dim;

	r.year = (int)floor_div(m, 12);
	r.month = (int)(m - (int64_t)r.year * 12) + 1;
	dim = dx_date_days_in_month(r.year, r.month);
	r.day = d.day > dim ? dim : d.day;
	return r;
}

const char *dx_res_name(enum dx_res r)
{
	return (unsigned)r < DX_RES_COUNT ? res_table[r].name : NULL;
}

const char *dx_res_code(enum dx_res r)
{
	return (unsigned)r < DX_RES_COUNT ? res_table[r].code : NULL;
}

int dx_res_from_name(const char *name, enum dx_res *out)
{
	for (int r = 0; r < DX_RES_COUNT; r++) {
		if (strcmp(name, res_table[r].name) == 0) {
			*out = (enum dx_res)r;
			return 0;
		}
	}
	return -ENOENT;
}

int dx_res_span_months(enum dx_res r)
{
	return (unsigned)r < DX_RES_COUNT ? res_table[r].span_months : 0;
}

int dx_res_period_is_year(enum dx_res r)
{
	return r >= DX_RES_DAILY;
}

static struct dx_date make_date(int year, int month, int day)
{
	struct dx_date d = { year, month, day };

	return d;
}

struct dx_range dx_period_of(enum dx_res r, struct dx_date d)
{
	struct dx_range p;

	if (dx_res_period_is_year(r)) {
		p.from = make_date(d.year, 1, 1);
		p.to = make_date(d.year, 12, 31);
	} else {
		p.from = make_date(d.year, d.month, 1);
		p.to = make_date(d.year, d.month, dx_date_days_in_month(d.year, d.month));
	}
	return p;
}

struct dx_range dx_chunk_of(enum dx_res r, struct dx_date d)
{
	struct dx_range c;
	int first;

	switch (dx_res_span_months(r)) {
	case 1:
		return dx_period_of(DX_RES_RAW, d);
	case 12:
		c.from = make_date(d.year, 1, 1);
		c.to = make_date(d.year, 12, 31);
		return c;
	default:
		first = d.year - d.year % 10;
		c.from = make_date(first, 1, 1);
		c.to = make_date(first + 9, 12, 31);
		return c;
	}
}

int dx_range_chunks(enum dx_res r, const struct dx_range *range, struct dx_range *out, size_t max,
		    size_t *n)
{
	struct dx_date d = range->from;
	size_t count = 0;

	while (dx_date_cmp(d, range->to) <= 0) {
		struct dx_range c = dx_chunk_of(r, d);

		if (count == max)
			return -E2BIG;
		out[count++] = c;
		d = dx_date_from_days(dx_date_to_days(c.to) + 1);
	}
	*n = count;
	return 0;
}

int dx_range_parse_name(const char *name, enum dx_res r, struct dx_range *out)
{
	struct dx_range range, chunks[DX_RANGE_MAX_CHUNKS];
	size_t n;

	if (strlen(name) != 26 || memcmp(name + 10, "--", 2) != 0 || strcmp(name + 22, ".csv") != 0)
		return -ENOENT;
	if (dx_date_parse(name, 10, &range.from) || dx_date_parse(name + 12, 10, &range.to))
		return -ENOENT;
	if (range.from.year < 1970 || range.to.year > 2199 || dx_date_cmp(range.from, range.to) > 0)
		return -ENOENT;
	if (dx_range_chunks(r, &range, chunks, DX_RANGE_MAX_CHUNKS, &n))
		return -ENOENT;
	*out = range;
	return 0;
}

void dx_range_format_name(const struct dx_range *range, char out[DX_RANGE_NAME_MAX])
{
	dx_date_format(range->from, out);
	out[10] = '-';
	out[11] = '-';
	dx_date_format(range->to, out + 12);
	memcpy(out + 22, ".csv", 5);
}

void dx_range_api_bounds(const struct dx_range *range, char from[20], char to[20])
{
	dx_date_format(range->from, from);
	memcpy(from + 10, "T00:00:00", 10);
	dx_date_format(range->to, to);
	memcpy(to + 10, "T23:59:59", 10);
}

int64_t dx_range_end_epoch(const struct dx_range *range)
{
	return (dx_date_to_days(range->to) + 1) * 86400 + 14 * 3600;
}

/* The offset after the time: "Z", "+HH:MM", "-HH:MM" or "+HHMM", and
 * nothing after it. Sets *minutes east of UTC. */
static int parse_offset(const char *s, size_t len, int32_t *minutes)
{
	int sign, hh, mm;

	if (len == 1 && s[0] == 'Z') {
		*minutes = 0;
		return 0;
	}
	if (len < 5 || (s[0] != '+' && s[0] != '-'))
		return -EINVAL;
	sign = s[0] == '-' ? -1 : 1;
	hh = read_digits(s + 1, 2);
	if (len == 6 && s[3] == ':')
		mm = read_digits(s + 4, 2);
	else if (len == 5)
		mm = read_digits(s + 3, 2);
	else
		return -EINVAL;
	if (hh < 0 || hh > 23 || mm < 0 || mm > 59)
		return -EINVAL;
	*minutes = sign * (hh * 60 + mm);
	return 0;
}

int dx_ts_parse(const char *s, size_t len, struct dx_ts *out)
{
	struct dx_date d;
	int hh, mm, ss = 0;
	size_t pos = 16;
	int32_t offset;

	if (len < 17 || dx_date_parse(s, 10, &d) || s[10] != 'T' || s[13] != ':')
		return -EINVAL;
	hh = read_digits(s + 11, 2);
	mm = read_digits(s + 14, 2);
	if (len >= 19 && s[16] == ':') {
		ss = read_digits(s + 17, 2);
		pos = 19;
	}
	if (hh < 0 || hh > 23 || mm < 0 || mm > 59 || ss < 0 || ss > 59)
		return -EINVAL;
	if (parse_offset(s + pos, len - pos, &offset))
		return -EINVAL;
	out->offset_min = offset;
	out->utc = dx_date_to_days(d) * 86400 + hh * 3600 + mm * 60 + ss - (int64_t)offset * 60;
	return 0;
}

/* The last two days asked, per thread, by their first second and date
 * text: a file's rows ask the same day dozens of times (its local and its
 * UTC date), and a time within a known day needs no division to find it. */
static _Thread_local struct {
	int64_t start;
	int known;
	char text[10];
} recent[2];
static _Thread_local int recent_next;

/* Writes the date of t into out; returns the seconds since its midnight. */
static int day_text(int64_t t, char out[11])
{
	int64_t days;

	for (int i = 0; i < 2; i++) {
		if (recent[i].known && t >= recent[i].start &&
		    (uint64_t)t - (uint64_t)recent[i].start < 86400) {
			memcpy(out, recent[i].text, 10);
			return (int)(t - recent[i].start);
		}
	}
	days = floor_div(t, 86400);
	dx_date_format(dx_date_from_days(days), out);
	recent[recent_next].start = days * 86400;
	recent[recent_next].known = 1;
	memcpy(recent[recent_next].text, out, 10);
	recent_next ^= 1;
	return (int)(t - days * 86400);
}

/* "00" to "99": a time of day is written two digits at a time. */
static const char digit_pairs[200] = "00010203040506070809101112131415161718192021222324"
				     "25262728293031323334353637383940414243444546474849"
				     "50515253545556575859606162636465666768697071727374"
				     "75767778798081828384858687888990919293949596979899";

static void put_pair(char *out, int v)
{
	memcpy(out, digit_pairs + 2 * v, 2);
}

void dx_epoch_format(int64_t t, char out[20])
{
	int secs = day_text(t, out);

	out[10] = ' ';
	put_pair(out + 11, secs / 3600);
	out[13] = ':';
	put_pair(out + 14, secs / 60 % 60);
	out[16] = ':';
	put_pair(out + 17, secs % 60);
	out[19] = '\0';
}
