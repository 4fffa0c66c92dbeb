/* The configuration file and the precedence of settings; see dx_config.h. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ini.h>

#include "dx_config.h"

#define MAX_OPTIONS 64
#define MAX_DEPLOYMENTS 64

/* Options that take a value; flags are listed apart. "config" is not here:
 * a config file naming another one would only confuse. */
static const char *const value_options[] = {
	"api_url",     "token_file", "cache_dir",   "deployment", "time_format",
	"resolutions", "cache_size", "ttl_meta",    "ttl_open",   "late_margin",
	"parallel",    "readahead",  "retries",     "timeout",    "quota_wait",
	"reserve",     "formats",    "csv_dialect", "log_file",   NULL
};
/* allow_other is passed on to FUSE: other users (smbd, nfsd) may read the
 * mount, always with default_permissions, which the daemon always adds. */
static const char *const flag_options[] = { "offline",     "allow_insecure_http",
					    "allow_other", "nonempty",
					    "verbose",     NULL };

/* The numeric options and what they accept. Seconds are capped at ten
 * years: a larger value is a typo, and it would overflow later sums. */
#define TEN_YEARS (10.0 * 366 * 86400)

static const struct number_spec {
	const char *name;
	int whole;
	double min, max;
} numbers[] = {
	{ "ttl_meta", 1, 0, TEN_YEARS },    { "ttl_open", 1, 0, TEN_YEARS },
	{ "late_margin", 1, 0, TEN_YEARS }, { "parallel", 1, 1, 64 },
	{ "readahead", 1, 0, 64 },          { "retries", 1, 0, 10 },
	{ "timeout", 1, 1, 3600 },          { "quota_wait", 1, 0, 3600 },
	{ "reserve", 0, 0, 0.9 },
};

static const struct number_spec *find_number(const char *name)
{
	for (size_t i = 0; i < sizeof(numbers) / sizeof(numbers[0]); i++)
		if (!strcmp(numbers[i].name, name))
			return &numbers[i];
	return NULL;
}

int dx_config_is_number(const char *name)
{
	return find_number(name) != NULL;
}

/* Only plain decimal notation: strtod alone would take "nan", "inf",
 * hexadecimal and leading blanks. */
static int plain_decimal(const char *s, int whole)
{
	size_t digits = strspn(s, "0123456789");

	if (*s == '-' || *s == '+')
		return plain_decimal(s + 1, whole) && digits == 0;
	if (whole)
		return digits > 0 && s[digits] == '\0';
	if (s[digits] == '.')
		digits += 1 + strspn(s + digits + 1, "0123456789");
	return digits > 0 && strcmp(s, ".") && s[digits] == '\0';
}

int dx_config_number(const char *name, const char *value, double *out, char *err, size_t errsize)
{
	const struct number_spec *n = find_number(name);
	char *end;
	double v;

	if (!n)
		return snprintf(err, errsize, "%s is not a numeric option", name), -ENOENT;
	errno = 0;
	v = n->whole ? (double)strtoll(value, &end, 10) : strtod(value, &end);
	if (!plain_decimal(value, n->whole) || *end || errno == ERANGE)
		return snprintf(err, errsize, "%s=%s: not a %s", name, value,
				n->whole ? "whole number" : "decimal number"),
		       -EINVAL;
	if (v < n->min || v > n->max)
		return snprintf(err, errsize, "%s=%s: out of range (%g to %g)", name, value, n->min,
				n->max),
		       -EINVAL;
	*out = v;
	return 0;
}

static int in_list(const char *const *list, const char *name)
{
	for (; *list; list++)
		if (!strcmp(*list, name))
			return 1;
	return 0;
}

int dx_config_is_option(const char *name)
{
	return in_list(value_options, name) || in_list(flag_options, name);
}

/* Levenshtein distance between two short names (longer ones count as
 * far apart). */
