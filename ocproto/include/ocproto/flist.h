/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * ocproto file list (upstream flist.c send_file_entry(), recv_file_entry(),
 * write_end_of_flist(), f_name_cmp(), flist_sort_and_clean(); uidlist.c
 * send_id_lists(), recv_id_list()): one entry at a time, encoded against
 * and decoded with the per-stream "previous entry" state that the SAME_*
 * flags and the shared name prefix refer to. Sans-I/O, protocols 30 to 32,
 * whole lists only: incremental-recursion sub-lists are refused with
 * OCP_EINCREC (see ocp_flist_check_ndx()).
 *
 * Return convention as in int.h: decoders give bytes consumed (> 0), 0 for
 * "need more bytes" (no state changes) or a negative code: OCP_EFLIST for
 * a malformed entry or one needing an option not in effect, OCP_EUNSAFE for
 * a hostile name, OCP_ETOOLONG for over-long names, OCP_EOVERFLOW/OCP_EPROTO
 * from the integer codecs. Encoders give bytes written, -ENOBUFS (no state
 * change) or -EINVAL for an entry the wire cannot carry.
 *
 * Concurrency: all functions are reentrant; a struct ocp_flist_state
 * belongs to one stream direction and one thread at a time.
 */
#ifndef OCPROTO_FLIST_H
#define OCPROTO_FLIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OCP_FLIST_NAME_MAX   1023 /* upstream MAXPATHLEN - 1 */
#define OCP_FLIST_LINK_MAX   1023 /* longest symlink target */
#define OCP_FLIST_IDNAME_MAX 255  /* user or group name */
/* Longest file checksum in a list: sha1's, the longest --checksum-choice
 * (a list carries the negotiated checksum at its full length). */
#define OCP_FLIST_SUM_MAX    20
#define OCP_FLIST_NSEC_MAX   999999999

/* Transmit flags (upstream rsync.h XMIT_*) for protocols 30 and later. */
#define OCP_XMIT_TOP_DIR	    (1u << 0)
#define OCP_XMIT_SAME_MODE	    (1u << 1)
#define OCP_XMIT_EXTENDED_FLAGS	    (1u << 2)
#define OCP_XMIT_SAME_UID	    (1u << 3)
#define OCP_XMIT_SAME_GID	    (1u << 4)
#define OCP_XMIT_SAME_NAME	    (1u << 5)
#define OCP_XMIT_LONG_NAME	    (1u << 6)
#define OCP_XMIT_SAME_TIME	    (1u << 7)
#define OCP_XMIT_SAME_RDEV_MAJOR    (1u << 8) /* devices */
#define OCP_XMIT_NO_CONTENT_DIR	    (1u << 8) /* directories */
#define OCP_XMIT_HLINKED	    (1u << 9)
#define OCP_XMIT_USER_NAME_FOLLOWS  (1u << 10)
#define OCP_XMIT_GROUP_NAME_FOLLOWS (1u << 11)
#define OCP_XMIT_HLINK_FIRST	    (1u << 12)
#define OCP_XMIT_IO_ERROR_ENDLIST   (1u << 12) /* end marker, byte form */
#define OCP_XMIT_MOD_NSEC	    (1u << 13)
#define OCP_XMIT_SAME_ATIME	    (1u << 14)
#define OCP_XMIT_CRTIME_EQ_MTIME    (1u << 17)

/* The io_error bits that may follow the end of a list (upstream IOERR_*). */
#define OCP_IOERR_VALID_MASK 0x7

/* Which options shape the list, and the protocol; fixed for one stream. */
struct ocp_flist_opts {
	int protocol;	  /* 30..32 */
	uint32_t compat;  /* negotiated OCP_CF_* flags (VARINT_FLIST_FLAGS, INC_RECURSE, SAFE_FLIST,
			     ID0_NAMES) */
	bool owner;	  /* -o */
	bool group;	  /* -g */
	bool devices;	  /* -D (--devices) */
	bool specials;	  /* -D (--specials) */
	bool links;	  /* -l */
	bool hard_links;  /* -H */
	bool numeric_ids; /* --numeric-ids */
	int csum_len;	  /* -c: length of each file checksum (0 without -c) */
	bool relative;	  /* -R: names may start with '/' (upstream keeps them absolute on the
			     wire; the receiver drops the slashes after sorting) */
};

