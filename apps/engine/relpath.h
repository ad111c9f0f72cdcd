/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Path rules of the sender's arguments and --files-from names: how a name is
 * cleaned, sanitised and split into the directory the sender works in and
 * the name it sends (upstream util1.c clean_fname(), sanitize_path(), and
 * the argument split at the top of flist.c send_file_list()). Pure string
 * functions, reentrant; they edit the caller's buffer in place.
 */
#ifndef OCE_RELPATH_H
#define OCE_RELPATH_H

#include <stdbool.h>
#include <stddef.h>

/* How an argument names its entry (upstream NORMAL_NAME, DOTDIR_NAME, SLASH_ENDING_NAME). */
enum oce_name_type {
	OCE_NAME_NORMAL,
	OCE_NAME_DOTDIR,       /* "dir/." or "dir/": the directory's contents are wanted */
	OCE_NAME_SLASH_ENDING, /* -R "dir/": sent as a top directory, with its contents */
};

/* Flags of oce_clean_fname() (upstream CFN_*). */
#define OCE_CFN_KEEP_TRAILING_SLASH   (1u << 0)
#define OCE_CFN_DROP_TRAILING_DOT_DIR (1u << 1)

/*
 * Collapse repeated slashes and drop "." components; with
 * OCE_CFN_DROP_TRAILING_DOT_DIR also a final "." after a slash; drop a
 * trailing slash unless OCE_CFN_KEEP_TRAILING_SLASH. ".." is kept. An empty
 * result becomes ".". Returns the new length. Mirrors upstream
 * `clean_fname()` without CFN_KEEP_DOT_DIRS or the ".." flags.
 */
size_t oce_clean_fname(char *name, unsigned flags);

/*
 * Make a --files-from name safe below the source directory: leading and
 * repeated slashes dropped, ".." components removed with the component
 * before them, "." components dropped unless keep_dot_dirs (-R keeps them,
 * so "dir/./name" still marks where the sent path starts). An empty result
 * becomes ".". Mirrors upstream `sanitize_path(p, p, "", 0, SP_KEEP_DOT_DIRS)`.
 */
void oce_sanitize_path(char *p, bool keep_dot_dirs);

/* One argument, split (see oce_split_arg()). */
struct oce_arg_split {
	const char *dir; /* directory to work in (NULL: the current one); in buf or "/" */
	const char *fn;	 /* the name to send, in buf or a literal ("." or "/.") */
	enum oce_name_type type;
	bool dot_prefix; /* -R "./name": the transfer root itself goes first, as implied */
};

/*
 * Split the argument in buf (cap bytes, NUL-terminated) as upstream's
 * send_file_list() does. Without -R: at the last slash, "dir/" and "dir/.."
 * turned into "dir/." and "dir/../.". With -R: at the first "/./" (the
 * part before it is only where to work), else the whole path is sent; the
 * name is cleaned and a trailing slash noted. Returns 0, -ENAMETOOLONG, or
 * -EINVAL when a -R name keeps a ".." component (upstream refuses it).
 */
int oce_split_arg(char *buf, size_t cap, bool relative, struct oce_arg_split *a);

#endif /* OCE_RELPATH_H */
