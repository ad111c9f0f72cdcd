#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# The build as a user meets it: install layout, pkg-config, and vendoring
# ocq/ by copying that one folder into another tree.

load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

setup_file()
{
	export TOP="$BATS_TEST_DIRNAME/../.."
	export PREFIX="$BATS_FILE_TMPDIR/prefix"
	make -C "$TOP" -s install PREFIX="$PREFIX" >/dev/null
}

# A small program that uses the channel API end to end: two producers,
# ordered receive, close on last release.
write_prog()
{
	cat >"$1" <<'C'
#include <stdio.h>
#include <pthread.h>
#include "ocq/ocq.h"
static struct ocq_tx tx[2];
static void *prod(void *p)
{
	unsigned k = (unsigned)(unsigned long)p;
	for (unsigned long i = 0; i < 1000; i++)
		if (ocq_send(&tx[k], (void *)(k * 1000 + i + 1)))
			return NULL;
	ocq_tx_release(&tx[k]);
	return NULL;
}
int main(void)
{
	struct ocq_chan *ch;
	struct ocq_rx rx;
	struct ocq_reorder o;
	pthread_t t[2];
	unsigned long want = 1, n = 0;
	void *v;
	if (ocq_chan_create(&ch, OCQ_MPSC, 8) || ocq_chan_with_producers(ch, 2, tx) ||
	    ocq_rx_open(&rx, ch) || ocq_reorder_init(&o, &rx, 4))
		return 2;
	for (unsigned long k = 0; k < 2; k++)
		pthread_create(&t[k], NULL, prod, (void *)k);
	while (ocq_recv_ordered(&o, &v) == 0) {
		if ((unsigned long)v != want++)
			return 3;
		n++;
	}
	for (int k = 0; k < 2; k++)
		pthread_join(t[k], NULL);
	printf("received %lu in order\n", n);
	return 0;
}
C
}

@test "make install lays out headers, library and pkg-config files" {
	assert [ -f "$PREFIX/include/ocq/ocq.h" ]
	assert [ -f "$PREFIX/include/ocq/ocq_chan.h" ]
	assert [ -f "$PREFIX/lib/pkgconfig/ocq.pc" ]
	assert [ -f "$PREFIX/lib/pkgconfig/ocpool.pc" ]
	assert [ -f "$PREFIX/lib/pkgconfig/ocproto.pc" ]
	run grep -c "^prefix=$PREFIX\$" "$PREFIX/lib/pkgconfig/ocq.pc"
	assert_output 1
	assert [ -f "$PREFIX/lib/libocproto.a" ]
	assert [ -f "$PREFIX/include/ocproto/int.h" ]
	for m in ocq ocpool; do
		run man -l "$PREFIX/share/man/man3/$m.3"
		assert_success
		assert_output --partial "$m"
	done
}

@test "a program builds against the installed ocq through pkg-config" {
	write_prog "$BATS_TEST_TMPDIR/p.c"
	cflags=$(PKG_CONFIG_PATH="$PREFIX/lib/pkgconfig" pkg-config --cflags ocq)
	libs=$(PKG_CONFIG_PATH="$PREFIX/lib/pkgconfig" pkg-config --libs ocq)
	run cc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror $cflags -o "$BATS_TEST_TMPDIR/p" \
		"$BATS_TEST_TMPDIR/p.c" $libs
	assert_success
	run "$BATS_TEST_TMPDIR/p"
	assert_success
	assert_output "received 2000 in order"
}

@test "ocq vendors by copying one folder, with gcc and clang" {
	v="$BATS_TEST_TMPDIR/vendor"
	mkdir -p "$v/third_party"
	cp -r "$TOP/ocq" "$v/third_party/"
	write_prog "$v/main.c"
	for cc in gcc clang; do
		run $cc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -pthread \
			-I"$v/third_party" -o "$v/main-$cc" "$v/main.c"
		assert_success
		run "$v/main-$cc"
		assert_output "received 2000 in order"
	done
}

@test "every source file carries an SPDX line with the right license" {
	cd "$TOP"
	bad=""
	for f in $(git ls-files '*.c' '*.h' 'Makefile' '*.sh' '*.bats' .ci/run); do
		head -3 "$f" | grep -q 'SPDX-License-Identifier:' || bad="$bad $f"
	done
	for f in $(git ls-files 'ocq/*.h' 'ocpool/*.h'); do
		head -3 "$f" | grep -q 'SPDX-License-Identifier: MIT' || bad="$bad $f(MIT)"
	done
	assert_equal "$bad" ""
}

@test "ocpool vendors by copying ocq/ and ocpool/, with gcc and clang" {
	v="$BATS_TEST_TMPDIR/vendor-pool"
	mkdir -p "$v/third_party"
	cp -r "$TOP/ocq" "$TOP/ocpool" "$v/third_party/"
	cat >"$v/main.c" <<'C'
#include <stdio.h>
#define OCPOOL_IMPLEMENTATION
#include "ocpool/ocpool.h"
static int twice(void *arg) { return 2 * (int)(long)arg; }
int main(void)
{
	struct ocpool_config c;
	struct ocpool *p;
	struct ocpool_job *j[100];
	long sum = 0;
	ocpool_config_init(&c);
	if (ocpool_config_parse(&c, "3") || ocpool_create(&p, &c))
		return 2;
	for (long i = 0; i < 100; i++)
		if (ocpool_submit(p, twice, (void *)i, &j[i]))
			return 3;
	for (int i = 0; i < 100; i++) {
		int st;
		ocpool_join(j[i], &st);
		sum += st;
	}
	ocpool_destroy(p);
	printf("sum %ld\n", sum);
	return 0;
}
C
	for cc in gcc clang; do
		run $cc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -pthread \
			-I"$v/third_party" -o "$v/main-$cc" "$v/main.c" -lm
		assert_success
		run "$v/main-$cc"
		assert_output "sum 9900"
	done
}

@test "the installed ocpool.pc builds a pool program" {
	cflags=$(PKG_CONFIG_PATH="$PREFIX/lib/pkgconfig" pkg-config --cflags ocpool)
	libs=$(PKG_CONFIG_PATH="$PREFIX/lib/pkgconfig" pkg-config --libs ocpool)
	cat >"$BATS_TEST_TMPDIR/pool.c" <<'C'
#define OCPOOL_IMPLEMENTATION
#include "ocpool/ocpool.h"
static int one(void *arg) { (void)arg; return 1; }
int main(void)
{
	struct ocpool_config c;
	struct ocpool *p;
	struct ocpool_job *j;
	int st = 0;
	ocpool_config_init(&c);
	c.workers = 2;
	if (ocpool_create(&p, &c) || ocpool_submit(p, one, NULL, &j) || ocpool_join(j, &st))
		return 2;
	ocpool_destroy(p);
	return st == 1 ? 0 : 3;
}
C
	run cc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror $cflags -o "$BATS_TEST_TMPDIR/pool" \
		"$BATS_TEST_TMPDIR/pool.c" $libs
	assert_success
	run "$BATS_TEST_TMPDIR/pool"
	assert_success
}
