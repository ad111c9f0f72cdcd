/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for apps/engine/report.h. Every expected string was printed
 * by the real rsync 3.5.0 (/usr/bin/rsync); the command that printed it is
 * in the comment above each check. The trees used:
 *
 *   src:  src/a.txt ("hello\n"), src/sub/big.bin (123456 random bytes),
 *         src/link -> a.txt, and for -H runs src/hard (hard link to a.txt)
 *   fx:   fx/a.txt ("hello\n", mode 4755), fx/link -> a.txt,
 *         fx/sub/huge (sparse, 5368709120 bytes); mtimes set with
 *         touch -d '2021-02-03 04:05:06 UTC' (link: 2020-01-01 00:00:00)
 *   dfx:  dfx/old/o2/x, dfx/old/y, dfx/oldl -> q  (five items to delete)
 *   s4:   s4/f, s4/g (hard link), s4/cdev (mknod c 1 3), s4/pipe (fifo), s4/dd/
 *
 * "fakersh" is a remote shell that runs the server locally:
 * printf '#!/bin/sh\nshift\nexec "$@"\n' > fakersh
 * Times are checked in TZ=UTC, as the rsync runs were.
 */
#include <errno.h>
#include <locale.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <cmocka.h>

#include "apps/engine/report.h"

/* A local copy: the client is the sender, transfers show '>' (local_server). */
static const struct oce_logctx local_ctx = {
    .am_sender = true,
    .local_server = true,
    .preserve_mtimes = true,
    .receiver_symlink_times = true,
    .sum_len = 16,
    .pid = 31160,
};

static void
check_item(uint32_t iflags, mode_t mode, const struct oce_logctx *ctx, const char *want)
{
	char buf[32];

	assert_int_equal(oce_itemize_str(buf, sizeof(buf), iflags, mode, ctx), strlen(want));
	assert_string_equal(buf, want);
}

#define NEW   (OCE_ITEM_IS_NEW)
#define XFER  (OCE_ITEM_TRANSFER)
#define LOCAL (OCE_ITEM_LOCAL_CHANGE)

static void
test_itemize_new(void **state)
{
	(void)state;
	/* rsync -aiH src/ dst/  (first copy) */
	check_item(LOCAL | NEW, S_IFDIR | 0755, &local_ctx, "cd+++++++++");
	check_item(XFER | NEW, S_IFREG | 0644, &local_ctx, ">f+++++++++");
	check_item(LOCAL | NEW, S_IFLNK | 0777, &local_ctx, "cL+++++++++");
	check_item(LOCAL | OCE_ITEM_XNAME_FOLLOWS | NEW, S_IFREG | 0644, &local_ctx, "hf+++++++++");
	/* rsync -aiH s4/ d4/  (as root) */
	check_item(LOCAL | NEW, S_IFCHR | 0644, &local_ctx, "cD+++++++++");
	check_item(LOCAL | NEW, S_IFIFO | 0644, &local_ctx, "cS+++++++++");
	/* rsync -aiHn --delete src/ dst/ after mkdir src/newd: dry run shows the same */
	check_item(LOCAL | NEW, S_IFDIR | 0755, &local_ctx, "cd+++++++++");
}

