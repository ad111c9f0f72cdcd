/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Output formatting that must match rsync 3.5.0 byte for byte. See
 * report.h; each function names the upstream one it mirrors.
 */
#include "apps/engine/report.h"
#include "apps/engine/util.h"

#include <errno.h>
#include <iconv.h>
#include <langinfo.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* Upstream's scratch sizes decide where over-long fields are cut, so ours match. */
#define OCE__MAXPATH  4096
#define OCE__LINE_MAX (OCE__MAXPATH + 1024)
#define OCE__FMT_SIZE 32

/* An append-only view of the caller's buffer that remembers overflow. */
struct oce__sb {
	char *buf;
	size_t cap;
	size_t len;
	bool over;
};

static void
oce__sb_init(struct oce__sb *sb, char *buf, size_t cap)
{
	sb->buf = buf;
	sb->cap = cap;
	sb->len = 0;
	sb->over = false;
	if (cap)
		buf[0] = '\0';
}

static void
oce__sb_put(struct oce__sb *sb, const char *s, size_t n)
{
	size_t room;

	if (sb->over || !sb->cap) {
		sb->over = true;
		return;
	}
	room = sb->cap - 1 - sb->len;
	if (n > room) {
		n = room;
		sb->over = true;
	}
	memcpy(sb->buf + sb->len, s, n);
	sb->len += n;
	sb->buf[sb->len] = '\0';
}

static void
oce__sb_puts(struct oce__sb *sb, const char *s)
{
	oce__sb_put(sb, s, strlen(s));
}

__attribute__((format(printf, 2, 3))) static void
oce__sb_printf(struct oce__sb *sb, const char *fmt, ...)
{
	char tmp[OCE__LINE_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof(tmp)) {
		sb->over = true;
		n = sizeof(tmp) - 1;
	}
	oce__sb_put(sb, tmp, (size_t)n);
}

static int
oce__sb_end(const struct oce__sb *sb)
{
	return sb->over ? -ENOSPC : (int)sb->len;
}

/*
 * Upstream picks the thousands separator by printing 3.14 under the
 * current LC_NUMERIC: a '.' decimal point means ',' separators.
 */
static char
oce__separator(void)
{
	char tmp[32];

	snprintf(tmp, sizeof(tmp), "%f", 3.14);
	return strchr(tmp, '.') ? ',' : '.';
}

/* Mirrors upstream do_big_num(); fract is appended when no unit is used. */
static int
oce__big_num(char *out, size_t cap, int64_t num, int human, const char *fract)
{
	char tmp[128], *s = tmp + sizeof(tmp) - 1;
	struct oce__sb sb;
	bool negated = false;
	char sep = human ? oce__separator() : ',';
	int len = 0;

	oce__sb_init(&sb, out, cap);
	if (human > 1) {
		int mult = human == 2 ? 1000 : 1024;

		if (num >= mult || num <= -mult) {
			static const char units[] = "KMGT";
			double d = (double)num / mult;
			int u = 0;

			if (num < 0)
				d = -d;
			while (u < 4 && d >= mult) {
				d /= mult;
				u++;
			}
			if (num < 0)
				d = -d;
			oce__sb_printf(&sb, "%.2f%c", d, u < 4 ? units[u] : 'P');
			return oce__sb_end(&sb);
		}
	}

	*s = '\0';
	if (fract) {
		size_t fl = strlen(fract);

		if (fl > 64)
			fl = 64;
		s -= fl;
		memcpy(s, fract, fl);
	}
	if (!num)
		*--s = '0';
	if (num < 0) {
		/* INT64_MIN has no positive twin, so peel one digit while negative. */
		*--s = (char)('0' - num % 10);
		num = -(num / 10);
		len++;
		negated = true;
	}
	while (num) {
		if (human) {
			if (len == 3) {
				*--s = sep;
				len = 1;
			} else {
				len++;
			}
		}
		*--s = (char)('0' + num % 10);
		num /= 10;
	}
	if (negated)
		*--s = '-';
	oce__sb_puts(&sb, s);
	return oce__sb_end(&sb);
}

