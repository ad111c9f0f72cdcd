/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Messages for ocproto's error codes. */
#include <string.h>

#include "ocproto/err.h"

const char *
ocp_strerror(int err)
{
	switch (err) {
	case 0:
		return "success";
	case OCP_EPROTO:
		return "malformed protocol data";
	case OCP_EOVERFLOW:
		return "protocol value out of range";
	case OCP_ETOOLONG:
		return "protocol length exceeds limit";
	case OCP_EMSGCODE:
		return "unknown multiplex message code";
	case OCP_EMSGLEN:
		return "bad length for multiplex message";
	case OCP_EVERSION:
		return "unsupported protocol version (need 30 to 32)";
	case OCP_ENOMATCH:
		return "no common choice in negotiation";
	case OCP_ENOTSUP:
		return "algorithm not supported by this build";
	case OCP_ECOMPAT:
		return "compat flags not offered by us";
	case OCP_ESUMHEAD:
		return "invalid checksum header";
	case OCP_ELINE:
		return "daemon line too long";
	case OCP_ESIG:
		return "invalid block signature or block reference";
	case OCP_ETOKEN:
		return "invalid token in delta stream";
	case OCP_EDECOMP:
		return "corrupt or oversized compressed token data";
	case OCP_EFLIST:
		return "invalid file-list entry";
	case OCP_EUNSAFE:
		return "unsafe path name from peer";
	case OCP_EINCREC:
		return "incremental-recursion file sub-lists not supported";
	case OCP_EFILTER:
		return "invalid filter rule or filter list";
	case OCP_ECLOSED:
		return "connection unexpectedly closed";
	}
	/* strerrordesc_np() returns static text, unlike strerror() (thread-safe). */
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 32))
	if (err < 0 && err > OCP_E_FIRST) {
		const char *s = strerrordesc_np(-err);

		if (s)
			return s;
	}
#endif
	return err < 0 && err > OCP_E_FIRST ? "system error" : "unknown error";
}