static void
test_itemize_changes(void **state)
{
	struct oce_logctx no_t = local_ctx;
	struct oce_logctx push = local_ctx;

	(void)state;
	/* rsync -aiH src/ dst/ after appending to a.txt */
	check_item(XFER | OCE_ITEM_REPORT_SIZE, S_IFREG, &local_ctx, ">f.s.......");
	check_item(LOCAL | OCE_ITEM_XNAME_FOLLOWS | OCE_ITEM_REPORT_SIZE, S_IFREG, &local_ctx,
		   "hf.s.......");
	/* rsync -ai src/ dst/ after touch -d '2021-02-03 04:05:06' src/a.txt */
	check_item(XFER | OCE_ITEM_REPORT_TIME, S_IFREG, &local_ctx, ">f..t......");
	/* rsync -rli src/ dst/ (no -t) after touching a.txt again */
	no_t.preserve_mtimes = false;
	check_item(XFER | OCE_ITEM_REPORT_TIME, S_IFREG, &no_t, ">f..T......");
	/* rsync -aiH src/ dst/ after chmod 640 src/sub/big.bin */
	check_item(OCE_ITEM_REPORT_PERMS, S_IFREG, &local_ctx, ".f...p.....");
	/* rsync -ai src/ dst/ after touch -h -d 2020-01-01 src/link */
	check_item(OCE_ITEM_REPORT_TIME, S_IFLNK, &local_ctx, ".L..t......");
	/* rsync -ai --checksum src/ dst/ after echo x > src/a.txt */
	check_item(XFER | OCE_ITEM_REPORT_CHANGE | OCE_ITEM_REPORT_SIZE | OCE_ITEM_REPORT_TIME,
		   S_IFREG, &local_ctx, ">fcst......");
	/* rsync -aii src/ dst/ (nothing changed: blanks instead of dots) */
	check_item(0, S_IFDIR, &local_ctx, ".d         ");
	check_item(0, S_IFREG, &local_ctx, ".f         ");
	check_item(0, S_IFLNK, &local_ctx, ".L         ");
	/* rsync -ai -e ./fakersh src/ x:/tmp/rpt/d9/ (a real push shows '<') */
	push.local_server = false;
	check_item(XFER | NEW, S_IFREG, &push, "<f+++++++++");
	check_item(LOCAL | NEW, S_IFDIR, &push, "cd+++++++++");
	/* rsync -ai -e ./fakersh x:/tmp/rpt/src/ d10/ (a pull) */
	push.am_sender = false;
	check_item(XFER | NEW, S_IFREG, &push, ">f+++++++++");
	/* Upstream rules with no captured run: '?' for missing data, u/n/b times. */
	check_item(OCE_ITEM_MISSING_DATA, S_IFREG, &local_ctx, ".f?????????");
	check_item(OCE_ITEM_REPORT_ATIME, S_IFREG, &local_ctx, ".f......u..");
	check_item(OCE_ITEM_REPORT_ATIME | OCE_ITEM_REPORT_CRTIME | OCE_ITEM_REPORT_ACL |
		       OCE_ITEM_REPORT_XATTR | OCE_ITEM_REPORT_OWNER | OCE_ITEM_REPORT_GROUP,
		   S_IFREG, &local_ctx, ".f....ogbax");
}

static void
test_itemize_delete(void **state)
{
	char small[4];

	(void)state;
	/* rsync -aiH --delete src/ dst/ after rm src/link */
	check_item(OCE_ITEM_DELETED, S_IFLNK, &local_ctx, "*deleting  ");
	assert_int_equal(oce_itemize_str(small, sizeof(small), XFER, S_IFREG, &local_ctx), -ENOSPC);
}

/* The fx tree's items as the sender of a local copy sees them. */
static struct oce_logitem
fx_item(const char *name, mode_t mode, int64_t size)
{
	struct oce_logitem it = {
	    .name = name,
	    .dir = "fx/",
	    .mode = mode,
	    .size = size,
	    .mtime = 1612325106, /* 2021-02-03 04:05:06 UTC */
	    .have_uid = true,
	    .have_gid = true,
	    .iflags = (S_ISREG(mode) ? XFER : LOCAL) | NEW,
	};
	return it;
}

static void
check_fmt(const char *fmt, const struct oce_logitem *it, const struct oce_logctx *ctx,
	  const char *want)
{
	char buf[1024];

	assert_int_equal(oce_out_format(buf, sizeof(buf), fmt, it, ctx), strlen(want));
	assert_string_equal(buf, want);
}

static void
test_out_format_fx(void **state)
{
	static const char *fmt = "[%n][%f][%L][%l][%'l][%''l][%'''l][%i][%o][%M][%B][%U][%G]"
				 "[%-8n|][%12L|][%5i|]";
	struct oce_logitem root = fx_item(".", S_IFDIR | 0755, 4096);
	struct oce_logitem a = fx_item("a.txt", S_IFREG | 04755, 6);
	struct oce_logitem link = fx_item("link", S_IFLNK | 0777, 5);
	struct oce_logitem sub = fx_item("sub", S_IFDIR | 0755, 4096);
	struct oce_logitem huge = fx_item("sub/huge", S_IFREG | 0644, 5368709120LL);

	(void)state;
	link.symlink = "a.txt";
	link.mtime = 1577836800;
	/* TZ=UTC rsync -a -n --out-format="<fmt above>" fx/ dfx/ */
	check_fmt(fmt, &root, &local_ctx,
		  "[./][fx/.][][4096][4,096][4.10K][4.00K][cd+++++++++][send]"
		  "[2021/02/03-04:05:06][rwxr-xr-x][0][0][./      |][                |]"
		  "[cd+++++++++|]");
	check_fmt(fmt, &a, &local_ctx,
		  "[a.txt][fx/a.txt][][6][6][6][6][>f+++++++++][send][2021/02/03-04:05:06]"
		  "[rwsr-xr-x][0][0][a.txt   |][                |][>f+++++++++|]");
	check_fmt(fmt, &link, &local_ctx,
		  "[link][fx/link][ -> a.txt][5][5][5][5][cL+++++++++][send]"
		  "[2020/01/01-00:00:00][rwxrwxrwx][0][0][link    |][ ->        a.txt|]"
		  "[cL+++++++++|]");
	check_fmt(fmt, &sub, &local_ctx,
		  "[sub/][fx/sub][][4096][4,096][4.10K][4.00K][cd+++++++++][send]"
		  "[2021/02/03-04:05:06][rwxr-xr-x][0][0][sub/    |][                |]"
		  "[cd+++++++++|]");
	check_fmt(fmt, &huge, &local_ctx,
		  "[sub/huge][fx/sub/huge][][5368709120][5,368,709,120][5.37G][5.00G]"
		  "[>f+++++++++][send][2021/02/03-04:05:06][rw-r--r--][0][0][sub/huge|]"
		  "[                |][>f+++++++++|]");
	/* TZ=UTC rsync -r -n --out-format="[%U][%G][%B][%C]" fx/ dfx/  (no -o/-g) */
	root.have_uid = root.have_gid = false;
	check_fmt("[%U][%G][%B][%C]", &root, &local_ctx,
		  "[0][DEFAULT][rwxr-xr-x][                                ]");
}

