/* Unit tests for dx_config: parsing, precedence, token files. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "dx_config.h"

static const char sample[] = "# dexmafs config\n"
			     "[defaults]\n"
			     "cache_dir = /var/cache/dx\n"
			     "time_format = iso   ; inline comment\n"
			     "resolutions = hourly,daily\n"
			     "offline = no\n"
			     "allow_insecure_http = yes\n"
			     "\n"
			     "[deployment acme]\n"
			     "token_file = acme.token\n"
			     "\n"
			     "[deployment globex]\n"
			     "token_credential = globex.token\n"
			     "api_url = http://127.0.0.1:9/v3\n";

static void parses_defaults_and_deployments(void **state)
{
	struct dx_config c;
	char err[256];

	(void)state;
	assert_int_equal(dx_config_parse_string(sample, "/etc/dx", &c, err, sizeof(err)), 0);
	assert_string_equal(dx_optlist_get(&c.defaults, "cache_dir"), "/var/cache/dx");
	assert_string_equal(dx_optlist_get(&c.defaults, "time_format"), "iso");
	assert_string_equal(dx_optlist_get(&c.defaults, "resolutions"), "hourly,daily");
	/* "no" leaves a flag out; "yes" gives the bare flag. */
	assert_null(dx_optlist_get(&c.defaults, "offline"));
	assert_string_equal(dx_optlist_get(&c.defaults, "allow_insecure_http"), "");
	assert_int_equal(c.defaults.n, 4);
	assert_int_equal(c.ndeps, 2);
	assert_string_equal(c.deps[0].name, "acme");
	assert_string_equal(c.deps[0].token_file, "/etc/dx/acme.token");
	assert_null(c.deps[0].token_credential);
	assert_null(c.deps[0].api_url);
	assert_string_equal(c.deps[1].name, "globex");
	assert_null(c.deps[1].token_file);
	assert_string_equal(c.deps[1].token_credential, "globex.token");
	assert_string_equal(c.deps[1].api_url, "http://127.0.0.1:9/v3");
	dx_config_release(&c);
}

static void absolute_token_file_kept(void **state)
{
	struct dx_config c;
	char err[256];

	(void)state;
	assert_int_equal(dx_config_parse_string("[deployment a]\ntoken_file = /x/t\n", "/etc", &c,
						err, sizeof(err)),
			 0);
	assert_string_equal(c.deps[0].token_file, "/x/t");
	dx_config_release(&c);
}

static void expect_error(const char *text, const char *needle)
{
	struct dx_config c;
	char err[256] = "";

	assert_int_equal(dx_config_parse_string(text, NULL, &c, err, sizeof(err)), -EINVAL);
	if (!strstr(err, needle))
		fail_msg("error '%s' lacks '%s'", err, needle);
	assert_null(c.deps);
	assert_int_equal(c.defaults.n, 0);
}

static void rejects_bad_input(void **state)
{
	(void)state;
	expect_error("[defaults]\nfoo = 1\n", "line 2: unknown option 'foo'");
	expect_error("[defaults]\napi_url = x\nconfig = /etc/x\n",
		     "line 3: unknown option 'config'");
	expect_error("[defaults]\noffline = maybe\n", "offline takes yes or no");
	expect_error("[defaults]\ncache_dir =\n", "cache_dir has no value");
	expect_error("[other]\nx = 1\n", "unknown section [other]");
	expect_error("api_url = x\n", "outside any section");
	expect_error("[deployment a/b]\ntoken_file = t\n", "bad deployment name 'a/b'");
	expect_error("[deployment .hidden]\ntoken_file = t\n", "bad deployment name");
	expect_error("[deployment a]\ntoken = 0123456789abcdef0123\n", "unknown key 'token'");
	expect_error("[deployment a]\ntoken_file = t\ntoken_file = u\n", "token_file given twice");
	expect_error("[deployment a]\napi_url = http://x\n",
		     "needs token_file or token_credential");
	expect_error("[deployment a]\ntoken_file = t\ntoken_credential = c\n", "one of them");
	expect_error("[deployment a]\ntoken_credential = ../c\n", "bad credential name");
	expect_error("[defaults\napi_url = x\n", "line 1: syntax error");
}