int
oce_human_num(char *out, size_t cap, int64_t n, int human)
{
	return oce__big_num(out, cap, n, human, NULL);
}

int
oce_comma_num(char *out, size_t cap, int64_t n, int human)
{
	return oce__big_num(out, cap, n, human != 0, NULL);
}

/*
 * Mirrors upstream do_big_dnum(): the integer part is truncated (not
 * rounded) before grouping, while the fraction comes from "%.*f", so
 * 1234.999 prints "1,234.00" exactly as rsync does.
 */
int
oce_human_dnum(char *out, size_t cap, double d, int human, int digits)
{
	char tmp[128];
	const char *fract;
	struct oce__sb sb;

	snprintf(tmp, sizeof(tmp), "%.*f", digits, d);
	if (!human || (d < 1000.0 && d > -1000.0) || d != d || d - d != 0) {
		oce__sb_init(&sb, out, cap);
		oce__sb_puts(&sb, tmp);
		return oce__sb_end(&sb);
	}
	for (fract = tmp + 1; *fract >= '0' && *fract <= '9'; fract++)
		;
	return oce__big_num(out, cap, (int64_t)d, human, fract);
}

void
oce_permstring(char out[11], mode_t mode)
{
	static const char rwx[] = "rwxrwxrwx";
	int i;

	memcpy(out, "----------", 11);
	for (i = 0; i < 9; i++) {
		if (mode & (1u << i))
			out[9 - i] = rwx[8 - i];
	}
	if (mode & S_ISUID)
		out[3] = (mode & S_IXUSR) ? 's' : 'S';
	if (mode & S_ISGID)
		out[6] = (mode & S_IXGRP) ? 's' : 'S';
	if (mode & S_ISVTX)
		out[9] = (mode & S_IXOTH) ? 't' : 'T';
	if (S_ISDIR(mode))
		out[0] = 'd';
	else if (S_ISLNK(mode))
		out[0] = 'l';
	else if (S_ISBLK(mode))
		out[0] = 'b';
	else if (S_ISCHR(mode))
		out[0] = 'c';
	else if (S_ISSOCK(mode))
		out[0] = 's';
	else if (S_ISFIFO(mode))
		out[0] = 'p';
}

