/* The mount point checks done before anything else; see options.h. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include "options.h"

/* mountinfo escapes blanks, tabs, newlines and backslashes as \ooo. */
static void unescape(char *s)
{
	char *out = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*out++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*out++ = *s;
		}
	}
	*out = '\0';
}

/* 1 when a line of /proc/self/mountinfo is a dexmafs mounted on path:
 * field 5 is the mount point, the type follows the " - " separator. */
static int is_dexmafs_at(char *line, const char *path)
{
	char *save = NULL, *field, *sep = strstr(line, " - ");
	int i;

	if (!sep || strncmp(sep + 3, "fuse.dexmafs ", 13))
		return 0;
	*sep = '\0';
	field = strtok_r(line, " ", &save);
	for (i = 1; field && i < 5; i++)
		field = strtok_r(NULL, " ", &save);
	if (!field)
		return 0;
	unescape(field);
	return !strcmp(field, path);
}

static int dexmafs_mounted_at(const char *path)
{
	char real[PATH_MAX], line[2 * PATH_MAX + 512];
	FILE *f;
	int found = 0;

	if (!realpath(path, real))
		return 0;
	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f))
		found = is_dexmafs_at(line, real);
	fclose(f);
	return found;
}

static int has_entries(const char *path, int *err)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int found = 0;

	*err = 0;
	if (!d) {
		*err = errno;
		return 0;
	}
	while (!found && (e = readdir(d)))
		found = strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(d);
	return found;
}

int dx_mountpoint_check(const char *path, int nonempty, char *err, size_t errsize)
{
	struct statfs fs;
	struct stat st;
	int e;

	/* stat may be answered from attributes the kernel still holds;
	 * statfs always asks the file system, so it finds a dead one. */
	if (stat(path, &st) || statfs(path, &fs)) {
		e = errno;
		if (e == ENOTCONN)
			return snprintf(err, errsize,
					"%s is a dead FUSE mount (its daemon ended "
					"without unmounting); run: fusermount3 -uz %s",
					path, path),
			       -1;
		if (e == ENOENT)
			return snprintf(err, errsize,
					"mount point %s does not exist "
					"(create it: mkdir -p %s)",
					path, path),
			       -1;
		return snprintf(err, errsize, "mount point %s: %s", path, strerror(e)), -1;
	}
	if (!S_ISDIR(st.st_mode))
		return snprintf(err, errsize, "mount point %s is not a directory", path), -1;
	if (dexmafs_mounted_at(path))
		return snprintf(err, errsize,
				"a dexmafs is already mounted on %s "
				"(unmount it first: fusermount3 -u %s)",
				path, path),
		       -1;
	if (has_entries(path, &e) && !nonempty)
		return snprintf(err, errsize,
				"mount point %s is not empty; its files would be "
				"hidden (use an empty directory, or -o nonempty)",
				path),
		       -1;
	if (e)
		return snprintf(err, errsize, "mount point %s: %s", path, strerror(e)), -1;
	return 0;
}
