/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * ocproto session negotiation (upstream compat.c setup_protocol(),
 * negotiate_the_strings(), options.c server_options()): the `-e.<letters>`
 * capability string, the compat flags, the checksum and compression name
 * lists with upstream's choice rule, the protocol version choice and the
 * checksum seed.
 *
 * A capability set is a uint32_t of OCP_CF_* bits: each capability letter
 * maps to the compat flag of the same position ("iLsfxCIvu" = bits 0..8).
 *
 * Return convention as in int.h: decoders give bytes consumed (> 0), 0 for
 * "need more bytes" or a negative OCP_E* code; encoders give bytes written
 * or -ENOBUFS / -EINVAL.
 *
 * Concurrency: every function is reentrant; nothing here keeps state.
 */
#ifndef OCPROTO_NEGOTIATE_H
#define OCPROTO_NEGOTIATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Compat flags (upstream rsync.h CF_*) and the capability letter of each. */
#define OCP_CF_INC_RECURSE	   (1u << 0) /* 'i' */
#define OCP_CF_SYMLINK_TIMES	   (1u << 1) /* 'L' */
#define OCP_CF_SYMLINK_ICONV	   (1u << 2) /* 's' */
#define OCP_CF_SAFE_FLIST	   (1u << 3) /* 'f' */
#define OCP_CF_AVOID_XATTR_OPTIM   (1u << 4) /* 'x' */
#define OCP_CF_CHKSUM_SEED_FIX	   (1u << 5) /* 'C' */
#define OCP_CF_INPLACE_PARTIAL_DIR (1u << 6) /* 'I' */
#define OCP_CF_VARINT_FLIST_FLAGS  (1u << 7) /* 'v' */
#define OCP_CF_ID0_NAMES	   (1u << 8) /* 'u' */
#define OCP_CF_ALL		   0x1FFu
/* Flags the server sets from its own build, whatever the client listed. */
#define OCP_CF_SERVER_OWN (OCP_CF_SYMLINK_TIMES | OCP_CF_SYMLINK_ICONV)

#define OCP_PROTOCOL_MIN 30  /* oldest protocol we speak */
#define OCP_PROTOCOL_MAX 32  /* upstream PROTOCOL_VERSION of 3.5.0 */
#define OCP_CAPS_STR_MAX 12  /* "e." + 9 letters + NUL */
#define OCP_NSTR_MAX	 255 /* longest name list (upstream MAX_NSTR_STRLEN - 1) */
#define OCP_NAMELIST_MAX 8   /* more distinct names than either kind has */

/*
 * Write "e." and the letters of caps (in upstream's order "iLsfxCIvu"),
 * NUL-terminated, as the client appends to its short-option cluster;
 * mirrors upstream `server_options()`. Returns the length without the NUL,
 * -ENOBUFS, or -EINVAL when caps has bits outside OCP_CF_ALL.
 */
int ocp_caps_encode(char *out, size_t cap, uint32_t caps);
/*
 * Read the capability letters from a server argument such as
 * "-logDtpre.iLsfxCIvu": the letters after the cluster's 'e' and its '.'
 * (or digits and '.', an explicit version). Unknown letters are ignored, as
 * upstream does. Returns 0 and sets *caps; -ENOENT when the cluster has no
 * 'e' option; OCP_EPROTO when arg is not a short-option cluster.
 */
int ocp_caps_parse(const char *arg, uint32_t *caps);

/*
 * The compat flags a server sends: the client's capabilities that the server
 * also has, plus the server's own OCP_CF_SERVER_OWN bits; mirrors the server
 * branch of upstream `setup_protocol()`.
 */
uint32_t ocp_compat_server(uint32_t client_caps, uint32_t server_caps);
/* Write compat flags as a varint; mirrors upstream `write_varint(compat_flags)`. */
int ocp_enc_compat(uint8_t *out, size_t cap, uint32_t flags);
/*
 * Read the server's compat flags (a varint) and check them against the
 * capabilities we advertised: unknown bits or bits we did not offer (other
 * than OCP_CF_SERVER_OWN) are OCP_ECOMPAT. Mirrors the client branch of
 * upstream `setup_protocol()`, which reads them unchecked.
 */