int
oce_timestring(char *out, size_t cap, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	struct oce__sb sb;

	struct tm *ok;

	oce__sb_init(&sb, out, cap);
	oce_forkgate_enter();
	ok = localtime_r(&tt, &tm);
	oce_forkgate_leave();
	if (!ok)
		oce__sb_puts(&sb, "(time out of range)");
	else
		oce__sb_printf(&sb, "%4d/%02d/%02d %02d:%02d:%02d", tm.tm_year + 1900,
			       tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	return oce__sb_end(&sb);
}

/* Mirrors the %i case of upstream log_formatted(). */
int
oce_itemize_str(char *out, size_t cap, uint32_t iflags, mode_t mode, const struct oce_logctx *ctx)
{
	char c[OCE_ITEMIZE_LEN + 1];
	struct oce__sb sb;
	int i;

	oce__sb_init(&sb, out, cap);
	if (iflags & OCE_ITEM_DELETED) {
		oce__sb_puts(&sb, "*deleting  ");
		return oce__sb_end(&sb);
	}
	if (iflags & OCE_ITEM_LOCAL_CHANGE)
		c[0] = iflags & OCE_ITEM_XNAME_FOLLOWS ? 'h' : 'c';
	else if (!(iflags & OCE_ITEM_TRANSFER))
		c[0] = '.';
	else
		c[0] = ctx->am_sender && !ctx->local_server ? '<' : '>';

	if (S_ISLNK(mode)) {
		c[1] = 'L';
		c[3] = '.';
		if (!(iflags & OCE_ITEM_REPORT_TIME))
			c[4] = '.';
		else if (!ctx->preserve_mtimes || !ctx->receiver_symlink_times ||
			 (iflags & OCE_ITEM_REPORT_TIMEFAIL))
			c[4] = 'T';
		else
			c[4] = 't';
	} else {
		if (S_ISDIR(mode))
			c[1] = 'd';
		else if (S_ISSOCK(mode) || S_ISFIFO(mode))
			c[1] = 'S';
		else if (S_ISCHR(mode) || S_ISBLK(mode))
			c[1] = 'D';
		else
			c[1] = 'f';
		c[3] = iflags & OCE_ITEM_REPORT_SIZE ? 's' : '.';
		if (!(iflags & OCE_ITEM_REPORT_TIME))
			c[4] = '.';
		else
			c[4] = ctx->preserve_mtimes ? 't' : 'T';
	}
	c[2] = iflags & OCE_ITEM_REPORT_CHANGE ? 'c' : '.';
	c[5] = iflags & OCE_ITEM_REPORT_PERMS ? 'p' : '.';
	c[6] = iflags & OCE_ITEM_REPORT_OWNER ? 'o' : '.';
	c[7] = iflags & OCE_ITEM_REPORT_GROUP ? 'g' : '.';
	/* u: access time, n: creation time, b: both. */
	c[8] = ".unb"[!!(iflags & OCE_ITEM_REPORT_ATIME) + 2 * !!(iflags & OCE_ITEM_REPORT_CRTIME)];
	c[9] = iflags & OCE_ITEM_REPORT_ACL ? 'a' : '.';
	c[10] = iflags & OCE_ITEM_REPORT_XATTR ? 'x' : '.';
	c[11] = '\0';

	if (iflags & (OCE_ITEM_IS_NEW | OCE_ITEM_MISSING_DATA)) {
		char ch = iflags & OCE_ITEM_IS_NEW ? '+' : '?';

		memset(c + 2, ch, OCE_ITEMIZE_LEN - 2);
	} else if (c[0] == '.' || c[0] == 'h' || c[0] == 'c') {
		/* An item with no attribute changes shows blanks, not dots. */
		for (i = 2; c[i] == '.'; i++)
			;
		if (!c[i])
			memset(c + 2, ' ', OCE_ITEMIZE_LEN - 2);
	}
	oce__sb_puts(&sb, c);
	return oce__sb_end(&sb);
}

/*
 * Upstream clean_fname() with no flags: drop repeated slashes, interior
 * "./" components and a trailing slash; keep ".." and a final ".".
 */
static void
oce__clean_fname(char *name)
{
	char *t = name, *f = name;
	bool anchored = *f == '/';

	if (anchored)
		*t++ = *f++;
	while (*f) {
		if (*f == '/') {
			f++;
			continue;
		}
		if (*f == '.' && f[1] == '/') {
			f += 2;
			continue;
		}
		while (*f && (*t++ = *f++) != '/')
			;
	}
	if (t > name + anchored && t[-1] == '/')
		t--;
	if (t == name)
		*t++ = '.';
	*t = '\0';
}

/* printf with a format assembled from the user's width spec, as upstream does. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
static void
oce__spec_str(char *dst, size_t cap, const char *spec, const char *s)
{
	char fmt[OCE__FMT_SIZE + 2];

	snprintf(fmt, sizeof(fmt), "%ss", spec);
	if (snprintf(dst, cap, fmt, s) < 0)
		dst[0] = '\0';
}

static void
oce__spec_num(char *dst, size_t cap, const char *spec, const char *conv, long long v)
{
	char fmt[OCE__FMT_SIZE + 4];

	snprintf(fmt, sizeof(fmt), "%sll%s", spec, conv);
	if (snprintf(dst, cap, fmt, v) < 0)
		dst[0] = '\0';
}
#pragma GCC diagnostic pop

/* The %C text; NULL means the blank run, which upstream never pads. */
static const char *
oce__csum(const struct oce_logitem *it, const struct oce_logctx *ctx)
{
	if (!S_ISREG(it->mode))
		return NULL;
	if (ctx->always_checksum && !(it->iflags & OCE_ITEM_DELETED))
		return it->file_sum_hex;
	if (it->iflags & OCE_ITEM_TRANSFER)
		return it->xfer_sum_hex;
	return NULL;
}

/*
 * Expand one escape letter. Returns the text (in val, or a constant) to be
 * padded with spec, sets *done when the text is already final, or returns
 * NULL to leave the escape as written.
 */
static const char *
oce__escape(char e, const char *spec, int humanize, const struct oce_logitem *it,
	    const struct oce_logctx *ctx, char *val, size_t vcap, bool *done)
{
	bool deleted = it->iflags & OCE_ITEM_DELETED;
	char num[128];
	int64_t b;
	size_t n;

	*done = false;
	switch (e) {
	case 'h':
		return ctx->am_daemon ? ctx->host : NULL;
	case 'a':
		return ctx->am_daemon ? ctx->addr : NULL;
	case 'l':
	case 'b':
	case 'c':
		if (e == 'l')
			b = it->size;
		else if (!(it->iflags & OCE_ITEM_TRANSFER))
			b = 0;
		else if (ctx->am_sender ^ (e == 'c'))
			b = it->bytes_written;
		else
			b = it->bytes_read;
		oce__big_num(num, sizeof(num), b, humanize, NULL);
		oce__spec_str(val, vcap, spec, num);
		*done = true;
		return val;
	case 'U':
		oce__spec_num(val, vcap, spec, "u", it->have_uid ? it->uid : 0);
		*done = true;
		return val;
	case 'G':
		if (!it->have_gid)
			return "DEFAULT";
		oce__spec_num(val, vcap, spec, "u", it->gid);
		*done = true;
		return val;
	case 'p':
		oce__spec_num(val, vcap, spec, "d", (int)ctx->pid);
		*done = true;
		return val;
	case 'M':
		oce_timestring(val, vcap, it->mtime);
		for (char *sp = val; (sp = strchr(sp, ' ')) != NULL;)
			*sp = '-';
		return val;
	case 'B':
		oce_permstring(num, it->mode);
		snprintf(val, vcap, "%s", num + 1);
		return val;
	case 'o':
		return deleted ? "del." : ctx->am_sender ? "send" : "recv";
	case 'f':
		if (it->dir && (ctx->am_sender || (ctx->am_daemon && it->name[0] != '/')))
			snprintf(val, vcap, "%s%s%s", it->dir,
				 *it->dir && it->dir[strlen(it->dir) - 1] == '/' ? "" : "/",
				 it->name);
		else
			snprintf(val, vcap, "%s", it->name);
		oce__clean_fname(val);
		if (val[0] == '/')
			memmove(val, val + 1, strlen(val));
		return val;
	case 'n':
		snprintf(val, vcap, "%s%s", it->name, S_ISDIR(it->mode) ? "/" : "");
		return val;
	case 'L': {
		const char *arrow = "    ", *t = "";

		if (it->hlink && *it->hlink) {
			arrow = " => ";
			t = it->hlink;
		} else if (S_ISLNK(it->mode) && !deleted && it->symlink) {
			arrow = " -> ";
			t = it->symlink;
		} else if (!spec[1]) {
			return "";
		}
		memcpy(val, arrow, 4);
		oce__spec_str(val + 4, vcap - 4, spec, t);
		*done = true;
		return val;
	}
	case 'm':
		return ctx->module ? ctx->module : "";
	case 't':
		oce_timestring(val, vcap, ctx->now);
		return val;
	case 'P':
		return ctx->module_path;
	case 'u':
		return ctx->auth_user;
	case 'C': {
		const char *hex = oce__csum(it, ctx);

		if (hex)
			return hex;
		n = ctx->sum_len > 0 ? (size_t)ctx->sum_len * 2 : 0;
		if (n >= vcap)
			n = vcap - 1;
		memset(val, ' ', n);
		val[n] = '\0';
		*done = true;
		return val;
	}
	case 'i':
		oce_itemize_str(val, vcap, it->iflags, it->mode, ctx);
		return val;
	case '%':
		return "%";
	default:
		return NULL;
	}
}

/* Mirrors upstream log_formatted(): see report.h for the escapes. */
int
oce_out_format(char *out, size_t cap, const char *fmt, const struct oce_logitem *it,
	       const struct oce_logctx *ctx)
{
	char val[OCE__MAXPATH], padded[OCE__MAXPATH];
	struct oce__sb sb;
	const char *p = fmt, *s;

	oce__sb_init(&sb, out, cap);
	if (strlen(fmt) > OCE__MAXPATH)
		return -ENAMETOOLONG;
	while ((s = strchr(p, '%')) != NULL) {
		char spec[OCE__FMT_SIZE] = "%";
		size_t sl = 1;
		int humanize = 0;
		const char *n;
		bool done;

		oce__sb_put(&sb, p, (size_t)(s - p));
		p = s + 1;
		for (; *p == '\''; p++)
			humanize++;
		if (*p == '-')
			spec[sl++] = *p++;
		/* Same digit limit as upstream, so both stop at the same letter. */
		while (*p >= '0' && *p <= '9' && sl < OCE__FMT_SIZE - 8)
			spec[sl++] = *p++;
		for (; *p == '\''; p++)
			humanize++;
		spec[sl] = '\0';
		if (!*p) {
			oce__sb_puts(&sb, s);
			p = s + strlen(s);
			break;
		}
		n = oce__escape(*p, spec, humanize, it, ctx, val, sizeof(val), &done);
		if (!n) {
			/* Unknown: keep "%..." and rescan from the letter itself. */
			oce__sb_put(&sb, s, (size_t)(p - s));
			continue;
		}
		if (!done && spec[1]) {
			oce__spec_str(padded, sizeof(padded), spec, n);
			n = padded;
		}
		oce__sb_puts(&sb, n);
		p++;
		/* Upstream keeps the expansion and its '\n' in one fixed buffer. */
		if (sb.len + strlen(p) + 1 >= OCE__LINE_MAX)
			return -E2BIG;
	}
	oce__sb_puts(&sb, p);
	return oce__sb_end(&sb);
}

/* The byte-level filter of upstream filtered_fwrite() with use_isprint off. */
static int
oce__filtered(FILE *f, const char *in, size_t len)
{
	const unsigned char *u = (const unsigned char *)in;
	size_t i;

	for (i = 0; i < len; i++) {
		bool lit = i + 4 < len && u[i] == '\\' && u[i + 1] == '#' && u[i + 2] >= '0' &&
			   u[i + 2] <= '9' && u[i + 3] >= '0' && u[i + 3] <= '9' &&
			   u[i + 4] >= '0' && u[i + 4] <= '9';

		if (lit || (u[i] != '\t' && u[i] < ' ')) {
			if (fprintf(f, "\\#%03o", u[i]) < 0)
				return -EIO;
		} else if (putc(u[i], f) == EOF) {
			return -EIO;
		}
	}
	return 0;
}

/*
 * Upstream runs each message through iconv(locale, locale) so bytes that
 * are not valid text in the locale charset become "\#ooo"; the valid runs
 * then get the control-character filter.
 */
int
oce_log_write(FILE *f, const char *line, size_t len, bool allow_8bit)
{
	iconv_t cd = (iconv_t)-1;
	char conv[1024];
	int rc = 0;

	/* A leading carriage return is how a line overwrites progress output. */
	if (len && line[0] == '\r') {
		putc('\r', f);
		line++;
		len--;
	}
	if (!allow_8bit)
		cd = iconv_open(nl_langinfo(CODESET), nl_langinfo(CODESET));
	if (cd == (iconv_t)-1) {
		rc = oce__filtered(f, line, len);
		goto out;
	}
	iconv(cd, NULL, NULL, NULL, NULL);
	while (len && !rc) {
		char *ip = (char *)line, *op = conv;
		size_t il = len, ol = sizeof(conv);
		size_t r = iconv(cd, &ip, &il, &op, &ol);
		int err = r == (size_t)-1 ? errno : 0;

		rc = oce__filtered(f, conv, (size_t)(op - conv));
		line = ip;
		len = il;
		if (!rc && (err == EILSEQ || err == EINVAL) && len) {
			if (fprintf(f, "\\#%03o", (unsigned char)*line) < 0)
				rc = -EIO;
			line++;
			len--;
		}
	}
	iconv_close(cd);
out:
	if (!rc && putc('\n', f) == EOF)
		rc = -EIO;
	return rc;
}

int
oce_list_line(char *out, size_t cap, mode_t mode, int64_t size, int64_t mtime, const char *name,
	      const char *symlink, int human)
{
	char perms[11], num[128], when[64];
	struct oce__sb sb;

	oce_permstring(perms, mode);
	oce_human_num(num, sizeof(num), size, human);
	oce_timestring(when, sizeof(when), mtime);
	oce__sb_init(&sb, out, cap);
	oce__sb_printf(&sb, "%s %*s %s %s%s%s", perms, human ? 14 : 11, num, when, name,
		       symlink ? " -> " : "", symlink ? symlink : "");
	return oce__sb_end(&sb);
}

/* Mirrors upstream output_itemized_counts(): "Label: N (reg: a, dir: b)". */
static void
oce__counts(FILE *f, const char *label, int total, const int other[4], int human)
{
	static const char *const names[] = {"reg", "dir", "link", "dev", "special"};
	char num[128];
	const char *pre = " (";
	int counts[5];
	int j;

	oce_comma_num(num, sizeof(num), total, human);
	fprintf(f, "%s: %s", label, num);
	if (total) {
		counts[0] = total - other[0] - other[1] - other[2] - other[3];
		memcpy(counts + 1, other, 4 * sizeof(int));
		for (j = 0; j < 5; j++) {
			if (!counts[j])
				continue;
			oce_comma_num(num, sizeof(num), counts[j], human);
			fprintf(f, "%s%s: %s", pre, names[j], num);
			pre = ", ";
		}
		putc(')', f);
	}
	putc('\n', f);
}

int
oce_print_stats(FILE *f, const struct oce_stats *s, int human, int protocol)
{
	const int nf[4] = {s->num_dirs, s->num_symlinks, s->num_devices, s->num_specials};
	const int cf[4] = {s->created_dirs, s->created_symlinks, s->created_devices,
			   s->created_specials};
	const int df[4] = {s->deleted_dirs, s->deleted_symlinks, s->deleted_devices,
			   s->deleted_specials};
	const struct {
		const char *label, *unit;
		int64_t v;
	} sizes[] = {
	    {"Total file size", " bytes", s->total_size},
	    {"Total transferred file size", " bytes", s->total_transferred_size},
	    {"Literal data", " bytes", s->literal_data},
	    {"Matched data", " bytes", s->matched_data},
	    {"File list size", "", s->flist_size},
	};
	char a[128], b[128];
	size_t i;

	putc('\n', f);
	oce__counts(f, "Number of files", s->num_files, nf, human);
	if (protocol >= 29)
		oce__counts(f, "Number of created files", s->created_files, cf, human);
	if (protocol >= 31)
		oce__counts(f, "Number of deleted files", s->deleted_files, df, human);
	oce_comma_num(a, sizeof(a), s->xferred_files, human);
	fprintf(f, "Number of regular files transferred: %s\n", a);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		oce_human_num(a, sizeof(a), sizes[i].v, human);
		fprintf(f, "%s: %s%s\n", sizes[i].label, a, sizes[i].unit);
	}
	if (s->flist_buildtime) {
		oce_human_dnum(a, sizeof(a), (double)s->flist_buildtime / 1000, human != 0, 3);
		oce_human_dnum(b, sizeof(b), (double)s->flist_xfertime / 1000, human != 0, 3);
		fprintf(f, "File list generation time: %s seconds\n", a);
		fprintf(f, "File list transfer time: %s seconds\n", b);
	}
	oce_human_num(a, sizeof(a), s->total_written, human);
	oce_human_num(b, sizeof(b), s->total_read, human);
	fprintf(f, "Total bytes sent: %s\nTotal bytes received: %s\n", a, b);
	return ferror(f) ? -EIO : 0;
}

