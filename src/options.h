/* The daemon's settings: defaults, -o parsing, the token. Used by main.c
 * only; FUSE's option parser does the splitting. */
#ifndef DX_OPTIONS_H
#define DX_OPTIONS_H

#include <stddef.h>
#include <stdint.h>

#include "dx_readings.h"

struct fuse_args;

struct dx_options {
	char *api_url;
	char *token_file;
	char *config;
	char *cache_dir;
	char *deployment;
	char *time_format;
	char *resolutions;
	char *cache_size;
	int offline;
	int allow_insecure_http;
	int64_t ttl_meta, ttl_open, late_margin;
	int parallel, retries, timeout, quota_wait;
	double reserve;
	int show_help, show_version;
	/* Derived by dx_options_finish(). */
	enum dx_timefmt timefmt;
	unsigned listed_res;
	uint64_t cache_bytes;
};

/* Removes our -o options from args into opts, with defaults. 0 or -1
 * (message printed). */
int dx_options_parse(struct fuse_args *args, struct dx_options *opts);

/* Checks and derives values after parsing. 0 or -1 (message printed). */
int dx_options_finish(struct dx_options *opts);

void dx_options_release(struct dx_options *opts);

/* Reads the token: from token_file (which must not be readable by group
 * or others), else env DEXMA_TOKEN. Writes it into out (21 bytes) and
 * checks it is 20 hex characters. 0 or -1 (one-line reason in err). */
int dx_options_token(const struct dx_options *opts, char out[21], char *err,
		     size_t errsize);

void dx_options_help(void);

#endif
