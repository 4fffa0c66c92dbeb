/* dexmafs token: the DEXMA market-app handshake. POST
 * /oauth/access-token?app_id&secret&temp_token answers 201 with the
 * permanent token, which is written to a 0600 file and never printed. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "dx_buf.h"
#include "dx_config.h"
#include "dx_fsutil.h"
#include "dx_http.h"
#include "dx_json.h"

struct hs_args {
	const char *app_id, *secret_file, *temp_token, *api_url, *output;
	int allow_insecure_http;
};

#define USAGE                                                                                      \
	"usage: dexmafs token --app-id ID --secret-file FILE --temp-token T "                      \
	"[--api-url URL] [--output FILE] [--allow-insecure-http]\n"

static void usage(void)
{
	fputs(USAGE, stderr);
}

static void help(void)
{
	fputs(USAGE
	      "\n"
	      "Trades a market app's temporary token for its permanent API token (POST\n"
	      "/oauth/access-token) and writes it to a 0600 file; it is never printed.\n\n"
	      "    --app-id ID            the app's id, from DEXMA's app registration\n"
	      "    --secret-file FILE     file (mode 0600) holding the app's secret\n"
	      "    --temp-token T         the temporary token DEXMA handed over at install;\n"
	      "                           it works once\n"
	      "    --api-url URL          API base (https://api.dexma.com/v3)\n"
	      "    --output FILE          where to write the token\n"
	      "                           ($XDG_CONFIG_HOME/dexmafs/token, else\n"
	      "                           ~/.config/dexmafs/token)\n"
	      "    --allow-insecure-http  allow an http:// api-url to a host other than loopback\n"
	      "    -h, --help             this help\n",
	      stdout);
}

static int parse_args(struct hs_args *a, int argc, char *argv[])
{
	static const struct option longopts[] = { { "app-id", required_argument, NULL, 'a' },
						  { "secret-file", required_argument, NULL, 's' },
						  { "temp-token", required_argument, NULL, 't' },
						  { "api-url", required_argument, NULL, 'u' },
						  { "output", required_argument, NULL, 'o' },
						  { "allow-insecure-http", no_argument, NULL, 'i' },
						  { "help", no_argument, NULL, 'h' },
						  { NULL, 0, NULL, 0 } };
	int c;

	a->api_url = "https://api.dexma.com/v3";
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'a':
			a->app_id = optarg;
			break;
		case 's':
			a->secret_file = optarg;
			break;
		case 't':
			a->temp_token = optarg;
			break;
		case 'u':
			a->api_url = optarg;
			break;
		case 'o':
			a->output = optarg;
			break;
		case 'i':
			a->allow_insecure_http = 1;
			break;
		case 'h':
			help();
			return 1;
		default:
			usage();
			return -1;
		}
	}
	if (!a->app_id || !a->secret_file || !a->temp_token || optind != argc) {
		usage();
		return -1;
	}
	return 0;
}

/* The secret is held like a token: a private file, one line. */
static int read_secret(const char *path, char *out, size_t size)
{
	struct stat st;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), rc = -1;

	if (fd < 0)
		return fprintf(stderr, "dexmafs token: cannot read %s: %s\n", path,
			       strerror(errno)),
		       -1;
	if (fstat(fd, &st) || (st.st_mode & 077)) {
		fprintf(stderr,
			"dexmafs token: secret file %s is readable by others; run: chmod 600 %s\n",
			path, path);
		goto out;
	}
	n = read(fd, out, size - 1);
	if (n <= 0) {
		fprintf(stderr, "dexmafs token: %s is empty\n", path);
		goto out;
	}
	out[n] = '\0';
	out[strcspn(out, "\r\n")] = '\0';
	rc = out[0] ? 0 : (fprintf(stderr, "dexmafs token: %s is empty\n", path), -1);
out:
	close(fd);
	return rc;
}

/* The 201's body: the bare token, a JSON string, or {"token": "..."}
 * (the API notes are unsure; accept all three). */
static int extract_token(const char *body, size_t len, char out[21])
{
	char tok[64];
	size_t start = 0, n = len;

	while (start < n && strchr(" \t\r\n", body[start]))
		start++;
	while (n > start && strchr(" \t\r\n", body[n - 1]))
		n--;
	if (n - start == 20 && body[start] != '"') {
		memcpy(out, body + start, 20);
		out[20] = '\0';
	} else if (!dx_json_token(body, len, tok, sizeof(tok)) && strlen(tok) == 20) {
		memcpy(out, tok, 21);
	} else {
		out[0] = '\0';
	}
	explicit_bzero(tok, sizeof(tok));
	return dx_config_token_ok(out) ? 0 : -1;
}

static int default_output(char *out, size_t size)
{
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
	struct passwd *pw;

	if (!home || !*home) {
		pw = getpwuid(getuid());
		home = pw ? pw->pw_dir : NULL;
	}
	if (xdg && *xdg)
		snprintf(out, size, "%s/dexmafs/token", xdg);
	else if (home && *home)
		snprintf(out, size, "%s/.config/dexmafs/token", home);
	else
		return -1;
	return 0;
}