int
oce_print_summary(FILE *f, const struct oce_stats *s, int human, int64_t elapsed, bool dry_run,
		  bool batch_only)
{
	char w[128], r[128], rate[128], tot[128], speed[128];
	int64_t moved = s->total_written + s->total_read;
	const char *tag = batch_only ? " (BATCH ONLY)" : dry_run ? " (DRY RUN)" : "";

	oce_human_num(w, sizeof(w), s->total_written, human);
	oce_human_num(r, sizeof(r), s->total_read, human);
	if (elapsed < 0)
		snprintf(rate, sizeof(rate), "UNKNOWN");
	else
		oce_human_dnum(rate, sizeof(rate), (double)moved / (0.5 + (double)elapsed), human,
			       2);
	oce_human_num(tot, sizeof(tot), s->total_size, human);
	oce_human_dnum(speed, sizeof(speed), (double)s->total_size / (double)moved, human != 0, 2);
	fprintf(f, "\nsent %s bytes  received %s bytes  %s bytes/sec\n", w, r, rate);
	fprintf(f, "total size is %s  speedup is %s%s\n", tot, speed, tag);
	return ferror(f) ? -EIO : 0;
}

double
oce_progress_rate(int64_t bytes, unsigned long ms)
{
	return (double)bytes * 1000.0 / (double)(ms ? ms : 1) / 1024.0;
}

