/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for apps/engine/opts.h: short clusters and -a, --no-OPTION,
 * refused and unknown options, --info/--debug levels, sizes with units,
 * filters, daemon mode, and the server argument vector in both directions.
 *
 * The server_vectors[] were captured from rsync 3.5.0 with a fake remote
 * shell that logs its arguments instead of running anything:
 *   rsh.sh:  shift; for a in "$@"; do printf '[%s]' "$a"; done >> log; exit 1
 *   rsync -e ./rsh.sh OPTIONS src/ h:dst/     (push: the server receives)
 *   rsync -e ./rsh.sh OPTIONS h:src/ dst/     (pull: the server sends)
 * with the leading "rsync" and the trailing path removed; the comment above
 * each vector is the command. The capability letters after "e." are what
 * that rsync advertised (no 'i' where it turns incremental recursion off).
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "apps/engine/errcode.h"
#include "apps/engine/opts.h"
#include "ocproto/negotiate.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define MAX_ARGS 64

/* What a parse printed: stdout and stderr go to one scratch file. */
static char captured[65536];

/*
 * Run oce_opts_parse() on "oc-rsync" + the given words, with stdout and
 * stderr captured so the TAP output stays clean.
 */
static enum oce_parse_result
parse_argv(struct oce_opts *o, int *ec, int argc, char **argv)
{
	char path[] = "/tmp/test_oce_opts.XXXXXX";
	int fd = mkstemp(path), save1, save2;
	enum oce_parse_result r;
	ssize_t n;

	assert_true(fd >= 0);
	unlink(path);
	fflush(stdout);
	fflush(stderr);
	save1 = dup(1);
	save2 = dup(2);
	dup2(fd, 1);
	dup2(fd, 2);
	r = oce_opts_parse(o, argc, argv, ec);
	fflush(stdout);
	fflush(stderr);
	dup2(save1, 1);
	dup2(save2, 2);
	close(save1);
	close(save2);
	n = pread(fd, captured, sizeof(captured) - 1, 0);
	captured[n > 0 ? n : 0] = '\0';
	close(fd);
	return r;
}

static enum oce_parse_result
parsev(struct oce_opts *o, int *ec, ...)
{
	char *argv[MAX_ARGS + 1] = {"oc-rsync"};
	int argc = 1;
	va_list ap;
	char *a;

	va_start(ap, ec);
	while ((a = va_arg(ap, char *)) != NULL && argc < MAX_ARGS)
		argv[argc++] = a;
	va_end(ap);
	argv[argc] = NULL;
	return parse_argv(o, ec, argc, argv);
}

#define PARSE(o, ec, ...) parsev(o, ec, __VA_ARGS__, (char *)NULL)

/* Parse words that must succeed. */
#define PARSE_OK(o, ...)                                                                           \
	do {                                                                                       \
		int ec_;                                                                           \
		assert_int_equal(PARSE(o, &ec_, __VA_ARGS__), OCE_PARSE_RUN);                      \
	} while (0)

/* "[a][b]..." for comparing vectors in one assertion. */
static void
join(const struct oce_strv *sv, char *out, size_t cap)
{
	size_t pos = 0;

	out[0] = '\0';
	for (size_t i = 0; i < sv->n; i++)
		pos += (size_t)snprintf(out + pos, cap - pos, "[%s]", sv->v[i]);
}

static void
assert_strv(const struct oce_strv *sv, const char *expect)
{
	char buf[2048];

	join(sv, buf, sizeof(buf));
	assert_string_equal(buf, expect);
}

/* --- defaults, clusters, -a, --no-OPTION ------------------------------------- */

static void
test_defaults(void **state)
{
	struct oce_opts o;

	(void)state;
	PARSE_OK(&o, "src/", "dst/");
	assert_int_equal(o.max_size, -1);
	assert_int_equal(o.min_size, -1);
	assert_int_equal(o.max_delete, -1);
	assert_int_equal(o.compress_level, -1);
	assert_false(o.compress_level_set);
	assert_int_equal(o.whole_file, -1);
	assert_int_equal(o.human, 1);
	assert_string_equal(o.suffix, "~");
	assert_null(o.partial_dir);
	assert_null(o.out_format);
	assert_false(o.recursive);
	assert_false(o.dirs);
	assert_false(o.list_only);
	assert_int_equal(o.delete_mode, OCE_DEL_NONE);
	/* Verbosity level 0 still means NONREG 1, as upstream. */
	for (int i = 0; i < OCE_INFO_COUNT; i++)
		assert_int_equal(o.info[i], i == OCE_INFO_NONREG);
	for (int i = 0; i < OCE_DEBUG_COUNT; i++)
		assert_int_equal(o.debug[i], 0);
	assert_int_equal(o.args.n, 2);
	assert_string_equal(o.args.v[0], "src/");
	assert_null(o.args.v[2]);
	oce_opts_free(&o);

	/* One path: list it (upstream list_only), which also means -d. */
	PARSE_OK(&o, "src/");
	assert_true(o.list_only);
	assert_true(o.dirs);
	assert_false(o.dirs_opt);
	oce_opts_free(&o);
}

static void
test_archive_cluster(void **state)
{
	struct oce_opts o;

	(void)state;
	PARSE_OK(&o, "-avzH", "src/", "dst/");
	assert_true(o.recursive && o.links && o.perms && o.times && o.group && o.owner);
	assert_true(o.devices && o.specials);
	assert_true(o.dirs); /* recursion transfers directories */
	assert_int_equal(o.verbose, 1);
	assert_int_equal(o.compress, 1);
	assert_true(oce_opts_compress_requested(&o));
	assert_true(o.hard_links);
	oce_opts_free(&o);

	PARSE_OK(&o, "-rlptgoD", "-HH", "-xx", "-ii", "-hh", "src/", "dst/");
	assert_true(o.recursive && o.links && o.perms && o.times && o.group && o.owner);
	assert_int_equal(o.hard_links_count, 2);
	assert_int_equal(o.one_file_system, 2);
	assert_int_equal(o.itemize, 2);
	assert_int_equal(o.human, 3);
	oce_opts_free(&o);

	PARSE_OK(&o, "-nrdLkKESUOIcuRWC", "src/", "dst/");
	assert_true(o.dry_run && o.recursive && o.copy_links && o.copy_dirlinks);
	assert_true(o.keep_dirlinks && o.executability && o.sparse && o.atimes);
	assert_true(o.omit_dir_times && o.ignore_times && o.checksum && o.update);
	assert_true(o.relative);
	assert_int_equal(o.whole_file, 1);
	assert_int_equal(o.cvs_exclude, 1);
	assert_false(o.dirs_opt); /* -d is forgotten under -r, as upstream */
	oce_opts_free(&o);

	PARSE_OK(&o, "-d", "src/", "dst/");
	assert_true(o.dirs && o.dirs_opt);
	oce_opts_free(&o);
}

static void
test_no_option(void **state)
{
	struct oce_opts o;

	(void)state;
	PARSE_OK(&o, "-a", "--no-o", "--no-g", "--no-D", "--no-perms", "--no-t", "--no-l", "src/",
		 "dst/");
	assert_true(o.recursive);
	assert_false(o.owner || o.group || o.devices || o.specials || o.perms || o.times ||
		     o.links);
	oce_opts_free(&o);

	PARSE_OK(&o, "-a", "--no-r", "-vv", "--no-v", "-z", "--no-z", "-W", "--no-W", "-H",
		 "--no-H", "-h", "--no-h", "-x", "--no-x", "-R", "--no-R", "src/", "dst/");
	assert_false(o.recursive);
	assert_int_equal(o.verbose, 0);
	assert_int_equal(o.compress, 0);
	assert_int_equal(o.whole_file, 0);
	assert_false(o.hard_links);
	assert_int_equal(o.human, 0);
	assert_int_equal(o.one_file_system, 0);
	assert_false(o.relative);
	oce_opts_free(&o);

	/* -D is --devices --specials; each half alone. */
	PARSE_OK(&o, "-D", "src/", "dst/");
	assert_true(o.devices && o.specials);
	oce_opts_free(&o);
	PARSE_OK(&o, "--devices", "src/", "dst/");
	assert_true(o.devices);
	assert_false(o.specials);
	oce_opts_free(&o);
	PARSE_OK(&o, "-a", "--no-specials", "src/", "dst/");
	assert_true(o.devices);
	assert_false(o.specials);
	oce_opts_free(&o);

	/* --no-OPTION forms of what we never do are accepted. */
	PARSE_OK(&o, "--no-xattrs", "--no-A", "--no-i-r", "--no-inc-recursive", "--no-iconv",
		 "--no-fuzzy", "--no-s", "--no-crtimes", "src/", "dst/");
	oce_opts_free(&o);
}

