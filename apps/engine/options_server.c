/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The client's half of the options contract: the argument vector it asks
 * the remote shell to run (upstream options.c server_options(),
 * maybe_add_e_option(), make_output_option() and safe_arg()). The server
 * parses exactly these with oce_opts_parse(), so the two must agree option
 * for option; the unit test holds vectors captured from rsync 3.5.0.
 */
#include "apps/engine/opts.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ocproto/negotiate.h"

/* Where an --info category matters (upstream W_CLI ... W_REC). */
#define W_CLI (1u << 0)
#define W_SRV (1u << 1)
#define W_SND (1u << 2)
#define W_REC (1u << 3)

static const uint8_t info_where[OCE_INFO_COUNT] = {
    [OCE_INFO_BACKUP] = W_REC,
    [OCE_INFO_COPY] = W_REC,
    [OCE_INFO_DEL] = W_REC,
    [OCE_INFO_FLIST] = W_CLI,
    [OCE_INFO_MISC] = W_SND | W_REC,
    [OCE_INFO_MOUNT] = W_SND | W_REC,
    [OCE_INFO_NAME] = W_SND | W_REC,
    [OCE_INFO_NONREG] = W_REC,
    [OCE_INFO_PROGRESS] = W_CLI,
    [OCE_INFO_REMOVE] = W_SND,
    [OCE_INFO_SKIP] = W_REC,
    [OCE_INFO_STATS] = W_CLI | W_SRV,
    [OCE_INFO_SYMSAFE] = W_SND | W_REC,
};

#define SHELL_CHARS "!#$&;|<>(){}\"'` \t\n\r\\"
#define WILD_CHARS  "*?[]"

/* Compressor numbers as upstream's CPRES_* (AUTO: negotiate). */
enum { CPRES_AUTO = -1, CPRES_NONE, CPRES_ZLIB, CPRES_ZLIBX, CPRES_LZ4, CPRES_ZSTD };

bool
oce_format_has(const char *format, char esc)
{
	const char *p;

	if (!format)
		return false;
	for (p = format; (p = strchr(p, '%')) != NULL;) {
		int width = 1;

		for (p++; *p == '\''; p++)
			;
		if (*p == '-') {
			p++;
			width++;
		}
		/* The same width cap as the formatter, so both find the same letter. */
		while (*p >= '0' && *p <= '9' && width < 32 - 8) {
			p++;
			width++;
		}
		while (*p == '\'')
			p++;
		if (!*p)
			break;
		if (*p == esc)
			return true;
		if (*p == '%')
			p++;
	}
	return false;
}

/*
 * The escaping upstream applies when arguments travel through a remote
 * shell (no --secluded-args, no --old-args). A file name keeps its
 * wildcards live (the remote shell may glob them); an option argument
 * does not.
 */
static char *
quote(const char *opt, const char *arg, bool filename, bool dash, bool tilde)
{
	const char *escapes = filename ? SHELL_CHARS : WILD_CHARS SHELL_CHARS;
	size_t optlen = opt && *opt ? strlen(opt) + 1 : 0;
	size_t cap = optlen + 2 * strlen(arg) + 4;
	char *ret = malloc(cap), *t;

	if (!ret)
		return NULL;
	t = ret;
	if (optlen) {
		memcpy(t, opt, optlen - 1);
		t += optlen - 1;
		*t++ = '=';
	}
	if (dash) {
		*t++ = '.';
		*t++ = '/';
	}
	if (tilde)
		*t++ = '\\';
	for (const char *f = arg; *f; f++) {
		if (*f == '\\') {
			if (!filename || !(f[1] && strchr(WILD_CHARS, f[1])))
				*t++ = '\\';
		} else if (strchr(escapes, *f)) {
			*t++ = '\\';
		}
		*t++ = *f;
	}
	*t = '\0';
	return ret;
}

char *
oce_safe_arg(const char *opt, const char *arg)
{
	return quote(opt, arg, false, false, false);
}