static size_t distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[64], i, j;

	if (la >= 64 || lb >= 64)
		return 64;
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		size_t diag = row[0], up;

		row[0] = i;
		for (j = 1; j <= lb; j++) {
			size_t best = diag + (a[i - 1] != b[j - 1]);

			up = row[j];
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			diag = up;
			row[j] = best;
		}
	}
	return row[lb];
}

static void nearest_in(const char *const *list, const char *name, const char **best, size_t *best_d)
{
	for (; *list; list++) {
		size_t d = distance(name, *list);

		if (d < *best_d) {
			*best_d = d;
			*best = *list;
		}
	}
}

const char *dx_config_nearest(const char *name)
{
	static const char *const extra[] = { "config", NULL };
	const char *best = NULL;
	size_t best_d = 64, len = strlen(name);

	nearest_in(value_options, name, &best, &best_d);
	nearest_in(flag_options, name, &best, &best_d);
	nearest_in(extra, name, &best, &best_d);
	/* Two edits at most, and fewer than half the name. */
	return best_d <= 2 && best_d * 2 < len ? best : NULL;
}

static size_t name_len(const char *opt)
{
	return strcspn(opt, "=");
}

static char **optlist_find(const struct dx_optlist *l, const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (name_len(l->v[i]) == len && !strncmp(l->v[i], name, len))
			return &l->v[i];
	return NULL;
}

int dx_optlist_set(struct dx_optlist *l, const char *opt)
{
	char **slot = optlist_find(l, opt, name_len(opt)), **grown;
	char *copy = strdup(opt);

	if (!copy)
		return -ENOMEM;
	if (slot) {
		free(*slot);
		*slot = copy;
		return 0;
	}
	if (l->n >= MAX_OPTIONS) {
		free(copy);
		return -ENOMEM;
	}
	grown = realloc(l->v, (l->n + 1) * sizeof(*l->v));
	if (!grown) {
		free(copy);
		return -ENOMEM;
	}
	l->v = grown;
	l->v[l->n++] = copy;
	return 0;
}

const char *dx_optlist_get(const struct dx_optlist *l, const char *name)
{
	char **slot = optlist_find(l, name, strlen(name));
	size_t len;

	if (!slot)
		return NULL;
	len = name_len(*slot);
	return (*slot)[len] ? *slot + len + 1 : "";
}

void dx_optlist_release(struct dx_optlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

struct parse_ctx {
	struct dx_config *c;
	const char *base_dir;
	char *err;
	size_t errsize;
	int failed;
	const char *next; /* the text not read yet */
	int line;         /* the line inih is at */
	int section_line; /* the line of the last [section] header */
	int fail_line;    /* the line the first failure is about */
};

/* inih's reader, over the text: counts lines, so each entry's line and
 * its section header's line are known. */
static char *read_line(char *str, int num, void *stream)
{
	struct parse_ctx *p = stream;
	size_t len;

	if (!*p->next || num < 2)
		return NULL;
	len = strcspn(p->next, "\n");
	if (p->next[len] == '\n')
		len++;
	if (len > (size_t)num - 1)
		len = (size_t)num - 1;
	memcpy(str, p->next, len);
	str[len] = '\0';
	p->next += len;
	p->line++;
	if (str[strspn(str, " \t")] == '[')
		p->section_line = p->line;
	return str;
}

static int fail_at(struct parse_ctx *p, int line, int rc, const char *fmt, const char *a,
		   const char *b)
{
	/* The first failure is the one reported. */
	if (!p->failed) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
		snprintf(p->err, p->errsize, fmt, a, b);
#pragma GCC diagnostic pop
		p->failed = rc;
		p->fail_line = line;
	}
	return 0;
}

static int fail(struct parse_ctx *p, int rc, const char *fmt, const char *a, const char *b)
{
	return fail_at(p, p->line, rc, fmt, a, b);
}

/* Values are written bare: "iso" in quotes would be the five characters. */
static int quoted(const char *v)
{
	size_t len = strlen(v);

	return len >= 2 && (v[0] == '"' || v[0] == '\'') && v[len - 1] == v[0];
}

