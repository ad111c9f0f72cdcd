/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * --version, -VV and --help texts (upstream usage.c). The layout is
 * upstream's, so scripts that read `rsync --version` or its JSON find the
 * same shape; the values describe oc-rsync, not the rsync it speaks with.
 */
#include "apps/engine/opts.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#include "apps/engine/errcode.h"
#include "ocproto/negotiate.h"

/* One JSON member for an item: "name": true/false/number. */
static void
json_item(char *out, size_t cap, const char *item, bool comma)
{
	const char *space = strchr(item, ' ');
	bool is_no = space && strncmp(item, "no ", 3) == 0;
	bool is_bits = space && isdigit((unsigned char)item[0]);
	const char *name = space ? space + 1 : item;
	char key[40];
	size_t k = 0;

	for (const char *p = name; *p && k + 1 < sizeof(key); p++)
		key[k++] = (*p == ' ' || *p == '-') ? '_' : *p;
	key[k] = '\0';
	if (is_bits) {
		/* "64-bit files" becomes "file_bits": 64 */
		if (k && key[k - 1] == 's')
			key[k - 1] = '\0';
		snprintf(out, cap, " \"%s_bits\": %d%s", key, atoi(item), comma ? "," : "");
	} else {
		snprintf(out, cap, " \"%s\": %s%s", key, is_no ? "false" : "true",
			 comma ? "," : "");
	}
}

/*
 * Wrap the capability items into lines shorter than 75 columns, as upstream
 * print_info_flags(). "*Title" starts a section; "no X" is a missing
 * feature, "N-bit X" a size; anything else is present.
 */
static void
print_capabilities(FILE *f, bool json)
{
	char bits[4][24], line[80], item[64];
	size_t line_len = 0;
	bool in_section = false;

	snprintf(bits[0], sizeof(bits[0]), "%d-bit files", (int)(sizeof(off_t) * 8));
	snprintf(bits[1], sizeof(bits[1]), "%d-bit inums",
		 (int)(sizeof(((struct stat *)0)->st_ino) * 8));
	snprintf(bits[2], sizeof(bits[2]), "%d-bit timestamps", (int)(sizeof(time_t) * 8));
	snprintf(bits[3], sizeof(bits[3]), "%d-bit long ints", (int)(sizeof(int64_t) * 8));
	const char *const items[] = {
	    "*Capabilities",
	    bits[0],
	    bits[1],
	    bits[2],
	    bits[3],
	    "socketpairs",
	    "symlinks",
	    "symtimes",
	    "hardlinks",
	    "hardlink-specials",
	    "hardlink-symlinks",
	    "IPv6",
	    "atimes",
	    "no batchfiles",
	    OCE_CAN_INPLACE ? "inplace" : "no inplace",
	    OCE_CAN_APPEND ? "append" : "no append",
	    "no ACLs",
	    "no ACL-at",
	    "no xattrs",
	    "no secluded-args",
	    "no iconv",
	    "no prealloc",
	    "no stop-at",
	    "no crtimes",
	    "*Optimizations",
	    "no SIMD-roll",
	    "no asm-roll",
	    "openssl-crypto",
	    "no asm-MD5",
	    NULL,
	};

	for (size_t j = 0;; j++) {
		const char *s = items[j];
		bool comma = s && items[j + 1] && items[j + 1][0] != '*';
		size_t len;

		if (!s || s[0] == '*') {
			len = 1000;
		} else {
			if (json)
				json_item(item, sizeof(item), s, comma);
			else
				snprintf(item, sizeof(item), " %s%s", s, comma ? "," : "");
			len = strlen(item);
		}
		if (line_len && line_len + len >= 75) {
			fprintf(f, "   %s\n", line);
			line_len = 0;
		}
		if (!s)
			break;
		if (s[0] == '*') {
			if (json) {
				if (in_section)
					fprintf(f, "  }");
				fprintf(f, ",\n  \"%c%s\": {\n", tolower((unsigned char)s[1]),
					s + 2);
				in_section = true;
			} else {
				fprintf(f, "%s:\n", s + 1);
			}
			continue;
		}
		memcpy(line + line_len, item, len + 1);
		line_len += len;
	}
	if (json && in_section)
		fprintf(f, "  }");
}