char *
oce_safe_path_arg(const struct oce_opts *o, bool client_sends, const char *path)
{
	/* A remote --files-from list is trusted to name the paths it names. */
	bool trust = o->filesfrom_host != NULL;
	bool tilde = path[0] == '~' && !client_sends && !trust &&
		     ((o->relative && !strstr(path, "/./")) || !strchr(path, '/'));

	return quote(NULL, path, true, path[0] == '-', tilde);
}

static int
compress_num(const struct oce_opts *o)
{
	static const char *const names[] = {"none", "zlib", "zlibx", "lz4", "zstd"};

	if (o->compress_choice) {
		for (int i = 0; i < (int)(sizeof(names) / sizeof(names[0])); i++)
			if (strcasecmp(o->compress_choice, names[i]) == 0)
				return i;
		return CPRES_AUTO;
	}
	if (o->compress)
		return CPRES_ZLIB;
	return o->compress_level_set ? CPRES_AUTO : CPRES_NONE;
}

/* Collects the vector; the first failure sticks, so callers check once. */
struct argv_builder {
	struct oce_strv *sv;
	int err;
};

static void
add(struct argv_builder *b, const char *s)
{
	if (!b->err && oce_strv_push(b->sv, s))
		b->err = -ENOMEM;
}

static void
add_owned(struct argv_builder *b, char *s)
{
	if (!s)
		b->err = -ENOMEM;
	else
		add(b, s);
	free(s);
}

static void
addf(struct argv_builder *b, const char *fmt, long long v)
{
	char buf[64];

	snprintf(buf, sizeof(buf), fmt, v);
	add(b, buf);
}

/*
 * The --info words the user set for the other side (upstream
 * make_output_option()): "ALL<n>" / "NONE" when every word that matters
 * there was set and five or more share a level, then the exceptions.
 */
static void
add_info(struct argv_builder *b, const struct oce_opts *o, unsigned where)
{
	int counts[8] = {0}, max = 0, lev = -1, skipped = 0, set = 0;
	char buf[256];
	size_t pos = 0;

	for (int j = 0; j < OCE_INFO_COUNT; j++) {
		if (!(info_where[j] & where))
			continue;
		if (!(o->info_user & (1u << j))) {
			skipped++;
			continue;
		}
		set++;
		if (++counts[o->info[j] & 7] > max) {
			lev = o->info[j];
			max = counts[lev];
		}
	}
	if (!set)
		return;
	if (skipped || max < 5)
		lev = -1;
	else if (lev == 0)
		pos = (size_t)snprintf(buf, sizeof(buf), "--info=NONE");
	else if (lev == 1)
		pos = (size_t)snprintf(buf, sizeof(buf), "--info=ALL");
	else
		pos = (size_t)snprintf(buf, sizeof(buf), "--info=ALL%d", lev);
	for (int j = 0; j < OCE_INFO_COUNT; j++) {
		if (!(o->info_user & (1u << j)) || o->info[j] == lev || !(info_where[j] & where))
			continue;
		pos += (size_t)snprintf(buf + pos, sizeof(buf) - pos, "%s%s",
					pos ? "," : "--info=", oce_info_name((enum oce_info)j));
		if (o->info[j] != 1)
			pos += (size_t)snprintf(buf + pos, sizeof(buf) - pos, "%d", o->info[j]);
	}
	add(b, buf);
}

