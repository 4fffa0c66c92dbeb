/* dx_fsutil: small file-system helpers shared by the daemon, the store and
 * the subcommands. Any thread. */
#ifndef DX_FSUTIL_H
#define DX_FSUTIL_H

#include <sys/types.h>

/* mkdir -p: makes path and its missing parents with mode (never changing
 * directories that exist). 0 when path is a directory afterwards, else a
 * negative errno (-ENOTDIR when it or a parent is something else,
 * -ENAMETOOLONG, the errno of mkdir). */
int dx_mkdir_p(const char *path, mode_t mode);

#endif
