/* dx_json: the only module that sees jansson. It checks that API bytes have
 * the shape we expect and decodes them; anything else is -EPROTO, so a
 * malformed answer is never cached or shown as data.
 */
#ifndef DX_JSON_H
#define DX_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "dx_buf.h"
#include "dx_readings.h"

enum dx_entity_kind {
	DX_ENT_LOCATION,   /* /locations items */
	DX_ENT_DEVICE,     /* /devices items */
	DX_ENT_PARAMETER,  /* /parameters?device_id= items */
	DX_ENT_SUPPLY,     /* /utility/supplies/SOURCE items */
	DX_ENT_DATASOURCE, /* /datasources items */
	DX_ENT_CONTRACT,   /* /utility/contracts/electricity items */
};

/* One item of a location's "reference_devices": {"type": T, "device": {"id": N}}. */
struct dx_refdev {
	char *type;
	int64_t device;
};

/* The fields the tree needs of one list item. Strings are owned by the
 * list and may be NULL when the API gave null or nothing. */
struct dx_entity {
	int64_t id;
	char *name;
	int64_t ref_id;         /* location: parent.id; device: location.id; 0 if none */
	int64_t ref2_id;        /* device: datasource.id; 0 if none */
	char *key;              /* parameter: key (never NULL for a parameter) */
	char *units;            /* parameter: units */
	char *nature;           /* parameter: nature */
	char *type;             /* location: type; supply: type */
	char *currency;         /* contract: currency ("EUR") */
	int simulation;         /* contract: "simulation" is true */
	struct dx_refdev *refs; /* location: its reference devices, in API order */
	size_t nrefs;           /* items of reference_devices without a string type
				 * and an integer device id are left out */
};

struct dx_entity_list {
	struct dx_entity *items; /* in API order */
	size_t n;
};

/* Decodes a JSON array of objects of the given kind. Every item must be an
 * object with an integer "id" (a parameter also a string "key"); other
 * fields are optional. An empty buffer (HTTP 204) is an empty list. Of
 * items that share an id, only the first is kept (and a line logged), so
 * the name and the JSON of an entity (dx_json_pretty) agree.
 * 0, -EPROTO (shape), -ENOMEM. out is filled only on success. */
int dx_json_entities(enum dx_entity_kind kind, const char *buf, size_t len,
		     struct dx_entity_list *out);
void dx_entity_list_release(struct dx_entity_list *list);

/* Decodes a readings answer: an object with "values" (array of objects
 * with string "ts" carrying a UTC offset and number "v"); "timezone" and
 * "units" are optional strings. Values come out sorted by time, one per
 * instant: of readings that repeat an instant the last in the answer is
 * kept (and a line logged).
 * 0, -EPROTO, -ENOMEM. */
int dx_json_readings(const char *buf, size_t len, struct dx_readings *out);

/* Checks, without building anything, that buf is a readings answer that
 * dx_json_readings() decodes, at a small part of its cost: the client
 * checks every answer so, and the tree decodes it once. Never looser than
 * the decoder; stricter where matching it would cost (escapes in "ts" or
 * in any key, nesting past 64, integers of 19 digits or more, reals near
 * the double's limit, every duplicate member checked). 0 or -EPROTO. Pure;
 * any thread. */
int dx_json_check_readings(const char *buf, size_t len);

/* The same for any JSON document whose top level is an array or an object
 * (as jansson loads them, with the same strictness as above): 0, with the
 * number of elements of an array in *count (0 for an object; count may be
 * NULL), or -EPROTO. Pure; any thread. */
int dx_json_check_value(const char *buf, size_t len, size_t *count);

/* Appends to out the pretty-printed JSON (2-space indent, keys in the API's
 * order, non-ASCII kept as UTF-8, a final newline) of: the element of the
 * array in buf whose "id" equals id, or, when id < 0, the whole document.
 * 0, -ENOENT (no such element), -EPROTO, or a dx_buf error. */
int dx_json_pretty(const char *buf, size_t len, int64_t id, struct dx_buf *out);

/* Paging support. acc holds the JSON text of an array (an empty acc counts
 * as "[]"); appends the elements of page, which must be a JSON array (an
 * empty page, HTTP 204, counts as []), and sets *count to the number of
 * elements page had. 0, -EPROTO, or a dx_buf error. */
int dx_json_list_append(struct dx_buf *acc, const char *page, size_t len, size_t *count);

/* Copies the error text of an API error body (its "errors[0].message",
 * else "message") into out, truncated and NUL-terminated. 0, or -ENOENT
 * when the body has neither. */
int dx_json_error_message(const char *buf, size_t len, char *out, size_t outsz);

/* The token of a market-app handshake answer (POST /oauth/access-token):
 * a JSON string, or an object whose "token" is a string. Copies it with a
 * NUL into out; does not check its form. 0, or -EPROTO (not JSON, another
 * shape, or not shorter than outsz). */
int dx_json_token(const char *buf, size_t len, char *out, size_t outsz);

#endif