/* The short-option cluster, in upstream's letter order. */
static int
cluster(const struct oce_opts *o, bool client_sends, uint32_t caps, char *out, size_t cap)
{
	int cnum = compress_num(o);
	size_t x = 0;
	int n;

	out[x++] = '-';
	for (int i = 0; i < o->verbose && i < 9; i++)
		out[x++] = 'v';
	if (o->quiet)
		out[x++] = 'q';
	if (o->backup)
		out[x++] = 'b';
	if (o->update)
		out[x++] = 'u';
	if (o->dry_run)
		out[x++] = 'n';
	if (o->links)
		out[x++] = 'l';
	if (o->dirs_opt ||
	    (o->dirs && !o->recursive && (o->list_only || (o->delete_mode && client_sends))))
		out[x++] = 'd';
	if (client_sends) {
		if (o->keep_dirlinks)
			out[x++] = 'K';
		/* -O implied by -b stays local: the server infers it from -b. */
		if (o->omit_dir_times && !(o->backup && !o->backup_dir))
			out[x++] = 'O';
	} else {
		if (o->copy_links)
			out[x++] = 'L';
		if (o->copy_dirlinks)
			out[x++] = 'k';
	}
	if (o->whole_file > 0)
		out[x++] = 'W';
	if (o->hard_links) {
		out[x++] = 'H';
		if (o->hard_links_count > 1)
			out[x++] = 'H';
	}
	if (o->owner)
		out[x++] = 'o';
	if (o->group)
		out[x++] = 'g';
	if (o->devices)
		out[x++] = 'D';
	if (o->times)
		out[x++] = 't';
	if (o->atimes)
		out[x++] = 'U';
	if (o->perms)
		out[x++] = 'p';
	else if (o->executability && client_sends)
		out[x++] = 'E';
	if (o->recursive)
		out[x++] = 'r';
	if (o->checksum)
		out[x++] = 'c';
	if (o->cvs_exclude)
		out[x++] = 'C';
	if (o->ignore_times)
		out[x++] = 'I';
	if (o->relative)
		out[x++] = 'R';
	if (o->one_file_system) {
		out[x++] = 'x';
		if (o->one_file_system > 1)
			out[x++] = 'x';
	}
	if (o->sparse)
		out[x++] = 'S';
	if (cnum == CPRES_ZLIB)
		out[x++] = 'z';
	out[x] = '\0';
	n = ocp_caps_encode(out + x, cap - x, caps);
	return n < 0 ? n : (int)x + n;
}

