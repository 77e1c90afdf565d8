# kluis — build, test, demo, bench.  See README.md.
#
#   make            build build/kluis and build/libkluis.a
#   make check      install missing dependencies, build, run every test,
#                   then again under ASan+UBSan (build-asan/) and under
#                   ThreadSanitizer (build-tsan/)
#   make demo       install, build, run the protocol on generated data
#   make bench      benchmarks against age; writes bench/RESULTS.md
#   make fuzz       libFuzzer targets, FUZZ_SECONDS each (clang)
#   make install PREFIX=/usr/local

VERSION  := 0.2.0
PREFIX   ?= /usr/local
BUILD    ?= build
CC       ?= cc
CFLAGS   ?= -O2 -g
SAN      ?=
PKGS     := libsodium jansson libutf8proc sqlite3
# libcurl: headers only; lib/smtp.c opens it at run time (see there why).
HDR_PKGS := libcurl
FUZZ_SECONDS ?= 60
# `make V=1` shows the full commands.
V        ?= 0
ifeq ($(V),1)
  Q :=
  say = @true
else
  Q := @
  say = @printf '  %-6s %s\n'
endif

WARN := -Wall -Wextra -Werror -Wformat=2 -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -Wvla -Wpointer-arith -Wundef -Wcast-qual \
	-Wno-unused-parameter

ifeq ($(SAN),1)
  SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=undefined -DKLUIS_SANITIZE
  HARDEN   :=
  CFLAGS   := -O1 -g
else ifeq ($(SAN),thread)
  SANFLAGS := -fsanitize=thread -fno-omit-frame-pointer -DKLUIS_SANITIZE
  HARDEN   :=
  CFLAGS   := -O1 -g
else
  SANFLAGS :=
  HARDEN   := -D_FORTIFY_SOURCE=2
endif

PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) $(HDR_PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -lsodium -ljansson -lutf8proc -lsqlite3)

ALL_CFLAGS = -std=c17 -D_GNU_SOURCE -DKLUIS_VERSION='"$(VERSION)"' \
	$(WARN) -fstack-protector-strong $(HARDEN) -Ilib $(PKG_CFLAGS) \
	$(CFLAGS) $(SANFLAGS) -MMD -MP
ALL_LDFLAGS = $(SANFLAGS) $(LDFLAGS)
LIBS = $(PKG_LIBS) -lpthread -ldl

