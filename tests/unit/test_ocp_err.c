/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * ocproto/err.h: every OCP_E* code has a message of its own (a copied
 * case would show as two codes with one text), a -errno reads as the C
 * library describes it, and anything else is "unknown error".
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "ocproto/err.h"

static void
t_codes_have_own_messages(void **state)
{
	const char *seen[OCP_E_FIRST - OCP_E_LAST + 1];

	(void)state;
	for (int e = OCP_E_FIRST; e >= OCP_E_LAST; e--) {
		const char *m = ocp_strerror(e);

		assert_true(ocp_is_proto_err(e));
		assert_non_null(m);
		assert_true(strlen(m) > 5);
		assert_string_not_equal(m, "unknown error");
		assert_string_not_equal(m, "system error");
		for (int k = OCP_E_FIRST; k > e; k--)
			assert_string_not_equal(m, seen[OCP_E_FIRST - k]);
		seen[OCP_E_FIRST - e] = m;
	}
	/* spot checks of the texts callers print */
	assert_string_equal(ocp_strerror(OCP_ECLOSED), "connection unexpectedly closed");
	assert_string_equal(ocp_strerror(OCP_EVERSION),
			    "unsupported protocol version (need 30 to 32)");
}

static void
t_other_values(void **state)
{
	(void)state;
	assert_string_equal(ocp_strerror(0), "success");
	assert_false(ocp_is_proto_err(0));
	assert_false(ocp_is_proto_err(-EIO));
	assert_false(ocp_is_proto_err(OCP_E_FIRST + 1));
	assert_false(ocp_is_proto_err(OCP_E_LAST - 1));
	/* a -errno: glibc's description, the same as strerror()'s in C */
	assert_string_equal(ocp_strerror(-ENOENT), "No such file or directory");
	assert_string_equal(ocp_strerror(-EPIPE), "Broken pipe");
	/* neither: below the OCP_E* range, positive counts */
	assert_string_equal(ocp_strerror(OCP_E_LAST - 1), "unknown error");
	assert_string_equal(ocp_strerror(OCP_E_FIRST * 2), "unknown error");
	assert_string_equal(ocp_strerror(7), "unknown error");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_codes_have_own_messages),
		cmocka_unit_test(t_other_values),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