/*
 * One file-list entry. Strings are NUL-terminated; the *_len fields hold
 * their lengths. hlink_first is -1 for an entry that is not hard-linked or
 * is the first of its group, else the list index of the group's first
 * entry (then the wire carries nothing more for it and the decoder copies
 * the attributes from that entry).
 */
struct ocp_fentry {
	char name[OCP_FLIST_NAME_MAX + 1];
	size_t name_len;
	uint32_t mode; /* type and permission bits, as on Linux */
	int64_t size;
	int64_t mtime;
	uint32_t mtime_nsec;
	uint32_t uid, gid;
	char user[OCP_FLIST_IDNAME_MAX + 1]; /* sent with USER_NAME_FOLLOWS */
	size_t user_len;
	char group[OCP_FLIST_IDNAME_MAX + 1];
	size_t group_len;
	uint32_t rdev_major, rdev_minor;
	char link[OCP_FLIST_LINK_MAX + 1];
	size_t link_len;
	uint8_t sum[OCP_FLIST_SUM_MAX];
	bool top_dir;	     /* a directory named on the command line */
	bool no_content_dir; /* a directory sent without its contents */
	bool hlinked;	     /* part of a hard-link group (-H) */
	int32_t hlink_first;
	uint32_t xflags; /* decoder: the flags as received; encoder: ignored */
	bool removed;	 /* set by ocp_flist_clean() on a dropped duplicate */
};

/*
 * State of one list stream: the previous entry's attributes as upstream
 * keeps them in static variables, the entry count, and the end marker.
 * Fields are private; use ocp_flist_done() and ocp_flist_io_error().
 */
struct ocp_flist_state {
	struct ocp_flist_opts opts;
	size_t lastname_len;
	int64_t mtime;
	uint32_t mode, uid, gid, rdev_major;
	int32_t count;
	bool done;
	int32_t io_error;
	/*
	 * Decoder: set when an entry failed (OCP_EFLIST) because its mode has
	 * no valid file type; bad_mode is that mode and lastname the entry's
	 * name, for upstream's "invalid file mode" message.
	 */
	bool bad_type;
	uint32_t bad_mode;
	/*
	 * Decoder: where an abbreviated hard link finds its group's first
	 * entry when ocp_flist_dec() gets no prev array (a caller that keeps
	 * its list in another form). The result must stay valid during the
	 * call. Set after ocp_flist_init(); NULL refuses such entries.
	 */
	const struct ocp_fentry *(*lookup)(void *arg, int32_t wire_ndx);
	void *lookup_arg;
	/* last, so an entry's work copies only what is above it */
	char lastname[OCP_FLIST_NAME_MAX + 1];
};

/*
 * Start a list stream with opts (copied). Returns 0, or -EINVAL for a
 * protocol outside 30..32 or csum_len outside 0..OCP_FLIST_SUM_MAX.
 */
int ocp_flist_init(struct ocp_flist_state *st, const struct ocp_flist_opts *opts);

/* Has the end-of-list marker been decoded or encoded? */
static inline bool
ocp_flist_done(const struct ocp_flist_state *st)
{
	return st->done;
}

/* The io_error value (masked to OCP_IOERR_VALID_MASK) sent with the end marker. */
static inline int32_t
ocp_flist_io_error(const struct ocp_flist_state *st)
{
	return st->io_error;
}

/*
 * Encode entry e as the next one of the list; mirrors upstream
 * `send_file_entry()` byte for byte. Returns bytes written, -ENOBUFS, or
 * -EINVAL (bad name, hard-link reference, type needing an option not in
 * effect, or the list already ended).
 */
int ocp_flist_enc(struct ocp_flist_state *st, uint8_t *out, size_t cap, const struct ocp_fentry *e);

/*
 * Encode the end-of-list marker and io_error; mirrors upstream
 * `write_end_of_flist()`. Without varint flags a nonzero io_error needs
 * protocol 31 or CF_SAFE_FLIST (else -EINVAL).
 */
