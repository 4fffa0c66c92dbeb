/* dx_requests: every DEXMA request dexmafs makes, spelled in one place.
 *
 * A request is a path and query relative to the API base (already escaped,
 * ready to send), and the cache key it is kept under: "DEPLOYMENT|PATH".
 * This module alone knows the endpoints, the query parameters and their
 * order, the escaping, the keys and the key prefixes that expire a family
 * of requests. Tests build keys through it too. Pure: no I/O, no clock.
 */
#ifndef DX_REQUESTS_H
#define DX_REQUESTS_H

#include <stddef.h>
#include <stdint.h>

#include "dx_buf.h"
#include "dx_client.h"
#include "dx_dates.h"

#define DX_REQUEST_PATH_MAX 512
#define DX_REQUEST_KEY_MAX 768

enum dx_request_kind {
	DX_REQ_LIST,     /* a paged listing (dx_client_list) */
	DX_REQ_OBJECT,   /* one object (dx_client_get) */
	DX_REQ_READINGS, /* one span-limited readings chunk (dx_client_readings_get) */
	DX_REQ_COST,     /* one span-limited cost chunk (dx_client_cost_get) */
};

/* What a readings request asks, so that its tail can be asked alone
 * (dx_tails.h). Set by dx_request_readings; the caller sets late_margin
 * and tail. */
struct dx_readings_ask {
	int64_t device;
	char key[64];
	char op[8]; /* "" for none */
	enum dx_res res;
	struct dx_range chunk; /* the aligned chunk (the key's range) */
	struct dx_date last;   /* the last day asked (the chunk's, or earlier) */
	int64_t late_margin;   /* seconds back from the last reading held that may change */
	int tail;              /* 1: a refresh of data held may ask only its tail */
};

struct dx_request {
	enum dx_request_kind kind;
	enum dx_priority prio;          /* set by the caller; builders set INTERACTIVE */
	int dep;                        /* index of the deployment */
	char path[DX_REQUEST_PATH_MAX]; /* what is sent: escaped path and query */
	char key[DX_REQUEST_KEY_MAX];   /* what it is kept under */
	int future;                     /* readings wholly after the last day asked: no call */
	struct dx_readings_ask ask;     /* DX_REQ_READINGS only */
};

/* Builders of the listings. dep_name is the deployment's directory name,
 * dep its index. 0, or -ENAMETOOLONG when the path or key would not fit. */
int dx_request_locations(const char *dep_name, int dep, struct dx_request *out);
int dx_request_devices(const char *dep_name, int dep, struct dx_request *out);
int dx_request_datasources(const char *dep_name, int dep, struct dx_request *out);
/* GET /parameters?device_id=ID */
int dx_request_parameters(const char *dep_name, int dep, int64_t device, struct dx_request *out);
/* GET /utility/supplies/SOURCE */
int dx_request_supplies(const char *dep_name, int dep, const char *source, struct dx_request *out);
/* GET /utility/contracts/electricity */
int dx_request_contracts(const char *dep_name, int dep, struct dx_request *out);

/* One readings chunk of a series: the key names the whole aligned chunk;
 * what is sent asks no further than last (a `to` in the future is not
 * asked, and a chunk wholly after last sets future: it costs no call).
 * op may be NULL. 0, -EINVAL (empty key, reversed or over-long range), or
 * -ENAMETOOLONG. */
int dx_request_readings(const char *dep_name, int dep, int64_t device, const char *key,
			enum dx_res res, const char *op, const struct dx_range *chunk,
			struct dx_date last, struct dx_request *out);

/* One chunk of GET /cost/electrical/consumption of a device at res
 * (15min to monthly), as dx_request_readings: the key names the whole
 * chunk, what is sent asks no further than last. 0, -EINVAL (another
 * resolution, reversed or over-long range), or -ENAMETOOLONG. */
int dx_request_cost(const char *dep_name, int dep, int64_t device, enum dx_res res,
		    const struct dx_range *chunk, struct dx_date last, struct dx_request *out);
/* Appends the path and query of GET /readings for range to out:
 * "/readings?device_id=..&parameter_key=..&resolution=..&from=..&to=.."
 * and "&operation=.." when op is set, escaped. -EINVAL when the key is
 * empty or the range is reversed or too long: the API's `to` (the last day
 * at 23:59:59) must come before from + dx_res_span_months(res) months. */
int dx_request_readings_path(int64_t device, const char *key, enum dx_res res, const char *op,
			     const struct dx_range *range, struct dx_buf *out);

/* Appends s to out with every byte but the unreserved ones (RFC 3986:
 * letters, digits, "-._~") percent-encoded. 0 or a dx_buf error. */
int dx_request_escape(struct dx_buf *out, const char *s);

/* Families of keys, for expiry (dx_cache_expire takes a prefix). */
enum dx_prefix {
	DX_PREFIX_DEPLOYMENT, /* everything of the deployment */
	DX_PREFIX_LOCATIONS,
	DX_PREFIX_DEVICES,
	DX_PREFIX_DATASOURCES,
	DX_PREFIX_SUPPLIES,         /* every energy source */
	DX_PREFIX_PARAMETERS,       /* of device */
	DX_PREFIX_READINGS_DEVICE,  /* every series of device */
	DX_PREFIX_READINGS_KEY,     /* every resolution of device's key */
	DX_PREFIX_READINGS_RES,     /* device's key at res */
	DX_PREFIX_READINGS_MONTHLY, /* device's key at monthly (which lists every period) */
	DX_PREFIX_CONTRACTS,        /* the electricity contracts */
	DX_PREFIX_COST_DEVICE,      /* every cost chunk of device */
};

/* Writes the prefix of the keys of family which into out (size bytes);
 * device, key and res are used by the families that name them. 0, or
 * -ENAMETOOLONG. */
int dx_request_prefix(enum dx_prefix which, const char *dep_name, int64_t device, const char *key,
		      enum dx_res res, char *out, size_t size);

#endif
