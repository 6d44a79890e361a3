# SPDX-License-Identifier: Apache-2.0
# libFuzzer harnesses (clang, ASan + UBSan). Included by the top Makefile;
# also usable alone: make -f fuzz/fuzz.mk fuzz-build
#
#   make fuzz-build              build/fuzz/fuzz_<name> for every fuzz/fuzz_*.c
#   make fuzz-run                scripts/fuzz.sh $(FUZZ_SECONDS) (default 60 s each)
#   make fuzz-ci                 scripts/fuzz.sh 10
#
# The library is rebuilt with clang into build/fuzz/ (its own objects: the gcc
# build is untouched) with -fsanitize=fuzzer-no-link so coverage reaches it.

FUZZ_CC      ?= clang
FUZZ_BUILD   := build/fuzz
FUZZ_SECONDS ?= 60
FUZZ_PKGS    := libseccomp libcap libcjson liburing
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined \
		-fno-omit-frame-pointer
FUZZ_CFLAGS  := -std=gnu11 -D_GNU_SOURCE -O1 -g -Wall -Wextra -Wno-unused-parameter \
		-pthread -DEMBER_VERSION=\"fuzz\" -iquote . \
		$(shell pkg-config --cflags $(FUZZ_PKGS) 2>/dev/null) $(FUZZ_SAN)
FUZZ_LIBS    := $(shell pkg-config --libs $(FUZZ_PKGS) 2>/dev/null)

FUZZ_LIB_SRCS := $(filter-out src/main.c src/seccomp_gen.c,$(wildcard src/*.c)) \
		 $(wildcard virtio/*.c)
FUZZ_LIB_OBJS := $(patsubst %.c,$(FUZZ_BUILD)/obj/%.o,$(FUZZ_LIB_SRCS)) \
		 $(FUZZ_BUILD)/obj/gen/seccomp_default.o
FUZZ_SRCS     := $(wildcard fuzz/fuzz_*.c)
FUZZ_BINS     := $(patsubst fuzz/%.c,$(FUZZ_BUILD)/%,$(FUZZ_SRCS))
# Calls the API harnesses divert (fuzz/common.c): no files created or
# opened outside the sandbox directory, no tap devices, no metrics thread.
FUZZ_WRAP     := -Wl,--wrap=log_open,--wrap=metrics_open,--wrap=metrics_start \
		 -Wl,--wrap=blk_file_open,--wrap=tap_open,--wrap=config_boot_validate \
		 -Wl,--wrap=config_serial_open

.PHONY: fuzz-build fuzz-run fuzz-ci
.SECONDARY: $(FUZZ_BUILD)/obj/fuzz/common.o $(FUZZ_BUILD)/obj/fuzz/vq_fake.o

fuzz-build: $(FUZZ_BINS)

fuzz-run: fuzz-build
	scripts/fuzz.sh $(FUZZ_SECONDS)

fuzz-ci: fuzz-build
	scripts/fuzz.sh 10

$(FUZZ_BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@

# The precompiled built-in seccomp filters (as in the top Makefile; this file
# is also used on its own by scripts/fuzz.sh, so it makes its own copy).
FUZZ_GEN_SRCS := src/seccomp_gen.c src/seccomp_rules.c src/seccomp_compile.c src/log.c \
		 src/util.c
$(FUZZ_BUILD)/seccomp-gen: $(FUZZ_GEN_SRCS) src/seccomp.h src/seccomp_int.h src/log.h \
		src/vcpu.h src/bus.h src/util.h
	@mkdir -p $(dir $@)
	cc -std=gnu11 -D_GNU_SOURCE -O1 -pthread -iquote . \
		$(shell pkg-config --cflags $(FUZZ_PKGS) 2>/dev/null) \
		-o $@ $(FUZZ_GEN_SRCS) $(FUZZ_LIBS)

$(FUZZ_BUILD)/gen/seccomp_default.c: $(FUZZ_BUILD)/seccomp-gen
	@mkdir -p $(dir $@)
	$(FUZZ_BUILD)/seccomp-gen >$@.tmp && mv $@.tmp $@

$(FUZZ_BUILD)/obj/gen/seccomp_default.o: $(FUZZ_BUILD)/gen/seccomp_default.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c $< -o $@

$(FUZZ_BUILD)/libember.a: $(FUZZ_LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(FUZZ_BUILD)/obj/fuzz/vq_fake.o: tests/unit/vq_fake.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -MMD -MP -c $< -o $@

$(FUZZ_BUILD)/fuzz_%: fuzz/fuzz_%.c $(FUZZ_BUILD)/obj/fuzz/common.o \
		$(FUZZ_BUILD)/obj/fuzz/vq_fake.o $(FUZZ_BUILD)/libember.a
	$(FUZZ_CC) $(FUZZ_CFLAGS) -Werror -fsanitize=fuzzer $(FUZZ_WRAP) -o $@ $< \
		$(FUZZ_BUILD)/obj/fuzz/common.o $(FUZZ_BUILD)/obj/fuzz/vq_fake.o \
		$(FUZZ_BUILD)/libember.a $(FUZZ_LIBS)

-include $(shell find $(FUZZ_BUILD) -name '*.d' 2>/dev/null)