int ocp_flist_enc_end(struct ocp_flist_state *st, uint8_t *out, size_t cap, int32_t io_error);

/*
 * Decode the next entry into *out, or the end marker (then
 * ocp_flist_done() turns true and *out is untouched). prev holds the
 * entries decoded so far on this stream, in wire order (needed for
 * abbreviated hard links; may be NULL without -H, or when st->lookup is set). Mirrors upstream
 * `recv_file_list()`'s loop and `recv_file_entry()`, with stricter name
 * checks (see docs/design/ocproto.md).
 */
int ocp_flist_dec(struct ocp_flist_state *st, const uint8_t *buf, size_t len,
		  const struct ocp_fentry *prev, struct ocp_fentry *out);

/*
 * Classify a file-list index read before a transfer or a new list: 0 for
 * an ordinary value, OCP_EINCREC for an incremental-recursion sub-list
 * (NDX_FLIST_OFFSET and below) or NDX_FLIST_EOF, which we do not support.
 */
int ocp_flist_check_ndx(int32_t ndx);

/* One uid or gid with its name, as in the lists after a file list. */
struct ocp_idname {
	uint32_t id;
	char name[OCP_FLIST_IDNAME_MAX + 1];
	size_t name_len;
};

/*
 * Encode one id list (uids or gids): every entry with a nonzero id and a
 * name, then the terminator (0, followed by id0_name's length and bytes
 * when id0_names, i.e. CF_ID0_NAMES). Mirrors upstream `send_one_list()`.
 */
int ocp_flist_enc_idlist(uint8_t *out, size_t cap, const struct ocp_idname *ids, size_t n,
			 bool id0_names, const char *id0_name);

/*
 * Decode one id list into ids[0..cap) and *n (the id-0 name, when
 * id0_names, comes last with id 0). More than cap entries is OCP_ETOOLONG;
 * a nonzero id with an empty name is OCP_EFLIST. On 0 or an error *n is
 * untouched but ids may hold partial results. Mirrors upstream
 * `recv_id_list()`.
 */
int ocp_flist_dec_idlist(const uint8_t *buf, size_t len, bool id0_names, struct ocp_idname *ids,
			 size_t cap, size_t *n);

/*
 * Compare two entries in upstream's file-list order (protocol 29+): a
 * directory sorts as "name/", and in each directory the non-directories
 * come before the subdirectories. Mirrors upstream `f_name_cmp()`.
 */
int ocp_flist_cmp(const struct ocp_fentry *a, const struct ocp_fentry *b);
/* The same order on bare names: adir/bdir say which is a directory. */
int ocp_flist_name_cmp(const char *a, size_t alen, bool adir, const char *b, size_t blen,
		       bool bdir);

/*
 * A name prepared once for many comparisons (sorting): what
 * ocp_flist_name_cmp() works out from a name on every call. Fields are
 * private; the name must outlive the key.
 */
struct ocp_flist_key {
	const unsigned char *s;
	size_t name_len;
	size_t len;	/* bytes, including the slash a directory gets */
	size_t item_at; /* first ITEM position */
	bool dir;
};
void ocp_flist_key_init(struct ocp_flist_key *k, const char *name, size_t name_len, bool dir);
/* ocp_flist_name_cmp() on two prepared names. */
int ocp_flist_key_cmp(const struct ocp_flist_key *a, const struct ocp_flist_key *b);

/*
 * Sort the pointers v[0..n) with ocp_flist_cmp(), keeping the order of
 * equal names (a merge sort); mirrors upstream `fsort()`. Returns 0 or
 * -ENOMEM (v is then unchanged).
 */
int ocp_flist_sort(struct ocp_fentry **v, size_t n);

/*
 * On a sorted pointer array, mark duplicate names removed (keeping a
 * directory over a non-directory of the same name, else the earlier one);
 * nothing moves, as list indexes refer to positions. Entries already
 * marked are skipped. Returns how many were marked. Mirrors the receiver
 * side of upstream `flist_sort_and_clean()`.
 */
size_t ocp_flist_clean(struct ocp_fentry *const *v, size_t n);

#endif /* OCPROTO_FLIST_H */
