/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * ocproto error codes.
 *
 * Every ocproto function reports failure as a negative int: either a negative
 * errno value (for caller mistakes such as -EINVAL, or -ENOBUFS when an output
 * buffer is too small) or one of the OCP_E* codes below, which describe a
 * malformed or hostile peer stream. OCP_E* codes start at -4096, below the
 * kernel's errno range (-4095..-1), so the two sets never collide.
 *
 * Concurrency: everything here is stateless and safe from any thread.
 */
#ifndef OCPROTO_ERR_H
#define OCPROTO_ERR_H

/* The OCP_E* codes; all are negative and lie in [OCP_E_LAST, OCP_E_FIRST]. */
enum ocp_err {
	/* Bytes that no conforming peer can produce (a bad prefix or form). */
	OCP_EPROTO = -4096,
	/* A well-formed encoding of a value that does not fit its type. */
	OCP_EOVERFLOW = -4097,
	/* A peer-supplied length above the limit the caller or protocol set. */
	OCP_ETOOLONG = -4098,
	/* A multiplex header with a message code that does not exist. */
	OCP_EMSGCODE = -4099,
	/* A multiplex header whose length is wrong for its fixed-size code. */
	OCP_EMSGLEN = -4100,
	/* A peer protocol version outside the supported range (30 to 32). */
	OCP_EVERSION = -4101,
	/* A negotiation with no common choice (checksum, compression, digest). */
	OCP_ENOMATCH = -4102,
	/* An algorithm this build or its crypto library cannot provide. */
	OCP_ENOTSUP = -4103,
	/* Compat flags the peer may not send: unknown bits, or not offered. */
	OCP_ECOMPAT = -4104,
	/* A checksum header (sum head) outside upstream's limits. */
	OCP_ESUMHEAD = -4105,
	/* A daemon text line longer than the caller's limit. */
	OCP_ELINE = -4106,
	/* A block signature inconsistent with its head or the basis. */
	OCP_ESIG = -4107,
	/* A token stream with a bad flag, index or run. */
	OCP_ETOKEN = -4108,
	/* Compressed token data the decompressor rejects or that expands too far. */
	OCP_EDECOMP = -4109,
	/* A file-list entry that breaks the format or needs an option not in effect. */
	OCP_EFLIST = -4110,
	/* A peer path name that is empty, absolute, or climbs with "..". */
	OCP_EUNSAFE = -4111,
	/* An incremental-recursion file sub-list, which ocproto does not decode yet. */
	OCP_EINCREC = -4112,
	/* A filter rule with bad syntax, or a filter list past its limits. */
	OCP_EFILTER = -4113,
	/* The peer closed the connection where more bytes were due. */
	OCP_ECLOSED = -4114,
};

#define OCP_E_FIRST OCP_EPROTO
#define OCP_E_LAST  OCP_ECLOSED

/* Is err one of the OCP_E* codes (rather than 0, a count or a -errno)? */
static inline int
ocp_is_proto_err(int err)
{
	return err <= OCP_E_FIRST && err >= OCP_E_LAST;
}

/*
 * A static, human-readable message for err: an OCP_E* code, a negative errno
 * (described as strerror() would, without its thread-safety caveat), or 0. Never returns NULL.
 */
const char *ocp_strerror(int err);

#endif /* OCPROTO_ERR_H */
