/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Option values: the --info/--debug words and what -v implies, sizes with
 * units, --exclude/--include patterns and their files, directory names and
 * host specs (upstream options.c parse_output_words(), parse_size_arg(),
 * exclude.c parse_filter_file(), util1.c clean_fname()).
 */
#include "apps/engine/options_priv.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "apps/engine/errcode.h"

void
oce__say(const char *fmt, ...)
{
	va_list ap;

	fputs(OCE_PROG ": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* --info / --debug words; priorities as upstream's output_struct. */
static const char *const info_names[OCE_INFO_COUNT] = {
    "BACKUP", "COPY",	  "DEL",    "FLIST", "MISC",  "MOUNT",	 "NAME",
    "NONREG", "PROGRESS", "REMOVE", "SKIP",  "STATS", "SYMSAFE",
};

static const char *const info_help[OCE_INFO_COUNT] = {
    "Mention files backed up",
    "Mention files copied locally on the receiving side",
    "Mention deletions on the receiving side",
    "Mention file-list receiving/sending (levels 1-2)",
    "Mention miscellaneous information (levels 1-2)",
    "Mention mounts that were found or skipped",
    "Mention 1) updated file/dir names, 2) unchanged names",
    "Mention skipped non-regular files (default 1, 0 disables)",
    "Mention 1) per-file progress or 2) total transfer progress",
    "Mention files removed on the sending side",
    "Mention files skipped due to transfer overrides (levels 1-2)",
    "Mention statistics at end of run (levels 1-3)",
    "Mention symlinks that are unsafe",
};

static const char *const debug_names[OCE_DEBUG_COUNT] = {
    "ACL",   "BACKUP", "BIND",	 "CHDIR", "CONNECT", "CMD",  "DEL",  "DELTASUM",
    "DUP",   "EXIT",   "FILTER", "FLIST", "FUZZY",   "GENR", "HASH", "HLINK",
    "ICONV", "IO",     "NSTR",	 "OWN",	  "PROTO",   "RECV", "SEND", "TIME",
};

static const char *const debug_help[OCE_DEBUG_COUNT] = {
    "Debug extra ACL info",
    "Debug backup actions (levels 1-2)",
    "Debug socket bind actions",
    "Debug when the current directory changes",
    "Debug connection events (levels 1-2)",
    "Debug commands+options that are issued (levels 1-2)",
    "Debug delete actions (levels 1-3)",
    "Debug delta-transfer checksumming (levels 1-4)",
    "Debug weeding of duplicate names",
    "Debug exit events (levels 1-3)",
    "Debug filter actions (levels 1-3)",
    "Debug file-list operations (levels 1-4)",
    "Debug fuzzy scoring (levels 1-2)",
    "Debug generator functions",
    "Debug hashtable code",
    "Debug hard-link actions (levels 1-3)",
    "Debug iconv character conversions (levels 1-2)",
    "Debug I/O routines (levels 1-4)",
    "Debug negotiation strings",
    "Debug ownership changes in users & groups (levels 1-2)",
    "Debug protocol information",
    "Debug receiver functions",
    "Debug sender functions",
    "Debug setting of modified times (levels 1-2)",
};

/* What each -v level adds (upstream info_verbosity / debug_verbosity). */
#define MAX_VERBOSITY 5
static const char *const info_verbosity[MAX_VERBOSITY + 1] = {
    "NONREG",
    "COPY,DEL,FLIST,MISC,NAME,STATS,SYMSAFE",
    "BACKUP,MISC2,MOUNT,NAME2,REMOVE,SKIP",
};

static const char *const debug_verbosity[MAX_VERBOSITY + 1] = {
    NULL,
    NULL,
    "BIND,CMD,CONNECT,DEL,DELTASUM,DUP,FILTER,FLIST,ICONV",
    "ACL,BACKUP,CONNECT2,DELTASUM2,DEL2,EXIT,FILTER2,FLIST2,FUZZY,GENR,OWN,RECV,SEND,TIME",
    "CMD2,DELTASUM3,DEL3,EXIT2,FLIST3,ICONV2,OWN2,PROTO,TIME2",
    "CHDIR,DELTASUM4,FLIST4,FUZZY2,HASH,HLINK",
};

#define MAX_OUT_LEVEL 4

const char *
oce_info_name(enum oce_info i)
{
	return (unsigned)i < OCE_INFO_COUNT ? info_names[i] : NULL;
}

const char *
oce_debug_name(enum oce_debug i)
{
	return (unsigned)i < OCE_DEBUG_COUNT ? debug_names[i] : NULL;
}

static void
words_help(bool info)
{
	const char *const *names = info ? info_names : debug_names;
	const char *const *help = info ? info_help : debug_help;
	const char *const *verb = info ? info_verbosity : debug_verbosity;
	const char *what = info ? "--info" : "--debug";
	int count = info ? OCE_INFO_COUNT : OCE_DEBUG_COUNT;
	char buf[128];

	printf("Use OPT or OPT1 for level 1 output, OPT2 for level 2, etc.; OPT0 silences.\n\n");
	for (int j = 0; j < count; j++)
		printf("%-10s %s\n", names[j], help[j]);
	printf("\n");
	snprintf(buf, sizeof(buf), "Set all %s options (e.g. all%d)", what, MAX_OUT_LEVEL);
	printf("%-10s %s\n", "ALL", buf);
	snprintf(buf, sizeof(buf), "Silence all %s options (same as all0)", what);
	printf("%-10s %s\n", "NONE", buf);
	printf("%-10s %s\n", "HELP", "Output this help message");
	printf("\nOptions added at each level of verbosity:\n");
	for (int lv = 0; lv <= MAX_VERBOSITY; lv++) {
		struct oce_opts scratch;
		struct oce__prio tmp;
		const uint8_t *levels = info ? scratch.info : scratch.debug;
		bool first = true;

		if (!verb[lv])
			continue;
		oce_opts_init(&scratch);
		memset(&tmp, 0, sizeof(tmp));
		oce__parse_words(&scratch, &tmp, info, verb[lv], OCE__PRIO_USER);
		printf("%d) ", lv);
		for (int j = 0; j < count; j++) {
			if (!levels[j])
				continue;
			printf("%s%s", first ? "" : ",", names[j]);
			if (levels[j] != 1)
				printf("%d", levels[j]);
			first = false;
		}
		printf("\n");
	}
}

int
oce__parse_words(struct oce_opts *o, struct oce__prio *p, bool info, const char *str, uint8_t prio)
{
	const char *const *names = info ? info_names : debug_names;
	uint8_t *levels = info ? o->info : o->debug;
	uint8_t *prios = info ? p->info : p->debug;
	int count = info ? OCE_INFO_COUNT : OCE_DEBUG_COUNT;
	const char *s;

	for (; str; str = s) {
		size_t len;
		int lev, j;

		s = strchr(str, ',');
		len = s ? (size_t)(s++ - str) : strlen(str);
		if (!len)
			continue;
		if (!isdigit((unsigned char)*str))
			while (len && isdigit((unsigned char)str[len - 1]))
				len--;
		if (isdigit((unsigned char)str[len])) {
			long v = strtol(str + len, NULL, 10);

			lev = v > MAX_OUT_LEVEL || v < 0 ? MAX_OUT_LEVEL : (int)v;
		} else {
			lev = 1;
		}
		if (len == 4 && strncasecmp(str, "help", 4) == 0) {
			words_help(info);
			return 1;
		}
		if (len == 4 && strncasecmp(str, "none", 4) == 0)
			len = 0, lev = 0;
		else if (len == 3 && strncasecmp(str, "all", 3) == 0)
			len = 0;
		for (j = 0; j < count; j++) {
			if (len && (strlen(names[j]) != len || strncasecmp(str, names[j], len)))
				continue;
			if (prio >= prios[j]) {
				prios[j] = prio;
				levels[j] = (uint8_t)lev;
				if (info && prio == OCE__PRIO_USER)
					o->info_user |= 1u << j;
				if (!info && prio == OCE__PRIO_USER)
					o->debug_user = true;
			}
			if (len)
				break;
		}
		/* A server ignores words a newer client knows and it does not. */
		if (len && j == count && !o->server) {
			fprintf(stderr, "Unknown %s item: \"%.*s\"\n", info ? "--info" : "--debug",
				(int)len, str);
			return -1;
		}
	}
	return 0;
}

void
oce__set_verbosity(struct oce_opts *o, struct oce__prio *p, int level)
{
	if (level > MAX_VERBOSITY)
		level = MAX_VERBOSITY;
	for (int j = 0; j <= level; j++) {
		oce__parse_words(o, p, true, info_verbosity[j], OCE__PRIO_DEFAULT);
		oce__parse_words(o, p, false, debug_verbosity[j], OCE__PRIO_DEFAULT);
	}
}

void
oce_opts_limit_verbosity(struct oce_opts *o, int level)
{
	struct oce_opts *lim;
	struct oce__prio p = {0};

	if (level > MAX_VERBOSITY)
		return;
	lim = calloc(1, sizeof(*lim));
	if (!lim)
		return;
	lim->server = true; /* (words are ours: none unknown) */
	if (level >= 0)
		oce__set_verbosity(lim, &p, level);
	for (int j = 0; j < OCE_INFO_COUNT; j++)
		if (o->info[j] > lim->info[j])
			o->info[j] = lim->info[j];
	for (int j = 0; j < OCE_DEBUG_COUNT; j++)
		if (o->debug[j] > lim->debug[j])
			o->debug[j] = lim->debug[j];
	free(lim);
}

/* Upstream do_big_num(n, 3): what its size errors print as a limit. */
static void
limit_text(char *out, size_t cap, int64_t n)
{
	static const char units[] = "KMGTP";
	double d = (double)n;
	int u = -1;

	if (n < 1024) {
		snprintf(out, cap, "%lld", (long long)n);
		return;
	}
	while (u < 4 && d >= 1024) {
		d /= 1024;
		u++;
	}
	snprintf(out, cap, "%.2f%c", d, units[u]);
}

/*
 * Mirrors upstream parse_size_arg(): digits
 * and a '.' fraction, then B/K/M/G/T/P (def_suf when absent), then "B" for
 * powers of 1000 or nothing / "iB" for 1024, then an optional "+1" / "-1".
 * Returns 0 and *out; -1 after printing upstream's message.
 */
int
oce__parse_size(const char *size_arg, char def_suf, const char *name, int64_t min_value,
		int64_t max_value, bool unlimited_0, int64_t *out)
{
	const int64_t size_max = max_value >= 0 ? max_value : INT64_MAX;
	const char *arg, *err = "invalid", *min_max = NULL;
	int64_t limit = -1, size = 1;
	int reps, mult;
	double dsize;
	char lim[32];

	for (arg = size_arg; isdigit((unsigned char)*arg); arg++)
		;
	if (*arg == '.')
		for (arg++; isdigit((unsigned char)*arg); arg++)
			;
	switch (*arg && *arg != '+' && *arg != '-' ? *arg++ : def_suf) {
	case 'b':
	case 'B':
		reps = 0;
		break;
	case 'k':
	case 'K':
		reps = 1;
		break;
	case 'm':
	case 'M':
		reps = 2;
		break;
	case 'g':
	case 'G':
		reps = 3;
		break;
	case 't':
	case 'T':
		reps = 4;
		break;
	case 'p':
	case 'P':
		reps = 5;
		break;
	default:
		goto bad;
	}
	if (*arg == 'b' || *arg == 'B') {
		mult = 1000;
		arg++;
	} else if (!*arg || *arg == '+' || *arg == '-') {
		mult = 1024;
	} else if (strncasecmp(arg, "ib", 2) == 0) {
		mult = 1024;
		arg += 2;
	} else {
		goto bad;
	}
	while (reps--) {
		if (size > size_max / mult)
			goto too_large;
		size *= mult;
	}
	errno = 0;
	dsize = strtod(size_arg, NULL);
	if (errno == ERANGE || dsize < 0 || dsize > (double)size_max / (double)size ||
	    (max_value < 0 && dsize >= (double)size_max / (double)size))
		goto too_large;
	size = (int64_t)(dsize * (double)size);
	/* The adjustment needs a number before it: "-1" alone is no size. */
	if ((*arg == '+' || *arg == '-') && arg[1] == '1' && arg != size_arg) {
		if (*arg == '+') {
			if (size == size_max)
				goto too_large;
			size++;
		} else {
			size--;
		}
		arg += 2;
	}
	if (*arg)
		goto bad;
	if (size < 0 || (max_value >= 0 && size > max_value))
		goto too_large;
	if (size < min_value && (!unlimited_0 || size != 0)) {
		err = "too small";
		min_max = "min";
		limit = min_value;
		goto bad;
	}
	*out = size;
	return 0;

too_large:
	err = "too large";
	min_max = "max";
	limit = max_value;
bad:
	if (min_max && limit >= 0) {
		limit_text(lim, sizeof(lim), limit);
		oce__say("--%s=%s is %s (%s: %s%s)", name, size_arg, err, min_max, lim,
			 unlimited_0 && min_max[1] == 'i' ? " or 0 for unlimited" : "");
	} else {
		oce__say("--%s=%s is %s", name, size_arg, err);
	}
	return -1;
}

int
oce__push_pattern(struct oce_strv *sv, const char *pat, bool include)
{
	char *rule;
	int rc;

	if (!*pat)
		return 0; /* upstream adds no rule for an empty pattern */
	/* Upstream's old "- " / "+ " prefixes and a lone "!" keep their meaning. */
	if ((pat[0] == '-' || pat[0] == '+') && pat[1] == ' ')
		return oce_strv_push(sv, pat);
	if (strcmp(pat, "!") == 0)
		return oce_strv_push(sv, pat);
	if (asprintf(&rule, "%c %s", include ? '+' : '-', pat) < 0)
		return -ENOMEM;
	rc = oce_strv_push(sv, rule);
	free(rule);
	return rc;
}

/*
 * One pattern per line ('\0'-terminated with --from0), CR LF counted as one
 * end of line, empty lines and lines starting with ';' or '#' skipped, as
 * upstream parse_filter_file() reads a command-line file.
 */
int
oce__read_patterns(FILE *f, bool from0, bool include, struct oce_strv *sv)
{
	char *line = NULL;
	size_t len = 0, cap = 0;
	int ch, rc = 0;

	do {
		ch = getc(f);
		bool eol = ch == EOF || (from0 ? ch == '\0' : ch == '\n' || ch == '\r');

		if (!eol) {
			if (len + 2 > cap) {
				size_t ncap = cap ? cap * 2 : 256;
				char *n = realloc(line, ncap);

				if (!n) {
					rc = -ENOMEM;
					break;
				}
				line = n;
				cap = ncap;
			}
			line[len++] = (char)ch;
			continue;
		}
		if (ch == '\r') {
			int nx = getc(f);

			if (nx != '\n' && nx != EOF)
				ungetc(nx, f);
		}
		if (len && line[0] != ';' && line[0] != '#') {
			line[len] = '\0';
			rc = oce__push_pattern(sv, line, include);
		}
		len = 0;
	} while (ch != EOF && rc == 0);
	free(line);
	return rc;
}

/*
 * As upstream clean_fname() with CFN_COLLAPSE_DOT_DOT_DIRS: no repeated
 * '/', no "." parts, "x/.." folded away, no trailing '/'; "" becomes ".".
 */
void
oce__clean_dir(char *name)
{
	char *t = name;
	const char *f = name;
	bool anchored = *f == '/';

	if (anchored)
		*t++ = *f++;
	while (*f) {
		const char *end;
		size_t len;

		if (*f == '/') {
			f++;
			continue;
		}
		end = strchr(f, '/');
		len = end ? (size_t)(end - f) : strlen(f);
		if (len == 1 && f[0] == '.') {
			f += len;
			continue;
		}
		if (len == 2 && f[0] == '.' && f[1] == '.') {
			char *s = t;

			if (s > name + anchored)
				s--; /* the '/' after the previous part */
			while (s > name + anchored && s[-1] != '/')
				s--;
			if (t > name + anchored && !(t - s == 3 && strncmp(s, "../", 3) == 0)) {
				t = s;
				f += len;
				continue;
			}
			if (anchored && t == name + 1) {
				f += len;
				continue;
			}
		}
		memmove(t, f, len);
		t += len;
		f += len;
		if (*f == '/')
			*t++ = '/';
	}
	if (t > name + anchored && t[-1] == '/')
		t--;
	if (t == name)
		*t++ = '.';
	*t = '\0';
}

int
oce__split_hostspec(const char *s, char **host, const char **path)
{
	const char *p, *host_start = s;
	size_t userlen = 0, hostlen = 0;

	for (p = s;; p++) {
		if (!*p || *p == '/')
			return 0;
		if (*p == ':') {
			if (!hostlen)
				hostlen = (size_t)(p - host_start);
			break;
		}
		if (*p == '@') {
			userlen = (size_t)(p - s + 1);
			host_start = p + 1;
		} else if (*p == '[') {
			if (p != host_start++)
				return 0;
			while (*p && *p != ']' && *p != '/')
				p++;
			hostlen = (size_t)(p - host_start);
			if (*p != ']' || (p[1] && p[1] != '/' && p[1] != ':') || !hostlen)
				return 0;
		}
	}
	*host = malloc(userlen + hostlen + 1);
	if (!*host)
		return -ENOMEM;
	memcpy(*host, s, userlen);
	memcpy(*host + userlen, host_start, hostlen);
	(*host)[userlen + hostlen] = '\0';
	*path = p + 1 + (p[1] == ':');
	return 1;
}