static void
test_delete(void **state)
{
	struct oce_opts o;
	int ec;

	(void)state;
	PARSE_OK(&o, "-r", "--delete", "src/", "dst/");
	assert_int_equal(o.delete_mode, OCE_DEL_DURING); /* protocol 30+ */
	assert_true(o.delete_plain);
	oce_opts_free(&o);
	PARSE_OK(&o, "-r", "--del", "src/", "dst/");
	assert_int_equal(o.delete_mode, OCE_DEL_DURING);
	assert_false(o.delete_plain);
	oce_opts_free(&o);
	PARSE_OK(&o, "-r", "--delete-before", "src/", "dst/");
	assert_int_equal(o.delete_mode, OCE_DEL_BEFORE);
	oce_opts_free(&o);
	PARSE_OK(&o, "-r", "--delete-delay", "src/", "dst/");
	assert_int_equal(o.delete_mode, OCE_DEL_DELAY);
	oce_opts_free(&o);
	PARSE_OK(&o, "-r", "--delete-after", "--delete", "src/", "dst/");
	assert_int_equal(o.delete_mode, OCE_DEL_AFTER);
	assert_false(o.delete_plain);
	oce_opts_free(&o);
	PARSE_OK(&o, "-r", "--delete-excluded", "--max-delete=-3", "src/", "dst/");
	assert_int_equal(o.delete_mode, OCE_DEL_DURING);
	assert_true(o.delete_plain && o.delete_excluded);
	assert_int_equal(o.max_delete, 0); /* negative: no deletions */
	oce_opts_free(&o);

	assert_int_equal(PARSE(&o, &ec, "-r", "--delete-before", "--delete-after", "a", "b"),
			 OCE_PARSE_ERROR);
	assert_int_equal(ec, RERR_SYNTAX);
	assert_non_null(strstr(captured, "You may not combine multiple --delete-WHEN options."));
	oce_opts_free(&o);
	assert_int_equal(PARSE(&o, &ec, "--delete", "a", "b"), OCE_PARSE_ERROR);
	assert_non_null(strstr(captured, "--delete does not work without --recursive (-r) or "
					 "--dirs (-d)."));
	oce_opts_free(&o);
}

static void
test_partial_inplace_backup(void **state)
{
	struct oce_opts o;
	int ec;

	(void)state;
	PARSE_OK(&o, "-P", "src/", "dst/");
	assert_true(o.progress && o.partial);
	oce_opts_free(&o);
	PARSE_OK(&o, "--partial-dir=./p//q/", "src/", "dst/");
	assert_true(o.partial);
	assert_string_equal(o.partial_dir, "p/q");
	oce_opts_free(&o);
	PARSE_OK(&o, "--partial-dir=a/../b", "src/", "dst/");
	assert_string_equal(o.partial_dir, "b");
	oce_opts_free(&o);
	PARSE_OK(&o, "--partial-dir=.", "src/", "dst/");
	assert_null(o.partial_dir);
	assert_true(o.partial);
	oce_opts_free(&o);
	PARSE_OK(&o, "--inplace", "--partial", "src/", "dst/");
	assert_true(o.inplace);
	assert_false(o.partial);
	oce_opts_free(&o);
	PARSE_OK(&o, "--append", "src/", "dst/");
	assert_int_equal(o.append, 1);
	assert_true(o.inplace);
	oce_opts_free(&o);
	PARSE_OK(&o, "--append-verify", "src/", "dst/");
	assert_int_equal(o.append, 2);
	oce_opts_free(&o);
	assert_int_equal(PARSE(&o, &ec, "--inplace", "--partial-dir=x", "a", "b"), OCE_PARSE_ERROR);
	assert_non_null(
	    strstr(captured, "oc-rsync: --inplace cannot be used with --partial-dir\n"));
	oce_opts_free(&o);
	assert_int_equal(PARSE(&o, &ec, "--append", "-W", "a", "b"), OCE_PARSE_ERROR);
	assert_non_null(strstr(captured, "--append cannot be used with --whole-file"));
	oce_opts_free(&o);

	PARSE_OK(&o, "-b", "src/", "dst/");
	assert_true(o.backup);
	assert_string_equal(o.suffix, "~");
	assert_true(o.omit_dir_times); /* implied by -b without --backup-dir */
	oce_opts_free(&o);
	PARSE_OK(&o, "--backup-dir=./bk/", "src/", "dst/");
	assert_true(o.backup);
	assert_string_equal(o.backup_dir, "bk/");
	assert_string_equal(o.suffix, "");
	assert_false(o.omit_dir_times);
	oce_opts_free(&o);
	assert_int_equal(PARSE(&o, &ec, "--backup-dir=.", "a", "b"), OCE_PARSE_ERROR);
	assert_non_null(strstr(captured, "--suffix cannot be empty when --backup-dir is the same "
					 "as the dest dir"));
	oce_opts_free(&o);
	assert_int_equal(PARSE(&o, &ec, "-b", "--suffix=a/b", "a", "b"), OCE_PARSE_ERROR);
	assert_non_null(strstr(captured, "--suffix cannot contain slashes: a/b"));
	oce_opts_free(&o);
}

/* --- refused and unknown options -------------------------------------------- */

static void
test_refused(void **state)
{
	static const char *const refused[][2] = {
	    {"-aX", "oc-rsync: --xattrs (-X): not supported\n"},
	    {"--acls", "oc-rsync: --acls (-A): not supported\n"},
	    {"--fuzzy", "oc-rsync: --fuzzy (-y): not supported\n"},
	    {"--chmod=u+x", "oc-rsync: --chmod: not supported\n"},
	    {"--iconv=utf8", "oc-rsync: --iconv: not supported\n"},
	    {"--remove-source-files", "oc-rsync: --remove-source-files: not supported\n"},
	    {"--inc-recursive", "oc-rsync: --inc-recursive: not supported\n"},
	    {"--write-batch=b", "oc-rsync: --write-batch: not supported\n"},
	    {"-s", "oc-rsync: --secluded-args (-s): not supported\n"},
	    {"-UU", "oc-rsync: -UU: not supported"},
	};
	struct oce_opts o;
	int ec;

	(void)state;
	for (size_t i = 0; i < NELEM(refused); i++) {
		ec = 0;
		assert_int_equal(PARSE(&o, &ec, "-r", (char *)refused[i][0], "src/", "dst/"),
				 OCE_PARSE_ERROR);
		assert_int_equal(ec, RERR_SYNTAX);
		assert_non_null(strstr(captured, refused[i][1]));
		assert_non_null(
		    strstr(captured, "oc-rsync error: syntax or usage error (code 1) at "));
		assert_non_null(strstr(captured, "[client=" OCE_VERSION "]\n"));
		oce_opts_free(&o);
	}
	/* An option argument is still required before the refusal. */
	assert_int_equal(PARSE(&o, &ec, "--chmod"), OCE_PARSE_ERROR);
	assert_non_null(strstr(captured, "oc-rsync: --chmod: missing argument\n"));
	oce_opts_free(&o);
}

static void
test_unknown(void **state)
{
	static const char *const bad[][2] = {
	    {"--bogus", "oc-rsync: --bogus: unknown option\n"},
	    {"-avQ", "oc-rsync: -avQ: unknown option\n"},
	    {"--no-bogus", "oc-rsync: --no-bogus: unknown option\n"},
	    {"--timeout=abc", "oc-rsync: --timeout=abc: invalid numeric value\n"},
	    {"--timeout=99999999999",
	     "oc-rsync: --timeout=99999999999: number too large or too small\n"},
	    {"--verbose=3", "oc-rsync: --verbose=3: option does not take an argument\n"},
	    {"--max-size=1Q", "oc-rsync: --max-size=1Q is invalid\n"},
	    {"--info=bogus", "Unknown --info item: \"bogus\"\n"},
	    {"--debug=flist,bogus2", "Unknown --debug item: \"bogus\"\n"},
	    {"-Mfoo", "oc-rsync: Remote option must start with a dash: foo\n"},
	    {"--protocol=29", "oc-rsync: --protocol=29: not supported"},
	    {"--sender", "Usage: oc-rsync"},
	};
	struct oce_opts o;
	int ec;

	(void)state;
	for (size_t i = 0; i < NELEM(bad); i++) {
		assert_int_equal(PARSE(&o, &ec, (char *)bad[i][0], "src/", "dst/"),
				 OCE_PARSE_ERROR);
		assert_int_equal(ec, RERR_SYNTAX);
		assert_non_null(strstr(captured, bad[i][1]));
		assert_non_null(strstr(captured, "(code 1)"));
		oce_opts_free(&o);
	}
	/* Names the peers negotiate later: upstream exits with code 4 for these. */
	assert_int_equal(PARSE(&o, &ec, "--zc=bogus", "a", "b"), OCE_PARSE_ERROR);
	assert_int_equal(ec, RERR_UNSUPPORTED);
	assert_non_null(strstr(captured, "unknown compress name: bogus\n"));
	oce_opts_free(&o);
	assert_int_equal(PARSE(&o, &ec, "--cc=md5,bogus", "a", "b"), OCE_PARSE_ERROR);
	assert_int_equal(ec, RERR_UNSUPPORTED);
	assert_non_null(strstr(captured, "unknown checksum name: bogus\n"));
	oce_opts_free(&o);
	/* The server says where the error is. */
	assert_int_equal(PARSE(&o, &ec, "--server", "--bogus", ".", "x"), OCE_PARSE_ERROR);
	assert_non_null(strstr(captured, "oc-rsync: on remote machine: --bogus: unknown option\n"));
	assert_non_null(strstr(captured, "[server=" OCE_VERSION "]"));
	oce_opts_free(&o);
}