static const struct {
	const char *title;
	const char *names; /* space-separated; "(alias)" is left out of JSON */
} name_lists[] = {
    {"Checksum list", "xxh128 xxh3 xxh64 (xxhash) md5 md4 sha1 none"},
    {"Compress list", "zstd lz4 zlibx zlib none"},
    {"Daemon auth list", "sha512 sha256 sha1 md5 md4"},
};

static void
print_name_list_json(FILE *f, const char *title, const char *names)
{
	char key[32], buf[128], *tok, *save = NULL;
	size_t k;
	bool first = true;

	for (k = 0; title[k] && k + 1 < sizeof(key); k++)
		key[k] = title[k] == ' ' ? '_' : (char)tolower((unsigned char)title[k]);
	key[k] = '\0';
	fprintf(f, ",\n  \"%s\": [\n   ", key);
	snprintf(buf, sizeof(buf), "%s", names);
	for (tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		if (tok[0] == '(')
			continue;
		fprintf(f, "%s \"%s\"", first ? "" : ",", tok);
		first = false;
	}
	fprintf(f, "\n  ]");
}

void
oce_print_version(FILE *f, bool json)
{
	static const char copyright[] = "(C) 2026 the oc-rsync authors.";

	if (json) {
		fprintf(f, "{\n  \"program\": \"%s\"", OCE_PROG);
		fprintf(f, ",\n  \"version\": \"%s\"", OCE_VERSION);
		fprintf(f, ",\n  \"protocol\": \"%d.0\"", OCP_PROTOCOL_MAX);
		fprintf(f, ",\n  \"copyright\": \"%s\"", copyright);
		/* No web site of its own: null rather than upstream's. */
		fprintf(f, ",\n  \"url\": null");
		print_capabilities(f, true);
		for (size_t i = 0; i < sizeof(name_lists) / sizeof(name_lists[0]); i++)
			print_name_list_json(f, name_lists[i].title, name_lists[i].names);
		fprintf(f, ",\n  \"license\": \"GPLv3\"");
		fprintf(f, ",\n  \"caveat\": \"%s comes with ABSOLUTELY NO WARRANTY\"", OCE_PROG);
		fprintf(f, "\n}\n");
		fflush(f);
		return;
	}
	fprintf(f, "%s  version %s  protocol version %d\n", OCE_PROG, OCE_VERSION,
		OCP_PROTOCOL_MAX);
	fprintf(f, "Copyright %s\n", copyright);
	fprintf(f, "Speaks the protocol (versions %d to %d) and options of rsync 3.5.0.\n",
		OCP_PROTOCOL_MIN, OCP_PROTOCOL_MAX);
	print_capabilities(f, false);
	for (size_t i = 0; i < sizeof(name_lists) / sizeof(name_lists[0]); i++)
		fprintf(f, "%s:\n    %s\n", name_lists[i].title, name_lists[i].names);
	fprintf(f, "\n");
	fprintf(f, "%s comes with ABSOLUTELY NO WARRANTY.  This is free software, and you\n",
		OCE_PROG);
	fprintf(f, "are welcome to redistribute it under certain conditions.  See the GNU\n");
	fprintf(f, "General Public Licence for details.\n");
}