static void
test_out_format_modifiers(void **state)
{
	struct oce_logitem root = fx_item(".", S_IFDIR | 0755, 4096);
	struct oce_logitem a = fx_item("a.txt", S_IFREG | 0644, 2);
	struct oce_logitem big = fx_item("sub/big.bin", S_IFREG | 0644, 123456);

	(void)state;
	a.bytes_written = 45;
	a.bytes_read = 16;
	a.xfer_sum_hex = "2528250d92619b8e1bf67208bddf1edb";
	/*
	 * rsync -a --out-format="[%-12n][%12n][%5L][%-12L][%'l][%''l][%'''l]
	 * [%''10l][%-'8l][%3i][%-14i][%10o][%'b][%4U][%4G][%'%][%-5%]['%]%"
	 * src/ dst/   (the format is one line; %M omitted here)
	 */
	static const char *fmt = "[%-12n][%12n][%5L][%-12L][%'l][%''l][%'''l][%''10l][%-'8l]"
				 "[%3i][%-14i][%10o][%'b][%4U][%4G][%'%][%-5%]['%]%";
	check_fmt(fmt, &root, &local_ctx,
		  "[./          ][          ./][         ][                ][4,096][4.10K]"
		  "[4.00K][     4.10K][%-'8l][cd+++++++++][cd+++++++++   ][      send][0]"
		  "[   0][   0][%][%    ]['%]%");
	big.bytes_written = 123511;
	check_fmt(fmt, &big, &local_ctx,
		  "[sub/big.bin ][ sub/big.bin][         ][                ][123,456][123.46K]"
		  "[120.56K][   123.46K][%-'8l][>f+++++++++][>f+++++++++   ][      send]"
		  "[123,511][   0][   0][%][%    ]['%]%");
	/* rsync -a --out-format='[%n][%f][%L][%l][%b][%c][%i][%o]...[%C]' src/ dst/ */
	a.dir = "src/";
	check_fmt("[%n][%f][%L][%l][%b][%c][%i][%o]", &a, &local_ctx,
		  "[a.txt][src/a.txt][][2][45][16][>f+++++++++][send]");
	/* ... the same run, outside a daemon: %m is empty, the rest stay as written */
	check_fmt("[%%][%m][%a][%h][%P][%u][%g][%x][%C]", &a, &local_ctx,
		  "[%][][%a][%h][%P][%u][%g][%x][2528250d92619b8e1bf67208bddf1edb]");
	/* rsync -a --out-format='[%p]' src/ dst/  (pid 31160) */
	check_fmt("[%p]", &a, &local_ctx, "[31160]");
	/* rsync -a --out-format='[%05U][%05l][%05n][%05p][%-05l][%05G][%05i][%5C][%05L]' */
	check_fmt("[%05U][%05l][%05n][%05p][%-05l][%05G][%05i][%5C][%05L]", &a, &local_ctx,
		  "[00000][    2][a.txt][31160][2    ][00000][>f+++++++++]"
		  "[2528250d92619b8e1bf67208bddf1edb][         ]");
	root.have_uid = false;
	check_fmt("[%05U][%5C]", &root, &local_ctx, "[00000][                                ]");
	/* rsync -a --out-format="%" / "abc%'" / "%5" src/ dst/ */
	check_fmt("%", &a, &local_ctx, "%");
	check_fmt("abc%'", &a, &local_ctx, "abc%'");
	check_fmt("%5", &a, &local_ctx, "%5");
}