/* --- output levels ------------------------------------------------------------ */

static void
test_info_debug(void **state)
{
	struct oce_opts o;
	int ec;

	(void)state;
	PARSE_OK(&o, "-v", "src/", "dst/");
	for (int i = 0; i < OCE_INFO_COUNT; i++) {
		bool on = i == OCE_INFO_NONREG || i == OCE_INFO_COPY || i == OCE_INFO_DEL ||
			  i == OCE_INFO_FLIST || i == OCE_INFO_MISC || i == OCE_INFO_NAME ||
			  i == OCE_INFO_STATS || i == OCE_INFO_SYMSAFE;

		assert_int_equal(o.info[i], on);
	}
	assert_string_equal(o.out_format, "%n%L");
	assert_int_equal(o.info_user, 0);
	oce_opts_free(&o);

	PARSE_OK(&o, "-vvv", "src/", "dst/");
	assert_int_equal(o.info[OCE_INFO_NAME], 2);
	assert_int_equal(o.info[OCE_INFO_MISC], 2);
	assert_int_equal(o.info[OCE_INFO_SKIP], 1);
	assert_int_equal(o.debug[OCE_DEBUG_BIND], 1);
	assert_int_equal(o.debug[OCE_DEBUG_DELTASUM], 2);
	assert_int_equal(o.debug[OCE_DEBUG_CONNECT], 2);
	assert_int_equal(o.debug[OCE_DEBUG_RECV], 1);
	assert_int_equal(o.debug[OCE_DEBUG_PROTO], 0);
	oce_opts_free(&o);

	/* What the user asked for outranks what -v implies, in any order. */
	PARSE_OK(&o, "--info=name2,flist0", "-v", "src/", "dst/");
	assert_int_equal(o.info[OCE_INFO_NAME], 2);
	assert_int_equal(o.info[OCE_INFO_FLIST], 0);
	assert_int_equal(o.info[OCE_INFO_COPY], 1);
	assert_int_equal(o.info_user, (1u << OCE_INFO_NAME) | (1u << OCE_INFO_FLIST));
	oce_opts_free(&o);
	PARSE_OK(&o, "--info=NONE", "-vv", "src/", "dst/");
	for (int i = 0; i < OCE_INFO_COUNT; i++)
		assert_int_equal(o.info[i], 0);
	assert_int_equal(o.info_user, (1u << OCE_INFO_COUNT) - 1);
	oce_opts_free(&o);
	PARSE_OK(&o, "--debug=ALL", "--debug=hash0,Io9", "src/", "dst/");
	for (int i = 0; i < OCE_DEBUG_COUNT; i++)
		assert_int_equal(o.debug[i], i == OCE_DEBUG_HASH ? 0 : i == OCE_DEBUG_IO ? 4 : 1);
	oce_opts_free(&o);

	PARSE_OK(&o, "--stats", "src/", "dst/");
	assert_int_equal(o.info[OCE_INFO_STATS], 2);
	oce_opts_free(&o);
	PARSE_OK(&o, "-vv", "--stats", "src/", "dst/");
	assert_int_equal(o.info[OCE_INFO_STATS], 3);
	oce_opts_free(&o);
	PARSE_OK(&o, "--progress", "src/", "dst/");
	assert_int_equal(o.info[OCE_INFO_PROGRESS], 1);
	assert_int_equal(o.info[OCE_INFO_FLIST], 2);
	assert_int_equal(o.info[OCE_INFO_NAME], 1);
	assert_string_equal(o.out_format, "%n%L");
	oce_opts_free(&o);
	/* -i names files itself, before the transfer: --progress adds no NAME. */
	PARSE_OK(&o, "-i", "--progress", "src/", "dst/");
	assert_string_equal(o.out_format, "%i %n%L");
	assert_int_equal(o.info[OCE_INFO_NAME], 0);
	oce_opts_free(&o);
	PARSE_OK(&o, "--info=progress2", "src/", "dst/");
	assert_int_equal(o.info[OCE_INFO_PROGRESS], 2);
	assert_false(o.progress);
	oce_opts_free(&o);

	assert_int_equal(PARSE(&o, &ec, "--info=help"), OCE_PARSE_EXIT_OK);
	assert_non_null(strstr(captured, "PROGRESS   Mention 1) per-file progress or 2) total "
					 "transfer progress\n"));
	assert_non_null(strstr(captured, "Options added at each level of verbosity:\n0) NONREG\n"
					 "1) COPY,DEL,FLIST,MISC,NAME,STATS,SYMSAFE\n"
					 "2) BACKUP,MISC2,MOUNT,NAME2,REMOVE,SKIP\n"));
	oce_opts_free(&o);
	assert_int_equal(PARSE(&o, &ec, "--debug=help"), OCE_PARSE_EXIT_OK);
	assert_non_null(strstr(captured, "5) CHDIR,DELTASUM4,FLIST4,FUZZY2,HASH,HLINK\n"));
	oce_opts_free(&o);
	assert_string_equal(oce_info_name(OCE_INFO_SYMSAFE), "SYMSAFE");
	assert_string_equal(oce_debug_name(OCE_DEBUG_TIME), "TIME");
}

/* --- sizes and numbers -------------------------------------------------------- */

static void
test_sizes(void **state)
{
	static const struct {
		const char *arg;
		int64_t bytes;
	} sizes[] = {
	    {"1.5k", 1536},	{"1kb+1", 1001},
	    {"1M-1", 1048575},	{"2KiB", 2048},
	    {"1G", 1073741824}, {"10", 10},
	    {"0", 0},		{"1b", 1},
	    {"3.5MB", 3500000}, {"1T", 1099511627776LL},
	};
	static const char *const bad_sizes[][2] = {
	    {"1Q", "--max-size=1Q is invalid\n"},
	    {"-5", "--max-size=-5 is too large\n"},
	    {"1.5.5", "--max-size=1.5.5 is invalid\n"},
	    {"99999P", "--max-size=99999P is too large\n"},
	    {"1kx", "--max-size=1kx is invalid\n"},
	};
	static const struct {
		const char *arg;
		int64_t bytes;
	} rates[] = {
	    {"100", 102400}, {"1.5", 2048},  {"1M", 1048576},
	    {"0", 0},	     {"512b", 1024}, {"1000", 1024000},
	};
	struct oce_opts o;
	char buf[64];
	int ec;

	(void)state;
	for (size_t i = 0; i < NELEM(sizes); i++) {
		snprintf(buf, sizeof(buf), "--max-size=%s", sizes[i].arg);
		PARSE_OK(&o, buf, "--min-size", (char *)sizes[i].arg, "src/", "dst/");
		assert_int_equal(o.max_size, sizes[i].bytes);
		assert_int_equal(o.min_size, sizes[i].bytes);
		oce_opts_free(&o);
	}
	for (size_t i = 0; i < NELEM(bad_sizes); i++) {
		snprintf(buf, sizeof(buf), "--max-size=%s", bad_sizes[i][0]);
		assert_int_equal(PARSE(&o, &ec, buf, "a", "b"), OCE_PARSE_ERROR);
		assert_int_equal(ec, RERR_SYNTAX);
		assert_non_null(strstr(captured, bad_sizes[i][1]));
		oce_opts_free(&o);
	}
	for (size_t i = 0; i < NELEM(rates); i++) {
		snprintf(buf, sizeof(buf), "--bwlimit=%s", rates[i].arg);
		PARSE_OK(&o, buf, "src/", "dst/");
		assert_int_equal(o.bwlimit, rates[i].bytes);
		oce_opts_free(&o);
	}
	assert_int_equal(PARSE(&o, &ec, "--bwlimit=1b", "a", "b"), OCE_PARSE_ERROR);
	assert_non_null(
	    strstr(captured, "--bwlimit=1b is too small (min: 512 or 0 for unlimited)"));
	oce_opts_free(&o);

	PARSE_OK(&o, "-B", "2048", "--timeout=0x10", "--contimeout=010", "--modify-window=-1",
		 "--checksum-seed=305419896", "--compress-level=-5", "--port=8730", "src/", "dst/");
	assert_int_equal(o.block_size, 2048);
	assert_int_equal(o.timeout, 16); /* base 0, as popt reads numbers */
	assert_int_equal(o.contimeout, 8);
	assert_int_equal(o.modify_window, -1);
	assert_true(o.modify_window_set);
	assert_int_equal(o.checksum_seed, 305419896);
	assert_true(o.checksum_seed_set);
	assert_int_equal(o.compress_level, -5);
	assert_true(o.compress_level_set);
	assert_true(oce_opts_compress_requested(&o));
	assert_int_equal(o.port, 8730);
	oce_opts_free(&o);
	PARSE_OK(&o, "--block-size=1k", "src/", "dst/");
	assert_int_equal(o.block_size, 1024);
	oce_opts_free(&o);
	assert_int_equal(PARSE(&o, &ec, "-B99999999", "a", "b"), OCE_PARSE_ERROR);
	assert_non_null(strstr(captured, "oc-rsync: --block-size=99999999 is too large (max: "
					 "128.00K)\n"));
	oce_opts_free(&o);
}