/* Each error names the line it is about: a section's header, the entry. */
static void errors_name_their_line(void **state)
{
	(void)state;
	expect_error("[defaults]\noffline = no\n\n[other]\nx = 1\n",
		     "line 4: unknown section [other]");
	expect_error("[defaults]\n[deployment a/b]\n\ntoken_file = t\n",
		     "line 2: bad deployment name 'a/b'");
	expect_error("[defaults]\ntime_format = \"iso\"\n",
		     "line 2: time_format = \"iso\": write the value without quotes");
	expect_error("[deployment a]\ntoken_file = 'x'\n", "line 2: token_file = 'x'");
	expect_error("[defaults]\n\n[deployment a]\napi_url = http://x\n",
		     "line 3: [deployment a] needs token_file");
}

/* Relative paths in [defaults] are relative to the config file, as in
 * [deployment NAME]; the line of each default is kept. */
static void defaults_paths_and_lines(void **state)
{
	struct dx_config c;
	char err[256];

	(void)state;
	assert_int_equal(dx_config_parse_string("[defaults]\ntoken_file = t.token\n"
						"cache_dir = cache\nlog_file = /var/log/dx.log\n"
						"time_format = iso\n",
						"/etc/dx", &c, err, sizeof(err)),
			 0);
	assert_string_equal(dx_optlist_get(&c.defaults, "token_file"), "/etc/dx/t.token");
	assert_string_equal(dx_optlist_get(&c.defaults, "cache_dir"), "/etc/dx/cache");
	assert_string_equal(dx_optlist_get(&c.defaults, "log_file"), "/var/log/dx.log");
	assert_string_equal(dx_optlist_get(&c.defaults, "time_format"), "iso");
	assert_int_equal(dx_config_line_of(&c, "cache_dir"), 3);
	assert_int_equal(dx_config_line_of(&c, "time_format"), 5);
	assert_int_equal(dx_config_line_of(&c, "offline"), 0);
	dx_config_release(&c);
}

static void later_default_replaces_earlier(void **state)
{
	struct dx_config c;
	char err[256];

	(void)state;
	assert_int_equal(
		dx_config_parse_string("[defaults]\nreserve = 0.1\n[defaults]\nreserve = 0.3\n",
				       NULL, &c, err, sizeof(err)),
		0);
	assert_int_equal(c.defaults.n, 1);
	assert_string_equal(dx_optlist_get(&c.defaults, "reserve"), "0.3");
	dx_config_release(&c);
}

/* The command line wins over [defaults]; what neither sets stays unset for
 * the built-in default. */
static void precedence(void **state)
{
	struct dx_config c;
	struct dx_optlist cmd = { 0 }, eff;
	char err[256];

	(void)state;
	assert_int_equal(dx_config_parse_string(sample, NULL, &c, err, sizeof(err)), 0);
	assert_int_equal(dx_optlist_set(&cmd, "time_format=epoch"), 0);
	assert_int_equal(dx_optlist_set(&cmd, "offline"), 0);
	assert_int_equal(dx_optlist_set(&cmd, "parallel=2"), 0);
	assert_int_equal(dx_optlist_set(&cmd, "parallel=3"), 0); /* last -o wins */
	assert_int_equal(dx_config_merge(&c, &cmd, &eff), 0);
	assert_string_equal(dx_optlist_get(&eff, "time_format"), "epoch");
	assert_string_equal(dx_optlist_get(&eff, "cache_dir"), "/var/cache/dx");
	assert_string_equal(dx_optlist_get(&eff, "resolutions"), "hourly,daily");
	assert_string_equal(dx_optlist_get(&eff, "offline"), "");
	assert_string_equal(dx_optlist_get(&eff, "parallel"), "3");
	assert_null(dx_optlist_get(&eff, "ttl_meta"));
	assert_null(dx_optlist_get(&eff, "time")); /* a prefix is not a name */
	assert_int_equal(eff.n, 6);
	dx_optlist_release(&eff);
	/* Without a config file, the command line alone. */
	assert_int_equal(dx_config_merge(NULL, &cmd, &eff), 0);
	assert_int_equal(eff.n, 3);
	assert_null(dx_optlist_get(&eff, "cache_dir"));
	dx_optlist_release(&eff);
	dx_optlist_release(&cmd);
	dx_config_release(&c);
}