int
oce_server_args(const struct oce_opts *o, bool server_sends, uint32_t caps, struct oce_strv *out)
{
	struct argv_builder b = {.sv = out};
	const bool cs = !server_sends; /* upstream am_sender, on the client */
	const int cnum = compress_num(o);
	char buf[64];
	int n;

	memset(out, 0, sizeof(*out));
	n = cluster(o, cs, caps, buf, sizeof(buf));
	if (n < 0)
		return n;
	add(&b, "--server");
	if (server_sends)
		add(&b, "--sender");
	add(&b, buf);

	if (o->list_only_opt)
		add(&b, "--list-only");
	if (o->dirs && !o->recursive && o->delete_mode && cs)
		add(&b, "--no-r"); /* lets the server delete with -d alone */
	if (cnum != CPRES_NONE && o->compress_level_set)
		addf(&b, "--compress-level=%lld", o->compress_level);
	/* -D is in the cluster; "--devices" would confuse old servers. */
	if (o->devices && !o->specials)
		add(&b, "--no-specials");
	else if (!o->devices && o->specials)
		add(&b, "--specials");
	if (o->out_format && cs) {
		int has_i = oce_format_has(o->out_format, 'i') ? o->itemize | 1 : 0;

		if (has_i > 1)
			add(&b, "--log-format=%i%I");
		else if (has_i)
			add(&b, "--log-format=%i");
		else if (oce_format_has(o->out_format, 'o'))
			add(&b, "--log-format=%o");
		else if (!o->verbose)
			add(&b, "--log-format=X");
	}
	if (o->block_size)
		addf(&b, "-B%lld", o->block_size);
	if (o->timeout)
		addf(&b, "--timeout=%lld", o->timeout);
	if (o->bwlimit)
		addf(&b, "--bwlimit=%lld", (long long)((o->bwlimit + 512) / 1024));
	if (o->backup_dir) {
		add(&b, "--backup-dir");
		add_owned(&b, oce_safe_arg("", o->backup_dir));
	}
	if (o->suffix && strcmp(o->suffix, o->backup_dir ? "" : "~") != 0)
		add_owned(&b, oce_safe_arg("--suffix", o->suffix));
	if (o->checksum_choice)
		add_owned(&b, oce_safe_arg("--checksum-choice", o->checksum_choice));
	if (cnum == CPRES_ZLIBX)
		add(&b, "--new-compress");
	else if (o->compress_choice && cnum == CPRES_ZLIB)
		add(&b, "--old-compress");
	else if (o->compress_choice)
		add_owned(&b, oce_safe_arg("--compress-choice", o->compress_choice));

	if (cs) {
		if (o->max_delete > 0)
			addf(&b, "--max-delete=%lld", o->max_delete);
		else if (o->max_delete == 0)
			add(&b, "--max-delete=-1");
		if (o->min_size >= 0)
			addf(&b, "--min-size=%lld", o->min_size);
		if (o->max_size >= 0)
			addf(&b, "--max-size=%lld", o->max_size);
		if (o->delete_plain) {
			if (!o->delete_excluded)
				add(&b, "--delete");
		} else if (o->delete_mode == OCE_DEL_BEFORE) {
			add(&b, "--delete-before");
		} else if (o->delete_mode == OCE_DEL_DELAY) {
			add(&b, "--delete-delay");
		} else if (o->delete_mode == OCE_DEL_DURING) {
			add(&b, "--delete-during");
		} else if (o->delete_mode == OCE_DEL_AFTER) {
			add(&b, "--delete-after");
		}
		if (o->delete_excluded)
			add(&b, "--delete-excluded");
		if (o->size_only)
			add(&b, "--size-only");
		if (o->stats)
			add(&b, "--stats");
	}
	if (o->modify_window_set && cs)
		addf(&b, o->modify_window < 0 ? "-@%lld" : "--modify-window=%lld",
		     o->modify_window);
	if (o->checksum_seed)
		addf(&b, "--checksum-seed=%lld", o->checksum_seed);
	if (o->partial_dir && cs) {
		add(&b, "--partial-dir");
		add_owned(&b, oce_safe_arg("", o->partial_dir));
	} else if (o->partial && cs) {
		add(&b, "--partial");
	}
	if (o->copy_unsafe_links)
		add(&b, "--copy-unsafe-links");
	if (o->safe_links)
		add(&b, "--safe-links");
	if (o->numeric_ids)
		add(&b, "--numeric-ids");
	if (cs) {
		if (o->ignore_existing)
			add(&b, "--ignore-existing");
		/* The old spelling, which every server knows. */
		if (o->existing)
			add(&b, "--existing");
		if (o->temp_dir) {
			add(&b, "--temp-dir");
			add_owned(&b, oce_safe_arg("", o->temp_dir));
		}
		if (o->fsync)
			add(&b, "--fsync");
		for (size_t i = 0; i < o->alt_dest.n; i++) {
			add(&b, o->alt_dest_type == OCE_ALT_COMPARE ? "--compare-dest"
				: o->alt_dest_type == OCE_ALT_COPY  ? "--copy-dest"
								    : "--link-dest");
			add_owned(&b, oce_safe_arg("", o->alt_dest.v[i]));
		}
	}
	add_info(&b, o, W_SRV | (cs ? W_REC : W_SND));
	if (o->append) {
		if (o->append > 1)
			add(&b, "--append");
		add(&b, "--append");
	} else if (o->inplace) {
		add(&b, "--inplace");
		/* Older servers mishandle --inplace --sparse without it. */
		if (o->sparse && o->whole_file == 0 && cs)
			add(&b, "--no-W");
	}
	if (o->files_from && (!cs || o->filesfrom_host)) {
		if (o->filesfrom_host) {
			add(&b, "--files-from");
			add_owned(&b, oce_safe_arg("", o->files_from));
			if (o->from0)
				add(&b, "--from0");
		} else {
			/* The client forwards its list over the connection. */
			add(&b, "--files-from=-");
			add(&b, "--from0");
		}
		if (!o->relative)
			add(&b, "--no-relative");
	}
	/* A sending server of protocol 30+ flags its implied directories instead. */
	if (o->relative && !o->implied_dirs && (!cs || !o->protocol || o->protocol >= 30))
		add(&b, "--no-implied-dirs");
	if (o->mkpath && cs)
		add(&b, "--mkpath"); /* for a receiving server (upstream: am_sender) */
	for (size_t i = 0; i < o->remote_opts.n; i++)
		add_owned(&b, oce_safe_arg("", o->remote_opts.v[i]));
	add(&b, ".");
	if (b.err)
		oce_strv_free(out);
	return b.err;
}