static void
test_compress_checksum(void **state)
{
	struct oce_opts o;

	(void)state;
	PARSE_OK(&o, "-zz", "src/", "dst/");
	assert_string_equal(o.compress_choice, "zlibx");
	assert_true(oce_opts_compress_requested(&o));
	oce_opts_free(&o);
	PARSE_OK(&o, "-z", "--zc=none", "src/", "dst/");
	assert_string_equal(o.compress_choice, "none");
	assert_false(oce_opts_compress_requested(&o));
	oce_opts_free(&o);
	PARSE_OK(&o, "--compress-choice=zstd", "src/", "dst/");
	assert_true(oce_opts_compress_requested(&o));
	oce_opts_free(&o);
	PARSE_OK(&o, "-z", "--zc=auto", "--old-compress", "--no-compress", "src/", "dst/");
	assert_null(o.compress_choice);
	assert_false(oce_opts_compress_requested(&o));
	oce_opts_free(&o);
	PARSE_OK(&o, "--new-compress", "src/", "dst/");
	assert_string_equal(o.compress_choice, "zlibx");
	oce_opts_free(&o);

	PARSE_OK(&o, "--cc=none", "src/", "dst/");
	assert_string_equal(o.checksum_choice, "none");
	assert_int_equal(o.whole_file, 1); /* no transfer checksum, no delta */
	oce_opts_free(&o);
	PARSE_OK(&o, "--checksum-choice=AUTO,auto", "src/", "dst/");
	assert_null(o.checksum_choice);
	oce_opts_free(&o);
	PARSE_OK(&o, "--cc=xxhash,MD5", "src/", "dst/");
	assert_string_equal(o.checksum_choice, "xxhash,MD5");
	assert_int_equal(o.whole_file, -1);
	oce_opts_free(&o);
}

/* --- filters ------------------------------------------------------------------ */

static void
write_file(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
}

static void
test_filters(void **state)
{
	static const char lines[] = "# comment\n; also one\n\n*.o\r\n+ keep\n- drop\r\nlast";
	static const char nul_lines[] = "a\0# b\0\0c d";
	char path[] = "/tmp/test_oce_opts_rules.XXXXXX";
	struct oce_opts o;
	int fd, ec;

	(void)state;
	PARSE_OK(&o, "--exclude=*.o", "--include=foo/", "-f", "- bar", "-F", "-F", "-F",
		 "--exclude=+ keep", "--exclude=!", "--exclude=", "-C", "src/", "dst/");
	assert_strv(&o.filters,
		    "[- *.o][+ foo/][- bar][: /.rsync-filter][- .rsync-filter][+ keep][!]");
	assert_int_equal(o.filter_F, 3);
	assert_int_equal(o.cvs_exclude, 1);
	oce_opts_free(&o);

	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	write_file(path, lines, sizeof(lines) - 1);
	PARSE_OK(&o, "--exclude-from", path, "--include-from", path, "src/", "dst/");
	assert_strv(&o.filters, "[- *.o][+ keep][- drop][- last][+ *.o][+ keep][- drop][+ last]");
	oce_opts_free(&o);
	write_file(path, nul_lines, sizeof(nul_lines) - 1);
	PARSE_OK(&o, "--from0", "--exclude-from", path, "src/", "dst/");
	assert_strv(&o.filters, "[- a][- c d]");
	assert_true(o.from0);
	oce_opts_free(&o);
	unlink(path);
	assert_int_equal(PARSE(&o, &ec, "--exclude-from", path, "a", "b"), OCE_PARSE_ERROR);
	assert_int_equal(ec, RERR_FILEIO);
	assert_non_null(strstr(captured, "failed to open exclude file"));
	oce_opts_free(&o);

	/* Deleting beside backups protects them, after the user's rules. */
	PARSE_OK(&o, "-rb", "--exclude=x", "--delete", "src/", "dst/");
	assert_strv(&o.filters, "[- x][P *~]");
	oce_opts_free(&o);
	PARSE_OK(&o, "-rb", "--delete", "--delete-excluded", "src/", "dst/");
	assert_int_equal(o.filters.n, 0);
	oce_opts_free(&o);
}

static void
test_files_from_and_dests(void **state)
{
	struct oce_opts o;
	int ec;
	char buf[32];

	(void)state;
	PARSE_OK(&o, "--files-from=u@h:list", "src/", "dst/");
	assert_string_equal(o.files_from, "list");
	assert_string_equal(o.filesfrom_host, "u@h");
	assert_true(o.relative && o.dirs);
	assert_false(o.recursive);
	oce_opts_free(&o);
	PARSE_OK(&o, "-a", "--files-from=-", "src/", "dst/");
	assert_string_equal(o.files_from, "-");
	assert_null(o.filesfrom_host);
	assert_false(o.recursive); /* -a's recursion yields to --files-from */
	oce_opts_free(&o);
	PARSE_OK(&o, "-r", "--no-R", "--files-from=list", "src/", "dst/");
	assert_true(o.recursive);
	assert_false(o.relative);
	oce_opts_free(&o);
	PARSE_OK(&o, "-R", "--no-i-d", "src/", "dst/");
	assert_true(o.relative);
	assert_false(o.implied_dirs);
	oce_opts_free(&o);
	PARSE_OK(&o, "-R", "src/", "dst/");
	assert_true(o.implied_dirs);
	oce_opts_free(&o);
	PARSE_OK(&o, "--no-implied-dirs", "--implied-dirs", "src/", "dst/");
	assert_false(o.implied_dirs); /* nothing is implied without -R */
	oce_opts_free(&o);
	PARSE_OK(&o, "--server", "--sender", "-Re.LsfxCIvu", "--files-from=-", "--from0",
		 "--no-implied-dirs", ".", "src/");
	assert_true(o.relative && o.from0 && o.dirs);
	assert_false(o.implied_dirs);
	assert_string_equal(o.files_from, "-");
	oce_opts_free(&o);
	assert_int_equal(PARSE(&o, &ec, "--files-from=h:-", "a", "b"), OCE_PARSE_ERROR);
	assert_non_null(strstr(captured, "Invalid --files-from remote filename"));
	oce_opts_free(&o);
	assert_int_equal(PARSE(&o, &ec, "--files-from=list", "a", "b", "c"), OCE_PARSE_ERROR);
	assert_non_null(strstr(captured, "Usage: oc-rsync"));
	oce_opts_free(&o);

	PARSE_OK(&o, "--link-dest=a", "--link-dest=b", "src/", "dst/");
	assert_int_equal(o.alt_dest_type, OCE_ALT_LINK);
	assert_strv(&o.alt_dest, "[a][b]");
	oce_opts_free(&o);
	assert_int_equal(PARSE(&o, &ec, "--link-dest=a", "--copy-dest=b", "x", "y"),
			 OCE_PARSE_ERROR);
	assert_non_null(strstr(captured, "ERROR: the --copy-dest option conflicts with the "
					 "--link-dest option"));
	oce_opts_free(&o);
	{
		char *argv[MAX_ARGS + 1] = {"oc-rsync"};
		char names[OCE_MAX_ALT_DEST + 1][32];
		int argc = 1;

		for (int i = 0; i <= OCE_MAX_ALT_DEST; i++) {
			snprintf(names[i], sizeof(names[i]), "--compare-dest=d%d", i);
			argv[argc++] = names[i];
		}
		argv[argc++] = "x";
		argv[argc++] = "y";
		assert_int_equal(parse_argv(&o, &ec, argc, argv), OCE_PARSE_ERROR);
		snprintf(buf, sizeof(buf), "at most %d --compare-dest", OCE_MAX_ALT_DEST);
		assert_non_null(strstr(captured, buf));
		oce_opts_free(&o);
	}

	PARSE_OK(&o, "-M--foo", "-M", "-x", "--remote-option=--bar=1", "-e", "ssh -p 22",
		 "--rsync-path=/opt/rsync", "--port=8730", "--address=::1", "--password-file=pw",
		 "--no-motd", "--protocol=31", "-T", "tmp", "src/", "dst/");
	assert_strv(&o.remote_opts, "[--foo][-x][--bar=1]");
	assert_string_equal(o.rsh, "ssh -p 22");
	assert_string_equal(o.rsync_path, "/opt/rsync");
	assert_int_equal(o.port, 8730);
	assert_string_equal(o.address, "::1");
	assert_string_equal(o.password_file, "pw");
	assert_true(o.no_motd);
	assert_int_equal(o.protocol, 31);
	assert_string_equal(o.temp_dir, "tmp");
	assert_false(o.caps_seen);
	oce_opts_free(&o);
}

/* --- --version, --help, daemon mode ------------------------------------------ */