static void default_path(void **state)
{
	char p[64];

	(void)state;
	assert_int_equal(dx_config_default_path("/x/cfg", "/home/u", p, sizeof(p)), 0);
	assert_string_equal(p, "/x/cfg/dexmafs/config");
	assert_int_equal(dx_config_default_path("", "/home/u", p, sizeof(p)), 0);
	assert_string_equal(p, "/home/u/.config/dexmafs/config");
	assert_int_equal(dx_config_default_path(NULL, "/home/u", p, sizeof(p)), 0);
	assert_string_equal(p, "/home/u/.config/dexmafs/config");
	assert_int_equal(dx_config_default_path(NULL, NULL, p, sizeof(p)), -ENOENT);
	assert_int_equal(dx_config_default_path("/a/very/long/directory/name/that/does/not/fit",
						NULL, p, 20),
			 -ENAMETOOLONG);
}

static void default_log_path(void **state)
{
	char p[64];

	(void)state;
	assert_int_equal(dx_config_default_log_path("/x/st", "/home/u", p, sizeof(p)), 0);
	assert_string_equal(p, "/x/st/dexmafs/dexmafs.log");
	assert_int_equal(dx_config_default_log_path("", "/home/u", p, sizeof(p)), 0);
	assert_string_equal(p, "/home/u/.local/state/dexmafs/dexmafs.log");
	assert_int_equal(dx_config_default_log_path(NULL, NULL, p, sizeof(p)), -ENOENT);
	assert_int_equal(dx_config_default_log_path(NULL, "/home/someone/far/away", p, 20),
			 -ENAMETOOLONG);
}

static void token_path(void **state)
{
	struct dx_config_deployment file = { "a", "/t/a.token", NULL, NULL, 1 };
	struct dx_config_deployment cred = { "b", NULL, "b.token", NULL, 2 };
	char p[64], err[256];

	(void)state;
	assert_int_equal(dx_config_token_path(&file, NULL, p, sizeof(p), err, sizeof(err)), 0);
	assert_string_equal(p, "/t/a.token");
	assert_int_equal(
		dx_config_token_path(&cred, "/run/creds/x", p, sizeof(p), err, sizeof(err)), 0);
	assert_string_equal(p, "/run/creds/x/b.token");
	assert_int_equal(dx_config_token_path(&cred, NULL, p, sizeof(p), err, sizeof(err)),
			 -ENOENT);
	assert_non_null(strstr(err, "CREDENTIALS_DIRECTORY"));
}

static void expect_number(const char *name, const char *text, double want)
{
	char err[256] = "";
	double v = -1;

	if (dx_config_number(name, text, &v, err, sizeof(err)))
		fail_msg("%s=%s refused: %s", name, text, err);
	assert_true(v == want);
}

static void expect_bad_number(const char *name, const char *text, const char *needle)
{
	char err[256] = "", opt[128];

	assert_int_equal(dx_config_number(name, text, &(double){ 0 }, err, sizeof(err)), -EINVAL);
	snprintf(opt, sizeof(opt), "%s=%s", name, text);
	if (!strstr(err, opt) || !strstr(err, needle))
		fail_msg("error '%s' lacks '%s' or '%s'", err, opt, needle);
}

