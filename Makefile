# SPDX-License-Identifier: GPL-3.0-or-later
# The oc toolkit: one GNU make file for everything. See README.md.
#
#   make                 build libraries, programs and tests into build/
#   make test            install missing packages, build, run every suite
#   make bench           every bench/bench_* (ocq, ocpool, ocproto, oc-rsyncd) and bench_rsync.sh
#   make demo            the main job: oc-rsync copies a sample tree, then syncs changes
#   make fuzz            libFuzzer targets (clang) into build/fuzz/
#   make fuzz-run SECONDS=N
#   make coverage        gcovr line and branch coverage per library
#   make install PREFIX=/usr/local
#   SAN=address,undefined or SAN=thread: sanitizer builds in their own folders

SAN ?=
PREFIX ?= /usr/local
SECONDS ?= 30

ifeq ($(origin CC),default)
CC := gcc
endif

# Each compiler and sanitizer combination builds into its own folder, so
# `make CC=clang` really compiles with clang instead of reusing gcc's objects.
comma := ,
CCNAME := $(notdir $(firstword $(CC)))
ifeq ($(CCNAME),gcc)
BASE := build
else
BASE := build/$(CCNAME)
endif
ifeq ($(SAN),)
B := $(BASE)
SANFLAGS :=
else
B := $(BASE)/san-$(subst $(comma),-,$(SAN))
SANFLAGS := -fsanitize=$(SAN) -fno-omit-frame-pointer -fno-sanitize-recover=all
endif

WERROR ?= -Werror
OPT ?= -O2
CPPFLAGS += -D_GNU_SOURCE -I. -Iocproto/include
CFLAGS ?= $(OPT) -g
CFLAGS += -std=c11 -pthread -Wall -Wextra $(WERROR) $(SANFLAGS) $(COVFLAGS)
LDFLAGS += -pthread $(SANFLAGS) $(COVFLAGS)

PROTO_PC := libxxhash zlib libzstd liblz4 libcrypto
PROTO_LIBS = $(shell pkg-config --libs $(PROTO_PC) 2>/dev/null)
TEST_LIBS = $(shell pkg-config --libs cmocka 2>/dev/null)
BENCH_LIBS = $(shell pkg-config --libs ck liburcu-cds liburcu 2>/dev/null)

