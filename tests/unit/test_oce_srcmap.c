/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for apps/engine/srcmap.h: a mapped source file that shrinks
 * reads as zeros past its new end instead of killing the process with
 * SIGBUS, and says so; a fault outside any such mapping still reaches the
 * handler that was there before.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "apps/engine/srcmap.h"

#define FSIZE (1024 * 1024 + 123)

static int
make_file(char *path, size_t size)
{
	const char *dir = getenv("TMPDIR");
	uint8_t *buf = malloc(size);
	int fd;

	assert_non_null(buf);
	snprintf(path, 256, "%s/srcmapXXXXXX", dir && *dir ? dir : "/tmp");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	for (size_t i = 0; i < size; i++)
		buf[i] = (uint8_t)(i * 7 + 1); /* no zero byte before i = 36 */
	assert_int_equal(write(fd, buf, size), (ssize_t)size);
	free(buf);
	return fd;
}

static uint64_t
sum_all(const uint8_t *p, size_t len)
{
	uint64_t s = 0;

	for (size_t i = 0; i < len; i++)
		s += p[i];
	return s;
}

/* Unchanged file: the bytes are the file's, the status 0. */
static void
test_whole_file(void **state)
{
	char path[256];
	int fd = make_file(path, FSIZE);
	struct oce_srcmap m;

	(void)state;
	assert_int_equal(oce_srcmap_map(&m, fd, FSIZE), 0);
	assert_int_equal(m.p[0], 1);
	assert_int_equal(m.p[FSIZE - 1], (uint8_t)((FSIZE - 1) * 7 + 1));
	assert_int_equal(oce_srcmap_status(&m, fd), 0);
	oce_srcmap_unmap(&m);
	assert_null(m.p);
	close(fd);
	unlink(path);
}

/* Shrunk by many pages while mapped: zeros past the end, no signal kills us, ENODATA. */
static void
test_shrunk_far(void **state)
{
	char path[256];
	int fd = make_file(path, FSIZE);
	struct oce_srcmap m;
	uint64_t tail;

	(void)state;
	assert_int_equal(oce_srcmap_map(&m, fd, FSIZE), 0);
	assert_int_equal(m.p[8192], (uint8_t)(8192 * 7 + 1));
	assert_int_equal(ftruncate(fd, 10000), 0);
	/* the first page past the end raises SIGBUS: caught, zeros from there */
	tail = sum_all(m.p + 12288, FSIZE - 12288);
	assert_true(tail == 0);
	/* what is left of the file still reads as the file */
	assert_int_equal(m.p[9999], (uint8_t)(9999 * 7 + 1));
	assert_int_equal(oce_srcmap_status(&m, fd), ENODATA);
	oce_srcmap_unmap(&m);
	close(fd);
	unlink(path);
}

/* Shrunk within its last page: no signal at all, but the status says so. */
static void
test_shrunk_last_page(void **state)
{
	char path[256];
	int fd = make_file(path, FSIZE);
	struct oce_srcmap m;

	(void)state;
	assert_int_equal(oce_srcmap_map(&m, fd, FSIZE), 0);
	assert_int_equal(ftruncate(fd, FSIZE - 50), 0);
	assert_int_equal(m.p[FSIZE - 1], 0);
	assert_int_equal(oce_srcmap_status(&m, fd), ENODATA);
	oce_srcmap_unmap(&m);
	close(fd);
	unlink(path);
}

/* Many threads, each with its own file shrinking under it. */
struct tjob {
	int n;
	int ok;
};

static void *
shrink_thread(void *arg)
{
	struct tjob *t = arg;

	for (int k = 0; k < 20; k++) {
		char path[256];
		int fd = make_file(path, 256 * 1024 + (size_t)t->n * 4096);
		struct oce_srcmap m;
		size_t len = 256 * 1024 + (size_t)t->n * 4096;

		if (oce_srcmap_map(&m, fd, len)) {
			close(fd);
			unlink(path);
			return NULL;
		}
		if (ftruncate(fd, 4096 * (size_t)(k % 3)) == 0 && sum_all(m.p + 4096 * 3, len - 4096 * 3) == 0 &&
		    oce_srcmap_status(&m, fd) == ENODATA)
			t->ok++;
		oce_srcmap_unmap(&m);
		close(fd);
		unlink(path);
	}
	return NULL;
}

static void
test_threads(void **state)
{
	pthread_t tid[6];
	struct tjob jobs[6];

	(void)state;
	for (int i = 0; i < 6; i++) {
		jobs[i] = (struct tjob){.n = i};
		assert_int_equal(pthread_create(&tid[i], NULL, shrink_thread, &jobs[i]), 0);
	}
	for (int i = 0; i < 6; i++) {
		pthread_join(tid[i], NULL);
		assert_int_equal(jobs[i].ok, 20);
	}
}

/* A SIGBUS outside our mappings still goes to the handler installed before ours. */
static sigjmp_buf other_jb;
static volatile sig_atomic_t other_seen;

static void
other_handler(int sig)
{
	(void)sig;
	other_seen = 1;
	siglongjmp(other_jb, 1);
}

static void
test_foreign_fault(void **state)
{
	char path[256];
	int fd = make_file(path, 8192), fd2;
	struct oce_srcmap m;
	volatile uint8_t *foreign;

	(void)state;
	/* a handler of the program's own, set before srcmap installs its one */
	signal(SIGBUS, other_handler);
	/* (installation happens on the first map; earlier tests may have done it,
	 * in which case ours chains to whatever was there then) */
	assert_int_equal(oce_srcmap_map(&m, fd, 8192), 0);
	fd2 = open(path, O_RDONLY);
	assert_true(fd2 >= 0);
	foreign = mmap(NULL, 8192, PROT_READ, MAP_PRIVATE, fd2, 0);
	assert_true(foreign != MAP_FAILED);
	assert_int_equal(ftruncate(fd, 0), 0);
	if (!sigsetjmp(other_jb, 1))
		(void)foreign[4096];
	oce_srcmap_unmap(&m);
	munmap((void *)foreign, 8192);
	close(fd2);
	close(fd);
	unlink(path);
	signal(SIGBUS, SIG_DFL);
	/* only meaningful when this test installed srcmap's handler (run first) */
	assert_int_equal(other_seen, 1);
}

static void
test_spoil_sum(void **state)
{
	uint8_t a[16], b[16] = {0}, want[16] = {0};

	(void)state;
	memset(a, 0xab, sizeof(a));
	oce_srcmap_spoil_sum(a, sizeof(a));
	assert_memory_equal(a, want, sizeof(a));
	oce_srcmap_spoil_sum(b, sizeof(b));
	want[15] = 1;
	assert_memory_equal(b, want, sizeof(b));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    /* first: it sets the handler srcmap finds at its installation */
	    cmocka_unit_test(test_foreign_fault),
	    cmocka_unit_test(test_whole_file),
	    cmocka_unit_test(test_shrunk_far),
	    cmocka_unit_test(test_shrunk_last_page),
	    cmocka_unit_test(test_threads),
	    cmocka_unit_test(test_spoil_sum),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