static int parse_bool(const char *v, int *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1", NULL };
	static const char *const no[] = { "no", "false", "off", "0", NULL };
	int i;

	for (i = 0; yes[i]; i++)
		if (!strcasecmp(v, yes[i]))
			return *out = 1, 0;
	for (i = 0; no[i]; i++)
		if (!strcasecmp(v, no[i]))
			return *out = 0, 0;
	return -1;
}

static int check_number(struct parse_ctx *p, const char *name, const char *value)
{
	char why[256];
	double v;

	if (!dx_config_number(name, value, &v, why, sizeof(why)))
		return 0;
	fail(p, -EINVAL, "%s%s", why, "");
	return -1;
}

/* Options naming a file or directory: relative to the config file's
 * directory, as token_file in [deployment NAME]. */
static int is_path_option(const char *name)
{
	return !strcmp(name, "token_file") || !strcmp(name, "cache_dir") ||
	       !strcmp(name, "log_file");
}

static int record_default(struct parse_ctx *p, const char *name, const char *opt)
{
	const char *const *slot;

	if (dx_optlist_set(&p->c->defaults, opt))
		return fail(p, -ENOMEM, "out of memory%s%s", "", "");
	slot = (const char *const *)optlist_find(&p->c->defaults, name, strlen(name));
	p->c->default_lines[slot - (const char *const *)p->c->defaults.v] = p->line;
	return 1;
}

static int set_default(struct parse_ctx *p, const char *name, const char *value)
{
	char opt[4096];
	int on;

	if (quoted(value))
		return fail(p, -EINVAL, "%s = %s: write the value without quotes", name, value);

	if (in_list(flag_options, name)) {
		if (parse_bool(value, &on))
			return fail(p, -EINVAL, "%s takes yes or no, not '%s'", name, value);
		if (!on)
			return 1;
		snprintf(opt, sizeof(opt), "%s", name);
	} else if (in_list(value_options, name)) {
		if (!*value)
			return fail(p, -EINVAL, "%s has no value%s", name, "");
		if (dx_config_is_number(name) && check_number(p, name, value))
			return 0;
		if ((size_t)snprintf(
			    opt, sizeof(opt), "%s=%s%s%s", name,
			    is_path_option(name) && value[0] != '/' && p->base_dir ? p->base_dir :
										     "",
			    is_path_option(name) && value[0] != '/' && p->base_dir ? "/" : "",
			    value) >= sizeof(opt))
			return fail(p, -EINVAL, "the value of %s is too long%s", name, "");
	} else {
		return fail(p, -EINVAL, "unknown option '%s' in [defaults]%s", name, "");
	}
	return record_default(p, name, opt);
}

static int valid_name(const char *s)
{
	/* The name is a directory name and part of the mount's source. */
	return *s && *s != '.' && strlen(s) < 200 && !strpbrk(s, "/,\\ \t");
}

static struct dx_config_deployment *find_dep(struct dx_config *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->ndeps; i++)
		if (!strcmp(c->deps[i].name, name))
			return &c->deps[i];
	return NULL;
}

static struct dx_config_deployment *add_dep(struct parse_ctx *p, const char *name)
{
	struct dx_config *c = p->c;
	struct dx_config_deployment *d = find_dep(c, name), *grown;

	if (d)
		return d;
	if (!valid_name(name))
		return fail_at(p, p->section_line, -EINVAL,
			       "bad deployment name '%s' (no '/', ',', blanks or leading '.')%s",
			       name, ""),
		       NULL;
	if (c->ndeps >= MAX_DEPLOYMENTS)
		return fail(p, -EINVAL, "too many deployments%s%s", "", ""), NULL;
	grown = realloc(c->deps, (c->ndeps + 1) * sizeof(*c->deps));
	if (!grown)
		return fail(p, -ENOMEM, "out of memory%s%s", "", ""), NULL;
	c->deps = grown;
	d = &c->deps[c->ndeps];
	memset(d, 0, sizeof(*d));
	d->name = strdup(name);
	d->line = p->section_line;
	if (!d->name)
		return fail(p, -ENOMEM, "out of memory%s%s", "", ""), NULL;
	c->ndeps++;
	return d;
}

