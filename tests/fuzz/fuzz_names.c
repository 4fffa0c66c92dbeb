/* libFuzzer target: entry names from API names (dx_names.h). Checks the
 * contract, not just the absence of crashes: the entry fits, has no '/',
 * no control character, does not start with '.', ends with " (ID)" and
 * parses back to ID. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dx_names.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const char *entry, int64_t id, size_t max)
{
	char tail[32];
	size_t len = strlen(entry), tlen;
	int64_t back;

	tlen = (size_t)snprintf(tail, sizeof(tail), " (%" PRId64 ")", id);
	if (len > max || len < tlen || strcmp(entry + len - tlen, tail) || strchr(entry, '/') ||
	    entry[0] == '.')
		abort();
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)entry[i] < 0x20 || entry[i] == 0x7f)
			abort();
	/* DEXMA ids are positive; dx_name_parse_id() refuses 0. */
	if (id > 0 && (dx_name_parse_id(entry, &back) || back != id))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char name[1024], out[DX_NAME_MAX + 1];
	int64_t id = 0, parsed;
	size_t max;

	if (size < 9)
		return 0;
	memcpy(&id, data, 8);
	if (id < 0)
		id = -(id + 1);
	max = 32 + data[8] % (DX_NAME_MAX - 32 + 1);
	size -= 9;
	if (size >= sizeof(name))
		size = sizeof(name) - 1;
	memcpy(name, data + 9, size);
	name[size] = '\0';
	dx_name_entry(name, id, out);
	check(out, id, DX_NAME_MAX);
	dx_name_entry_fit(name, id, max, out);
	check(out, id, max);
	(void)dx_name_parse_id(name, &parsed);
	(void)dx_name_is_hidden(name);
	return 0;
}