static void strict_numbers(void **state)
{
	(void)state;
	expect_number("timeout", "5", 5);
	expect_number("reserve", "0.25", 0.25);
	expect_number("reserve", "0", 0);
	expect_number("reserve", ".5", 0.5);
	expect_number("ttl_meta", "86400", 86400);
	expect_number("retries", "0", 0);
	expect_bad_number("reserve", "nan", "not a decimal number");
	expect_bad_number("reserve", "inf", "not a decimal number");
	expect_bad_number("reserve", "0x0.1", "not a decimal number");
	expect_bad_number("reserve", "1e-1", "not a decimal number");
	expect_bad_number("reserve", ".", "not a decimal number");
	expect_bad_number("reserve", "0.95", "out of range");
	expect_bad_number("reserve", "-0.1", "out of range");
	expect_bad_number("timeout", "5x", "not a whole number");
	expect_bad_number("timeout", "5.0", "not a whole number");
	expect_bad_number("timeout", " 5", "not a whole number");
	expect_bad_number("timeout", "", "not a whole number");
	expect_bad_number("timeout", "99999999999", "out of range");
	expect_bad_number("timeout", "99999999999999999999999", "not a whole number");
	expect_bad_number("timeout", "0", "out of range");
	expect_bad_number("parallel", "65", "out of range");
	expect_bad_number("ttl_open", "-1", "out of range");
	assert_int_equal(dx_config_number("api_url", "1", &(double){ 0 }, (char[64]){ 0 }, 64),
			 -ENOENT);
	assert_true(dx_config_is_number("quota_wait"));
	assert_false(dx_config_is_number("cache_size"));
	/* The config file goes through the same parser, with its line. */
	expect_error("[defaults]\ntimeout = 5x\n", "line 2: timeout=5x: not a whole number");
	expect_error("[defaults]\ntimeout = 99999999999\n", "timeout=99999999999: out of range");
	expect_error("[defaults]\nreserve = nan\n", "reserve=nan: not a decimal number");
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static void token_files(void **state)
{
	char dir[] = "/tmp/dx-config-test-XXXXXX", path[128], link[128], tok[21], err[512];

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/token", dir);

	write_file(path, "  0123456789abcdef0123\n", 0600);
	assert_int_equal(dx_config_read_token(path, tok, err, sizeof(err)), 0);
	assert_string_equal(tok, "0123456789abcdef0123");

	write_file(path, "0123456789abcdef0123\n", 0640);
	assert_int_equal(dx_config_read_token(path, tok, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "readable by others"));
	assert_non_null(strstr(err, "chmod 600"));
	write_file(path, "0123456789abcdef0123\n", 0604);
	assert_int_equal(dx_config_read_token(path, tok, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "readable by others"));

	write_file(path, "0123456789abcdef012\n", 0600);
	assert_int_equal(dx_config_read_token(path, tok, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "20 hexadecimal"));
	write_file(path, "0123456789abcdef012z\n", 0600);
	assert_int_equal(dx_config_read_token(path, tok, err, sizeof(err)), -1);
	assert_null(strstr(err, "012z")); /* never the token's text */
	write_file(path, "0123456789abcdef0123 extra\n", 0600);
	assert_int_equal(dx_config_read_token(path, tok, err, sizeof(err)), -1);

	/* A link gets its own message, not "Too many levels of symbolic links". */
	write_file(path, "0123456789abcdef0123\n", 0600);
	snprintf(link, sizeof(link), "%s/link", dir);
	assert_int_equal(symlink(path, link), 0);
	assert_int_equal(dx_config_read_token(link, tok, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "symbolic link"));
	assert_null(strstr(err, "levels"));
	unlink(link);
	/* Owned by someone else (root runs the tests and may chown). */
	if (geteuid() == 0) {
		assert_int_equal(chown(path, 65534, 65534), 0);
		assert_int_equal(dx_config_read_token(path, tok, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "owned by uid 65534"));
		assert_int_equal(chown(path, 0, 0), 0);
		assert_int_equal(dx_config_read_token(path, tok, err, sizeof(err)), 0);
	}

	unlink(path);
	assert_int_equal(dx_config_read_token(path, tok, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "No such file"));
	assert_int_equal(dx_config_read_token(dir, tok, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not a regular file"));
	rmdir(dir);
}

static void load_file(void **state)
{
	char dir[] = "/tmp/dx-config-test-XXXXXX", path[128], want[160], err[512];
	struct dx_config c;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/config", dir);
	assert_int_equal(dx_config_load(path, &c, err, sizeof(err)), -ENOENT);
	write_file(path, "[deployment x]\ntoken_file = sub/x.token\n", 0644);
	assert_int_equal(dx_config_load(path, &c, err, sizeof(err)), 0);
	snprintf(want, sizeof(want), "%s/sub/x.token", dir);
	assert_string_equal(c.deps[0].token_file, want);
	dx_config_release(&c);
	write_file(path, "[defaults]\n\nbogus = 1\n", 0644);
	assert_int_equal(dx_config_load(path, &c, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "line 3"));
	unlink(path);
	rmdir(dir);
}

/* The example shipped in dist/ must parse. */
static void shipped_example_parses(void **state)
{
	const char *data = getenv("DX_TEST_DATA");
	char path[4096], err[512];
	struct dx_config c;

	(void)state;
	if (!data)
		skip();
	snprintf(path, sizeof(path), "%s/../../dist/config.example", data);
	assert_int_equal(dx_config_load(path, &c, err, sizeof(err)), 0);
	assert_int_equal(c.ndeps, 2);
	assert_string_equal(c.deps[0].name, "acme");
	assert_non_null(strstr(c.deps[0].token_file, "/dist/acme.token"));
	assert_string_equal(c.deps[1].token_file, "/home/me/.config/dexmafs/globex.token");
	assert_int_equal(c.defaults.n, 0);
	dx_config_release(&c);
}

static void every_option_known(void **state)
{
	static const char *const names[] = { "api_url",     "token_file",  "cache_dir",
					     "deployment",  "time_format", "resolutions",
					     "cache_size",  "offline",     "allow_insecure_http",
					     "allow_other", "ttl_meta",    "ttl_open",
					     "late_margin", "parallel",    "retries",
					     "timeout",     "quota_wait",  "reserve",
					     "nonempty",    NULL };
	int i;

	(void)state;
	for (i = 0; names[i]; i++)
		assert_true(dx_config_is_option(names[i]));
	assert_false(dx_config_is_option("config"));
	assert_false(dx_config_is_option("token"));
	assert_false(dx_config_is_option("api_ur"));
}

static void nearest_option_of_a_typo(void **state)
{
	(void)state;
	assert_string_equal(dx_config_nearest("resolution"), "resolutions");
	assert_string_equal(dx_config_nearest("ofline"), "offline");
	assert_string_equal(dx_config_nearest("log-file"), "log_file");
	assert_string_equal(dx_config_nearest("confg"), "config");
	assert_null(dx_config_nearest("frobnicate"));
	assert_null(dx_config_nearest("ro"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parses_defaults_and_deployments),
		cmocka_unit_test(nearest_option_of_a_typo),
		cmocka_unit_test(default_log_path),
		cmocka_unit_test(errors_name_their_line),
		cmocka_unit_test(defaults_paths_and_lines),
		cmocka_unit_test(absolute_token_file_kept),
		cmocka_unit_test(rejects_bad_input),
		cmocka_unit_test(later_default_replaces_earlier),
		cmocka_unit_test(precedence),
		cmocka_unit_test(default_path),
		cmocka_unit_test(token_path),
		cmocka_unit_test(token_files),
		cmocka_unit_test(strict_numbers),
		cmocka_unit_test(load_file),
		cmocka_unit_test(shipped_example_parses),
		cmocka_unit_test(every_option_known),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