int ocp_dec_compat(const uint8_t *buf, size_t len, uint32_t advertised, uint32_t *flags);

/*
 * The protocol both sides use: the lower of ours and the peer's; mirrors
 * upstream `setup_protocol()`. Returns it (30..32), or OCP_EVERSION when the
 * peer's is outside upstream's accepted 20..40 or the result is below 30.
 */
int ocp_protocol_choose(int ours, int peer);

/* Which name list: transfer checksums or compressors. */
enum ocp_nstr_kind {
	OCP_NSTR_CHECKSUM, /* ids are enum ocp_csum (csum.h) */
	OCP_NSTR_COMPRESS, /* ids are enum ocp_compress */
};

/* Compressors (upstream compat.c valid_compressions). */
enum ocp_compress {
	OCP_COMPRESS_NONE = 0,
	OCP_COMPRESS_ZLIB,
	OCP_COMPRESS_ZLIBX,
	OCP_COMPRESS_LZ4,
	OCP_COMPRESS_ZSTD,
	OCP_COMPRESS_COUNT
};

/* An ordered, duplicate-free list of algorithm ids, most preferred first. */
struct ocp_namelist {
	uint8_t n;
	uint8_t id[OCP_NAMELIST_MAX];
};

/*
 * rsync 3.5.0's default list: checksums "xxh128 xxh3 xxh64 md5 md4 sha1
 * none", compressors "zstd lz4 zlibx zlib none"; a client's omits "none".
 * Mirrors upstream `get_default_nno_list()`. -EINVAL for a bad kind.
 */
int ocp_namelist_default(enum ocp_nstr_kind kind, bool server, struct ocp_namelist *out);
/* Upstream name of id in kind, or NULL. */
const char *ocp_nstr_name(enum ocp_nstr_kind kind, int id);

/*
 * Write l as a vstring of space-separated names; mirrors upstream
 * `send_negotiate_str()`. Returns bytes written, -ENOBUFS or -EINVAL.
 */
int ocp_enc_namelist(uint8_t *out, size_t cap, enum ocp_nstr_kind kind,
		     const struct ocp_namelist *l);
/*
 * Read a name-list vstring (at most OCP_NSTR_MAX bytes, else OCP_ETOOLONG).
 * Unknown names are skipped and repeats dropped, as upstream's
 * `parse_negotiate_str()` ignores them. Returns bytes consumed, 0 or < 0.
 */
int ocp_dec_namelist(const uint8_t *buf, size_t len, enum ocp_nstr_kind kind,
		     struct ocp_namelist *l);
/*
 * Upstream's choice rule: our most preferred id that the peer also lists
 * (the peer's order does not matter); mirrors `parse_negotiate_str()`.
 * Returns the id, or OCP_ENOMATCH.
 */
int ocp_nstr_choose(const struct ocp_namelist *ours, const struct ocp_namelist *peer);

/*
 * What the server writes after the protocol version: compat flags; when
 * CF_VARINT_FLIST_FLAGS is set its checksum list and, when compressing, its
 * compression list; then the checksum seed (int32). Mirrors the order of
 * upstream `setup_protocol()`.
 */
struct ocp_setup {
	uint32_t compat;
	struct ocp_namelist csums;    /* valid when compat has VARINT_FLIST_FLAGS */
	struct ocp_namelist compress; /* valid when also compressing */
	int32_t seed;
};

/* Write s as a server does; `compressing` says whether the list is sent. */
int ocp_enc_setup(uint8_t *out, size_t cap, const struct ocp_setup *s, bool compressing);
/*
 * Read a server's setup, validating the compat flags against advertised
 * (as ocp_dec_compat()). Lists absent from the stream are left empty.
 * Returns bytes consumed, 0 for need more, or < 0.
 */
int ocp_dec_setup(const uint8_t *buf, size_t len, uint32_t advertised, bool compressing,
		  struct ocp_setup *s);

#endif /* OCPROTO_NEGOTIATE_H */
