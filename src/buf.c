/* Growable byte buffer with a ceiling; see dx_buf.h. */
#include "dx_buf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void dx_buf_init(struct dx_buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

void dx_buf_release(struct dx_buf *b)
{
	free(b->data);
	dx_buf_init(b, b->max);
}

void dx_buf_reset(struct dx_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

static int grow(struct dx_buf *b, size_t extra)
{
	size_t need, cap;
	char *p;

	if (extra > b->max - b->len)
		return -E2BIG;
	if (extra >= (size_t)-1 - b->len)
		return -ENOMEM; /* len + extra + 1 would wrap (a ceiling of SIZE_MAX) */
	need = b->len + extra + 1;
	if (need <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap = cap > (size_t)-1 / 2 ? need : cap * 2;
	p = realloc(b->data, cap);
	if (!p)
		return -ENOMEM;
	b->data = p;
	b->cap = cap;
	return 0;
}

int dx_buf_reserve(struct dx_buf *b, size_t extra)
{
	return grow(b, extra < b->max - b->len ? extra : b->max - b->len);
}

int dx_buf_append(struct dx_buf *b, const void *data, size_t len)
{
	int rc = grow(b, len);

	if (rc)
		return rc;
	if (len)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
	return 0;
}

int dx_buf_puts(struct dx_buf *b, const char *s)
{
	return dx_buf_append(b, s, strlen(s));
}

int dx_buf_vprintf(struct dx_buf *b, const char *fmt, va_list ap)
{
	va_list again;
	int n, rc;

	va_copy(again, ap);
	n = vsnprintf(NULL, 0, fmt, again);
	va_end(again);
	if (n < 0)
		return -EINVAL;
	rc = grow(b, (size_t)n);
	if (rc)
		return rc;
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int dx_buf_printf(struct dx_buf *b, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = dx_buf_vprintf(b, fmt, ap);
	va_end(ap);
	return rc;
}

char *dx_buf_detach(struct dx_buf *b, size_t *len)
{
	char *p = b->data;

	if (len)
		*len = b->len;
	dx_buf_init(b, b->max);
	return p;
}
