/* The DEXMA requests and their cache keys; see dx_requests.h.
 *
 * Expiry by prefix works because a readings query always lists its
 * parameters in one order (device, key, resolution, from, to, operation):
 * readings_query() writes them, and both the paths and the prefixes use it.
 */
#include "dx_requests.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define PATH_LOCATIONS "/locations"
#define PATH_DEVICES "/devices"
#define PATH_DATASOURCES "/datasources"
#define PATH_PARAMETERS "/parameters"
#define PATH_SUPPLIES "/utility/supplies/"
#define PATH_READINGS "/readings"
#define PATH_CONTRACTS "/utility/contracts/electricity"
#define PATH_COST "/cost/electrical/consumption"

/* How many of the readings parameters a query or prefix holds. */
enum { Q_DEVICE = 1, Q_KEY, Q_RES, Q_ALL };

static int unreserved(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c == '~';
}

int dx_request_escape(struct dx_buf *out, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	int rc = 0;

	while (*s && !rc) {
		size_t run = 0;

		/* runs of unreserved characters at once: keys seldom need more */
		while (s[run] && unreserved((unsigned char)s[run]))
			run++;
		if (run) {
			rc = dx_buf_append(out, s, run);
			s += run;
		} else {
			char pct[3] = { '%', hex[(unsigned char)*s >> 4], hex[*s & 0xf] };

			rc = dx_buf_append(out, pct, 3);
			s++;
		}
	}
	return rc;
}

/* Appends v in decimal (a query is built for every lookup of a chunk). */
static int put_i64(struct dx_buf *out, int64_t v)
{
	char digits[24], *d = digits + sizeof(digits);
	uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;

	do
		*--d = (char)('0' + u % 10);
	while (u /= 10);
	if (v < 0)
		*--d = '-';
	return dx_buf_append(out, d, (size_t)(digits + sizeof(digits) - d));
}

/* Appends "/readings?" and the first n parameters; a prefix (n < Q_ALL)
 * ends with the '&' that separates it from the next. */
static int readings_query(struct dx_buf *out, int n, int64_t device, const char *key,
			  enum dx_res res, const char *op, const struct dx_range *range)
{
	char from[20], to[20];
	int rc = dx_buf_puts(out, PATH_READINGS "?device_id=");

	if (!rc)
		rc = put_i64(out, device);
	if (!rc && n >= Q_KEY)
		rc = dx_buf_puts(out, "&parameter_key=");
	if (!rc && n >= Q_KEY)
		rc = dx_request_escape(out, key);
	if (!rc && n >= Q_RES)
		rc = dx_buf_puts(out, "&resolution=");
	if (!rc && n >= Q_RES)
		rc = dx_buf_puts(out, dx_res_code(res));
	if (rc || n < Q_ALL)
		return rc ? rc : dx_buf_puts(out, "&");
	dx_range_api_bounds(range, from, to);
	rc = dx_buf_puts(out, "&from=");
	rc = rc ? rc : dx_buf_puts(out, from);
	rc = rc ? rc : dx_buf_puts(out, "&to=");
	rc = rc ? rc : dx_buf_puts(out, to);
	if (!rc && op && *op) {
		rc = dx_buf_puts(out, "&operation=");
		if (!rc)
			rc = dx_request_escape(out, op);
	}
	return rc;
}

int dx_request_readings_path(int64_t device, const char *key, enum dx_res res, const char *op,
			     const struct dx_range *range, struct dx_buf *out)
{
	struct dx_date limit;

	if (!key || !*key || res < 0 || res >= DX_RES_COUNT)
		return -EINVAL;
	limit = dx_date_add_months(range->from, dx_res_span_months(res));
	if (dx_date_cmp(range->from, range->to) > 0 || dx_date_cmp(range->to, limit) >= 0)
		return -EINVAL;
	return readings_query(out, Q_ALL, device, key, res, op, range);
}

/* Copies the text of b into out (size bytes). */
static int copy_out(const struct dx_buf *b, char *out, size_t size)
{
	if (!b->data || b->len >= size)
		return -ENAMETOOLONG;
	memcpy(out, b->data, b->len + 1);
	return 0;
}

