/* libFuzzer target: the decoders of API answers (dx_json.h). The first
 * byte picks the decoder, the rest is the answer's body. Every decoder
 * must either decode or refuse; a crash, a leak or undefined behaviour is
 * a bug. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "dx_buf.h"
#include "dx_json.h"
#include "dx_readings.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void entities(enum dx_entity_kind kind, const char *buf, size_t len)
{
	struct dx_entity_list list;

	if (dx_json_entities(kind, buf, len, &list) == 0)
		dx_entity_list_release(&list);
}

static void others(unsigned pick, const char *buf, size_t len)
{
	struct dx_readings r;
	struct dx_buf out;
	char text[256];
	size_t count;

	dx_buf_init(&out, 1 << 20);
	switch (pick) {
	case 4:
		if (dx_json_readings(buf, len, &r) == 0)
			dx_readings_release(&r);
		break;
	case 5:
		(void)dx_json_pretty(buf, len, -1, &out);
		break;
	case 6:
		(void)dx_json_pretty(buf, len, len ? (unsigned char)buf[0] : 0, &out);
		break;
	case 7:
		(void)dx_json_list_append(&out, "[1]", 3, &count);
		(void)dx_json_list_append(&out, buf, len, &count);
		break;
	case 8:
		(void)dx_json_error_message(buf, len, text, sizeof(text));
		break;
	default:
		(void)dx_json_token(buf, len, text, sizeof(text));
		break;
	}
	dx_buf_release(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data + 1;
	unsigned pick;

	if (size < 1)
		return 0;
	pick = data[0] % 10;
	if (pick < 4)
		entities((enum dx_entity_kind)pick, buf, size - 1);
	else
		others(pick, buf, size - 1);
	return 0;
}