static void
test_version_help(void **state)
{
	struct oce_opts o;
	int ec;

	(void)state;
	assert_int_equal(PARSE(&o, &ec, "--version"), OCE_PARSE_EXIT_OK);
	assert_int_equal(
	    strncmp(captured, "oc-rsync  version " OCE_VERSION "  protocol version 32\n",
		    strlen("oc-rsync  version " OCE_VERSION "  protocol version 32\n")),
	    0);
	/* where the lines wrap depends on the other items */
	assert_non_null(strstr(captured, "no ACLs,"));
	assert_non_null(strstr(captured, "no xattrs"));
	assert_non_null(strstr(captured, " IPv6,"));
	assert_non_null(strstr(captured, "no ACL-at,"));
	assert_non_null(strstr(captured, "no iconv"));
	/* rsync 3.5.0's items only: incremental recursion is not one */
	assert_null(strstr(captured, "inc-recursion"));
	assert_non_null(strstr(captured, OCE_CAN_INPLACE ? " inplace," : "no inplace,"));
	assert_non_null(strstr(captured, OCE_CAN_APPEND ? " append," : "no append,"));
	assert_non_null(strstr(captured, "Checksum list:\n    xxh128 xxh3 xxh64 (xxhash) md5 md4 "
					 "sha1 none\n"));
	assert_non_null(strstr(captured, "Compress list:\n    zstd lz4 zlibx zlib none\n"));
	assert_non_null(strstr(captured, "Daemon auth list:\n    sha512 sha256 sha1 md5 md4\n"));
	oce_opts_free(&o);

	assert_int_equal(PARSE(&o, &ec, "-VV"), OCE_PARSE_EXIT_OK);
	assert_int_equal(strncmp(captured,
				 "{\n  \"program\": \"oc-rsync\",\n  \"version\": \"" OCE_VERSION
				 "\",\n  \"protocol\": \"32.0\",\n",
				 55),
			 0);
	assert_non_null(strstr(captured, "\"ACLs\": false"));
	assert_non_null(strstr(captured, "\"ACL_at\": false"));
	assert_null(strstr(captured, "inc_recursion"));
	assert_non_null(
	    strstr(captured, OCE_CAN_INPLACE ? "\"inplace\": true" : "\"inplace\": false"));
	assert_non_null(strstr(captured, "\"file_bits\": 64"));
	assert_non_null(strstr(captured,
			       "\"checksum_list\": [\n    \"xxh128\", \"xxh3\", \"xxh64\", "
			       "\"md5\", \"md4\", \"sha1\", \"none\"\n  ]"));
	assert_non_null(strstr(captured, "\"license\": \"GPLv3\""));
	assert_int_equal(captured[strlen(captured) - 2], '}');
	oce_opts_free(&o);

	assert_int_equal(PARSE(&o, &ec, "--help"), OCE_PARSE_EXIT_OK);
	assert_non_null(strstr(captured, "Usage: oc-rsync [OPTION]... SRC [SRC]... DEST\n"));
	assert_non_null(strstr(captured, "--delete-delay           find deletions during, delete "
					 "after\n"));
	assert_null(strstr(captured, "--xattrs"));
	oce_opts_free(&o);
	/* -h alone is --help (its old meaning); with paths it is --human-readable. */
	assert_int_equal(PARSE(&o, &ec, "-h"), OCE_PARSE_EXIT_OK);
	assert_non_null(strstr(captured, "Usage: oc-rsync"));
	oce_opts_free(&o);
	PARSE_OK(&o, "-h", "src/", "dst/");
	assert_int_equal(o.human, 2);
	oce_opts_free(&o);
}

static void
test_daemon(void **state)
{
	struct oce_opts o;
	int ec;

	(void)state;
	PARSE_OK(&o, "--daemon", "--port=8730", "--config=x.conf", "--no-detach", "-M",
		 "motd file=x", "--address=127.0.0.1", "-vv", "--bwlimit=100", "-4", "--log-file=l",
		 "--log-file-format=%o", "--sockopts=SO_KEEPALIVE");
	assert_true(o.daemon);
	assert_false(o.server);
	assert_int_equal(o.port, 8730);
	assert_string_equal(o.config, "x.conf");
	assert_true(o.no_detach);
	assert_strv(&o.dparams, "[motd file=x]");
	assert_string_equal(o.address, "127.0.0.1");
	assert_int_equal(o.verbose, 2);
	assert_int_equal(o.bwlimit, 102400);
	assert_int_equal(o.ip_family, 4);
	assert_string_equal(o.log_file, "l");
	assert_string_equal(o.log_file_format, "%o");
	assert_string_equal(o.sockopts, "SO_KEEPALIVE");
	oce_opts_free(&o);

	/* rsync over a remote shell talking to a daemon runs "--server --daemon ." */
	PARSE_OK(&o, "--server", "--daemon", ".");
	assert_true(o.daemon && o.server);
	assert_strv(&o.args, "[.]");
	oce_opts_free(&o);

	assert_int_equal(PARSE(&o, &ec, "--config=x"), OCE_PARSE_ERROR);
	assert_int_equal(ec, RERR_SYNTAX);
	assert_non_null(strstr(captured, "Daemon option(s) used without --daemon.\n"));
	oce_opts_free(&o);
	assert_int_equal(PARSE(&o, &ec, "--daemon", "--bogus"), OCE_PARSE_ERROR);
	assert_non_null(strstr(captured, "oc-rsync: --bogus: unknown option (in daemon mode)\n"));
	oce_opts_free(&o);
	assert_int_equal(PARSE(&o, &ec, "--daemon", "--dparam=x"), OCE_PARSE_ERROR);
	assert_non_null(strstr(captured, "--dparam value is missing an '=': x\n"));
	oce_opts_free(&o);
	assert_int_equal(PARSE(&o, &ec, "--daemon", "--help"), OCE_PARSE_EXIT_OK);
	assert_non_null(strstr(captured, "Usage: oc-rsync --daemon [OPTION]...\n"));
	oce_opts_free(&o);
}

/* --- the server argument vector ------------------------------------------------ */

#define CAPS_ALL  OCP_CF_ALL
#define CAPS_NO_I (OCP_CF_ALL & ~OCP_CF_INC_RECURSE)