double
oce_progress_eta(int64_t ofs, int64_t size, double rate_kbs)
{
	return rate_kbs ? (double)(size - ofs) / rate_kbs / 1000.0 : 0.0;
}

/* The shared body of upstream rprint_progress(); eol is the line's tail. */
static int
oce__progress(char *out, size_t cap, int64_t ofs, int64_t size, double rate, double secs,
	      const char *eol, int human)
{
	char num[128], rem[64];
	const char *units = "kB/s";
	struct oce__sb sb;
	int pct;

	if (rate > 1024 * 1024) {
		rate /= 1024.0 * 1024.0;
		units = "GB/s";
	} else if (rate > 1024) {
		rate /= 1024.0;
		units = "MB/s";
	}
	if (secs < 0 || secs > 9999.0 * 3600.0)
		snprintf(rem, sizeof(rem), "  ??:??:??");
	else
		snprintf(rem, sizeof(rem), "%4u:%02u:%02u", (unsigned)(secs / 3600.0),
			 (unsigned)(secs / 60.0) % 60, (unsigned)secs % 60);
	pct = ofs == size ? 100 : (int)(100.0 * (double)ofs / (double)size);
	oce_human_num(num, sizeof(num), ofs, human);
	oce__sb_init(&sb, out, cap);
	oce__sb_printf(&sb, "\r%15s %3d%% %7.2f%s %s%s", num, pct, rate, units, rem, eol);
	return oce__sb_end(&sb);
}

