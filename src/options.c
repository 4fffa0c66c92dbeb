/* Command-line settings of the daemon; see options.h. */
#include <ctype.h>
#include <inttypes.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>

#include "options.h"

#define OPT(t, p) { t, offsetof(struct dx_options, p), 1 }

static const struct fuse_opt option_spec[] = {
	OPT("api_url=%s", api_url),
	OPT("token_file=%s", token_file),
	OPT("config=%s", config),
	OPT("cache_dir=%s", cache_dir),
	OPT("deployment=%s", deployment),
	OPT("time_format=%s", time_format),
	OPT("resolutions=%s", resolutions),
	OPT("cache_size=%s", cache_size),
	OPT("offline", offline),
	OPT("allow_insecure_http", allow_insecure_http),
	OPT("ttl_meta=%" SCNd64, ttl_meta),
	OPT("ttl_open=%" SCNd64, ttl_open),
	OPT("late_margin=%" SCNd64, late_margin),
	OPT("parallel=%d", parallel),
	OPT("retries=%d", retries),
	OPT("timeout=%d", timeout),
	OPT("quota_wait=%d", quota_wait),
	OPT("reserve=%lf", reserve),
	OPT("-h", show_help),
	OPT("--help", show_help),
	OPT("-V", show_version),
	OPT("--version", show_version),
	FUSE_OPT_END
};

void dx_options_help(void)
{
	printf("usage: dexmafs [options] MOUNTPOINT\n\n"
	       "dexmafs options (-o NAME=VALUE):\n"
	       "    api_url=URL            API base (https://api.dexma.com/v3)\n"
	       "    token_file=PATH        file with the 20-hex token (else env DEXMA_TOKEN)\n"
	       "    cache_dir=PATH         cache ($XDG_CACHE_HOME/dexmafs)\n"
	       "    deployment=NAME        directory name of the deployment (default)\n"
	       "    offline                never call the API; serve what is cached\n"
	       "    time_format=F          local_utc (default), local, utc, iso, epoch\n"
	       "    resolutions=LIST       listed resolutions (15min,hourly,daily,monthly)\n"
	       "    cache_size=N[KMG]      cache size cap (1G)\n"
	       "    ttl_meta=S             seconds listings stay fresh (86400)\n"
	       "    ttl_open=S             seconds open periods stay fresh (900)\n"
	       "    late_margin=S          seconds a period may still change after its end (172800)\n"
	       "    parallel=N             API requests in flight (4)\n"
	       "    retries=N              retries of a failed request (3)\n"
	       "    timeout=S              longest a file system call waits for the API (20)\n"
	       "    quota_wait=S           longest a call waits for quota before EAGAIN (3)\n"
	       "    reserve=F              share of the hourly quota kept for interactive use (0.2)\n"
	       "    allow_insecure_http    allow http:// to hosts other than loopback\n\n");
}

int dx_options_parse(struct fuse_args *args, struct dx_options *o)
{
	memset(o, 0, sizeof(*o));
	o->ttl_meta = 86400;
	o->ttl_open = 900;
	o->late_margin = 2 * 86400;
	o->parallel = 4;
	o->retries = 3;
	o->timeout = 20;
	o->quota_wait = 3;
	o->reserve = 0.2;
	if (fuse_opt_parse(args, o, option_spec, NULL) == -1)
		return -1;
	/* Let libfuse see -h/-V too, so it prints its own part. */
	if (o->show_help)
		fuse_opt_add_arg(args, "-h");
	if (o->show_version)
		fuse_opt_add_arg(args, "-V");
	return 0;
}

static int set_default(char **field, const char *value)
{
	if (*field)
		return 0;
	*field = strdup(value);
	return *field ? 0 : -1;
}

static int default_cache_dir(struct dx_options *o)
{
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	char path[4096];

	if (o->cache_dir)
		return 0;
	if (xdg && *xdg)
		snprintf(path, sizeof(path), "%s/dexmafs", xdg);
	else if (home && *home)
		snprintf(path, sizeof(path), "%s/.cache/dexmafs", home);
	else
		return fprintf(stderr, "dexmafs: no cache directory: set -o cache_dir, XDG_CACHE_HOME or HOME\n"), -1;
	return set_default(&o->cache_dir, path);
}

static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -1;
	switch (toupper((unsigned char)*end)) {
	case 'K': v <<= 10; end++; break;
	case 'M': v <<= 20; end++; break;
	case 'G': v <<= 30; end++; break;
	default: break;
	}
	if (*end == 'B' || *end == 'b')
		end++;
	if (*end || v < (1u << 20))
		return -1;
	*out = v;
	return 0;
}