static int set_path(struct parse_ctx *p, char **field, const char *value)
{
	size_t need;

	if (value[0] == '/' || !p->base_dir) {
		*field = strdup(value);
	} else {
		need = strlen(p->base_dir) + strlen(value) + 2;
		*field = malloc(need);
		if (*field)
			snprintf(*field, need, "%s/%s", p->base_dir, value);
	}
	return *field ? 1 : fail(p, -ENOMEM, "out of memory%s%s", "", "");
}

static int set_dep(struct parse_ctx *p, const char *section, const char *name, const char *value)
{
	struct dx_config_deployment *d;
	char **field;

	while (isspace((unsigned char)*section))
		section++;
	d = add_dep(p, section);
	if (!d)
		return 0;
	field = !strcmp(name, "token_file")       ? &d->token_file :
		!strcmp(name, "token_credential") ? &d->token_credential :
		!strcmp(name, "api_url")          ? &d->api_url :
						    NULL;
	if (quoted(value))
		return fail(p, -EINVAL, "%s = %s: write the value without quotes", name, value);
	if (!field)
		return fail(p, -EINVAL,
			    "unknown key '%s' in [deployment %s] "
			    "(token_file, token_credential, api_url)",
			    name, d->name);
	if (*field)
		return fail(p, -EINVAL, "%s given twice in [deployment %s]", name, d->name);
	if (!*value)
		return fail(p, -EINVAL, "%s has no value in [deployment %s]", name, d->name);
	if (field == &d->token_file)
		return set_path(p, field, value);
	if (field == &d->token_credential && (strchr(value, '/') || value[0] == '.'))
		return fail(p, -EINVAL, "bad credential name '%s' in [deployment %s]", value,
			    d->name);
	*field = strdup(value);
	return *field ? 1 : fail(p, -ENOMEM, "out of memory%s%s", "", "");
}

static int on_entry(void *user, const char *section, const char *name, const char *value)
{
	struct parse_ctx *p = user;

	if (p->failed)
		return 0;
	if (!strcmp(section, "defaults"))
		return set_default(p, name, value);
	if (!strncmp(section, "deployment", 10) && isspace((unsigned char)section[10]))
		return set_dep(p, section + 10, name, value);
	if (!section[0])
		return fail(p, -EINVAL, "'%s' outside any section (use [defaults])%s", name, "");
	return fail_at(p, p->section_line, -EINVAL,
		       "unknown section [%s] ([defaults] or [deployment NAME])%s", section, "");
}

static int finish(struct parse_ctx *p, int line)
{
	size_t i;
	char reason[512];

	if (line > 0 || p->failed) {
		snprintf(reason, sizeof(reason), "%s", p->err);
		snprintf(p->err, p->errsize, "line %d: %s", p->failed ? p->fail_line : line,
			 p->failed ? reason : "syntax error");
		return p->failed ? p->failed : -EINVAL;
	}
	if (line < 0)
		return snprintf(p->err, p->errsize, "out of memory"), -ENOMEM;
	for (i = 0; i < p->c->ndeps; i++) {
		const struct dx_config_deployment *d = &p->c->deps[i];

		if (!d->token_file == !d->token_credential)
			return snprintf(p->err, p->errsize,
					"line %d: [deployment %s] needs token_file or "
					"token_credential (one of them)",
					d->line, d->name),
			       -EINVAL;
	}
	return 0;
}

static int accept_all(void *user, const char *section, const char *name, const char *value)
{
	return 1;
}