static const struct server_vector {
	const char *opts; /* space-separated client options */
	bool pull;	  /* the server sends */
	uint32_t caps;
	const char *expect;
} server_vectors[] = {
    /* rsync -av --delete -z src/ h:dst/ */
    {"-av --delete -z", false, CAPS_ALL, "[--server][-vlogDtprze.iLsfxCIvu][--delete][.]"},
    /* rsync -a h:src/ dst/ */
    {"-a", true, CAPS_ALL, "[--server][--sender][-logDtpre.iLsfxCIvu][.]"},
    /* rsync -n -i --stats --progress src/ h:dst/ */
    {"-n -i --stats --progress", false, CAPS_NO_I,
     "[--server][-ne.LsfxCIvu][--log-format=%i][--stats][.]"},
    /* rsync -P src/ h:dst/ */
    {"-P", false, CAPS_NO_I, "[--server][-e.LsfxCIvu][--log-format=X][--partial][.]"},
    /* rsync -P h:src/ dst/ */
    {"-P", true, CAPS_NO_I, "[--server][--sender][-e.LsfxCIvu][.]"},
    /* rsync --inplace --sparse src/ h:dst/ */
    {"--inplace --sparse", false, CAPS_NO_I, "[--server][-Se.LsfxCIvu][--inplace][.]"},
    /* rsync --append-verify src/ h:dst/ */
    {"--append-verify", false, CAPS_NO_I, "[--server][-e.LsfxCIvu][--append][--append][.]"},
    /* rsync -b --backup-dir=bk --suffix=.old src/ h:dst/ */
    {"-b --backup-dir=bk --suffix=.old", false, CAPS_NO_I,
     "[--server][-be.LsfxCIvu][--backup-dir][bk][--suffix=.old][.]"},
    /* rsync -rO src/ h:dst/ */
    {"-rO", false, CAPS_ALL, "[--server][-Ore.iLsfxCIvu][.]"},
    /* rsync -r --link-dest=a --link-dest=b src/ h:dst/ */
    {"-r --link-dest=a --link-dest=b", false, CAPS_ALL,
     "[--server][-re.iLsfxCIvu][--link-dest][a][--link-dest][b][.]"},
    /* rsync -r --link-dest=a --link-dest=b h:src/ dst/ */
    {"-r --link-dest=a --link-dest=b", true, CAPS_ALL, "[--server][--sender][-re.iLsfxCIvu][.]"},
    /* rsync -r -T tmp src/ h:dst/ */
    {"-r -T tmp", false, CAPS_ALL, "[--server][-re.iLsfxCIvu][--temp-dir][tmp][.]"},
    /* rsync -r --existing --ignore-existing -u src/ h:dst/ */
    {"-r --existing --ignore-existing -u", false, CAPS_ALL,
     "[--server][-ure.iLsfxCIvu][--ignore-existing][--existing][.]"},
    /* rsync -rxx -S -R -C -I -W src/ h:dst/ */
    {"-rxx -S -R -C -I -W", false, CAPS_ALL, "[--server][-WrCIRxxSe.iLsfxCIvu][.]"},
    /* rsync -r --inplace -S --no-W src/ h:dst/ */
    {"-r --inplace -S --no-W", false, CAPS_ALL, "[--server][-rSe.iLsfxCIvu][--inplace][--no-W][.]"},
    /* rsync -rzz src/ h:dst/ */
    {"-rzz", false, CAPS_ALL, "[--server][-re.iLsfxCIvu][--new-compress][.]"},
    /* rsync -r --zc=zstd src/ h:dst/ */
    {"-r --zc=zstd", false, CAPS_ALL, "[--server][-re.iLsfxCIvu][--compress-choice=zstd][.]"},
    /* rsync -r --zc=zlib src/ h:dst/ */
    {"-r --zc=zlib", false, CAPS_ALL, "[--server][-rze.iLsfxCIvu][--old-compress][.]"},
    /* rsync -r --zc=none src/ h:dst/ */
    {"-r --zc=none", false, CAPS_ALL, "[--server][-re.iLsfxCIvu][--compress-choice=none][.]"},
    /* rsync -r --compress-level=3 src/ h:dst/ */
    {"-r --compress-level=3", false, CAPS_ALL, "[--server][-re.iLsfxCIvu][--compress-level=3][.]"},
    /* rsync -r --zc=zstd --zl=5 src/ h:dst/ */
    {"-r --zc=zstd --zl=5", false, CAPS_ALL,
     "[--server][-re.iLsfxCIvu][--compress-level=5][--compress-choice=zstd][.]"},
    /* rsync -r --cc=none src/ h:dst/ */
    {"-r --cc=none", false, CAPS_ALL, "[--server][-Wre.iLsfxCIvu][--checksum-choice=none][.]"},
    /* rsync -r --cc=xxh3,md5 src/ h:dst/ */
    {"-r --cc=xxh3,md5", false, CAPS_ALL,
     "[--server][-re.iLsfxCIvu][--checksum-choice=xxh3,md5][.]"},
    /* rsync -r -B 2048 --checksum-seed=5 src/ h:dst/ */
    {"-r -B 2048 --checksum-seed=5", false, CAPS_ALL,
     "[--server][-re.iLsfxCIvu][-B2048][--checksum-seed=5][.]"},
    /* rsync -r --modify-window=-1 src/ h:dst/ */
    {"-r --modify-window=-1", false, CAPS_ALL, "[--server][-re.iLsfxCIvu][-@-1][.]"},
    /* rsync -r --modify-window=0 src/ h:dst/ */
    {"-r --modify-window=0", false, CAPS_ALL, "[--server][-re.iLsfxCIvu][--modify-window=0][.]"},
    /* rsync -r --modify-window=2 h:src/ dst/ */
    {"-r --modify-window=2", true, CAPS_ALL, "[--server][--sender][-re.iLsfxCIvu][.]"},
    /* rsync -r --timeout=30 --bwlimit=1M src/ h:dst/ */
    {"-r --timeout=30 --bwlimit=1M", false, CAPS_ALL,
     "[--server][-re.iLsfxCIvu][--timeout=30][--bwlimit=1024][.]"},
    /* rsync -r --bwlimit=1.5 src/ h:dst/ */
    {"-r --bwlimit=1.5", false, CAPS_ALL, "[--server][-re.iLsfxCIvu][--bwlimit=2][.]"},
    /* rsync -r --max-delete=0 src/ h:dst/ */
    {"-r --max-delete=0", false, CAPS_ALL, "[--server][-re.iLsfxCIvu][--max-delete=-1][.]"},
    /* rsync -r --max-delete=5 src/ h:dst/ */
    {"-r --max-delete=5", false, CAPS_ALL, "[--server][-re.iLsfxCIvu][--max-delete=5][.]"},
    /* rsync -r --delete-before h:src/ dst/ */
    {"-r --delete-before", true, CAPS_NO_I, "[--server][--sender][-re.LsfxCIvu][.]"},
    /* rsync -r --delete-delay src/ h:dst/ */
    {"-r --delete-delay", false, CAPS_ALL, "[--server][-re.iLsfxCIvu][--delete-delay][.]"},
    /* rsync -r --delete-excluded src/ h:dst/ */
    {"-r --delete-excluded", false, CAPS_ALL, "[--server][-re.iLsfxCIvu][--delete-excluded][.]"},
    /* rsync -r --del src/ h:dst/ */
    {"-r --del", false, CAPS_ALL, "[--server][-re.iLsfxCIvu][--delete-during][.]"},
    /* rsync -d --delete src/ h:dst/ */
    {"-d --delete", false, CAPS_NO_I, "[--server][-de.LsfxCIvu][--no-r][--delete][.]"},
    /* rsync -d --delete h:src/ dst/ */
    {"-d --delete", true, CAPS_NO_I, "[--server][--sender][-de.LsfxCIvu][.]"},
    /* rsync --files-from=list src/ h:dst/ */
    {"--files-from=list", false, CAPS_NO_I, "[--server][-Re.LsfxCIvu][.]"},
    /* rsync --files-from=list h:src/ dst/ */
    {"--files-from=list", true, CAPS_NO_I,
     "[--server][--sender][-Re.LsfxCIvu][--files-from=-][--from0][.]"},
    /* rsync --files-from=h:list --from0 h:src/ dst/ */
    {"--files-from=h:list --from0", true, CAPS_NO_I,
     "[--server][--sender][-Re.LsfxCIvu][--files-from][list][--from0][.]"},
    /* rsync -r --files-from=list --no-R h:src/ dst/ */
    {"-r --files-from=list --no-R", true, CAPS_ALL,
     "[--server][--sender][-re.iLsfxCIvu][--files-from=-][--from0][--no-relative][.]"},
    /* rsync -a --files-from=list src/ h:dst/ */
    {"-a --files-from=list", false, CAPS_NO_I, "[--server][-logDtpRe.LsfxCIvu][.]"},
    /* rsync -R --no-implied-dirs src/ h:dst/ */
    {"-R --no-implied-dirs", false, CAPS_NO_I, "[--server][-Re.LsfxCIvu][--no-implied-dirs][.]"},
    /* rsync -R --no-implied-dirs h:src/ dst/ */
    {"-R --no-implied-dirs", true, CAPS_NO_I,
     "[--server][--sender][-Re.LsfxCIvu][--no-implied-dirs][.]"},
    /* rsync -aR --no-i-d src/ h:dst/ */
    {"-aR --no-i-d", false, CAPS_ALL, "[--server][-logDtprRe.iLsfxCIvu][--no-implied-dirs][.]"},
    /* rsync --files-from=list --no-implied-dirs h:src/ dst/ */
    {"--files-from=list --no-implied-dirs", true, CAPS_NO_I,
     "[--server][--sender][-Re.LsfxCIvu][--files-from=-][--from0][--no-implied-dirs][.]"},
    /* rsync --no-implied-dirs src/ h:dst/ */
    {"--no-implied-dirs", false, CAPS_NO_I, "[--server][-e.LsfxCIvu][.]"},
    /* rsync -R --no-implied-dirs --implied-dirs h:src/ dst/ */
    {"-R --no-implied-dirs --implied-dirs", true, CAPS_NO_I, "[--server][--sender][-Re.LsfxCIvu][.]"},
    /* rsync -rLk h:src/ dst/ */
    {"-rLk", true, CAPS_ALL, "[--server][--sender][-Lkre.iLsfxCIvu][.]"},
    /* rsync -rK src/ h:dst/ */
    {"-rK", false, CAPS_ALL, "[--server][-Kre.iLsfxCIvu][.]"},
    /* rsync -rE src/ h:dst/ */
    {"-rE", false, CAPS_ALL, "[--server][-Ere.iLsfxCIvu][.]"},
    /* rsync -rE h:src/ dst/ */
    {"-rE", true, CAPS_ALL, "[--server][--sender][-re.iLsfxCIvu][.]"},
    /* rsync -r --numeric-ids --safe-links --copy-unsafe-links src/ h:dst/ */
    {"-r --numeric-ids --safe-links --copy-unsafe-links", false, CAPS_ALL,
     "[--server][-re.iLsfxCIvu][--copy-unsafe-links][--safe-links][--numeric-ids][.]"},
    /* rsync -rv -q src/ h:dst/ */
    {"-rv -q", false, CAPS_ALL, "[--server][-vqre.iLsfxCIvu][.]"},
    /* rsync -rvvvvvvvvvvvv src/ h:dst/ */
    {"-rvvvvvvvvvvvv", false, CAPS_ALL, "[--server][-vvvvvvvvvre.iLsfxCIvu][.]"},
    /* rsync -r --info=stats2,name src/ h:dst/ */
    {"-r --info=stats2,name", false, CAPS_ALL,
     "[--server][-re.iLsfxCIvu][--log-format=X][--info=NAME,STATS2][.]"},
    /* rsync -r --info=stats2,name h:src/ dst/ */
    {"-r --info=stats2,name", true, CAPS_ALL,
     "[--server][--sender][-re.iLsfxCIvu][--info=NAME,STATS2][.]"},
    /* rsync -r --info=ALL2 src/ h:dst/ */
    {"-r --info=ALL2", false, CAPS_ALL,
     "[--server][-re.iLsfxCIvu][--log-format=X][--info=ALL2][.]"},
    /* rsync -r --info=NONE src/ h:dst/ */
    {"-r --info=NONE", false, CAPS_ALL, "[--server][-re.iLsfxCIvu][--info=NONE][.]"},
    /* rsync -r --info=skip2,del,misc2,mount,nonreg,symsafe,backup,copy src/ h:dst/ */
    {"-r --info=skip2,del,misc2,mount,nonreg,symsafe,backup,copy", false, CAPS_ALL,
     "[--server][-re.iLsfxCIvu][--info=BACKUP,COPY,DEL,MISC2,MOUNT,NONREG,SKIP2,SYMSAFE][.]"},
    /* rsync -r --info=skip2,del,misc2,mount,nonreg,symsafe,backup,copy h:src/ dst/ */
    {"-r --info=skip2,del,misc2,mount,nonreg,symsafe,backup,copy", true, CAPS_ALL,
     "[--server][--sender][-re.iLsfxCIvu][--info=MISC2,MOUNT,SYMSAFE][.]"},
    /* rsync -r --info=all2,stats,name0,misc src/ h:dst/ */
    {"-r --info=all2,stats,name0,misc", false, CAPS_ALL,
     "[--server][-re.iLsfxCIvu][--info=ALL2,MISC,NAME0,STATS][.]"},
    /* rsync -r --debug=ALL src/ h:dst/ */
    {"-r --debug=ALL", false, CAPS_ALL, "[--server][-re.iLsfxCIvu][.]"},
    /* rsync -r -M--foo -M-x src/ h:dst/ */
    {"-r -M--foo -M-x", false, CAPS_ALL, "[--server][-re.iLsfxCIvu][--foo][-x][.]"},
    /* rsync -r --devices src/ h:dst/ */
    {"-r --devices", false, CAPS_ALL, "[--server][-Dre.iLsfxCIvu][--no-specials][.]"},
    /* rsync -r --specials src/ h:dst/ */
    {"-r --specials", false, CAPS_ALL, "[--server][-re.iLsfxCIvu][--specials][.]"},
    /* rsync -a --no-D src/ h:dst/ */
    {"-a --no-D", false, CAPS_ALL, "[--server][-logtpre.iLsfxCIvu][.]"},
    /* rsync -rU src/ h:dst/ */
    {"-rU", false, CAPS_ALL, "[--server][-Ure.iLsfxCIvu][.]"},
    /* rsync -rHH src/ h:dst/ */
    {"-rHH", false, CAPS_ALL, "[--server][-HHre.iLsfxCIvu][.]"},
    /* rsync -rii src/ h:dst/ */
    {"-rii", false, CAPS_ALL, "[--server][-re.iLsfxCIvu][--log-format=%i%I][.]"},
    /* rsync -r --out-format=%o src/ h:dst/ */
    {"-r --out-format=%o", false, CAPS_ALL, "[--server][-re.iLsfxCIvu][--log-format=%o][.]"},
    /* rsync -r --log-format=%b%n src/ h:dst/ */
    {"-r --log-format=%b%n", false, CAPS_ALL, "[--server][-re.iLsfxCIvu][--log-format=X][.]"},
    /* rsync -rv --out-format=%n src/ h:dst/ */
    {"-rv --out-format=%n", false, CAPS_ALL, "[--server][-vre.iLsfxCIvu][.]"},
    /* rsync -r --stats -v h:src/ dst/ */
    {"-r --stats -v", true, CAPS_ALL, "[--server][--sender][-vre.iLsfxCIvu][.]"},
    /* rsync -r --partial-dir=./p//q/ src/ h:dst/ */
    {"-r --partial-dir=./p//q/", false, CAPS_ALL,
     "[--server][-re.iLsfxCIvu][--partial-dir][p/q][.]"},
    /* rsync -r --partial-dir=a/../b src/ h:dst/ */
    {"-r --partial-dir=a/../b", false, CAPS_ALL, "[--server][-re.iLsfxCIvu][--partial-dir][b][.]"},
    /* rsync -r --partial-dir=. src/ h:dst/ */
    {"-r --partial-dir=.", false, CAPS_ALL, "[--server][-re.iLsfxCIvu][--partial][.]"},
    /* rsync -r --inplace --partial src/ h:dst/ */
    {"-r --inplace --partial", false, CAPS_ALL, "[--server][-re.iLsfxCIvu][--inplace][.]"},
    /* rsync -r --backup-dir=./bk/ src/ h:dst/ */
    {"-r --backup-dir=./bk/", false, CAPS_ALL, "[--server][-bre.iLsfxCIvu][--backup-dir][bk/][.]"},
    /* rsync -r --backup-dir=. --suffix=.b src/ h:dst/ */
    {"-r --backup-dir=. --suffix=.b", false, CAPS_ALL,
     "[--server][-bre.iLsfxCIvu][--suffix=.b][.]"},
    /* rsync -r -b --delete --suffix=.k src/ h:dst/ */
    {"-r -b --delete --suffix=.k", false, CAPS_ALL,
     "[--server][-bre.iLsfxCIvu][--suffix=.k][--delete][.]"},
    /* rsync -r -O -b src/ h:dst/ */
    {"-r -O -b", false, CAPS_ALL, "[--server][-bre.iLsfxCIvu][.]"},
    /* rsync -r -O -b --backup-dir=x src/ h:dst/ */
    {"-r -O -b --backup-dir=x", false, CAPS_ALL, "[--server][-bOre.iLsfxCIvu][--backup-dir][x][.]"},
    /* rsync -r --max-size=1.5k --min-size=1M-1 src/ h:dst/ */
    {"-r --max-size=1.5k --min-size=1M-1", false, CAPS_ALL,
     "[--server][-re.iLsfxCIvu][--min-size=1048575][--max-size=1536][.]"},
    /* rsync -r --max-size=1kb+1 --min-size=2KiB src/ h:dst/ */
    {"-r --max-size=1kb+1 --min-size=2KiB", false, CAPS_ALL,
     "[--server][-re.iLsfxCIvu][--min-size=2048][--max-size=1001][.]"},
    /* rsync -rc --no-c -C -F -FF src/ h:dst/ */
    {"-rc --no-c -C -F -FF", false, CAPS_ALL, "[--server][-rCe.iLsfxCIvu][.]"},
    /* rsync -rd --no-d --delete src/ h:dst/ */
    {"-rd --no-d --delete", false, CAPS_ALL, "[--server][-re.iLsfxCIvu][--delete][.]"},
};