/* Fills the key of r from the deployment and a path. */
static int make_key(const char *dep_name, const char *path, char *key, size_t size)
{
	size_t d = strlen(dep_name), p = strlen(path);

	if (d + 1 + p >= size)
		return -ENAMETOOLONG;
	memcpy(key, dep_name, d);
	key[d] = '|';
	memcpy(key + d + 1, path, p + 1);
	return 0;
}

static int listing(const char *dep_name, int dep, const char *path, const char *tail,
		   struct dx_request *out)
{
	struct dx_buf b;
	int rc;

	memset(out, 0, sizeof(*out));
	out->kind = DX_REQ_LIST;
	out->prio = DX_PRIO_INTERACTIVE;
	out->dep = dep;
	dx_buf_init(&b, 4096);
	rc = dx_buf_puts(&b, path);
	if (!rc && tail)
		rc = dx_request_escape(&b, tail);
	if (!rc)
		rc = copy_out(&b, out->path, sizeof(out->path));
	dx_buf_release(&b);
	return rc ? rc : make_key(dep_name, out->path, out->key, sizeof(out->key));
}

int dx_request_locations(const char *dep_name, int dep, struct dx_request *out)
{
	return listing(dep_name, dep, PATH_LOCATIONS, NULL, out);
}

int dx_request_devices(const char *dep_name, int dep, struct dx_request *out)
{
	return listing(dep_name, dep, PATH_DEVICES, NULL, out);
}

int dx_request_datasources(const char *dep_name, int dep, struct dx_request *out)
{
	return listing(dep_name, dep, PATH_DATASOURCES, NULL, out);
}

int dx_request_parameters(const char *dep_name, int dep, int64_t device, struct dx_request *out)
{
	char path[64];
	struct dx_buf b;
	int rc;

	dx_buf_init(&b, sizeof(path) - 1);
	rc = dx_buf_puts(&b, PATH_PARAMETERS "?device_id=");
	rc = rc ? rc : put_i64(&b, device);
	rc = rc ? rc : copy_out(&b, path, sizeof(path));
	dx_buf_release(&b);
	return rc ? rc : listing(dep_name, dep, path, NULL, out);
}

int dx_request_supplies(const char *dep_name, int dep, const char *source, struct dx_request *out)
{
	return listing(dep_name, dep, PATH_SUPPLIES, source, out);
}

int dx_request_contracts(const char *dep_name, int dep, struct dx_request *out)
{
	return listing(dep_name, dep, PATH_CONTRACTS, NULL, out);
}

int dx_request_readings(const char *dep_name, int dep, int64_t device, const char *key,
			enum dx_res res, const char *op, const struct dx_range *chunk,
			struct dx_date last, struct dx_request *out)
{
	struct dx_range asked = *chunk;
	struct dx_buf b;
	int rc;

	memset(out, 0, sizeof(*out));
	out->kind = DX_REQ_READINGS;
	out->prio = DX_PRIO_INTERACTIVE;
	out->dep = dep;
	dx_buf_init(&b, 4096);
	rc = dx_request_readings_path(device, key, res, op, chunk, &b);
	if (!rc)
		rc = copy_out(&b, out->path, sizeof(out->path));
	if (!rc)
		rc = make_key(dep_name, out->path, out->key, sizeof(out->key));
	out->ask.device = device;
	out->ask.res = res;
	out->ask.chunk = *chunk;
	out->ask.last = dx_date_cmp(last, chunk->to) < 0 ? last : chunk->to;
	if (strlen(key) < sizeof(out->ask.key) && (!op || strlen(op) < sizeof(out->ask.op))) {
		strcpy(out->ask.key, key);
		strcpy(out->ask.op, op ? op : "");
	}
	if (!rc && dx_date_cmp(last, chunk->to) < 0) {
		asked.to = last;
		out->future = dx_date_cmp(last, chunk->from) < 0;
		dx_buf_reset(&b);
		if (!out->future)
			rc = dx_request_readings_path(device, key, res, op, &asked, &b);
		if (!rc && !out->future)
			rc = copy_out(&b, out->path, sizeof(out->path));
	}
	dx_buf_release(&b);
	return rc;
}