LIB_SRC  := $(sort $(wildcard lib/*.c))
CLI_SRC  := $(sort $(wildcard src/*.c))
UNIT_SRC := $(sort $(wildcard tests/unit/*.c))
FUZZ_SRC := $(sort $(wildcard fuzz/fuzz_*.c))
TOOL_SRC := $(sort $(wildcard tests/tools/*.c))
GEN_SRC  := $(sort $(wildcard tools/*.c))

LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/%.o)
UNIT_OBJ := $(UNIT_SRC:%.c=$(BUILD)/%.o)
REPLAY   := $(FUZZ_SRC:fuzz/%.c=$(BUILD)/fuzz/replay_%)
TOOLS    := $(TOOL_SRC:tests/tools/%.c=$(BUILD)/tests/tools/%) \
	$(GEN_SRC:tools/%.c=$(BUILD)/tools/%)

.PHONY: all deps check test test-asan demo bench fuzz install clean

all: $(BUILD)/kluis $(BUILD)/libkluis.a $(BUILD)/unit_tests $(REPLAY) $(TOOLS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(say) CC $@
	$(Q)$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/tests/unit/%.o: tests/unit/%.c
	@mkdir -p $(dir $@)
	$(say) CC $@
	$(Q)$(CC) $(ALL_CFLAGS) -Itests/unit -c $< -o $@

$(BUILD)/libkluis.a: $(LIB_OBJ)
	@rm -f $@
	$(say) AR $@
	$(Q)ar rcs $@ $^

$(BUILD)/kluis: $(CLI_OBJ) $(BUILD)/libkluis.a
	$(say) LINK $@
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $(CLI_OBJ) $(BUILD)/libkluis.a $(LIBS)

$(BUILD)/unit_tests: $(UNIT_OBJ) $(BUILD)/libkluis.a
	$(say) LINK $@
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $(UNIT_OBJ) $(BUILD)/libkluis.a $(LIBS)

# Test-only helper programs (e.g. crafting malformed files).
$(BUILD)/tests/tools/%: tests/tools/%.c $(BUILD)/libkluis.a
	@mkdir -p $(dir $@)
	$(say) LINK $@
	$(Q)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(BUILD)/libkluis.a $(LIBS)

# Tools for users and tests (the register generator).
$(BUILD)/tools/%: tools/%.c $(BUILD)/libkluis.a
	@mkdir -p $(dir $@)
	$(say) LINK $@
	$(Q)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(BUILD)/libkluis.a $(LIBS)

# Fuzz targets, linked with a file-replaying main for `make check`.  No
# -MMD here (one .d for two sources would be wrong, and a replay_*.d next
# to the programs confuses `for t in fuzz/replay_*`); headers are listed.
$(BUILD)/fuzz/replay_%: fuzz/%.c fuzz/replay_main.c $(BUILD)/libkluis.a \
		$(wildcard lib/*.h) fuzz/fuzz_util.h
	@mkdir -p $(dir $@)
	$(say) LINK $@
	$(Q)$(CC) $(filter-out -MMD -MP,$(ALL_CFLAGS)) $(ALL_LDFLAGS) -o $@ $< \
		fuzz/replay_main.c $(BUILD)/libkluis.a $(LIBS)

deps:
	@tools/deps.sh

# The whole suite: normal build, then ASan+UBSan build, then ThreadSanitizer
# build (export, receive, encrypt and decrypt hand work between threads),
# one tally.
check: deps
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory BUILD=build-asan SAN=1 all
	@$(MAKE) --no-print-directory BUILD=build-tsan SAN=thread all
	@tests/run.sh build build-asan build-tsan

test: all
	@tests/run.sh $(BUILD)

demo: deps
	@$(MAKE) --no-print-directory all
	@tools/demo.sh $(BUILD)/kluis

bench: deps
	@$(MAKE) --no-print-directory all
	@bench/run.sh $(BUILD)/kluis

# libFuzzer: the library is built with coverage instrumentation
# (-fsanitize=fuzzer-no-link) plus ASan/UBSan into $(FUZZ_BUILD); each target
# runs FUZZ_SECONDS, new inputs go to $(FUZZ_BUILD)/corpus/NAME, crashes to
# $(FUZZ_BUILD)/NAME-crash-*.  Fails if any target fails.
FUZZ_BUILD := build-fuzz
FUZZ_LIB_CFLAGS := -O1 -g -fsanitize=fuzzer-no-link
FUZZ_CFLAGS = -std=c17 -D_GNU_SOURCE $(WARN) -Ilib $(PKG_CFLAGS) -O1 -g \
	-fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=undefined
fuzz: deps
	@mkdir -p $(FUZZ_BUILD)
	@if [ "$$(cat $(FUZZ_BUILD)/.libflags 2>/dev/null)" != "$(FUZZ_LIB_CFLAGS)" ]; then \
		rm -rf $(FUZZ_BUILD)/lib $(FUZZ_BUILD)/libkluis.a; \
		echo "$(FUZZ_LIB_CFLAGS)" >$(FUZZ_BUILD)/.libflags; \
	fi
	@$(MAKE) --no-print-directory BUILD=$(FUZZ_BUILD) CC=clang SAN=1 \
		CFLAGS="$(FUZZ_LIB_CFLAGS)" $(FUZZ_BUILD)/libkluis.a
	@failed=""; for src in $(FUZZ_SRC); do \
		t=$$(basename $$src .c); \
		clang $(FUZZ_CFLAGS) -o $(FUZZ_BUILD)/$$t $$src \
			$(FUZZ_BUILD)/libkluis.a $(LIBS) || exit 1; \
		mkdir -p $(FUZZ_BUILD)/corpus/$$t; \
		echo "fuzz: $$t for $(FUZZ_SECONDS)s"; \
		rc=0; $(FUZZ_BUILD)/$$t -max_total_time=$(FUZZ_SECONDS) \
			-timeout=25 -print_final_stats=1 \
			-artifact_prefix=$(FUZZ_BUILD)/$$t- \
			$(FUZZ_BUILD)/corpus/$$t fuzz/corpus/$$t \
			>$(FUZZ_BUILD)/$$t.log 2>&1 || rc=$$?; \
		grep -E '^#[0-9]+.*DONE|^stat::(number_of_executed_units|peak_rss_mb)|^(==[0-9]+==)?ERROR|SUMMARY' \
			$(FUZZ_BUILD)/$$t.log | tail -n 8; \
		if [ $$rc -ne 0 ]; then \
			echo "fuzz: $$t FAILED (status $$rc); see $(FUZZ_BUILD)/$$t.log"; \
			failed="$$failed $$t"; \
		fi; \
	done; \
	if [ -n "$$failed" ]; then echo "fuzz: failed:$$failed"; exit 1; fi

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib \
		$(DESTDIR)$(PREFIX)/include/kluis \
		$(DESTDIR)$(PREFIX)/share/man/man1
	install -m 0755 $(BUILD)/kluis $(DESTDIR)$(PREFIX)/bin/kluis
	install -m 0644 $(BUILD)/libkluis.a $(DESTDIR)$(PREFIX)/lib/libkluis.a
	install -m 0644 $(filter-out lib/banned.h lib/export_int.h lib/ws_int.h lib/kdb.h lib/importq.h lib/kring.h,$(wildcard lib/*.h)) \
		$(DESTDIR)$(PREFIX)/include/kluis/
	install -m 0644 man/kluis.1 $(DESTDIR)$(PREFIX)/share/man/man1/kluis.1

clean:
	rm -rf build build-asan build-tsan build-fuzz

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(UNIT_OBJ:.o=.d)