static void
test_out_format_roles(void **state)
{
	struct oce_logctx pull = local_ctx;
	struct oce_logctx push = local_ctx;
	struct oce_logitem a = fx_item("a.txt", S_IFREG | 0644, 6);
	struct oce_logitem root = fx_item(".", S_IFDIR | 0755, 4096);
	struct oce_logitem old = fx_item("old", S_IFDIR | 0755, 0);
	struct oce_logitem h = fx_item("f", S_IFREG | 0644, 3);
	struct oce_logitem l = fx_item("link", S_IFLNK | 0777, 5);

	(void)state;
	/* TZ=UTC rsync -ai -e ./fakersh --out-format='%i|%o|%f|%n' src/ x:/tmp/rpt/d9/ */
	push.local_server = false;
	a.dir = "src/";
	check_fmt("%i|%o|%f|%n", &a, &push, "<f+++++++++|send|src/a.txt|a.txt");
	root.dir = "src/";
	check_fmt("%i|%o|%f|%n", &root, &push, "cd+++++++++|send|src/.|./");
	/* ... x:/tmp/rpt/src/ d10/ (pull: the client receives, no dir prefix) */
	pull.am_sender = false;
	pull.local_server = false;
	a.dir = root.dir = NULL;
	check_fmt("%i|%o|%f|%n", &a, &pull, ">f+++++++++|recv|a.txt|a.txt");
	check_fmt("%i|%o|%f|%n", &root, &pull, "cd+++++++++|recv|.|./");
	/* rsync -aiH --delete --out-format='%o %n %i' s4/ d4/ after mkdir d4/old */
	old.iflags = OCE_ITEM_DELETED;
	old.dir = NULL;
	check_fmt("%o %n %i", &old, &local_ctx, "del. old/ *deleting  ");
	/* rsync -aH --delete --out-format='%n%L' s4/ d4/: no %o/%i, so "deleting %n" */
	check_fmt(OCE_FORMAT_DELETE, &old, &local_ctx, "deleting old/");
	/* rsync -aiH s4/ d4/ : the -i default format with a hard link */
	h.iflags = LOCAL | OCE_ITEM_XNAME_FOLLOWS | NEW;
	h.hlink = "g";
	check_fmt(OCE_FORMAT_ITEMIZE, &h, &local_ctx, "hf+++++++++ f => g");
	/* rsync -av src/ dst/ : the -v default format */
	l.symlink = "a.txt";
	check_fmt(OCE_FORMAT_VERBOSE, &l, &local_ctx, "link -> a.txt");
	/* A deleted symlink shows no arrow (upstream passes the name alone). */
	l.iflags = OCE_ITEM_DELETED;
	check_fmt(OCE_FORMAT_ITEMIZE, &l, &local_ctx, "*deleting   link");
}

static void
test_out_format_limits(void **state)
{
	struct oce_logitem a = fx_item("a.txt", S_IFREG | 0644, 6);
	char small[8], *big;

	(void)state;
	assert_int_equal(oce_out_format(small, sizeof(small), "%n%n", &a, &local_ctx), -ENOSPC);
	assert_string_equal(small, "a.txta.");
	big = malloc(5000);
	assert_non_null(big);
	memset(big, 'x', 4999);
	big[4999] = '\0';
	assert_int_equal(oce_out_format(small, sizeof(small), big, &a, &local_ctx), -ENAMETOOLONG);
	free(big);
}

static char *
capture_write(const char *line, bool allow_8bit)
{
	char *mem = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&mem, &len);

	assert_non_null(f);
	assert_int_equal(oce_log_write(f, line, strlen(line), allow_8bit), 0);
	fclose(f);
	return mem;
}

static void
check_write(const char *line, bool allow_8bit, const char *want)
{
	char *got = capture_write(line, allow_8bit);

	assert_string_equal(got, want);
	free(got);
}