/* Split v->opts and add the two paths of the capture. */
static int
vector_argv(const struct server_vector *v, char *buf, size_t cap, char **argv)
{
	int argc = 1;

	snprintf(buf, cap, "%s", v->opts);
	argv[0] = "oc-rsync";
	for (char *save = NULL, *t = strtok_r(buf, " ", &save); t; t = strtok_r(NULL, " ", &save))
		argv[argc++] = t;
	argv[argc++] = v->pull ? "h:src/" : "src/";
	argv[argc++] = v->pull ? "dst/" : "h:dst/";
	argv[argc] = NULL;
	return argc;
}

static void
test_server_args(void **state)
{
	struct oce_opts o;
	struct oce_strv sv;
	char buf[512], got[2048], *argv[MAX_ARGS + 1];
	int ec;

	(void)state;
	for (size_t i = 0; i < NELEM(server_vectors); i++) {
		const struct server_vector *v = &server_vectors[i];
		int argc = vector_argv(v, buf, sizeof(buf), argv);

		assert_int_equal(parse_argv(&o, &ec, argc, argv), OCE_PARSE_RUN);
		assert_int_equal(oce_server_args(&o, v->pull, v->caps, &sv), 0);
		join(&sv, got, sizeof(got));
		if (strcmp(got, v->expect) != 0)
			fail_msg("%s (%s): got %s want %s", v->opts, v->pull ? "pull" : "push", got,
				 v->expect);
		assert_null(sv.v[sv.n]); /* usable as an argv */
		oce_strv_free(&sv);
		oce_opts_free(&o);
	}
}

/*
 * Quoting for the remote shell, captured from rsync 3.5.0 as above:
 *   rsync -r --backup-dir='a b*' --suffix='x;y' -M'--foo=a b' --partial-dir='p$q'
 *         -T 't t' --link-dest='l\k' src/ h:dst/
 *   rsync -r 'h:~x' 'h:-y' dst/      (paths "\~x" "./-y")
 *   rsync -r 'h:~/s rc' dst/         (path "~/s\ rc")
 *   rsync -r src/ 'h:d st/~x'        (path "d\ st/~x")
 */