int dx_config_parse_string(const char *text, const char *base_dir, struct dx_config *c, char *err,
			   size_t errsize)
{
	char scratch[1];
	struct parse_ctx p = {
		c, base_dir, err ? err : scratch, err ? errsize : 1, 0, text, 0, 0, 0
	};
	int rc, line;

	memset(c, 0, sizeof(*c));
	p.err[0] = '\0';
	/* A first pass finds syntax errors, so a line number never goes with
	 * the reason of a later line. */
	line = ini_parse_string(text, accept_all, NULL);
	if (line > 0)
		return snprintf(p.err, p.errsize, "line %d: syntax error", line), -EINVAL;
	rc = finish(&p, ini_parse_stream(read_line, &p, on_entry, &p));
	if (rc)
		dx_config_release(c);
	return rc;
}

/* Config files are small; a cap keeps a wrong path (a device, a huge
 * file) from eating memory. */
#define CONFIG_MAX (256 * 1024)

int dx_config_load(const char *path, struct dx_config *c, char *err, size_t errsize)
{
	char dir[4096], reason[512], *slash, *text = NULL;
	ssize_t n;
	size_t len = 0;
	int fd, rc;

	memset(c, 0, sizeof(*c));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errsize, "cannot read config %s: %s", path, strerror(-rc));
		return rc;
	}
	text = malloc(CONFIG_MAX + 1);
	rc = text ? 0 : -ENOMEM;
	while (!rc && (n = read(fd, text + len, CONFIG_MAX - len)) > 0)
		len += (size_t)n;
	if (!rc && (n < 0 || len == CONFIG_MAX))
		rc = n < 0 ? -errno : -EFBIG;
	close(fd);
	if (rc) {
		snprintf(err, errsize, "cannot read config %s: %s", path, strerror(-rc));
		goto out;
	}
	text[len] = '\0';
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash == dir)
		dir[1] = '\0';
	else if (slash)
		*slash = '\0';
	else
		snprintf(dir, sizeof(dir), ".");
	rc = dx_config_parse_string(text, dir, c, err, errsize);
	if (rc) {
		snprintf(reason, sizeof(reason), "%s", err);
		snprintf(err, errsize, "config %s: %s", path, reason);
	}
out:
	free(text);
	return rc;
}

void dx_config_release(struct dx_config *c)
{
	size_t i;

	dx_optlist_release(&c->defaults);
	for (i = 0; i < c->ndeps; i++) {
		free(c->deps[i].name);
		free(c->deps[i].token_file);
		free(c->deps[i].token_credential);
		free(c->deps[i].api_url);
	}
	free(c->deps);
	c->deps = NULL;
	c->ndeps = 0;
}

