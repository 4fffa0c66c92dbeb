/* dx_buf: a growable byte buffer with a ceiling.
 *
 * Every buffer in dexmafs that grows with outside input (an HTTP body, a
 * rendered CSV file, a merged listing) has a maximum size, so a hostile or
 * broken answer costs a clear error rather than all of memory.
 *
 * The data is always NUL-terminated (the terminator is not counted in len),
 * so text can be handed to string functions directly.
 */
#ifndef DX_BUF_H
#define DX_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct dx_buf {
	char *data; /* NULL until the first append */
	size_t len; /* bytes used, without the terminator */
	size_t cap; /* bytes allocated */
	size_t max; /* ceiling for len; appends past it fail with -E2BIG */
};

/* Embeds an empty buffer that may grow to max bytes. No allocation. */
void dx_buf_init(struct dx_buf *b, size_t max);

/* Frees the data and leaves an empty buffer with the same ceiling. */
void dx_buf_release(struct dx_buf *b);

/* Empties the buffer and keeps its memory. */
void dx_buf_reset(struct dx_buf *b);

/* Makes room for extra more bytes (no more than the ceiling allows) so
 * the appends that follow do not reallocate. 0 or -ENOMEM. */
int dx_buf_reserve(struct dx_buf *b, size_t extra);

/* Appends len bytes. 0, -E2BIG past the ceiling, -ENOMEM. */
int dx_buf_append(struct dx_buf *b, const void *data, size_t len);

/* Appends a C string. Same errors as dx_buf_append. */
int dx_buf_puts(struct dx_buf *b, const char *s);

/* Appends printf-formatted text. Same errors as dx_buf_append. */
int dx_buf_printf(struct dx_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int dx_buf_vprintf(struct dx_buf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

/* Hands the data to the caller (free() it) and leaves b empty. Returns
 * NULL for an empty buffer that never allocated. */
char *dx_buf_detach(struct dx_buf *b, size_t *len);

#endif