# --- sources, found by convention so a new file needs no Makefile edit -------
OCQ_HDRS := $(wildcard ocq/*.h)
OCPOOL_HDRS := $(wildcard ocpool/*.h)
OCPROTO_HDRS := $(wildcard ocproto/include/ocproto/*.h)
OCPROTO_SRCS := $(wildcard ocproto/src/*.c)
OCPROTO_OBJS := $(OCPROTO_SRCS:%.c=$(B)/%.o)
LIBOCPROTO := $(if $(OCPROTO_SRCS),$(B)/libocproto.a)
ENGINE_HDRS := $(wildcard apps/engine/*.h apps/engine/*/*.h)
# The daemon's sans-I/O core (config, access rules): built into libengine.a.
DAEMON_HDRS := $(wildcard apps/daemon/*.h)
DAEMON_SRCS := $(wildcard apps/daemon/*.c)
# srv_*.c is oc-rsyncd's I/O side (it needs the engine); the rest is sans-I/O.
DAEMON_CORE_SRCS := $(filter-out apps/daemon/srv_%,$(DAEMON_SRCS))
HDRS := $(OCQ_HDRS) $(OCPOOL_HDRS) $(OCPROTO_HDRS) $(ENGINE_HDRS) $(DAEMON_HDRS)

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:%.c=$(B)/%)
STRESS_SRCS := $(wildcard tests/stress/stress_*.c)
STRESS_BINS := $(STRESS_SRCS:%.c=$(B)/%)
BENCH_SRCS := $(wildcard bench/bench_*.c)
BENCH_BINS := $(BENCH_SRCS:%.c=$(B)/%)
FUZZ_SRCS := $(wildcard fuzz/fuzz_*.c)
FUZZ_BINS := $(FUZZ_SRCS:fuzz/%.c=build/fuzz/%)

# Programs: every apps/oc-*/ folder is one program, linked with apps/engine/.
APPS := $(notdir $(wildcard apps/oc-*))
ENGINE_SRCS := $(wildcard apps/engine/*.c apps/engine/*/*.c) $(DAEMON_SRCS)
ENGINE_OBJS := $(ENGINE_SRCS:%.c=$(B)/%.o)
APP_BINS := $(APPS:%=$(B)/bin/%)
LIBENGINE := $(if $(ENGINE_SRCS),$(B)/libengine.a)
# The programs open libcrypto only when a run needs md4/md5/sha (ocproto/src/csum.c).
# The other libraries are linked in (their .a come with the same -dev
# packages): a run starts two programs, and loading and relocating six
# shared objects was a fifth of a millisecond each (STATIC_DEPS=0: shared).
APP_DEP_LIBS = $(shell pkg-config --libs-only-l $(filter-out libcrypto,$(PROTO_PC)) liburing popt 2>/dev/null)
# (only when every archive is there; otherwise shared, as before)
STATIC_ARCHIVES := $(foreach l,xxhash z zstd lz4 uring popt,/usr/lib/$(shell gcc -print-multiarch 2>/dev/null)/lib$(l).a)
STATIC_DEPS ?= $(if $(filter-out $(wildcard $(STATIC_ARCHIVES)),$(STATIC_ARCHIVES)),0,1)
ifeq ($(STATIC_DEPS),1)
APP_LIBS = -Wl,-Bstatic $(APP_DEP_LIBS) -Wl,-Bdynamic
else
APP_LIBS = $(APP_DEP_LIBS)
endif

.PHONY: all deps test test-unit test-stress test-cli test-interop bench demo \
	fuzz fuzz-run coverage install clean format sim-plot
.DEFAULT_GOAL := all

all: $(LIBOCPROTO) $(APP_BINS) $(UNIT_BINS) $(STRESS_BINS)

deps:
	@sh mk/deps.sh

# --- compile and link ---------------------------------------------------------
$(B)/ocproto/%.o: ocproto/%.c $(OCPROTO_HDRS)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(B)/%.o: %.c $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(B)/libocproto.a: $(OCPROTO_OBJS)
	@mkdir -p $(@D)
	rm -f $@
	ar rcs $@ $^

$(B)/libengine.a: $(ENGINE_OBJS)
	@mkdir -p $(@D)
	rm -f $@
	ar rcs $@ $^

# Unit tests link the engine too (as an archive, so only what a test uses).
$(B)/tests/unit/%: tests/unit/%.c tests/obuf.h $(HDRS) $(LIBENGINE) $(LIBOCPROTO)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(LIBENGINE) $(LIBOCPROTO) $(LDFLAGS) $(TEST_LIBS) \
		$(APP_DEP_LIBS) -lm

$(B)/tests/stress/%: tests/stress/%.c tests/stress/stress.h $(HDRS) $(LIBOCPROTO)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(LIBOCPROTO) $(LDFLAGS) $(PROTO_LIBS) -lm

$(B)/bench/%: bench/%.c bench/bench_util.h $(HDRS) $(LIBOCPROTO)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -I/usr/include/$(shell gcc -print-multiarch) \
		-o $@ $< $(LIBOCPROTO) $(LDFLAGS) $(BENCH_LIBS) $(PROTO_LIBS) -lm

.SECONDEXPANSION:
# The objects of program $(1) (a % in the rule itself would be taken for the stem).
app_objs = $(patsubst %.c,$(B)/%.o,$(wildcard apps/$(1)/*.c))
$(B)/bin/%: $$(call app_objs,$$*) $(LIBENGINE) $(LIBOCPROTO)
	@mkdir -p $(@D)
	$(CC) -o $@ $^ $(LDFLAGS) $(APP_LIBS) -lm

# --- tests --------------------------------------------------------------------
test: deps all
	@bash tests/run-suites.sh $(B) unit stress cli interop

test-unit: $(UNIT_BINS)
	@bash tests/run-suites.sh $(B) unit

test-stress: $(STRESS_BINS)
	@bash tests/run-suites.sh $(B) stress

test-cli: all
	@bash tests/run-suites.sh $(B) cli

# Under a sanitizer kill.bats runs each case 25 times, not 100: there it
# looks for memory and thread errors, and `make test` runs the full 100.
test-interop: all
	@KILL_RUNS=$${KILL_RUNS:-$(if $(SAN),25,100)} bash tests/run-suites.sh $(B) interop

# --- benchmarks and demo ------------------------------------------------------
bench: deps $(BENCH_BINS) $(APP_BINS)
	@mkdir -p $(B)/bench
	@for b in $(BENCH_BINS); do $$b --out $(B)/bench || exit 1; done
	@bash bench/bench_rsync.sh --out $(B)/bench --oc-rsync $(B)/bin/oc-rsync
	@bash bench/bench_local.sh --out $(B)/bench --oc-rsync $(B)/bin/oc-rsync

demo: deps all
	@sh mk/demo.sh $(B)

# The adaptive controller's simulated runs, plotted (docs/design/ocpool.md).
sim-plot: $(B)/tests/unit/test_ocpool_ctl
	@mkdir -p $(B)/sim
	@OCPOOL_SIM_CSV=$(B)/sim $(B)/tests/unit/test_ocpool_ctl >/dev/null
	gnuplot -e "dir='$(B)/sim'; outfile='$(B)/sim/ocpool_sim.svg'" mk/ocpool_sim.gp
	@echo "plot: $(B)/sim/ocpool_sim.svg"

# --- fuzzing (clang + libFuzzer, always with ASan and UBSan) -----------------
FUZZ_CFLAGS := -std=c11 -O1 -g -Wall -Wextra -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=all
build/fuzz/%: fuzz/%.c tests/obuf.h $(OCPROTO_SRCS) $(HDRS)
	@mkdir -p $(@D)
	clang $(CPPFLAGS) $(FUZZ_CFLAGS) -o $@ $< $(OCPROTO_SRCS) $(PROTO_LIBS) -pthread -lm

# The daemon config targets also need apps/daemon/ (sans-I/O, no engine).
build/fuzz/fuzz_oce_d%: fuzz/fuzz_oce_d%.c $(OCPROTO_SRCS) $(DAEMON_CORE_SRCS) $(HDRS)
	@mkdir -p $(@D)
	clang $(CPPFLAGS) $(FUZZ_CFLAGS) -o $@ $< $(DAEMON_CORE_SRCS) $(OCPROTO_SRCS) $(PROTO_LIBS) \
		-pthread -lm

# The option parser target links the whole engine (options pull in filters,
# --chmod, the daemon table) with popt.
build/fuzz/fuzz_oce_opts: fuzz/fuzz_oce_opts.c $(ENGINE_SRCS) $(OCPROTO_SRCS) $(HDRS)
	@mkdir -p $(@D)
	clang $(CPPFLAGS) $(FUZZ_CFLAGS) -o $@ $< $(ENGINE_SRCS) $(OCPROTO_SRCS) $(APP_DEP_LIBS) \
		$(PROTO_LIBS) -pthread -lm

fuzz: $(FUZZ_BINS)

fuzz-run: fuzz
	@bash tests/run-fuzz.sh $(SECONDS) $(FUZZ_BINS)

# --- coverage -----------------------------------------------------------------
# `make test` itself (deps, build, every suite it runs) on a --coverage -O0
# gcc build in build/coverage-obj/, then mk/coverage.sh prints lines and
# branches per library, MET or NOT MET against the issue's thresholds, and
# writes HTML to build/coverage/. It exits non-zero when a threshold is not
# met or a test failed. -DOC_COVERAGE makes the processes that end with
# _exit() write their counters too (apps/engine/fastexit.h); GCOV_ERROR_FILE
# keeps gcov's own complaints out of the output the tests compare with rsync's.
# -fkeep-inline-functions emits the header-only ocq/ and ocpool/ functions
# that no test or program calls, so they count as lines not run.
# Objects built with other flags (an older coverage target's) are rebuilt:
# make would otherwise take them for up to date.
COV_B := build/coverage-obj
COV_FLAGS := --coverage -fkeep-inline-functions -DOC_COVERAGE
COV_MAKE = $(MAKE) CC=gcc B=$(COV_B) COVFLAGS="$(COV_FLAGS)" OPT=-O0 SAN=
coverage:
	@[ "$$(cat $(COV_B)/.flags 2>/dev/null)" = "$(COV_FLAGS) -O0" ] || rm -rf $(COV_B)
	$(COV_MAKE) deps all
	@echo "$(COV_FLAGS) -O0" >$(COV_B)/.flags
	@bash mk/coverage.sh reset $(COV_B)
	@rm -rf build/coverage && mkdir -p build/coverage
	@: >build/coverage/gcov-errors.log && chmod 666 build/coverage/gcov-errors.log
	@GCOV_ERROR_FILE=$(CURDIR)/build/coverage/gcov-errors.log $(COV_MAKE) test; \
		echo $$? >build/coverage/test-status
	@bash mk/coverage.sh report $(COV_B) build/coverage; cov=$$?; \
		n=$$(grep -c . build/coverage/gcov-errors.log); \
		[ "$$n" -eq 0 ] || echo "gcov: $$n complaints (build/coverage/gcov-errors.log)"; \
		echo "HTML: build/coverage/index.html"; \
		if [ "$$(cat build/coverage/test-status)" != 0 ]; then \
			echo "coverage: make test failed under coverage (logs: $(COV_B)/test-logs/)"; \
			exit 1; \
		fi; \
		exit $$cov

# --- install ------------------------------------------------------------------
install: $(LIBOCPROTO) $(APP_BINS)
	install -d $(DESTDIR)$(PREFIX)/include/ocq $(DESTDIR)$(PREFIX)/include/ocpool \
		$(DESTDIR)$(PREFIX)/include/ocproto $(DESTDIR)$(PREFIX)/lib/pkgconfig \
		$(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 \
		$(DESTDIR)$(PREFIX)/share/man/man3
	install -m 644 $(OCQ_HDRS) $(DESTDIR)$(PREFIX)/include/ocq/
	$(if $(OCPOOL_HDRS),install -m 644 $(OCPOOL_HDRS) $(DESTDIR)$(PREFIX)/include/ocpool/)
	$(if $(OCPROTO_HDRS),install -m 644 $(OCPROTO_HDRS) $(DESTDIR)$(PREFIX)/include/ocproto/)
	$(if $(LIBOCPROTO),install -m 644 $(LIBOCPROTO) $(DESTDIR)$(PREFIX)/lib/)
	$(if $(APP_BINS),install -m 755 $(APP_BINS) $(DESTDIR)$(PREFIX)/bin/)
	for pc in ocq ocpool ocproto; do \
		sed -e 's|@PREFIX@|$(PREFIX)|' mk/$$pc.pc.in \
			> $(DESTDIR)$(PREFIX)/lib/pkgconfig/$$pc.pc; \
	done
	for m in $(wildcard docs/man/*.1); do install -m 644 $$m $(DESTDIR)$(PREFIX)/share/man/man1/; done
	for m in $(wildcard docs/man/*.3); do install -m 644 $$m $(DESTDIR)$(PREFIX)/share/man/man3/; done

format:
	clang-format -i $(wildcard ocq/*.h ocpool/*.h ocproto/include/ocproto/*.h \
		ocproto/src/*.c tests/*/*.c bench/*.c fuzz/*.c)

clean:
	rm -rf build
