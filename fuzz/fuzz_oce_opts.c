/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * libFuzzer target for the command-line parser (apps/engine/options*.c):
 * client, --server and --daemon tables, every implication and check in
 * settle(). The parser never exits: it must return one of its three
 * results, an exit code in upstream's range on errors (0 otherwise), and
 * leave nothing behind once oce_opts_free() ran (LeakSanitizer). On
 * success, the server argument vector must build, be NULL-terminated and
 * parse again as a --server command line. Any violation traps.
 *
 * Input: the arguments after argv[0], separated by NUL bytes (at most
 * MAX_ARGS of them).
 *
 * What the parser reads besides argv is pinned so runs stay repeatable:
 * stdin is /dev/null (for "--exclude-from=-"), stdout goes to /dev/null
 * (--help, --version), and inputs naming a pattern file under /dev, /proc
 * or /sys are skipped (a FIFO or /dev/zero would only hang the parser as
 * it hangs rsync; that is the user's own command line). The parser's
 * messages go through the stdio stream stderr, which is pointed at
 * /dev/null too (they filled 2 MB of log a second); libFuzzer kept its own
 * copy of the stream at start-up and the sanitizers write to fd 2, so
 * their reports still show.
 */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apps/engine/errcode.h"
#include "apps/engine/opts.h"

#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c))                                                                          \
			__builtin_trap();                                                          \
	} while (0)

#define MAX_ARGS 64

int LLVMFuzzerInitialize(int *argc, char ***argv);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int fd = open("/dev/null", O_RDWR);

	(void)argc;
	(void)argv;
	FILE *quiet = fopen("/dev/null", "w");

	if (fd >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		if (fd > 2)
			close(fd);
	}
	if (quiet)
		stderr = quiet;
	return 0;
}

/* A file name the parser would open that could block or never end. */
static int
special_file(const char *a)
{
	static const char *const bad[] = {"dev", "proc", "sys", "fd/"};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (strstr(a, bad[i]))
			return 1;
	}
	return 0;
}

/* The server's view: what the client would send, parsed in --server mode. */
static void
check_server_args(const struct oce_opts *o)
{
	struct oce_strv sv = {0};
	struct oce_opts so;
	int code = 0;

	if (o->server || o->daemon)
		return;
	if (oce_server_args(o, false, 0, &sv))
		return; /* -ENOMEM only */
	CHECK(sv.v && sv.n >= 2 && sv.v[sv.n] == NULL);
	CHECK(!strcmp(sv.v[0], "--server"));
	for (size_t i = 0; i < sv.n; i++)
		CHECK(sv.v[i] != NULL);
	/* argv[0] is skipped by the parser: put one in front */
	{
		char **argv = calloc(sv.n + 2, sizeof(*argv));

		if (argv) {
			argv[0] = (char *)"oc-rsync";
			memcpy(argv + 1, sv.v, sv.n * sizeof(*argv));
			(void)oce_opts_parse(&so, (int)sv.n + 1, argv, &code);
			CHECK(code >= 0 && code <= 255);
			oce_opts_free(&so);
			free(argv);
		}
	}
	oce_strv_free(&sv);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf, *argv[MAX_ARGS + 2];
	int argc = 1, code = -1;
	struct oce_opts o;
	enum oce_parse_result r;
	size_t i = 0;

	buf = malloc(size + 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	argv[0] = (char *)"oc-rsync";
	while (i < size && argc <= MAX_ARGS) {
		argv[argc] = buf + i;
		if (special_file(argv[argc]))
			goto out;
		argc++;
		i += strlen(buf + i) + 1;
	}
	argv[argc] = NULL;

	r = oce_opts_parse(&o, argc, argv, &code);
	switch (r) {
	case OCE_PARSE_RUN:
		CHECK(code == 0);
		check_server_args(&o);
		break;
	case OCE_PARSE_EXIT_OK:
		CHECK(code == 0);
		break;
	case OCE_PARSE_ERROR:
		CHECK(code > 0 && code <= 255 && code != RERR_OK);
		break;
	default:
		CHECK(0);
	}
	oce_opts_free(&o);
out:
	free(buf);
	return 0;
}