/* Our options in upstream's help order and words; "" continues the previous line. */
static const char *const help_lines[][2] = {
    {"--verbose, -v", "increase verbosity"},
    {"--info=FLAGS", "fine-grained informational verbosity"},
    {"--debug=FLAGS", "fine-grained debug verbosity"},
    {"--quiet, -q", "suppress non-error messages"},
    {"--no-motd", "suppress daemon-mode MOTD"},
    {"--checksum, -c", "skip based on checksum, not mod-time & size"},
    {"--archive, -a", "archive mode is -rlptgoD (no -A,-X,-U,-N,-H)"},
    {"--no-OPTION", "turn off an implied OPTION (e.g. --no-D)"},
    {"--recursive, -r", "recurse into directories"},
    {"--relative, -R", "use relative path names"},
    {"--backup, -b", "make backups (see --suffix & --backup-dir)"},
    {"--backup-dir=DIR", "make backups into hierarchy based in DIR"},
    {"--suffix=SUFFIX", "backup suffix (default ~ w/o --backup-dir)"},
    {"--update, -u", "skip files that are newer on the receiver"},
    {"--inplace", "update destination files in-place"},
    {"--reflink[=WHEN]", "local copies: clone data (auto, always, never)"},
    {"--append", "append data onto shorter files"},
    {"--append-verify", "--append w/old data in file checksum"},
    {"--dirs, -d", "transfer directories without recursing"},
    {"--links, -l", "copy symlinks as symlinks"},
    {"--copy-links, -L", "transform symlink into referent file/directory"},
    {"--copy-unsafe-links", "only \"unsafe\" symlinks are transformed"},
    {"--safe-links", "ignore symlinks that point outside the tree"},
    {"--copy-dirlinks, -k", "transform symlink to directory into referent directory"},
    {"--keep-dirlinks, -K", "treat symlinked directory on receiver as directory"},
    {"--hard-links, -H", "preserve hard links"},
    {"--perms, -p", "preserve permissions"},
    {"--executability, -E", "preserve executability"},
    {"--owner, -o", "preserve owner (super-user only)"},
    {"--group, -g", "preserve group"},
    {"--devices", "preserve device files (super-user only)"},
    {"--specials", "preserve special files"},
    {"-D", "same as --devices --specials"},
    {"--times, -t", "preserve modification times"},
    {"--atimes, -U", "preserve access (use) times"},
    {"--omit-dir-times, -O", "omit directories from --times"},
    {"--sparse, -S", "turn sequences of nulls into sparse blocks"},
    {"--dry-run, -n", "perform a trial run with no changes made"},
    {"--whole-file, -W", "copy files whole (w/o delta-xfer algorithm)"},
    {"--no-whole-file, --no-W", "use the delta-xfer algorithm"},
    {"--checksum-choice=STR", "choose the checksum algorithm (aka --cc)"},
    {"--one-file-system, -x", "don't cross filesystem boundaries"},
    {"--block-size=SIZE, -B", "force a fixed checksum block-size"},
    {"--rsh=COMMAND, -e", "specify the remote shell to use"},
    {"--rsync-path=PROGRAM", "specify the rsync to run on remote machine"},
    {"--existing", "skip creating new files on receiver"},
    {"--ignore-non-existing", "skip creating new files on receiver"},
    {"--ignore-existing", "skip updating files that exist on receiver"},
    {"--del", "an alias for --delete-during"},
    {"--delete", "delete extraneous files from dest directories"},
    {"--delete-before", "receiver deletes before xfer, not during"},
    {"--delete-during", "receiver deletes during the transfer"},
    {"--delete-delay", "find deletions during, delete after"},
    {"--delete-after", "receiver deletes after transfer, not during"},
    {"--delete-excluded", "also delete excluded files from dest directories"},
    {"--max-delete=NUM", "don't delete more than NUM files"},
    {"--max-size=SIZE", "don't transfer any file larger than SIZE"},
    {"--min-size=SIZE", "don't transfer any file smaller than SIZE"},
    {"--partial", "keep partially transferred files"},
    {"--partial-dir=DIR", "put a partially transferred file into DIR"},
    {"--numeric-ids", "don't map uid/gid values by user/group name"},
    {"--timeout=SECONDS", "set I/O timeout in seconds"},
    {"--contimeout=SECONDS", "set daemon connection timeout in seconds"},
    {"--ignore-times, -I", "don't skip files that match size and time"},
    {"--size-only", "skip files that match in size"},
    {"--modify-window=NUM, -@", "set the accuracy for mod-time comparisons"},
    {"--temp-dir=DIR, -T", "create temporary files in directory DIR"},
    {"--compare-dest=DIR", "also compare destination files relative to DIR"},
    {"--copy-dest=DIR", "... and include copies of unchanged files"},
    {"--link-dest=DIR", "hardlink to files in DIR when unchanged"},
    {"--compress, -z", "compress file data during the transfer"},
    {"--compress-choice=STR", "choose the compression algorithm (aka --zc)"},
    {"--compress-level=NUM", "explicitly set compression level (aka --zl)"},
    {"--cvs-exclude, -C", "auto-ignore files in the same way CVS does"},
    {"--filter=RULE, -f", "add a file-filtering RULE"},
    {"-F", "same as --filter='dir-merge /.rsync-filter'"},
    {"", "repeated: --filter='- .rsync-filter'"},
    {"--exclude=PATTERN", "exclude files matching PATTERN"},
    {"--exclude-from=FILE", "read exclude patterns from FILE"},
    {"--include=PATTERN", "don't exclude files matching PATTERN"},
    {"--include-from=FILE", "read include patterns from FILE"},
    {"--files-from=FILE", "read list of source-file names from FILE"},
    {"--from0, -0", "all *-from/filter files are delimited by 0s"},
    {"--address=ADDRESS", "bind address for outgoing socket to daemon"},
    {"--port=PORT", "specify double-colon alternate port number"},
    {"--stats", "give some file-transfer stats"},
    {"--human-readable, -h", "output numbers in a human-readable format"},
    {"--progress", "show progress during transfer"},
    {"-P", "same as --partial --progress"},
    {"--itemize-changes, -i", "output a change-summary for all updates"},
    {"--remote-option=OPT, -M", "send OPTION to the remote side only"},
    {"--out-format=FORMAT", "output updates using the specified FORMAT"},
    {"--password-file=FILE", "read daemon-access password from FILE"},
    {"--bwlimit=RATE", "limit socket I/O bandwidth"},
    {"--protocol=NUM", "force an older protocol version to be used"},
    {"--checksum-seed=NUM", "set block/file checksum seed (advanced)"},
    {"--ipv4, -4", "prefer IPv4"},
    {"--ipv6, -6", "prefer IPv6"},
    {"--version, -V", "print the version + other info and exit"},
    {"--help, -h (*)", "show this help (* -h is help only on its own)"},
};

