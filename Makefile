# detshim - one flat Makefile (docs/DESIGN.md §8.15).
#
#   make                 build/libdetshim.so, build/detrun, fakes, targets
#   make demo            the README demo: a program run twice without and
#                        twice with the shim
#   make check           Check unit tests, hook tests against the fake CUDA
#                        libraries, integration tests of real target programs,
#                        the examples of README and docs/ (check-docs)
#   make check-package   build the Debian package and test it installed
#   make check-corpus    other people's software under the shim with a log
#                        (CPython's regression tests, shell idioms)
#   make check-toolchains  build and unit/hook suites with
#                        gcc -D_FORTIFY_SOURCE=3 and with clang
#   make check-sanitize  the same suites built with ASan+UBSan and TSan,
#                        then check-fuzz (a 30 s fuzz run, tests/fuzz/)
#   make install PREFIX=/usr/local DESTDIR=...   /   make uninstall
#   make bench           CPU micro-benchmarks (bench/)
#   make bench-gpu       GPU training-step benchmark (bench/gpu.sh, needs a GPU)
#   make gpu-check       the real-GPU suite (tests/gpu/, needs a GPU)
#
# Sources come from wildcards; a file that defines an interposed symbol
# (DS_EXPORT) or a constructor (DS_CONSTRUCTOR) goes into the preloaded
# object only; every other file is "core" and also goes into
# build/libdetshim_core.a, which the unit tests link without LD_PRELOAD.
# Local overrides: config.mk (e.g. CC=clang, EXTRA_CFLAGS=...).

CC      ?= cc
CXX     ?= c++
PREFIX  ?= /usr/local
BUILD   ?= build
SAN     ?=
-include config.mk

# The one version (VERSION); detrun --version, the log's config record and
# debian/changelog agree with it (tests/check_docs.sh).
VERSION := $(shell cat VERSION)

# Install layout.  The shim lives in a private directory, off the linker's
# search path; detrun is built knowing it (DS_LIBDIR).  A package sets
# LIBDIR=/usr/lib/<triplet> and DETRUN_FALLBACK_SO= (debian/rules).
BINDIR  = $(PREFIX)/bin
LIBDIR ?= $(PREFIX)/lib
PKGLIBDIR = $(LIBDIR)/detshim
MANDIR  = $(PREFIX)/share/man
BASHCOMPDIR = $(PREFIX)/share/bash-completion/completions
SYSCONFDIR ?= $(if $(filter /usr,$(PREFIX)),/etc,$(PREFIX)/etc)
# The shim a build-tree detrun falls back to when none is installed.
DETRUN_FALLBACK_SO ?= $(abspath $(SO))

# libconfig is optional at build time (the GPU machine has none) and never
# linked: config.c dlopens it only when a config file is asked for.
HAVE_LIBCONFIG := $(shell printf '\043include <libconfig.h>\n' | \
	$(CC) -E -x c - >/dev/null 2>&1 && echo 1 || echo 0)
HAVE_CHECK := $(shell pkg-config --exists check 2>/dev/null && echo 1 || echo 0)

WARN    = -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wundef \
	  -Wno-format-nonliteral
CFLAGS  ?= -O2 -g
ALL_CFLAGS = -std=gnu11 $(CFLAGS) $(WARN) -fPIC -fvisibility=hidden \
	  -fno-strict-aliasing -D_GNU_SOURCE -Ishim -Icuda_hooks \
	  -DDS_HAVE_LIBCONFIG=$(HAVE_LIBCONFIG) -DDS_VERSION='"$(VERSION)"' \
	  -DDS_SYSCONFDIR='"$(SYSCONFDIR)"' $(SAN) $(EXTRA_CFLAGS)
SO_LDFLAGS = -shared -Wl,-z,defs -Wl,-z,now -Wl,--version-script=shim/exports.map \
	  $(SAN) -ldl -lpthread