static void
test_quoting(void **state)
{
	struct oce_opts o;
	struct oce_strv sv;
	char *s;

	(void)state;
	PARSE_OK(&o, "-r", "--backup-dir=a b*", "--suffix=x;y", "-M--foo=a b", "--partial-dir=p$q",
		 "-T", "t t", "--link-dest=l\\k", "src/", "h:dst/");
	assert_int_equal(oce_server_args(&o, false, CAPS_ALL, &sv), 0);
	assert_strv(&sv, "[--server][-bre.iLsfxCIvu][--backup-dir][a\\ b\\*][--suffix=x\\;y]"
			 "[--partial-dir][p\\$q][--temp-dir][t\\ t][--link-dest][l\\\\k]"
			 "[--foo=a\\ b][.]");
	oce_strv_free(&sv);
	oce_opts_free(&o);

	PARSE_OK(&o, "-r", "h:~x", "dst/");
	s = oce_safe_path_arg(&o, false, "~x");
	assert_string_equal(s, "\\~x");
	free(s);
	s = oce_safe_path_arg(&o, false, "-y");
	assert_string_equal(s, "./-y");
	free(s);
	s = oce_safe_path_arg(&o, false, "~/s rc");
	assert_string_equal(s, "~/s\\ rc");
	free(s);
	s = oce_safe_path_arg(&o, true, "d st/~x");
	assert_string_equal(s, "d\\ st/~x");
	free(s);
	/* File names keep wildcards live; a backslash before one is not doubled. */
	s = oce_safe_path_arg(&o, true, "*.c\\*");
	assert_string_equal(s, "*.c\\*");
	free(s);
	s = oce_safe_arg("--suffix", "a\\b");
	assert_string_equal(s, "--suffix=a\\\\b");
	free(s);
	oce_opts_free(&o);

	assert_true(oce_format_has("%i %n%L", 'i'));
	assert_false(oce_format_has("%%i %n", 'i'));
	assert_true(oce_format_has("%'-10o", 'o'));
	assert_false(oce_format_has(NULL, 'i'));
}

/* --- the server side ------------------------------------------------------------ */

static void
test_server_parse(void **state)
{
	struct oce_opts o;
	int ec;

	(void)state;
	PARSE_OK(&o, "--server", "--sender", "-logDtpre.iLsfxCIvu", ".", "src/");
	assert_true(o.server && o.sender);
	assert_true(o.links && o.owner && o.group && o.devices && o.specials && o.times);
	assert_true(o.perms && o.recursive);
	assert_true(o.caps_seen);
	assert_int_equal(o.caps, OCP_CF_ALL);
	assert_null(o.rsh); /* the cluster's 'e' is not --rsh here */
	assert_strv(&o.args, "[.][src/]");
	assert_false(o.list_only);
	oce_opts_free(&o);

	PARSE_OK(&o, "--server", "-vlogDtprze.LsfxCIvu", "--delete", ".", "dst/");
	assert_false(o.sender);
	assert_int_equal(o.verbose, 1);
	assert_int_equal(o.compress, 1);
	assert_int_equal(o.caps, OCP_CF_ALL & ~OCP_CF_INC_RECURSE);
	assert_int_equal(o.delete_mode, OCE_DEL_DURING);
	oce_opts_free(&o);

	/* -B and -@ take the rest of the cluster; --append twice is --append-verify. */
	PARSE_OK(&o, "--server", "-re.iLsfxCIvu", "-B2048", "-@-1", "--append", "--append",
		 "--log-format=%i%I", "--info=NAME,STATS2", ".", "dst/");
	assert_int_equal(o.block_size, 2048);
	assert_int_equal(o.modify_window, -1);
	assert_int_equal(o.append, 2);
	assert_true(o.inplace);
	assert_string_equal(o.out_format, "%i%I");
	assert_int_equal(o.info[OCE_INFO_NAME], 1);
	assert_int_equal(o.info[OCE_INFO_STATS], 2);
	oce_opts_free(&o);

	PARSE_OK(&o, "--server", "--sender", "-re.iLsfxCIvu", "--files-from=-", "--from0",
		 "--no-relative", ".", "src/");
	assert_string_equal(o.files_from, "-");
	assert_true(o.from0);
	assert_false(o.relative);
	oce_opts_free(&o);

	/* A newer client's --info word is ignored by a server, as upstream. */
	PARSE_OK(&o, "--server", "-e.LsfxCIvu", "--info=NEWTHING,name", ".", "dst/");
	assert_int_equal(o.info[OCE_INFO_NAME], 1);
	oce_opts_free(&o);

	/* A server with an empty suffix and no backup dir is fine only as the sender. */
	PARSE_OK(&o, "--server", "--sender", "-be.LsfxCIvu", "--suffix=", ".", "src/");
	oce_opts_free(&o);
	assert_int_equal(PARSE(&o, &ec, "--server", "-be.LsfxCIvu", "--suffix=", ".", "dst/"),
			 OCE_PARSE_ERROR);
	oce_opts_free(&o);
}

/*
 * Every client command line above, turned into server arguments, parses on
 * the server side into the same transfer settings.
 */
static void
test_round_trip(void **state)
{
	struct oce_opts c, s;
	struct oce_strv sv;
	char buf[512], *argv[MAX_ARGS + 1];
	int ec;

	(void)state;
	for (size_t i = 0; i < NELEM(server_vectors); i++) {
		const struct server_vector *v = &server_vectors[i];
		int argc = vector_argv(v, buf, sizeof(buf), argv);
		char *sargv[MAX_ARGS + 2];
		int sargc = 0;

		assert_int_equal(parse_argv(&c, &ec, argc, argv), OCE_PARSE_RUN);
		if (c.remote_opts.n) {
			/* -M passes anything, meant for whatever the remote end is. */
			oce_opts_free(&c);
			continue;
		}
		assert_int_equal(oce_server_args(&c, v->pull, v->caps, &sv), 0);
		sargv[sargc++] = "oc-rsync";
		for (size_t j = 0; j < sv.n; j++)
			sargv[sargc++] = sv.v[j];
		sargv[sargc++] = v->pull ? "src/" : "dst/";
		sargv[sargc] = NULL;
		if (parse_argv(&s, &ec, sargc, sargv) != OCE_PARSE_RUN)
			fail_msg("%s: server refused its arguments: %s", v->opts, captured);

		assert_true(s.server);
		assert_int_equal(s.sender, v->pull);
		assert_int_equal(s.caps, v->caps);
		assert_int_equal(s.recursive, c.recursive);
		assert_int_equal(s.links, c.links);
		assert_int_equal(s.perms, c.perms);
		assert_int_equal(s.times, c.times);
		assert_int_equal(s.owner, c.owner);
		assert_int_equal(s.group, c.group);
		assert_int_equal(s.devices, c.devices);
		assert_int_equal(s.specials, c.specials);
		assert_int_equal(s.hard_links, c.hard_links);
		assert_int_equal(s.dry_run, c.dry_run);
		assert_int_equal(s.checksum, c.checksum);
		assert_int_equal(s.sparse, c.sparse);
		assert_int_equal(s.relative, c.relative);
		assert_int_equal(s.one_file_system, c.one_file_system);
		assert_int_equal(s.whole_file > 0, c.whole_file > 0);
		assert_int_equal(oce_opts_compress_requested(&s), oce_opts_compress_requested(&c));
		assert_int_equal(s.block_size, c.block_size);
		assert_int_equal(s.checksum_seed, c.checksum_seed);
		assert_int_equal(s.timeout, c.timeout);
		assert_int_equal(s.bwlimit, c.bwlimit);
		assert_int_equal(s.numeric_ids, c.numeric_ids);
		assert_int_equal(s.append, c.append);
		assert_int_equal(s.inplace, c.inplace);
		assert_int_equal(s.backup, c.backup);
		assert_string_equal(s.suffix, c.suffix);
		if (!v->pull) {
			/* What only a receiving server needs. */
			assert_int_equal(s.delete_mode, c.delete_mode);
			assert_int_equal(s.delete_excluded, c.delete_excluded);
			assert_int_equal(s.max_delete, c.max_delete);
			assert_int_equal(s.max_size, c.max_size);
			assert_int_equal(s.min_size, c.min_size);
			assert_int_equal(s.partial, c.partial);
			assert_int_equal(s.existing, c.existing);
			assert_int_equal(s.ignore_existing, c.ignore_existing);
			assert_int_equal(s.size_only, c.size_only);
			assert_int_equal(s.alt_dest.n, c.alt_dest.n);
			assert_int_equal(s.modify_window, c.modify_window);
			assert_int_equal(s.omit_dir_times, c.omit_dir_times);
		} else {
			assert_int_equal(s.copy_links, c.copy_links);
			assert_int_equal(s.copy_dirlinks, c.copy_dirlinks);
		}
		oce_strv_free(&sv);
		oce_opts_free(&s);
		oce_opts_free(&c);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_archive_cluster),
	    cmocka_unit_test(test_no_option),
	    cmocka_unit_test(test_delete),
	    cmocka_unit_test(test_partial_inplace_backup),
	    cmocka_unit_test(test_refused),
	    cmocka_unit_test(test_unknown),
	    cmocka_unit_test(test_info_debug),
	    cmocka_unit_test(test_sizes),
	    cmocka_unit_test(test_compress_checksum),
	    cmocka_unit_test(test_filters),
	    cmocka_unit_test(test_files_from_and_dests),
	    cmocka_unit_test(test_version_help),
	    cmocka_unit_test(test_daemon),
	    cmocka_unit_test(test_server_args),
	    cmocka_unit_test(test_quoting),
	    cmocka_unit_test(test_server_parse),
	    cmocka_unit_test(test_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