int
oce_progress_line(char *out, size_t cap, int64_t ofs, int64_t size, double rate_kbs, double secs,
		  bool done, int xfer_num, int chk_remaining, int chk_total, bool flist_eof,
		  int human)
{
	char eol[128] = "  ";

	if (done)
		snprintf(eol, sizeof(eol), " (xfr#%d, %s-chk=%d/%d)\n", xfer_num,
			 flist_eof ? "to" : "ir", chk_remaining, chk_total);
	return oce__progress(out, cap, ofs, size, rate_kbs, secs, eol, human);
}

/*
 * Upstream drops the newline and pads the tail with blanks only up to the
 * previous tail's length, then remembers the current length, not the
 * maximum; *last_len reproduces that exactly.
 */
int
oce_progress2_line(char *out, size_t cap, int64_t ofs, int64_t size, double rate_kbs, double secs,
		   bool done, int xfer_num, int chk_remaining, int chk_total, bool flist_eof,
		   int human, int *last_len)
{
	char eol[128] = "  ";
	int tail, len;

	if (done) {
		tail = snprintf(eol, sizeof(eol), " (xfr#%d, %s-chk=%d/%d)", xfer_num,
				flist_eof ? "to" : "ir", chk_remaining, chk_total);
		if (tail < 0)
			tail = 0;
		for (len = tail; len < *last_len && len < (int)sizeof(eol) - 1; len++)
			eol[len] = ' ';
		eol[len] = '\0';
		*last_len = tail;
	}
	return oce__progress(out, cap, ofs, size, rate_kbs, secs, eol, human);
}