static int parse_resolutions(const char *list, unsigned *mask)
{
	char *copy = strdup(list), *tok, *save = NULL;
	int rc = 0;

	if (!copy)
		return -1;
	*mask = 0;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		enum dx_res r;

		if (dx_res_from_name(tok, &r)) {
			fprintf(stderr, "dexmafs: unknown resolution '%s' in -o resolutions "
				"(raw 5min 10min 15min 30min hourly daily weekly monthly)\n", tok);
			rc = -1;
			break;
		}
		*mask |= 1u << r;
	}
	free(copy);
	return rc;
}

int dx_options_finish(struct dx_options *o)
{
	if (set_default(&o->api_url, "https://api.dexma.com/v3") ||
	    set_default(&o->deployment, "default") ||
	    set_default(&o->time_format, "local_utc") ||
	    set_default(&o->resolutions, "15min,hourly,daily,monthly") ||
	    set_default(&o->cache_size, "1G") || default_cache_dir(o))
		return -1;
	if (dx_timefmt_from_name(o->time_format, &o->timefmt)) {
		fprintf(stderr, "dexmafs: unknown time_format '%s' (local_utc, local, utc, iso, epoch)\n",
			o->time_format);
		return -1;
	}
	if (parse_resolutions(o->resolutions, &o->listed_res))
		return -1;
	if (parse_size(o->cache_size, &o->cache_bytes)) {
		fprintf(stderr, "dexmafs: bad cache_size '%s' (e.g. 512M, 1G; at least 1M)\n", o->cache_size);
		return -1;
	}
	if (!o->deployment[0] || strchr(o->deployment, '/') || o->deployment[0] == '.') {
		fprintf(stderr, "dexmafs: bad deployment name '%s'\n", o->deployment);
		return -1;
	}
	if (o->parallel < 1 || o->parallel > 64 || o->retries < 0 || o->retries > 10 ||
	    o->timeout < 1 || o->quota_wait < 0 || o->reserve < 0 || o->reserve > 0.9 ||
	    o->ttl_meta < 0 || o->ttl_open < 0 || o->late_margin < 0) {
		fprintf(stderr, "dexmafs: an option is out of range (see dexmafs -h)\n");
		return -1;
	}
	return 0;
}

void dx_options_release(struct dx_options *o)
{
	free(o->api_url);
	free(o->token_file);
	free(o->config);
	free(o->cache_dir);
	free(o->deployment);
	free(o->time_format);
	free(o->resolutions);
	free(o->cache_size);
}

static int valid_token(const char *s)
{
	size_t i;

	for (i = 0; i < 20; i++)
		if (!isxdigit((unsigned char)s[i]))
			return 0;
	return s[20] == '\0';
}

int dx_options_token(const struct dx_options *o, char out[21], char *err, size_t errsize)
{
	char buf[128];
	const char *src;
	size_t len;

	if (o->token_file) {
		struct stat st;
		ssize_t n;
		int fd = open(o->token_file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

		if (fd < 0)
			return snprintf(err, errsize, "cannot read token file %s: %s",
					o->token_file, strerror(errno)), -1;
		if (fstat(fd, &st) || (st.st_mode & 077)) {
			close(fd);
			return snprintf(err, errsize, "token file %s is readable by others; "
					"run: chmod 600 %s", o->token_file, o->token_file), -1;
		}
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n < 0)
			return snprintf(err, errsize, "cannot read token file %s: %s",
					o->token_file, strerror(errno)), -1;
		buf[n] = '\0';
		src = buf;
	} else if ((src = getenv("DEXMA_TOKEN")) && *src) {
		snprintf(buf, sizeof(buf), "%s", src);
		src = buf;
	} else {
		return snprintf(err, errsize, "no token: use -o token_file=PATH or set DEXMA_TOKEN"), -1;
	}
	while (*src == ' ' || *src == '\t')
		src++;
	len = strcspn(src, " \t\r\n");
	if (len != 20 || strspn(src + len, " \t\r\n") != strlen(src + len)) {
		memset(buf, 0, sizeof(buf));
		return snprintf(err, errsize, "the token must be 20 hexadecimal characters"), -1;
	}
	memcpy(out, src, 20);
	out[20] = '\0';
	memset(buf, 0, sizeof(buf));
	if (!valid_token(out))
		return snprintf(err, errsize, "the token must be 20 hexadecimal characters"), -1;
	return 0;
}