/* Appends the path of a cost chunk: device first, so that a device's
 * chunks share a prefix. */
static int cost_path(int64_t device, enum dx_res res, const struct dx_range *range,
		     struct dx_buf *out)
{
	struct dx_date limit = dx_date_add_months(range->from, dx_res_span_months(res));
	char from[20], to[20];
	int rc;

	if (res < DX_RES_15MIN || res > DX_RES_MONTHLY || dx_date_cmp(range->from, range->to) > 0 ||
	    dx_date_cmp(range->to, limit) >= 0)
		return -EINVAL;
	dx_range_api_bounds(range, from, to);
	rc = dx_buf_puts(out, PATH_COST "?device_id=");
	rc = rc ? rc : put_i64(out, device);
	rc = rc ? rc :
		  dx_buf_printf(out, "&from=%s&to=%s&resolution=%s", from, to, dx_res_code(res));
	return rc;
}

int dx_request_cost(const char *dep_name, int dep, int64_t device, enum dx_res res,
		    const struct dx_range *chunk, struct dx_date last, struct dx_request *out)
{
	struct dx_range asked = *chunk;
	struct dx_buf b;
	int rc;

	memset(out, 0, sizeof(*out));
	out->kind = DX_REQ_COST;
	out->prio = DX_PRIO_INTERACTIVE;
	out->dep = dep;
	dx_buf_init(&b, 4096);
	rc = cost_path(device, res, chunk, &b);
	rc = rc ? rc : copy_out(&b, out->path, sizeof(out->path));
	rc = rc ? rc : make_key(dep_name, out->path, out->key, sizeof(out->key));
	if (!rc && dx_date_cmp(last, chunk->to) < 0) {
		asked.to = last;
		out->future = dx_date_cmp(last, chunk->from) < 0;
		dx_buf_reset(&b);
		if (!out->future)
			rc = cost_path(device, res, &asked, &b);
		if (!rc && !out->future)
			rc = copy_out(&b, out->path, sizeof(out->path));
	}
	dx_buf_release(&b);
	return rc;
}

int dx_request_prefix(enum dx_prefix which, const char *dep_name, int64_t device, const char *key,
		      enum dx_res res, char *out, size_t size)
{
	static const char *const fixed[] = {
		[DX_PREFIX_DEPLOYMENT] = "",          [DX_PREFIX_LOCATIONS] = PATH_LOCATIONS,
		[DX_PREFIX_DEVICES] = PATH_DEVICES,   [DX_PREFIX_DATASOURCES] = PATH_DATASOURCES,
		[DX_PREFIX_SUPPLIES] = PATH_SUPPLIES,
	};
	struct dx_buf b;
	int rc;

	dx_buf_init(&b, 4096);
	rc = dx_buf_printf(&b, "%s|", dep_name);
	if (rc)
		goto out;
	if (which <= DX_PREFIX_SUPPLIES)
		rc = dx_buf_puts(&b, fixed[which]);
	else if (which == DX_PREFIX_CONTRACTS)
		rc = dx_buf_puts(&b, PATH_CONTRACTS);
	else if (which == DX_PREFIX_PARAMETERS)
		rc = dx_buf_printf(&b, PATH_PARAMETERS "?device_id=%" PRId64, device);
	else if (which == DX_PREFIX_COST_DEVICE)
		rc = dx_buf_printf(&b, PATH_COST "?device_id=%" PRId64 "&", device);
	else
		rc = readings_query(&b,
				    which == DX_PREFIX_READINGS_DEVICE ? Q_DEVICE :
				    which == DX_PREFIX_READINGS_KEY    ? Q_KEY :
									 Q_RES,
				    device, key,
				    which == DX_PREFIX_READINGS_MONTHLY ? DX_RES_MONTHLY : res,
				    NULL, NULL);
	if (!rc)
		rc = copy_out(&b, out, size);
out:
	dx_buf_release(&b);
	return rc;
}
