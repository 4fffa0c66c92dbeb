/* dx_names: directory entry names built from DEXMA names and ids.
 *
 * An entity appears as "NAME (ID)": the API name made safe for a file
 * system, then its id, which keeps names unique and stable. Pure functions.
 */
#ifndef DX_NAMES_H
#define DX_NAMES_H

#include <stddef.h>
#include <stdint.h>

/* Longest entry name we ever produce, in bytes (the kernel's NAME_MAX). */
#define DX_NAME_MAX 255
/* A parameter key's bytes with its NUL, at most, to be a directory name. */
#define DX_KEY_MAX 64

/* Writes "NAME (ID)" + NUL into out (DX_NAME_MAX + 1 bytes). NAME is name
 * with '/' replaced by '_', NUL-free, control characters (C0, DEL) replaced
 * by '_', invalid UTF-8 bytes replaced by '_', leading and trailing spaces
 * trimmed, a leading '.' replaced by '_'; an empty result becomes
 * "unnamed". A name too long is cut at a
 * UTF-8 character boundary so the whole entry fits DX_NAME_MAX bytes and
 * still ends with " (ID)". name may be NULL (treated as empty). */
void dx_name_entry(const char *name, int64_t id, char out[DX_NAME_MAX + 1]);

/* As dx_name_entry(), but the entry fits max bytes (at most DX_NAME_MAX),
 * leaving room for a suffix such as ".json" added by the caller. */
void dx_name_entry_fit(const char *name, int64_t id, size_t max, char out[DX_NAME_MAX + 1]);

/* The id of an entry name: "anything (ID)" or a bare "ID" (digits only,
 * no sign, no leading zero, fits int64). 0 or -ENOENT. */
int dx_name_parse_id(const char *entry, int64_t *id);

/* 1 when name starts with '.', i.e. names that are never ours except the
 * ones the caller checks first (".dexmafs"). */
int dx_name_is_hidden(const char *name);

/* Whether a parameter key can be a directory name: not empty, shorter
 * than DX_KEY_MAX, no '/' and no leading dot. */
int dx_key_is_name(const char *key);

#endif