static void
test_log_write(void **state)
{
	(void)state;
	/* LC_ALL=C.UTF-8 rsync -ai s2/ d2/ with names holding a tab, a newline, UTF-8 text,
	 * U+0085, a stray 0xff and a literal backslash-hash-digits */
	if (!setlocale(LC_CTYPE, "C.UTF-8"))
		skip();
	check_write(">f+++++++++ tab\there", false, ">f+++++++++ tab\there\n");
	check_write(">f+++++++++ nl\nx", false, ">f+++++++++ nl\\#012x\n");
	check_write(">f+++++++++ h\xc3\xa9llo", false, ">f+++++++++ h\xc3\xa9llo\n");
	check_write(">f+++++++++ c1\xc2\x85x", false, ">f+++++++++ c1\xc2\x85x\n");
	check_write(">f+++++++++ bad\xffy", false, ">f+++++++++ bad\\#377y\n");
	check_write(">f+++++++++ lit\\#123", false, ">f+++++++++ lit\\#134#123\n");
	/* ... s5/ d5/ : what glibc's UTF-8 check refuses and lets through */
	check_write("ov\xc0\x80", false, "ov\\#300\\#200\n");
	check_write("sur\xed\xa0\x80", false, "sur\\#355\\#240\\#200\n");
	check_write("trunc\xe2\x82", false, "trunc\\#342\\#202\n");
	check_write("del\x7f", false, "del\x7f\n");
	check_write("ok\xe2\x82\xac", false, "ok\xe2\x82\xac\n");
	/* rsync -r --out-format='%n' s12/ d12/ and rsync -ri s12/ d12/ with a file
	 * named "\rfoo": only a leading carriage return passes through */
	check_write("\rfoo", false, "\rfoo\n");
	check_write(">f+++++++++ \rfoo", false, ">f+++++++++ \\#015foo\n");
	/* rsync -ai --8-bit-output s2/ d2/ : raw high bytes, controls still escaped */
	check_write("bad\xffy\n", true, "bad\xffy\\#012\n");
	/* LC_ALL=C rsync -ai s2/ d2/ : every high byte escaped */
	setlocale(LC_CTYPE, "C");
	check_write("h\xc3\xa9llo", false, "h\\#303\\#251llo\n");
	check_write("bad\xffy", true, "bad\xffy\n");
}

static void
check_num(int64_t n, int human, const char *want)
{
	char buf[64];

	assert_int_equal(oce_human_num(buf, sizeof(buf), n, human), strlen(want));
	assert_string_equal(buf, want);
}

static void
test_numbers(void **state)
{
	char buf[64];

	(void)state;
	/* rsync -a --stats {--no-h,,-h,-hh} src/ dst/ : "Total file size" */
	check_num(123463, 0, "123463");
	check_num(123463, 1, "123,463");
	check_num(123463, 2, "123.46K");
	check_num(123463, 3, "120.57K");
	/* TZ=UTC rsync -a -n --out-format="%l %'l %''l %'''l" fx/ dfx/ */
	check_num(5368709120LL, 0, "5368709120");
	check_num(5368709120LL, 1, "5,368,709,120");
	check_num(5368709120LL, 2, "5.37G");
	check_num(5368709120LL, 3, "5.00G");
	check_num(4096, 2, "4.10K");
	check_num(4096, 3, "4.00K");
	/* "Total bytes received: 98" with -h: below one unit stays plain */
	check_num(98, 2, "98");
	check_num(999, 2, "999");
	/* rsync -a --out-format="%l|%'l|%''l|%'''l" s11/f d11/ (1023 bytes):
	 * "1023|1,023|1.02K|1,023": below one unit, levels 2 and 3 still group */
	check_num(1023, 0, "1023");
	check_num(1023, 2, "1.02K");
	check_num(1023, 3, "1,023");
	check_num(0, 1, "0");
	/* Upstream rules with no captured run: signs, T and P, the int64 edge. */
	check_num(-1234567, 1, "-1,234,567");
	check_num(-2000, 2, "-2.00K");
	check_num(1000000000000LL, 2, "1.00T");
	check_num(2000000000000000LL, 2, "2.00P");
	check_num(INT64_MIN, 0, "-9223372036854775808");
	check_num(INT64_MIN, 1, "-9,223,372,036,854,775,808");
	/* "speedup is 22,463,218.12" and "247,616.00 bytes/sec" */
	assert_int_equal(oce_human_dnum(buf, sizeof(buf), 5368709131.0 / 239, 1, 2), 13);
	assert_string_equal(buf, "22,463,218.12");
	oce_human_dnum(buf, sizeof(buf), 247616.0, 1, 2);
	assert_string_equal(buf, "247,616.00");
	oce_human_dnum(buf, sizeof(buf), 247616.0, 0, 2);
	assert_string_equal(buf, "247616.00");
	oce_human_dnum(buf, sizeof(buf), 247600.0, 3, 2);
	assert_string_equal(buf, "241.80K");
	/* "File list generation time: 0.001 seconds" */
	oce_human_dnum(buf, sizeof(buf), 0.001, 1, 3);
	assert_string_equal(buf, "0.001");
	/* do_big_dnum truncates the integer part but rounds the fraction */
	oce_human_dnum(buf, sizeof(buf), 1234.999, 1, 2);
	assert_string_equal(buf, "1,234.00");
	oce_comma_num(buf, sizeof(buf), 1234, 3);
	assert_string_equal(buf, "1,234");
	assert_int_equal(oce_human_num(buf, 3, 1234, 1), -ENOSPC);
}

