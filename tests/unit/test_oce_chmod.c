/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for apps/engine/chmod.h. The expected modes were produced by
 * rsync 3.5.0 itself: `rsync -rp --chmod=RULE` of a file or directory of
 * each mode, under umask 022; the bad rules are those it refuses.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "apps/engine/chmod.h"

static const struct {
	const char *rule;
	unsigned mode;
	bool dir;
	unsigned want;
} cases[] = {
    {"u+s", 0600, false, 04600},
    {"u+s", 0600, true, 04600},
    {"u+s", 0751, false, 04751},
    {"u+s", 0751, true, 04751},
    {"u+s", 04755, false, 04755},
    {"u+s", 04755, true, 04755},
    {"u+s", 0640, false, 04640},
    {"u+s", 0640, true, 04640},
    {"g=u", 0600, false, 0660},
    {"g=u", 0600, true, 0660},
    {"g=u", 0751, false, 0771},
    {"g=u", 0751, true, 0771},
    {"g=u", 04755, false, 04775},
    {"g=u", 04755, true, 04775},
    {"g=u", 0640, false, 0660},
    {"g=u", 0640, true, 0660},
    {"o=", 0600, false, 0600},
    {"o=", 0600, true, 0600},
    {"o=", 0751, false, 0750},
    {"o=", 0751, true, 0750},
    {"o=", 04755, false, 04750},
    {"o=", 04755, true, 04750},
    {"o=", 0640, false, 0640},
    {"o=", 0640, true, 0640},
    {"a+X", 0600, false, 0600},
    {"a+X", 0600, true, 0711},
    {"a+X", 0751, false, 0751},
    {"a+X", 0751, true, 0751},
    {"a+X", 04755, false, 04755},
    {"a+X", 04755, true, 04755},
    {"a+X", 0640, false, 0640},
    {"a+X", 0640, true, 0751},
    {"-X", 0600, false, 0600},
    {"-X", 0600, true, 0600},
    {"-X", 0751, false, 0640},
    {"-X", 0751, true, 0640},
    {"-X", 04755, false, 04644},
    {"-X", 04755, true, 04644},
    {"-X", 0640, false, 0640},
    {"-X", 0640, true, 0640},
    {"Fgo-w,Dg+s", 0600, false, 0600},
    {"Fgo-w,Dg+s", 0600, true, 02600},
    {"Fgo-w,Dg+s", 0751, false, 0751},
    {"Fgo-w,Dg+s", 0751, true, 02751},
    {"Fgo-w,Dg+s", 04755, false, 04755},
    {"Fgo-w,Dg+s", 04755, true, 06755},
    {"Fgo-w,Dg+s", 0640, false, 0640},
    {"Fgo-w,Dg+s", 0640, true, 02640},
    {"644", 0600, false, 0644},
    {"644", 0600, true, 0644},
    {"644", 0751, false, 0644},
    {"644", 0751, true, 0644},
    {"644", 04755, false, 0644},
    {"644", 04755, true, 0644},
    {"644", 0640, false, 0644},
    {"644", 0640, true, 0644},
    {"D755,F644", 0600, false, 0644},
    {"D755,F644", 0600, true, 0755},
    {"D755,F644", 0751, false, 0644},
    {"D755,F644", 0751, true, 0755},
    {"D755,F644", 04755, false, 0644},
    {"D755,F644", 04755, true, 0755},
    {"D755,F644", 0640, false, 0644},
    {"D755,F644", 0640, true, 0755},
    {"a+rX", 0600, false, 0644},
    {"a+rX", 0600, true, 0755},
    {"a+rX", 0751, false, 0755},
    {"a+rX", 0751, true, 0755},
    {"a+rX", 04755, false, 04755},
    {"a+rX", 04755, true, 04755},
    {"a+rX", 0640, false, 0644},
    {"a+rX", 0640, true, 0755},
    {"ug=rwX,o=rX", 0600, false, 0664},
    {"ug=rwX,o=rX", 0600, true, 0775},
    {"ug=rwX,o=rX", 0751, false, 0775},
    {"ug=rwX,o=rX", 0751, true, 0775},
    {"ug=rwX,o=rX", 04755, false, 04775},
    {"ug=rwX,o=rX", 04755, true, 04775},
    {"ug=rwX,o=rX", 0640, false, 0664},
    {"ug=rwX,o=rX", 0640, true, 0775},
    {"u-x,g+t", 0600, false, 01600},
    {"u-x,g+t", 0600, true, 01600},
    {"u-x,g+t", 0751, false, 01651},
    {"u-x,g+t", 0751, true, 01651},
    {"u-x,g+t", 04755, false, 05655},
    {"u-x,g+t", 04755, true, 05655},
    {"u-x,g+t", 0640, false, 01640},
    {"u-x,g+t", 0640, true, 01640},
    {"o+s", 0600, false, 04600},
    {"o+s", 0600, true, 04600},
    {"o+s", 0751, false, 04751},
    {"o+s", 0751, true, 04751},
    {"o+s", 04755, false, 04755},
    {"o+s", 04755, true, 04755},
    {"o+s", 0640, false, 04640},
    {"o+s", 0640, true, 04640},
    {"=r", 0600, false, 0444},
    {"=r", 0600, true, 0444},
    {"=r", 0751, false, 0444},
    {"=r", 0751, true, 0444},
    {"=r", 04755, false, 04444},
    {"=r", 04755, true, 04444},
    {"=r", 0640, false, 0444},
    {"=r", 0640, true, 0444},
    {"+w", 0600, false, 0600},
    {"+w", 0600, true, 0600},
    {"+w", 0751, false, 0751},
    {"+w", 0751, true, 0751},
    {"+w", 04755, false, 04755},
    {"+w", 04755, true, 04755},
    {"+w", 0640, false, 0640},
    {"+w", 0640, true, 0640},
    {"a=s", 0600, false, 06000},
    {"a=s", 0600, true, 06000},
    {"a=s", 0751, false, 06000},
    {"a=s", 0751, true, 06000},
    {"a=s", 04755, false, 06000},
    {"a=s", 04755, true, 06000},
    {"a=s", 0640, false, 06000},
    {"a=s", 0640, true, 06000},
    {"g-u", 0600, false, 0600},
    {"g-u", 0600, true, 0600},
    {"g-u", 0751, false, 0701},
    {"g-u", 0751, true, 0701},
    {"g-u", 04755, false, 04705},
    {"g-u", 04755, true, 04705},
    {"g-u", 0640, false, 0600},
    {"g-u", 0640, true, 0600},
};

static void
test_rules_as_rsync(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct oce_chmod *c = oce_chmod_parse(cases[i].rule, 022);
		mode_t type = cases[i].dir ? S_IFDIR : S_IFREG;
		mode_t got;

		if (!c)
			fail_msg("\"%s\" did not parse", cases[i].rule);
		got = oce_chmod_apply(c, type | cases[i].mode);
		if (got != (type | cases[i].want))
			fail_msg("\"%s\" on %s %04o: got %04o want %04o", cases[i].rule,
				 cases[i].dir ? "dir" : "file", cases[i].mode, (unsigned)got & 07777,
				 cases[i].want);
		oce_chmod_free(c);
	}
}

static void
test_bad_rules(void **state)
{
	static const char *bad[] = {"", "u", "Fq+w", "go=u-w", "u+wg", "DF+x", "78", "017777", "u+r,",
				    "+z", "a=rt,,o+r"};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (oce_chmod_parse(bad[i], 022))
			fail_msg("\"%s\" parsed", bad[i]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rules_as_rsync),
	    cmocka_unit_test(test_bad_rules),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