int dx_config_default_path(const char *xdg_config_home, const char *home, char *out, size_t size)
{
	int n;

	if (xdg_config_home && *xdg_config_home)
		n = snprintf(out, size, "%s/dexmafs/config", xdg_config_home);
	else if (home && *home)
		n = snprintf(out, size, "%s/.config/dexmafs/config", home);
	else
		return -ENOENT;
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

int dx_config_line_of(const struct dx_config *c, const char *name)
{
	char **slot = optlist_find(&c->defaults, name, strlen(name));

	return slot ? c->default_lines[slot - c->defaults.v] : 0;
}

int dx_config_default_log_path(const char *xdg_state_home, const char *home, char *out, size_t size)
{
	int n;

	if (xdg_state_home && *xdg_state_home)
		n = snprintf(out, size, "%s/dexmafs/dexmafs.log", xdg_state_home);
	else if (home && *home)
		n = snprintf(out, size, "%s/.local/state/dexmafs/dexmafs.log", home);
	else
		return -ENOENT;
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

int dx_config_merge(const struct dx_config *c, const struct dx_optlist *cmdline,
		    struct dx_optlist *out)
{
	size_t i;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	for (i = 0; !rc && i < cmdline->n; i++)
		rc = dx_optlist_set(out, cmdline->v[i]);
	for (i = 0; !rc && c && i < c->defaults.n; i++) {
		const char *opt = c->defaults.v[i];

		if (!optlist_find(cmdline, opt, name_len(opt)))
			rc = dx_optlist_set(out, opt);
	}
	if (rc)
		dx_optlist_release(out);
	return rc;
}

int dx_config_token_path(const struct dx_config_deployment *d, const char *credentials_dir,
			 char *out, size_t size, char *err, size_t errsize)
{
	int n;

	if (d->token_file) {
		n = snprintf(out, size, "%s", d->token_file);
	} else {
		if (!credentials_dir || !*credentials_dir)
			return snprintf(err, errsize,
					"deployment %s: token_credential %s needs "
					"$CREDENTIALS_DIRECTORY (systemd LoadCredential=)",
					d->name, d->token_credential),
			       -ENOENT;
		n = snprintf(out, size, "%s/%s", credentials_dir, d->token_credential);
	}
	if (n < 0 || (size_t)n >= size)
		return snprintf(err, errsize, "deployment %s: token path too long", d->name),
		       -ENAMETOOLONG;
	return 0;
}

int dx_config_token_ok(const char *s)
{
	size_t i;

	for (i = 0; i < 20; i++)
		if (!isxdigit((unsigned char)s[i]))
			return 0;
	return s[20] == '\0';
}

/* The checks on an open token file: a regular file of this user (or
 * root) that no one else may read. 0 or -1 with the reason in err. */
static int token_file_safe(int fd, const char *path, char *err, size_t errsize)
{
	struct stat st;

	if (fstat(fd, &st) || !S_ISREG(st.st_mode))
		return snprintf(err, errsize, "token file %s is not a regular file", path), -1;
	/* A file another user owns could be swapped under us. */
	if (st.st_uid != geteuid() && st.st_uid != 0)
		return snprintf(err, errsize,
				"token file %s is owned by uid %u, not by this user "
				"(uid %u) or root",
				path, (unsigned)st.st_uid, (unsigned)geteuid()),
		       -1;
	if (st.st_mode & 077)
		return snprintf(err, errsize,
				"token file %s is readable by others (mode %03o); "
				"run: chmod 600 %s",
				path, (unsigned)(st.st_mode & 0777), path),
		       -1;
	return 0;
}

/* The token in buf: 20 hexadecimal characters, blanks around allowed. */
static int token_from_text(const char *buf, const char *path, char out[21], char *err,
			   size_t errsize)
{
	const char *src = buf + strspn(buf, " \t\r\n");
	size_t len = strcspn(src, " \t\r\n");

	if (len == 20 && src[len + strspn(src + len, " \t\r\n")] == '\0') {
		memcpy(out, src, 20);
		out[20] = '\0';
		if (dx_config_token_ok(out))
			return 0;
		memset(out, 0, 21);
	}
	snprintf(err, errsize, "token file %s must hold 20 hexadecimal characters", path);
	return -1;
}

int dx_config_read_token(const char *path, char out[21], char *err, size_t errsize)
{
	char buf[128];
	struct stat st;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), rc = -1;

	if (fd < 0 && errno == ELOOP && !lstat(path, &st) && S_ISLNK(st.st_mode))
		return snprintf(err, errsize,
				"token file %s is a symbolic link; name the file "
				"itself (a link could point anywhere)",
				path),
		       -1;
	if (fd < 0)
		return snprintf(err, errsize, "cannot read token file %s: %s", path,
				strerror(errno)),
		       -1;
	if (!token_file_safe(fd, path, err, errsize)) {
		n = read(fd, buf, sizeof(buf) - 1);
		if (n < 0) {
			snprintf(err, errsize, "cannot read token file %s: %s", path,
				 strerror(errno));
		} else {
			buf[n] = '\0';
			rc = token_from_text(buf, path, out, err, errsize);
		}
	}
	explicit_bzero(buf, sizeof(buf));
	close(fd);
	return rc;
}