static int make_parent(const char *path)
{
	char dir[4096], *p;

	snprintf(dir, sizeof(dir), "%s", path);
	p = strrchr(dir, '/');
	if (!p || p == dir)
		return 0;
	*p = '\0';
	return dx_mkdir_p(dir, 0700);
}

/* Written to a private temporary file, then renamed: the token file is
 * never visible half-written or with a wider mode. */
static int write_token(const char *path, const char token[21])
{
	char tmp[4200], line[22];
	int fd, rc = make_parent(path);

	if (rc)
		return rc;
	snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path);
	fd = mkstemp(tmp);
	if (fd < 0)
		return -errno;
	snprintf(line, sizeof(line), "%s\n", token);
	if (fchmod(fd, 0600) || write(fd, line, 21) != 21 || fsync(fd))
		rc = -errno ? -errno : -EIO;
	explicit_bzero(line, sizeof(line));
	if (close(fd) && !rc)
		rc = -errno;
	if (!rc && rename(tmp, path))
		rc = -errno;
	if (rc)
		unlink(tmp);
	return rc;
}

static int build_url(const struct hs_args *a, const char *secret, struct dx_buf *url)
{
	struct dx_buf q;
	int rc;

	dx_buf_init(&q, 4096);
	rc = dx_buf_puts(&q, "app_id=");
	rc = rc ? rc : dx_http_query_escape(&q, a->app_id);
	rc = rc ? rc : dx_buf_puts(&q, "&secret=");
	rc = rc ? rc : dx_http_query_escape(&q, secret);
	rc = rc ? rc : dx_buf_puts(&q, "&temp_token=");
	rc = rc ? rc : dx_http_query_escape(&q, a->temp_token);
	rc = rc ? rc : dx_http_url_join(url, a->api_url, "/oauth/access-token", q.data);
	if (q.data)
		explicit_bzero(q.data, q.len);
	dx_buf_release(&q);
	return rc;
}

/* The POST itself: 0 with the token in token, or -1 (message printed). */
static int exchange(const struct hs_args *a, const char *secret, char token[21])
{
	struct dx_http_opts ho = { .token = "", .max_parallel = 1, .connect_timeout_ms = 10000 };
	struct dx_http_response resp;
	struct dx_http *http = NULL;
	struct dx_buf url, body;
	int rc, ret = -1;

	dx_buf_init(&url, 8192);
	dx_buf_init(&body, 4096);
	if (build_url(a, secret, &url) || dx_http_new(&ho, &http)) {
		fprintf(stderr, "dexmafs token: out of memory\n");
		goto out;
	}
	rc = dx_http_post(http, url.data, 1000, 30000, &body, &resp);
	if (rc)
		fprintf(stderr, "dexmafs token: POST %s/oauth/access-token: %s\n", a->api_url,
			resp.error[0] ? resp.error : strerror(-rc));
	else if (resp.status != 201 && resp.status != 200)
		fprintf(stderr, "dexmafs token: POST %s/oauth/access-token answered %ld%s\n",
			a->api_url, resp.status,
			resp.status == 401 || resp.status == 403 ?
				": app id, secret or temporary token rejected (a temporary token "
				"works once)" :
				"");
	else if (extract_token(body.data ? body.data : "", body.len, token))
		fprintf(stderr, "dexmafs token: the answer (%ld) holds no 20-hex token\n",
			resp.status);
	else
		ret = 0;
out:
	dx_http_free(http);
	if (url.data)
		explicit_bzero(url.data, url.len);
	if (body.data)
		explicit_bzero(body.data, body.len);
	dx_buf_release(&url);
	dx_buf_release(&body);
	return ret;
}

int dx_token_main(int argc, char *argv[])
{
	struct hs_args a = { 0 };
	char secret[512] = "", token[21] = "", out[4096];
	int rc, ret = 1;

	rc = parse_args(&a, argc, argv);
	if (rc)
		return rc > 0 ? 0 : 1; /* --help, or a usage error */
	if (read_secret(a.secret_file, secret, sizeof(secret)))
		goto out;
	if (a.output)
		snprintf(out, sizeof(out), "%s", a.output);
	else if (default_output(out, sizeof(out))) {
		fprintf(stderr, "dexmafs token: no HOME; give --output FILE\n");
		goto out;
	}
	rc = dx_http_check_url(a.api_url, a.allow_insecure_http);
	if (rc) {
		fprintf(stderr, "dexmafs token: bad --api-url '%s'%s\n", a.api_url,
			rc == -EPERM ? " (https:// required except to loopback)" : "");
		goto out;
	}
	if (exchange(&a, secret, token))
		goto out;
	rc = write_token(out, token);
	if (rc) {
		fprintf(stderr, "dexmafs token: cannot write %s: %s\n", out, strerror(-rc));
		goto out;
	}
	printf("dexmafs: token written to %s (mode 0600); mount with -o token_file=%s\n", out, out);
	ret = 0;
out:
	explicit_bzero(secret, sizeof(secret));
	explicit_bzero(token, sizeof(token));
	return ret;
}