static void
test_list_line(void **state)
{
	char buf[256];

	(void)state;
	/* TZ=UTC rsync -a --list-only fx/ */
	oce_list_line(buf, sizeof(buf), S_IFDIR | 0755, 4096, 1612325106, ".", NULL, 1);
	assert_string_equal(buf, "drwxr-xr-x          4,096 2021/02/03 04:05:06 .");
	oce_list_line(buf, sizeof(buf), S_IFREG | 04755, 6, 1612325106, "a.txt", NULL, 1);
	assert_string_equal(buf, "-rwsr-xr-x              6 2021/02/03 04:05:06 a.txt");
	oce_list_line(buf, sizeof(buf), S_IFLNK | 0777, 5, 1577836800, "link", "a.txt", 1);
	assert_string_equal(buf, "lrwxrwxrwx              5 2020/01/01 00:00:00 link -> a.txt");
	oce_list_line(buf, sizeof(buf), S_IFREG | 0644, 5368709120LL, 1612325106, "sub/huge", NULL,
		      1);
	assert_string_equal(buf, "-rw-r--r--  5,368,709,120 2021/02/03 04:05:06 sub/huge");
	/* ... --no-h, -h, -hh */
	oce_list_line(buf, sizeof(buf), S_IFREG | 0644, 5368709120LL, 1612325106, "sub/huge", NULL,
		      0);
	assert_string_equal(buf, "-rw-r--r--  5368709120 2021/02/03 04:05:06 sub/huge");
	oce_list_line(buf, sizeof(buf), S_IFDIR | 0755, 4096, 1612325106, "sub", NULL, 2);
	assert_string_equal(buf, "drwxr-xr-x          4.10K 2021/02/03 04:05:06 sub");
	oce_list_line(buf, sizeof(buf), S_IFDIR | 0755, 4096, 1612325106, "sub", NULL, 3);
	assert_string_equal(buf, "drwxr-xr-x          4.00K 2021/02/03 04:05:06 sub");
	/* Upstream permstring() rules for the other bits and types. */
	oce_permstring(buf, S_IFBLK | 02750 | 01000);
	assert_string_equal(buf, "brwxr-s--T");
	oce_permstring(buf, S_IFSOCK | 04644);
	assert_string_equal(buf, "srwSr--r--");
}

static char *
capture_stats(const struct oce_stats *s, int human, bool with_block, int64_t elapsed, bool dry_run)
{
	char *mem = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&mem, &len);

	assert_non_null(f);
	if (with_block)
		assert_int_equal(oce_print_stats(f, s, human, 32), 0);
	assert_int_equal(oce_print_summary(f, s, human, elapsed, dry_run, false), 0);
	fclose(f);
	return mem;
}

/* The fx -> dfx dry run: TZ=UTC rsync -a -n --delete --stats <h> fx/ dfx/ */
static const struct oce_stats fx_stats = {
    .total_size = 5368709131LL,
    .total_transferred_size = 5368709126LL,
    .total_written = 152,
    .total_read = 87,
    .flist_buildtime = 1,
    .num_files = 5,
    .num_dirs = 2,
    .num_symlinks = 1,
    .created_files = 4,
    .created_dirs = 1,
    .created_symlinks = 1,
    .deleted_files = 5,
    .deleted_dirs = 2,
    .deleted_symlinks = 1,
    .xferred_files = 2,
};

static const char fx_head[] = "\n"
			      "Number of files: 5 (reg: 2, dir: 2, link: 1)\n"
			      "Number of created files: 4 (reg: 2, dir: 1, link: 1)\n"
			      "Number of deleted files: 5 (reg: 2, dir: 2, link: 1)\n"
			      "Number of regular files transferred: 2\n";

static const char fx_tail[] = "Literal data: 0 bytes\n"
			      "Matched data: 0 bytes\n"
			      "File list size: 0\n"
			      "File list generation time: 0.001 seconds\n"
			      "File list transfer time: 0.000 seconds\n"
			      "Total bytes sent: 152\n"
			      "Total bytes received: 87\n"
			      "\n"
			      "sent 152 bytes  received 87 bytes  478.00 bytes/sec\n";

static void
check_fx_stats(int human, const char *sizes, const char *total_line)
{
	char want[2048];
	char *got = capture_stats(&fx_stats, human, true, 0, true);

	snprintf(want, sizeof(want), "%s%s%s%s", fx_head, sizes, fx_tail, total_line);
	assert_string_equal(got, want);
	free(got);
}