static const char *const daemon_help_lines[][2] = {
    {"--daemon", "run as an rsync daemon"},
    {"--address=ADDRESS", "bind to the specified address"},
    {"--bwlimit=RATE", "limit socket I/O bandwidth"},
    {"--config=FILE", "specify alternate rsyncd.conf file"},
    {"--dparam=OVERRIDE, -M", "override global daemon config parameter"},
    {"--no-detach", "do not detach from the parent"},
    {"--port=PORT", "listen on alternate port number"},
    {"--log-file=FILE", "override the \"log file\" setting"},
    {"--log-file-format=FMT", "override the \"log format\" setting"},
    {"--metrics-file=FILE", "write metrics to FILE on SIGUSR1 and at exit (oc-rsyncd)"},
    {"--sockopts=OPTIONS", "specify custom TCP options"},
    {"--verbose, -v", "increase verbosity"},
    {"--ipv4, -4", "prefer IPv4"},
    {"--ipv6, -6", "prefer IPv6"},
    {"--help, -h", "show this help (when used with --daemon)"},
};

void
oce_print_usage(FILE *f)
{
	static const char *const forms[] = {
	    "SRC [SRC]... DEST",
	    "SRC [SRC]... [USER@]HOST:DEST",
	    "SRC [SRC]... [USER@]HOST::DEST",
	    "SRC [SRC]... rsync://[USER@]HOST[:PORT]/DEST",
	    "[USER@]HOST:SRC [DEST]",
	    "[USER@]HOST::SRC [DEST]",
	    "rsync://[USER@]HOST[:PORT]/SRC [DEST]",
	};

	oce_print_version(f, false);
	fprintf(f, "\n%s is a file transfer program capable of efficient remote update\n",
		OCE_PROG);
	fprintf(f, "via a fast differencing algorithm.\n\n");
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++)
		fprintf(f, "%s %s [OPTION]... %s\n", i ? "  or  " : "Usage:", OCE_PROG, forms[i]);
	fprintf(
	    f, "The ':' usages connect via remote shell, while '::' & 'rsync://' usages connect\n");
	fprintf(f, "to an rsync daemon, and require SRC or DEST to start with a module name.\n\n");
	fprintf(f, "Options\n");
	for (size_t i = 0; i < sizeof(help_lines) / sizeof(help_lines[0]); i++)
		fprintf(f, "%-24s %s\n", help_lines[i][0], help_lines[i][1]);
	fprintf(f, "\nUse \"%s --daemon --help\" to see the daemon-mode command-line options.\n",
		OCE_PROG);
	fprintf(f,
		"The other options of rsync 3.5.0 are recognized and refused as not supported.\n");
}

void
oce_print_daemon_usage(FILE *f)
{
	oce_print_version(f, false);
	fprintf(f, "\nUsage: %s --daemon [OPTION]...\n", OCE_PROG);
	for (size_t i = 0; i < sizeof(daemon_help_lines) / sizeof(daemon_help_lines[0]); i++)
		fprintf(f, "%-24s %s\n", daemon_help_lines[i][0], daemon_help_lines[i][1]);
	fprintf(f, "\nIf you were not trying to invoke %s as a daemon, avoid using any of the\n",
		OCE_PROG);
	fprintf(f, "daemon-specific %s options.  See also the rsyncd.conf(5) manpage.\n", OCE_PROG);
}
