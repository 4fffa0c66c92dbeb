/* Unit tests for opening the store over a damaged data.mdb: truncated
 * (SIGBUS before the check), random bytes and zeroed pages. Each must be
 * moved aside as data.mdb.damaged-DATE, reported once, and replaced by a
 * new, working file. Each case runs in a child process, so a SIGBUS fails
 * the test instead of ending the program. */
#include <dirent.h>
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
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "dx_buf.h"
#include "dx_store.h"

#define MIB ((uint64_t)1 << 20)

static void fill(const char *dir)
{
	struct dx_store_meta m = { 0, 0, 1, 1, 1, 0 };
	struct dx_store *s;
	char key[32], value[3000];

	memset(value, 'v', sizeof(value));
	assert_int_equal(dx_store_open(dir, 64 * MIB, &s), 0);
	for (int i = 0; i < 300; i++) {
		snprintf(key, sizeof(key), "k%04d", i);
		assert_int_equal(dx_store_put(s, key, value, sizeof(value), &m), 0);
	}
	assert_null(dx_store_damaged(s));
	dx_store_close(s);
}

static void make_dir(char *dir)
{
	strcpy(dir, "/tmp/dx_store_open_XXXXXX");
	assert_non_null(mkdtemp(dir));
	assert_int_equal(chmod(dir, 0700), 0);
}

static int count_damaged(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		n += !strncmp(e->d_name, "data.mdb.damaged-", 17);
	closedir(d);
	return n;
}

static void remove_all(const char *dir)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

/* In a child: the open must report the damage and leave a usable store. */
static void reopen_child(const char *dir, const char *reason)
{
	struct dx_store_meta m = { 0, 0, 1, 1, 1, 0 }, got;
	struct dx_store_stats st;
	struct dx_store *s;
	const char *why;
	struct dx_buf b;

	if (dx_store_open(dir, 64 * MIB, &s))
		_exit(10);
	why = dx_store_damaged(s);
	if (!why || !strstr(why, "moved aside as") || !strstr(why, "data.mdb.damaged-"))
		_exit(11);
	if (reason && !strstr(why, reason)) {
		fprintf(stderr, "reason '%s' lacks '%s'\n", why, reason);
		_exit(12);
	}
	dx_store_stats(s, &st);
	if (st.entries != 0)
		_exit(13);
	dx_buf_init(&b, 1024);
	if (dx_store_put(s, "new", "x", 1, &m) || dx_store_get(s, "new", &b, &got) || b.len != 1)
		_exit(14);
	dx_buf_release(&b);
	dx_store_close(s);
	_exit(0);
}

static void expect_moved_aside(const char *dir, const char *reason)
{
	struct dx_store *s;
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0)
		reopen_child(dir, reason);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (WIFSIGNALED(status))
		fail_msg("open died of signal %d", WTERMSIG(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(count_damaged(dir), 1);
	/* The new file is sound: the next open finds nothing to report. */
	assert_int_equal(dx_store_open(dir, 64 * MIB, &s), 0);
	assert_null(dx_store_damaged(s));
	dx_store_close(s);
	assert_int_equal(count_damaged(dir), 1);
}

static void file_path(const char *dir, char *out, size_t size)
{
	snprintf(out, size, "%s/data.mdb", dir);
}

static void truncated(void **state)
{
	char dir[64], path[128];

	(void)state;
	make_dir(dir);
	fill(dir);
	file_path(dir, path, sizeof(path));
	assert_int_equal(truncate(path, 8192), 0);
	expect_moved_aside(dir, "shorter than");
	remove_all(dir);
}

static void overwrite(const char *path, off_t at, size_t len, int random)
{
	int fd = open(path, O_WRONLY);
	unsigned char *buf = malloc(len);

	assert_true(fd >= 0);
	assert_non_null(buf);
	for (size_t i = 0; i < len; i++)
		buf[i] = random ? (unsigned char)(rand() >> 7) : 0;
	assert_int_equal(pwrite(fd, buf, len, at), (ssize_t)len);
	close(fd);
	free(buf);
}

static void random_bytes(void **state)
{
	char dir[64], path[128];
	struct stat st;

	(void)state;
	make_dir(dir);
	fill(dir);
	file_path(dir, path, sizeof(path));
	assert_int_equal(stat(path, &st), 0);
	srand(7);
	overwrite(path, 0, (size_t)st.st_size, 1);
	expect_moved_aside(dir, "magic");
	remove_all(dir);
}

static void zeroed_meta_page(void **state)
{
	char dir[64], path[128];

	(void)state;
	make_dir(dir);
	fill(dir);
	file_path(dir, path, sizeof(path));
	overwrite(path, 0, 4096, 0);
	expect_moved_aside(dir, "meta page 0");
	remove_all(dir);
}

/* Everything after the two meta pages zeroed: the metas still check out,
 * the root page they name does not. */
static void zeroed_data_pages(void **state)
{
	char dir[64], path[128];
	struct stat st;

	(void)state;
	make_dir(dir);
	fill(dir);
	file_path(dir, path, sizeof(path));
	assert_int_equal(stat(path, &st), 0);
	overwrite(path, 2 * 4096, (size_t)st.st_size - 2 * 4096, 0);
	expect_moved_aside(dir, "root page");
	remove_all(dir);
}

static void sound_file_kept(void **state)
{
	struct dx_store *s;
	struct dx_buf b;
	char dir[64];

	(void)state;
	make_dir(dir);
	fill(dir);
	assert_int_equal(dx_store_open(dir, 64 * MIB, &s), 0);
	assert_null(dx_store_damaged(s));
	dx_buf_init(&b, 1 << 20);
	assert_int_equal(dx_store_get(s, "k0123", &b, NULL), 0);
	assert_int_equal(b.len, 3000);
	dx_buf_release(&b);
	dx_store_close(s);
	assert_int_equal(count_damaged(dir), 0);
	remove_all(dir);
}

/* Two mounts may share a cache directory: a file another process is
 * writing is never taken for damaged, whatever its meta pages look like
 * halfway through a commit. */
static void file_in_use_is_not_moved(void **state)
{
	struct dx_store_meta m = { 0, 0, 1, 1, 1, 0 };
	struct dx_store *s;
	char dir[64], key[32], value[2000];
	int status;
	pid_t writer;

	(void)state;
	make_dir(dir);
	fill(dir);
	memset(value, 'w', sizeof(value));
	writer = fork();
	assert_true(writer >= 0);
	if (writer == 0) {
		if (dx_store_open(dir, 64 * MIB, &s))
			_exit(1);
		for (int i = 0; i < 3000; i++) {
			snprintf(key, sizeof(key), "w%05d", i % 500);
			if (dx_store_put(s, key, value, sizeof(value), &m))
				_exit(2);
		}
		dx_store_close(s);
		_exit(0);
	}
	for (int i = 0; i < 100; i++) {
		assert_int_equal(dx_store_open(dir, 64 * MIB, &s), 0);
		assert_null(dx_store_damaged(s));
		dx_store_close(s);
	}
	assert_int_equal(waitpid(writer, &status, 0), writer);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(count_damaged(dir), 0);
	remove_all(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sound_file_kept),   cmocka_unit_test(truncated),
		cmocka_unit_test(random_bytes),      cmocka_unit_test(zeroed_meta_page),
		cmocka_unit_test(zeroed_data_pages), cmocka_unit_test(file_in_use_is_not_moved),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
