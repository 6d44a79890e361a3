# SPDX-License-Identifier: Apache-2.0
# ember - a minimal KVM microVM monitor.
#
#   make            build build/ember and build/ember-jailer
#   make deps       install the Debian packages the build and tests need
#   make guest      build (or fetch from ~/.cache/ember) the guest kernels and rootfs
#   make run        boot the demo microVM on the serial console
#   make test       unit tests + end-to-end tests; ends with "N passed, N failed"
#   make unit       unit tests only (no KVM)      make asan / SAN=1: sanitizer build
#   make helpers    the C helpers of the benchmarks and of tests/jailer/run.sh
#   make install    PREFIX=/usr/local DESTDIR=

PREFIX  ?= /usr/local
DESTDIR ?=
VERSION := 0.1.0
CC      ?= cc

PKGS    := libseccomp libcap libcjson liburing
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

ifeq ($(SAN),1)
BUILD   ?= build/asan
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
OPT     := -O1 -g
else
BUILD   ?= build
SANFLAGS :=
OPT     := -O2 -g -D_FORTIFY_SOURCE=2
endif

CFLAGS  ?=
CFLAGS  += -std=gnu11 -D_GNU_SOURCE $(OPT) -Wall -Wextra -Werror -Wno-unused-parameter \
	   -fstack-protector-strong -fPIE -pthread -DEMBER_VERSION=\"$(VERSION)\" \
	   -iquote . $(PKG_CFLAGS) $(SANFLAGS)
LDFLAGS += -pie -Wl,-z,relro,-z,now -pthread $(SANFLAGS)
LDLIBS  += $(PKG_LIBS)