SRCS       := $(sort $(wildcard shim/*.c cuda_hooks/*.c))
HOOK_SRCS  := $(shell grep -lE 'DS_EXPORT|DS_CONSTRUCTOR' $(SRCS) /dev/null)
CORE_SRCS  := $(filter-out $(HOOK_SRCS),$(SRCS))
HDRS       := $(wildcard shim/*.h cuda_hooks/*.h cuda_hooks/abi/*.h)
OBJS       := $(SRCS:%.c=$(BUILD)/%.o)
CORE_OBJS  := $(CORE_SRCS:%.c=$(BUILD)/%.o)

SO         := $(BUILD)/libdetshim.so
# The Python start-up module (python/, docs/DESIGN.md §12): the shim finds
# it in python/ beside its own file, so the build tree holds a copy.
# Compiled once here and at install by PY_COMPILER (empty: not): without
# bytecode a Python start paid 3.8 ms more compiling it
# (docs/measurements/BENCHMARKS.md).
PY_SRCS    := $(sort $(wildcard python/*.py python/_detshim/*.py))
PY_BUILT   := $(PY_SRCS:%=$(BUILD)/%) $(BUILD)/python/.compiled
PY_COMPILER ?= python3
PY_COMPILE = if [ -n "$(PY_COMPILER)" ] && command -v $(PY_COMPILER) >/dev/null; then \
	$(PY_COMPILER) -m compileall -q
CORE_LIB   := $(BUILD)/libdetshim_core.a
DETRUN     := $(BUILD)/detrun

# Test doubles: tests/fakes/<soname>.c -> build/fakes/<soname>
FAKE_SRCS  := $(wildcard tests/fakes/*.c)
FAKES      := $(FAKE_SRCS:tests/fakes/%.c=$(BUILD)/fakes/%)
# Target programs run under the shim by the integration tests.
TGT_C      := $(wildcard tests/targets/*.c)
TGT_CXX    := $(wildcard tests/targets/*.cpp)
TARGETS    := $(TGT_C:tests/targets/%.c=$(BUILD)/targets/%) \
	      $(TGT_CXX:tests/targets/%.cpp=$(BUILD)/targets/%)
# Check suites: unit tests link the core archive; hook tests are separate
# programs linked against the fakes and run under LD_PRELOAD.
UNIT_SRCS  := $(wildcard tests/unit/*.c)
UNIT_BIN   := $(BUILD)/tests/unit
HOOKT_SRCS := $(filter-out tests/hooks/check_sonames.c,$(wildcard tests/hooks/*.c))
HOOKT_BINS := $(HOOKT_SRCS:tests/hooks/%.c=$(BUILD)/tests/hooks/%)
# The same fakes under the sonames of older releases (CUDA 12 and 11,
# cuDNN 8) and of one no chain lists (14): <soname>:<fake it is built from>.
FAKE_ALIASES := libcublas.so.12:libcublas.so.13 libcublasLt.so.12:libcublasLt.so.13 \
	libcublas.so.11:libcublas.so.13 libcublasLt.so.11:libcublasLt.so.13 \
	libcublas.so.14:libcublas.so.13 libcublasLt.so.14:libcublasLt.so.13 \
	libcudnn.so.8:libcudnn.so.9
alias_name = $(word 1,$(subst :, ,$(1)))
alias_src  = $(word 2,$(subst :, ,$(1)))
FAKES_OLD  := $(foreach a,$(FAKE_ALIASES),$(BUILD)/fakes/old/$(call alias_name,$(a)))
# tests/hooks/check_sonames.c once per set: <name>:<flags>:<sonames linked>
SONAME_SETS := cuda12:-DSET_CUBLAS:libcublas.so.12,libcublasLt.so.12 \
	cuda11:-DSET_CUBLAS:libcublas.so.11,libcublasLt.so.11 \
	cuda14:-DSET_CUBLAS:libcublas.so.14,libcublasLt.so.14 \
	local12:-DSET_LOCAL=\"12\": \
	local14:-DSET_LOCAL=\"14\": \
	cudnn8:-DSET_CUDNN:libcudnn.so.8
set_field  = $(word $(2),$(subst :, ,$(1)) x x)
SONAME_BINS := $(foreach t,$(SONAME_SETS),$(BUILD)/tests/sonames/check_$(call set_field,$(t),1))
CHECK_LIBS  = $(shell pkg-config --libs check 2>/dev/null)

.PHONY: check-docs check-package check-citations check-corpus
.PHONY: all check check-unit check-hooks check-integration check-sanitize \
	check-fuzz fuzz-libfuzzer check-toolchains \
	demo install uninstall bench bench-gpu gpu-check clean lint check-exports check-abi

all: $(SO) $(CORE_LIB) $(if $(wildcard tools/detrun.c),$(DETRUN)) $(FAKES) \
	$(FAKES_OLD) $(TARGETS) $(PY_BUILT)

$(BUILD)/%.o: %.c $(HDRS) Makefile VERSION
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(SO): $(OBJS) shim/exports.map
	$(CC) -o $@ $(OBJS) $(SO_LDFLAGS) $(LDFLAGS)

# A variant of the batch-invariant profile (cuda_hooks/cublaslt.c built
# with DS_LT_PIN_HALF=0 DS_LT_REP_N=16, the other objects shared) that
# tests/hooks/check_batch_invariant.c runs too.
LTVAR_SO := $(BUILD)/ltvar/libdetshim.so
$(BUILD)/ltvar/cublaslt.o: cuda_hooks/cublaslt.c $(HDRS) Makefile VERSION
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -DDS_LT_PIN_HALF=0 -DDS_LT_REP_N=16 -c $< -o $@

$(LTVAR_SO): $(filter-out $(BUILD)/cuda_hooks/cublaslt.o,$(OBJS)) \
		$(BUILD)/ltvar/cublaslt.o shim/exports.map
	$(CC) -o $@ $(filter %.o,$^) $(SO_LDFLAGS) $(LDFLAGS)

$(BUILD)/python/%.py: python/%.py
	@mkdir -p $(dir $@)
	cp $< $@

$(BUILD)/python/.compiled: $(PY_SRCS:%=$(BUILD)/%)
	@$(PY_COMPILE) $(BUILD)/python >/dev/null; fi; touch $@

$(CORE_LIB): $(CORE_OBJS)
	@rm -f $@
	ar rcs $@ $^

TOOL_SRCS  := $(sort $(wildcard tools/*.c))
# detrun embeds the paths it looks for the shim in: $(BUILD)/paths holds
# them and changes (rebuilding detrun) only when they do, so that
# `make install PREFIX=...` never installs a detrun built for another one.
DETRUN_PATHS = $(PKGLIBDIR) $(DETRUN_FALLBACK_SO)
$(shell mkdir -p $(BUILD) && { echo '$(DETRUN_PATHS)' | cmp -s - $(BUILD)/paths || \
	echo '$(DETRUN_PATHS)' >$(BUILD)/paths; })
$(DETRUN): $(TOOL_SRCS) $(wildcard tools/*.h) $(HDRS) $(CORE_LIB) $(BUILD)/paths
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -fvisibility=default -DDS_BUILD_SO='"$(DETRUN_FALLBACK_SO)"' \
	  -DDS_LIBDIR='"$(PKGLIBDIR)"' -Itools -o $@ $(TOOL_SRCS) $(CORE_LIB) -ldl $(SAN) $(LDFLAGS)

$(BUILD)/fakes/%: tests/fakes/%.c $(HDRS) $(wildcard tests/fakes/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -fvisibility=default -shared -Wl,-soname,$* -o $@ $<

define fake_alias_rule
$(BUILD)/fakes/old/$(call alias_name,$(1)): tests/fakes/$(call alias_src,$(1)).c $(HDRS) \
		$(wildcard tests/fakes/*.h)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(ALL_CFLAGS) -fvisibility=default -shared \
	  -Wl,-soname,$(call alias_name,$(1)) -o $$@ $$<
endef
$(foreach a,$(FAKE_ALIASES),$(eval $(call fake_alias_rule,$(a))))

define soname_test_rule
$(BUILD)/tests/sonames/check_$(call set_field,$(1),1): tests/hooks/check_sonames.c \
		tests/hooks/gpulibs_child.h $(FAKES_OLD)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(ALL_CFLAGS) -fvisibility=default -Itests/hooks \
	  '-DSET_NAME="$(call set_field,$(1),1)"' $(call set_field,$(1),2) -o $$@ $$< \
	  -L$(BUILD)/fakes/old -Wl,-rpath,$(abspath $(BUILD)/fakes/old) \
	  -Wl,--no-as-needed $(foreach l,$(subst $(comma), ,$(call set_field,$(1),3)),$(if $(filter x,$(l)),,-l:$(l))) \
	  $$(CHECK_LIBS) -ldl -lpthread
endef
comma := ,
$(foreach t,$(SONAME_SETS),$(eval $(call soname_test_rule,$(t))))

$(BUILD)/targets/%: tests/targets/%.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O1 -g -Wall -Wextra -Werror -D_GNU_SOURCE $(SAN) -o $@ $< -lpthread

$(BUILD)/targets/%: tests/targets/%.cpp
	@mkdir -p $(dir $@)
	$(CXX) -std=c++17 -O1 -g -Wall -Wextra -Werror $(SAN) -o $@ $< -lpthread

$(UNIT_BIN): $(UNIT_SRCS) $(CORE_LIB) $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -fvisibility=default -Itests/unit -o $@ $(UNIT_SRCS) \
	  $(CORE_LIB) $(CHECK_LIBS) -ldl -lpthread

$(BUILD)/tests/hooks/%: tests/hooks/%.c $(FAKES) $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -fvisibility=default -Itests/hooks -o $@ $< \
	  -L$(BUILD)/fakes -Wl,--as-needed \
	  $(foreach f,$(notdir $(FAKES)),-l:$(f)) -Wl,--no-as-needed \
	  $(CHECK_LIBS) -ldl -lpthread

demo: all
	@command -v python3 >/dev/null || { echo "detshim: make demo needs python3 (apt-get install python3)"; exit 1; }
	@sh tests/demo.sh $(BUILD)

check: all check-exports check-abi check-citations check-unit check-hooks check-integration check-docs
	@echo "detshim: all test suites passed"

# The version agrees everywhere; every example of the user docs runs as
# written (tests/check_docs.sh; GPU examples only where there is a GPU).
check-docs: all
	@sh tests/check_version.sh $(BUILD)
	@sh tests/check_docs.sh $(BUILD)

# The Debian package, built from a copy of the tree and installed into a
# scratch root (skips without dpkg-buildpackage and debhelper).
check-package:
	@sh tests/check_package.sh

# Every file and section a comment or doc cites exists (docs/DESIGN.md §8.11).
check-citations:
	@sh tests/check_citations.sh

check-exports: $(SO)
	@sh tests/check_exports.sh $(SO)

check-unit: $(UNIT_BIN)
	@test "$(HAVE_CHECK)" = 1 || { echo "detshim: Check is not installed (apt-get install check)"; exit 1; }
	$(UNIT_BIN)

# The abi/ mirrors against NVIDIA's headers ("skipped" without them).
check-abi:
	@sh tests/check_abi.sh

check-hooks: $(SO) $(LTVAR_SO) $(HOOKT_BINS) $(SONAME_BINS)
	@set -e; for t in $(HOOKT_BINS); do \
	  echo "== $$t"; \
	  LD_LIBRARY_PATH=$(BUILD)/fakes LD_PRELOAD=$(abspath $(SO)) \
	    DS_TEST_LTVAR_SO=$(abspath $(LTVAR_SO)) $(TEST_PREFIX) $$t; \
	done
	@set -e; for t in $(SONAME_BINS); do \
	  echo "== $$t"; \
	  LD_PRELOAD=$(abspath $(SO)) $(TEST_PREFIX) $$t; \
	done

# tests/it_corpus.sh runs here with the shell idioms only; CPython's own
# regression tests under the shim (about 7 minutes on 2 cores) are
# check-corpus, which .ci/run calls.
check-integration: all
	@CORPUS_CPYTHON=$${CORPUS_CPYTHON:-none} sh tests/integration.sh $(BUILD)

check-corpus: all
	@sh tests/it_corpus.sh $(BUILD)

# The toolchains users build with, each in its own directory: Ubuntu's
# default hardening (_FORTIFY_SOURCE=3 turns ignored results into errors
# under -Werror) and clang.  Each builds everything, then runs the unit
# and hook suites.
FORTIFY_CC  = $(CC) -D_FORTIFY_SOURCE=3
FORTIFY_CXX = $(CXX) -D_FORTIFY_SOURCE=3
check-toolchains:
	$(MAKE) BUILD=build/fortify CC="$(FORTIFY_CC)" CXX="$(FORTIFY_CXX)" all check-unit check-hooks
	$(MAKE) BUILD=build/clang CC=clang CXX=clang++ all check-unit check-hooks

# Each variant in its own directory (docs/DESIGN.md §8.15).  TSan also runs the
# preloaded stress targets (tests/it_reliability.sh), and a short fuzz run
# closes the list (docs/measurements/RELIABILITY.md).
check-sanitize:
	$(MAKE) BUILD=build/asan SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" check-unit
	$(MAKE) BUILD=build/asan SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" all
	SANITIZE=asan sh tests/integration.sh build/asan
	$(MAKE) BUILD=build/tsan SAN="-fsanitize=thread" check-unit
	$(MAKE) BUILD=build/tsan SAN="-fsanitize=thread" build/tsan/libdetshim.so build/tsan/targets/rel_stress
	SANITIZE=tsan sh tests/it_reliability.sh build/tsan
	$(MAKE) check-fuzz

# Fuzzing (tests/fuzz/): the parsers of the config file, the variables,
# seeds, log paths, lineage keys and log lines.  check-fuzz: gcc,
# ASan+UBSan, the self-contained driver, FUZZ_SECONDS of mutations from
# the seed corpus.  fuzz-libfuzzer: the same target under clang's
# libFuzzer (needs clang); run it with e.g.
#   build/fuzz-clang/fuzz_config -max_total_time=600 tests/fuzz/corpus
FUZZ_SECONDS ?= 30
FUZZ_SEED ?= 1
FUZZ_SAN = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
FUZZ_SRCS = tests/fuzz/fuzz_config.c

check-fuzz:
	$(MAKE) BUILD=build/fuzz SAN="$(FUZZ_SAN)" build/fuzz/libdetshim_core.a
	$(CC) $(filter-out $(SAN),$(ALL_CFLAGS)) $(FUZZ_SAN) -fvisibility=default \
	  -o build/fuzz/fuzz_config $(FUZZ_SRCS) tests/fuzz/driver.c \
	  build/fuzz/libdetshim_core.a -ldl -lpthread
	cd build/fuzz && ASAN_OPTIONS=detect_leaks=1 \
	  LSAN_OPTIONS=suppressions=$(CURDIR)/tests/fuzz/lsan.supp ./fuzz_config \
	  -seconds=$(FUZZ_SECONDS) -seed=$(FUZZ_SEED) ../../tests/fuzz/corpus

fuzz-libfuzzer:
	$(MAKE) CC=clang BUILD=build/fuzz-clang \
	  SAN="-fsanitize=address,undefined,fuzzer-no-link -fno-sanitize-recover=all" \
	  build/fuzz-clang/libdetshim_core.a
	clang $(filter-out $(SAN),$(ALL_CFLAGS)) -fvisibility=default \
	  -fsanitize=address,undefined,fuzzer -fno-sanitize-recover=all \
	  -o build/fuzz-clang/fuzz_config $(FUZZ_SRCS) \
	  build/fuzz-clang/libdetshim_core.a -ldl -lpthread

lint:
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability,performance \
	  --inline-suppr --suppress=missingIncludeSystem -D_GNU_SOURCE -D__x86_64__ \
	  -DDS_HAVE_LIBCONFIG=$(HAVE_LIBCONFIG) -DDS_VERSION='"$(VERSION)"' \
	  -Ishim -Icuda_hooks shim cuda_hooks tools
	clang-tidy --quiet $(SRCS) $(TOOL_SRCS) -- -std=gnu11 -D_GNU_SOURCE \
	  -DDS_HAVE_LIBCONFIG=$(HAVE_LIBCONFIG) -DDS_SYSCONFDIR='"/etc"' \
	  -DDS_VERSION='"$(VERSION)"' \
	  -DDS_BUILD_SO='""' -DDS_LIBDIR='""' -Ishim -Icuda_hooks -Itools

bench: all
	@sh bench/run.sh $(BUILD)

bench-gpu: $(SO) $(PY_BUILT)
	@sh bench/gpu.sh $(BUILD)

gpu-check: all
	@sh tests/gpu/run.sh $(BUILD)
	@sh tests/gpu/run_refused.sh $(BUILD)
	@sh tests/gpu/op_table.sh $(BUILD)

# The layout debian/ packages: bin/detrun, lib/detshim/libdetshim.so
# (private), etc/detshim.conf, the man pages, the bash completion.
# detrun finds the shim in $(PKGLIBDIR) by itself.  An existing
# detshim.conf is kept, and removed by uninstall only when unedited.
MAN_PAGES = $(wildcard docs/*.1 docs/*.5 docs/*.7)
install: $(SO) $(DETRUN)
	install -d $(DESTDIR)$(PKGLIBDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(SYSCONFDIR) \
	  $(DESTDIR)$(BASHCOMPDIR) $(addprefix $(DESTDIR)$(MANDIR)/man,1 5 7)
	install -m 0644 $(SO) $(DESTDIR)$(PKGLIBDIR)/libdetshim.so
	for f in $(PY_SRCS); do \
	  install -D -m 0644 $$f $(DESTDIR)$(PKGLIBDIR)/$$f; done
	$(PY_COMPILE) -d $(PKGLIBDIR)/python $(DESTDIR)$(PKGLIBDIR)/python; fi
	install -m 0755 $(DETRUN) $(DESTDIR)$(BINDIR)/detrun
	test -e $(DESTDIR)$(SYSCONFDIR)/detshim.conf || \
	  install -m 0644 conf/detshim.conf $(DESTDIR)$(SYSCONFDIR)/detshim.conf
	install -m 0644 completion/detrun.bash $(DESTDIR)$(BASHCOMPDIR)/detrun
	for m in $(MAN_PAGES); do \
	  install -m 0644 $$m $(DESTDIR)$(MANDIR)/man$${m##*.}/; done

uninstall:
	! cmp -s conf/detshim.conf $(DESTDIR)$(SYSCONFDIR)/detshim.conf || \
	  rm -f $(DESTDIR)$(SYSCONFDIR)/detshim.conf
	rm -f $(addprefix $(DESTDIR)$(PKGLIBDIR)/,$(PY_SRCS))
	rm -rf $(DESTDIR)$(PKGLIBDIR)/python/__pycache__ \
	  $(DESTDIR)$(PKGLIBDIR)/python/_detshim/__pycache__
	-rmdir $(DESTDIR)$(PKGLIBDIR)/python/_detshim $(DESTDIR)$(PKGLIBDIR)/python
	rm -f $(DESTDIR)$(PKGLIBDIR)/libdetshim.so $(DESTDIR)$(BINDIR)/detrun \
	  $(DESTDIR)$(BASHCOMPDIR)/detrun \
	  $(foreach m,$(MAN_PAGES),$(DESTDIR)$(MANDIR)/man$(subst .,,$(suffix $(m)))/$(notdir $(m)))
	-rmdir $(DESTDIR)$(PKGLIBDIR)

clean:
	rm -rf build