static void
test_stats_block(void **state)
{
	(void)state;
	check_fx_stats(0,
		       "Total file size: 5368709131 bytes\n"
		       "Total transferred file size: 5368709126 bytes\n",
		       "total size is 5368709131  speedup is 22463218.12 (DRY RUN)\n");
	check_fx_stats(1,
		       "Total file size: 5,368,709,131 bytes\n"
		       "Total transferred file size: 5,368,709,126 bytes\n",
		       "total size is 5,368,709,131  speedup is 22,463,218.12 (DRY RUN)\n");
	check_fx_stats(2,
		       "Total file size: 5.37G bytes\n"
		       "Total transferred file size: 5.37G bytes\n",
		       "total size is 5.37G  speedup is 22,463,218.12 (DRY RUN)\n");
	check_fx_stats(3,
		       "Total file size: 5.00G bytes\n"
		       "Total transferred file size: 5.00G bytes\n",
		       "total size is 5.00G  speedup is 22,463,218.12 (DRY RUN)\n");
}

static void
test_stats_real_copy(void **state)
{
	struct oce_stats s = {
	    .total_size = 123463,
	    .total_transferred_size = 123458,
	    .literal_data = 123458,
	    .total_written = 123736,
	    .total_read = 72,
	    .flist_buildtime = 1,
	    .num_files = 5,
	    .num_dirs = 2,
	    .num_symlinks = 1,
	    .created_files = 5,
	    .created_dirs = 2,
	    .created_symlinks = 1,
	    .xferred_files = 2,
	};
	char *got;

	(void)state;
	/* rsync -a --stats src/ dst/ (fresh dst) */
	got = capture_stats(&s, 1, true, 0, false);
	assert_string_equal(got, "\n"
				 "Number of files: 5 (reg: 2, dir: 2, link: 1)\n"
				 "Number of created files: 5 (reg: 2, dir: 2, link: 1)\n"
				 "Number of deleted files: 0\n"
				 "Number of regular files transferred: 2\n"
				 "Total file size: 123,463 bytes\n"
				 "Total transferred file size: 123,458 bytes\n"
				 "Literal data: 123,458 bytes\n"
				 "Matched data: 0 bytes\n"
				 "File list size: 0\n"
				 "File list generation time: 0.001 seconds\n"
				 "File list transfer time: 0.000 seconds\n"
				 "Total bytes sent: 123,736\n"
				 "Total bytes received: 72\n"
				 "\n"
				 "sent 123,736 bytes  received 72 bytes  247,616.00 bytes/sec\n"
				 "total size is 123,463  speedup is 1.00\n");
	free(got);
	/* rsync -av --stats -h src/ dst/ : "sent 123.74K bytes  received 98 bytes
	 * 247.67K bytes/sec" (123,737 + 98 bytes sent and received) */
	s.total_written = 123737;
	s.total_read = 98;
	got = capture_stats(&s, 2, false, 0, false);
	assert_string_equal(got, "\nsent 123.74K bytes  received 98 bytes  247.67K bytes/sec\n"
				 "total size is 123.46K  speedup is 1.00\n");
	free(got);
	/* rsync -a --stats -hh src/ dst/ : 123,732 + 68 bytes */
	s.total_written = 123732;
	s.total_read = 68;
	got = capture_stats(&s, 3, false, 0, false);
	assert_string_equal(got, "\nsent 120.83K bytes  received 68 bytes  241.80K bytes/sec\n"
				 "total size is 120.57K  speedup is 1.00\n");
	free(got);
	/* rsync -avn --delete src/ dst/ (nothing to do) */
	s.total_written = 151;
	s.total_read = 20;
	got = capture_stats(&s, 1, false, 0, true);
	assert_string_equal(got, "\nsent 151 bytes  received 20 bytes  342.00 bytes/sec\n"
				 "total size is 123,463  speedup is 722.01 (DRY RUN)\n");
	free(got);
	/* rsync -av --delete s4/ d4/ (deletions only) */
	s.total_written = 137;
	s.total_read = 58;
	s.total_size = 6;
	got = capture_stats(&s, 1, false, 0, false);
	assert_string_equal(got, "\nsent 137 bytes  received 58 bytes  390.00 bytes/sec\n"
				 "total size is 6  speedup is 0.03\n");
	free(got);
	got = capture_stats(&s, 1, false, -1, false);
	assert_non_null(strstr(got, "  UNKNOWN bytes/sec\n"));
	free(got);
}

static void
check_line(int rc, const char *buf, const char *want)
{
	assert_int_equal(rc, strlen(want));
	assert_string_equal(buf, want);
}

