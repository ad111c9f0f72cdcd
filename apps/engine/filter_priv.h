/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * What filter.c (lists, parsing, matching), filter_dir.c (per-directory
 * merge files) and filter_wire.c (the client's list on the wire) share.
 * Private to those three files.
 */
#ifndef OCE_FILTER_PRIV_H
#define OCE_FILTER_PRIV_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "apps/engine/filter.h"
#include "ocproto/filter.h"

/* Engine bits next to ocproto's OCP_FRF_* in a rule's flags. */
#define FR_INCLUDE   (1u << 20)
#define FR_MERGE     (1u << 21) /* '.' or ':' */
#define FR_PERDIR    (1u << 22) /* ':' */
#define FR_FINISH    (1u << 23) /* per-dir rule whose parent scan is still to do */
#define FR_CLEAR     (1u << 24)
#define FR_FROM_FILE (1u << 25) /* text that came out of a file's contents */

#define FR_SIDES (OCP_FRF_SENDER_SIDE | OCP_FRF_RECV_SIDE)
/* What a merge file's rules take from the merge rule (upstream FILTRULES_FROM_CONTAINER). */
#define FR_FROM_CONTAINER                                                                          \
	(OCP_FRF_ABS_PATH | FR_INCLUDE | OCP_FRF_DIRECTORY | OCP_FRF_NEGATE | OCP_FRF_PERISHABLE)

/* parse flags (upstream XFLG_*) */
#define XF_FATAL	1
#define XF_OLD_PREFIXES 2
#define XF_ANCHORED2ABS 4
#define XF_ABS_IF_SLASH 8  /* a daemon module's rule: any '/' anchors it at the module */
#define XF_DIR2WILD3	16 /* a daemon module's "dir/" exclude also hides what is below */

#define ELIDE_LOCAL  1
#define ELIDE_REMOTE 2

#define MERGE_DEPTH_MAX 32
#define LINE_CAP	(PATH_MAX + 1024) /* upstream BIGPATHBUFLEN */

struct frule;

/*
 * A list whose tail may be followed by rules inherited from the parent
 * directory: head..tail are this level's own, tail->next on are shared with
 * the levels above (as upstream's filter_rule_list).
 */
struct rlist {
	struct frule *head, *tail;
	char *what; /* how -vv names the list: " [per-dir NAME]", or NULL */
};

struct frule {
	struct frule *next;
	struct rlist *ml; /* per-dir merge rule: the rules its files gave */
	struct frule *scanned; /* per-dir merge rule: what its parent scan read (owned) */
	uint8_t elide;
	struct ocp_filter_rule r; /* allocated to fit its pattern */
};

struct saved_lists {
	size_t n;
	struct rlist v[];
};

struct oce_filters {
	struct oce_session *s;
	struct rlist main, cvs;
	/*
	 * A daemon module's own rules (upstream daemon_filter_list): checked
	 * before the client's, by name from the module's root; dcur is the
	 * transfer root below the module ("/" for the module itself).
	 */
	struct rlist daemon;
	char dcur[PATH_MAX];
	char droot[PATH_MAX]; /* the module's root as this process names it */
	bool daemon_parse; /* parsing them: as upstream, before the client's options count */
	FILE *given_fp; /* the next oce__flt_parse_file() reads this, already open */
	bool cvs_loaded;
	struct frule **mp; /* active per-dir merge rules (upstream mergelist_parents) */
	size_t nmp, capmp;
	char root[PATH_MAX];   /* root as last given */
	char curdir[PATH_MAX]; /* its absolute name: absolute rules match below it */
	char dirbuf[PATH_MAX + 2];
	size_t dirbuf_len;
	bool parent_scan;
	bool failed; /* a per-directory file had a bad rule: the run ends (upstream exits) */
	int merge_depth;
	uint8_t cur_elide;
	/* where the text being parsed comes from, for messages */
	bool in_file;
	const char *src_file;
	int src_line;
	int cur_depth;
	void *levels[PATH_MAX / 2 + 1];
};

/* Parse every rule of text into lp under template flags tf (upstream parse_filter_str()). */
int oce__flt_parse_str(struct oce_filters *fs, struct rlist *lp, const char *text, uint32_t tf,
		       int xflags);
/* The rules of file fname into lp (upstream parse_filter_file()); 0 when it is absent and not
 * XF_FATAL. */
int oce__flt_parse_file(struct oce_filters *fs, struct rlist *lp, const char *fname, uint32_t tf,
			int xflags);
/* A merge file's name as it is opened, in buf (upstream parse_merge_name()); NULL if too long. */
char *oce__flt_merge_name(struct oce_filters *fs, const char *name, size_t len, char *buf,
			  size_t cap);
/* Free a chain of rules, tearing down the per-directory lists they own. */
void oce__flt_free_rules(struct oce_filters *fs, struct frule *e);
/* Drop a level's own rules, keeping the inherited ones (upstream pop_filter_list()). */
void oce__flt_pop_list(struct oce_filters *fs, struct rlist *lp);
/* The directory rules are read in: root's absolute name, then dir below it. */
void oce__flt_set_dir(struct oce_filters *fs, const char *dir);

#endif /* OCE_FILTER_PRIV_H */