CORE_SRCS := $(filter-out src/main.c src/seccomp_gen.c,$(wildcard src/*.c)) \
	     $(wildcard virtio/*.c)
CORE_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(CORE_SRCS)) $(BUILD)/obj/gen/seccomp_default.o
MAIN_OBJ  := $(BUILD)/obj/src/main.o
JAIL_SRCS := $(filter-out jailer/main.c,$(wildcard jailer/*.c))
JAIL_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(JAIL_SRCS))
JAIL_MAIN := $(BUILD)/obj/jailer/main.o
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))
UNIT_HELPERS := $(filter-out $(UNIT_SRCS),$(wildcard tests/unit/*.c))

.PHONY: all deps guest run test unit e2e asan install clean bench fuzz fuzz-run fuzz-ci helpers
all: $(BUILD)/ember $(BUILD)/ember-jailer

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libember.a: $(CORE_OBJS)
	@rm -f $@
	ar rcs $@ $^

# The jailer's steps (jailer/jail.h), linked by build/ember-jailer, the unit
# tests and tests/jailer/race.c. Shares nothing with libember.a.
$(BUILD)/libjailer.a: $(JAIL_OBJS)
	@rm -f $@
	ar rcs $@ $^

# The built-in seccomp filters, compiled to BPF at build time by seccomp-gen
# (the lists of src/seccomp_rules.c through the rule compiler), so ember loads
# them without libseccomp work. seccomp_gen.c is the generator's main(), not
# part of ember.
SECCOMP_GEN_SRCS := src/seccomp_gen.c src/seccomp_rules.c src/seccomp_compile.c src/log.c \
		    src/util.c
$(BUILD)/seccomp-gen: $(SECCOMP_GEN_SRCS) src/seccomp.h src/seccomp_int.h src/log.h src/vcpu.h \
		src/bus.h src/util.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(SECCOMP_GEN_SRCS) $(LDLIBS)

$(BUILD)/gen/seccomp_default.c: $(BUILD)/seccomp-gen
	@mkdir -p $(dir $@)
	$(BUILD)/seccomp-gen >$@.tmp && mv $@.tmp $@

$(BUILD)/obj/gen/seccomp_default.o: $(BUILD)/gen/seccomp_default.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

# ember links libseccomp statically when Debian's libseccomp-dev has the
# archive: the built-in filters are precompiled, so its code runs only for
# --seccomp-filter, and a static copy costs no loader work or resident pages.
# The same for liburing (io_engine Async, virtio/blk_uring.c): Debian's
# liburing-dev ships liburing.a.
SECCOMP_A := $(wildcard $(shell pkg-config --variable=libdir libseccomp 2>/dev/null)/libseccomp.a)
URING_A   := $(wildcard $(shell pkg-config --variable=libdir liburing 2>/dev/null)/liburing.a)
EMBER_LIBS := $(if $(SECCOMP_A),$(filter-out -lseccomp,$(LDLIBS)) $(SECCOMP_A),$(LDLIBS))
EMBER_LIBS := $(if $(URING_A),$(filter-out -luring,$(EMBER_LIBS)) $(URING_A),$(EMBER_LIBS))

# Fully static ember (static-pie) when Debian's source of the installed
# libcjson-dev has been unpacked by scripts/cjson-src.sh (make deps): Debian
# ships no libcjson.a, so its cJSON.c (same version, Debian's patches) is
# compiled here. A static ember does no dynamic loading at start-up and maps
# no shared libraries (benchmarks/README.md: start-up CPU and VMM overhead);
# inside the jailer's chroot it needs no library copies. Otherwise, and for
# sanitizer builds, libcjson is linked dynamically. `make STATIC=0` forces that.
CJSON_VER := $(shell dpkg-query -W -f='$${source:Version}' libcjson-dev 2>/dev/null)
CJSON_DIR ?= $(HOME)/.cache/ember/src/cjson-$(CJSON_VER)
ifeq ($(SAN)$(STATIC),)
ifneq ($(and $(SECCOMP_A),$(URING_A),$(CJSON_VER),$(wildcard $(CJSON_DIR)/cJSON.c)),)
EMBER_STATIC := 1
endif
endif

ifeq ($(EMBER_STATIC),1)
$(BUILD)/obj/cjson/cJSON.o: $(CJSON_DIR)/cJSON.c
	@mkdir -p $(dir $@)
	$(CC) -std=c89 -O2 -g -fPIE -fstack-protector-strong -D_FORTIFY_SOURCE=2 -c $< -o $@

$(BUILD)/ember: $(MAIN_OBJ) $(BUILD)/libember.a $(BUILD)/obj/cjson/cJSON.o
	$(CC) -static-pie -Wl,-z,relro,-z,now -pthread -o $@ $^ $(SECCOMP_A) $(URING_A)
else
$(BUILD)/ember: $(MAIN_OBJ) $(BUILD)/libember.a
	$(CC) $(LDFLAGS) -o $@ $^ $(EMBER_LIBS)
endif

$(BUILD)/ember-jailer: $(JAIL_MAIN) $(BUILD)/libjailer.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(UNIT_HELPERS) $(BUILD)/libember.a $(BUILD)/libjailer.a $(wildcard jailer/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(UNIT_HELPERS) $(BUILD)/libember.a \
		$(BUILD)/libjailer.a $(LDLIBS) -lcmocka

# C helpers that are not part of ember. The scripts that use them build them
# here (`make -s build/bench/vmrun`, ...); `make helpers` builds them all.
#   build/bench/: the benchmarks' tools (benchmarks/src/*.c); blkmodel links
#     libember.a and the unit tests' fake guest memory (tests/unit/vq_fake.c).
#   build/tests/snapshot/uffd_handler: the page-fault handler of the e2e
#     snapshot test with the Uffd backend (tests/snapshot/uffd_handler.c).
#   build/tests/jailer/: the fake exec file of the jailer tests
#     (tests/jailer/probe.c; static, and dynamic for the library-copy test)
#     and tests/jailer/race.c on libjailer.a. The probes get flags of their
#     own, never the sanitizers': the dynamic one must need libc alone (the
#     test checks which libraries the jailer copies into the jail).
# The guest's programs (tests/guest/*.c) are not built here but by
# guest/build.sh, into the guest rootfs: its cache key hashes the compile
# command (the build_rootfs function), the sources and the gcc version, so
# the rootfs is rebuilt whenever one of those changes.
BENCH_BINS := $(patsubst benchmarks/src/%.c,$(BUILD)/bench/%,$(wildcard benchmarks/src/*.c))
JAILER_TEST_HELPERS := $(addprefix $(BUILD)/tests/jailer/,probe probe-dyn race)
PROBE_CFLAGS := -std=gnu11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror

helpers: $(BENCH_BINS) $(JAILER_TEST_HELPERS) $(BUILD)/tests/snapshot/uffd_handler

$(BUILD)/tests/snapshot/uffd_handler: tests/snapshot/uffd_handler.c
	@mkdir -p $(dir $@)
	$(CC) $(PROBE_CFLAGS) -o $@ $<

$(BUILD)/bench/%: benchmarks/src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $<

$(BUILD)/bench/blkmodel: benchmarks/src/blkmodel.c tests/unit/vq_fake.c tests/unit/vq_fake.h \
		$(BUILD)/libember.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ benchmarks/src/blkmodel.c \
		tests/unit/vq_fake.c $(BUILD)/libember.a $(LDLIBS)

$(BUILD)/tests/jailer/probe: tests/jailer/probe.c
	@mkdir -p $(dir $@)
	$(CC) $(PROBE_CFLAGS) -static -o $@ $<

$(BUILD)/tests/jailer/probe-dyn: tests/jailer/probe.c
	@mkdir -p $(dir $@)
	$(CC) $(PROBE_CFLAGS) -o $@ $<

$(BUILD)/tests/jailer/race: tests/jailer/race.c $(BUILD)/libjailer.a $(wildcard jailer/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libjailer.a $(LDLIBS)

deps:
	scripts/deps.sh

guest:
	guest/build.sh

# deps first, in a make of its own: it may unpack the cJSON source that
# decides how build/ember is linked.
run: deps
	$(MAKE) all guest
	scripts/run-demo.sh

unit: $(UNIT_BINS)
	scripts/run-unit.sh $(UNIT_BINS)

e2e: all guest
	tests/e2e/run.sh

test: deps
	scripts/test.sh

asan:
	$(MAKE) SAN=1 all unit

install: all
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(BUILD)/ember $(BUILD)/ember-jailer $(DESTDIR)$(PREFIX)/bin/

bench: all guest
	benchmarks/run.sh

# libFuzzer harnesses (clang): `make fuzz` runs each for FUZZ_SECONDS (60),
# `make fuzz-ci` is the short pass the test suite runs.
include fuzz/fuzz.mk
fuzz: fuzz-run

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)