static void
test_progress(void **state)
{
	char buf[256];

	(void)state;
	/* rsync -a --progress src/ dst/ | od -c */
	check_line(oce_progress_line(buf, sizeof(buf), 2, 2, 0, 0, false, 0, 0, 0, true, 1), buf,
		   "\r              2 100%    0.00kB/s    0:00:00  ");
	check_line(oce_progress_line(buf, sizeof(buf), 2, 2, 0, 0, true, 1, 3, 5, true, 1), buf,
		   "\r              2 100%    0.00kB/s    0:00:00 (xfr#1, to-chk=3/5)\n");
	check_line(
	    oce_progress_line(buf, sizeof(buf), 32768, 123456, 32000, 0, false, 0, 0, 0, true, 1),
	    buf, "\r         32,768  26%   31.25MB/s    0:00:00  ");
	check_line(oce_progress_line(buf, sizeof(buf), 123456, 123456, 120565.76, 0.001, true, 2, 0,
				     5, true, 1),
		   buf, "\r        123,456 100%  117.74MB/s    0:00:00 (xfr#2, to-chk=0/5)\n");
	/* rsync -a --progress -h --bwlimit=200 s6/ d6/  (400000-byte file) */
	check_line(oce_progress_line(buf, sizeof(buf), 262144, 400000, 206.64, 0.66, false, 0, 0, 0,
				     true, 2),
		   buf, "\r        262.14K  65%  206.64kB/s    0:00:00  ");
	check_line(oce_progress_line(buf, sizeof(buf), 400000, 400000, 207.90, 1.88, true, 1, 0, 2,
				     true, 2),
		   buf, "\r        400.00K 100%  207.90kB/s    0:00:01 (xfr#1, to-chk=0/2)\n");
	/* Upstream rules with no captured run: ir-chk, GB/s, long and unknown ETAs. */
	check_line(oce_progress_line(buf, sizeof(buf), 1, 2, 2.0 * 1024 * 1024, 3725, false, 0, 0,
				     0, true, 0),
		   buf, "\r              1  50%    2.00GB/s    1:02:05  ");
	check_line(oce_progress_line(buf, sizeof(buf), 1, 4, 1, -1, true, 7, 10, 20, false, 0), buf,
		   "\r              1  25%    1.00kB/s   ??:??:?? (xfr#7, ir-chk=10/20)\n");
	assert_int_equal(oce_progress_rate(2048, 0), 2000.0);
	assert_int_equal(oce_progress_rate(1024, 1000), 1.0);
	assert_true(oce_progress_eta(0, 200000, 100.0) == 2.0);
	assert_true(oce_progress_eta(5, 10, 0) == 0.0);
}

static void
test_progress2(void **state)
{
	char buf[256];
	int last = 0;

	(void)state;
	/* rsync -a --info=progress2 src/ dst/ | od -c  (total 123463 bytes) */
	check_line(
	    oce_progress2_line(buf, sizeof(buf), 2, 123463, 0, 0, false, 0, 0, 0, true, 1, &last),
	    buf, "\r              2   0%    0.00kB/s    0:00:00  ");
	check_line(
	    oce_progress2_line(buf, sizeof(buf), 2, 123463, 0, 0, true, 1, 3, 5, true, 1, &last),
	    buf, "\r              2   0%    0.00kB/s    0:00:00 (xfr#1, to-chk=3/5)");
	check_line(oce_progress2_line(buf, sizeof(buf), 123458, 123463, 120565.76, 0.001, true, 2,
				      0, 5, true, 1, &last),
		   buf, "\r        123,458  99%  117.74MB/s    0:00:00 (xfr#2, to-chk=0/5)");
	/* A shorter tail is padded to the previous one's width, then that width is
	 * forgotten (upstream keeps only the last length). */
	last = 0;
	oce_progress2_line(buf, sizeof(buf), 1, 9, 0, 0, true, 10, 100, 200, true, 0, &last);
	check_line(
	    oce_progress2_line(buf, sizeof(buf), 1, 9, 0, 0, true, 11, 9, 200, true, 0, &last), buf,
	    "\r              1  11%    0.00kB/s    0:00:00 (xfr#11, to-chk=9/200)  ");
	check_line(
	    oce_progress2_line(buf, sizeof(buf), 1, 9, 0, 0, true, 12, 8, 200, true, 0, &last), buf,
	    "\r              1  11%    0.00kB/s    0:00:00 (xfr#12, to-chk=8/200)");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_itemize_new),
	    cmocka_unit_test(test_itemize_changes),
	    cmocka_unit_test(test_itemize_delete),
	    cmocka_unit_test(test_out_format_fx),
	    cmocka_unit_test(test_out_format_modifiers),
	    cmocka_unit_test(test_out_format_roles),
	    cmocka_unit_test(test_out_format_limits),
	    cmocka_unit_test(test_log_write),
	    cmocka_unit_test(test_numbers),
	    cmocka_unit_test(test_list_line),
	    cmocka_unit_test(test_stats_block),
	    cmocka_unit_test(test_stats_real_copy),
	    cmocka_unit_test(test_progress),
	    cmocka_unit_test(test_progress2),
	};

	/* The rsync runs above were made in TZ=UTC and a "." decimal-point locale. */
	setenv("TZ", "UTC", 1);
	tzset();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
