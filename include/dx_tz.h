/* dx_tz: the UTC offset of an IANA time zone at an instant, from the
 * system's compiled zone files (TZif, RFC 8536), without the process's TZ
 * (which every thread shares). The tree uses it to show a portfolio of
 * sites in several zones on one clock.
 */
#ifndef DX_TZ_H
#define DX_TZ_H

#include <stdint.h>

struct dx_tz;

/* Loads zone name (such as "Europe/Madrid": letters, digits, '_', '-',
 * '+' and '/' between parts, no "..") from the TZif file dir/name.
 * Returns a new zone; free with dx_tz_free(). 0, -EINVAL (a name of
 * another shape), -ENOENT (no such file), -EPROTO (not a TZif file of
 * version 2 or later), -ENOMEM, -EIO. Any thread. */
int dx_tz_load(const char *dir, const char *name, struct dx_tz **out);
void dx_tz_free(struct dx_tz *tz);

/* The offset from UTC, in minutes, of tz at utc (epoch seconds): that of
 * the last transition at or before utc, else the zone's first standard
 * time. Past the file's last transition, that transition's offset (the
 * system's files list transitions to 2037). Pure; any thread. */
int32_t dx_tz_offset_min(const struct dx_tz *tz, int64_t utc);

#endif
