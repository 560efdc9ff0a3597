# Mail log — build, test and package.
#
#   make            build/maillog (CLI), build/maillog.cgi (JSON API), the UI bundle
#   make run        the product on this machine: build, GeoIP db, ingest, serve (lighttpd)
#   make check      every test (installs what it needs with scripts/deps.sh)
#   make bench      benchmarks; figures go into README.md by hand
#   make pack       the Plesk extension zip
#
# Sources are found by folder: every src/<stage>/*.c goes into the internal
# library build/libmaillog.a, except the two program mains. Areas that need
# more (UI, Plesk package, integration and browser tests) keep their rules in
# mk/*.mk, which this file includes; add to CHECK_TARGETS there.

VERSION := $(shell cat VERSION)
CC ?= cc
BUILD ?= build
PKGS := sqlite3 jansson libmaxminddb libcurl zlib

WARN := -Wall -Wextra -Werror -Wshadow -Wconversion -Wno-sign-conversion \
        -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 -Wvla -Wno-format-truncation
CFLAGS ?= -O2 -g
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE -DMAILLOG_VERSION='"$(VERSION)"' $(WARN) $(CFLAGS) \
             -Isrc $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lm

ifeq ($(SANITIZE),1)
BUILD := build/asan
CFLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
LDFLAGS += -fsanitize=address,undefined
endif

MAINS := src/cli/maillog.c src/api/maillog_cgi.c
LIB_SRC := $(filter-out $(MAINS),$(wildcard src/*/*.c))
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
TEST_SRC := $(wildcard tests/*/test_*.c)
TEST_HELPERS := $(wildcard tests/*/helper_*.c)   # shared by suites; no suite of their own
TEST_OBJ := $(TEST_SRC:%.c=$(BUILD)/%.o) $(TEST_HELPERS:%.c=$(BUILD)/%.o)
DEPS_STAMP := build/.deps-build

CHECK_TARGETS := check-unit
BENCH_TARGETS :=

.PHONY: all deps run check check-unit bench pack clean format lint
all: $(BUILD)/maillog $(BUILD)/maillog.cgi

$(DEPS_STAMP): scripts/deps.sh
	@mkdir -p build
	scripts/deps.sh build
	@touch $@

deps: $(DEPS_STAMP)

$(BUILD)/%.o: %.c $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/libmaillog.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/maillog: $(BUILD)/src/cli/maillog.o $(BUILD)/libmaillog.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# --as-needed: the CGI runs once per request and does not use libcurl (and its
# ~30 libraries, several ms of dynamic linking per request); see src/api.
$(BUILD)/maillog.cgi: $(BUILD)/src/api/maillog_cgi.o $(BUILD)/libmaillog.a
	$(CC) $(LDFLAGS) -Wl,--as-needed -o $@ $^ $(LDLIBS)

# The unit-test runner: one Check program with every tests/<stage>/test_*.c.
# Each test file defines `Suite *suite_<stage>_<name>(void)`; the list is
# generated from the file names so adding a test file needs no edit here.
$(BUILD)/tests/suites.h: $(TEST_SRC)
	@mkdir -p $(dir $@)
	@for f in $(sort $(TEST_SRC)); do \
	    n=$$(echo $$f | sed 's|tests/\([^/]*\)/test_\(.*\)\.c|\1_\2|'); \
	    echo "SUITE(suite_$$n)"; done > $@.tmp && mv $@.tmp $@

$(BUILD)/tests/check_main.o: tests/check_main.c $(BUILD)/tests/suites.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -I$(BUILD)/tests -c -o $@ $<

$(BUILD)/test_unit: $(BUILD)/tests/check_main.o $(TEST_OBJ) $(BUILD)/libmaillog.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(shell pkg-config --libs check)

build/.deps-test: scripts/deps.sh
	@mkdir -p build
	scripts/deps.sh build test
	@touch $@

# Unit tests run under ASan+UBSan; the sanitizer build lives in build/asan.
check-unit: build/.deps-test
	$(MAKE) SANITIZE=1 build/asan/test_unit build/asan/maillog build/asan/maillog.cgi
	MAILLOG_CORPUS=$(CURDIR)/../shared/corpus MAILLOG_SRCDIR=$(CURDIR) \
	    ASAN_OPTIONS=detect_leaks=1 build/asan/test_unit

-include mk/*.mk

check: $(CHECK_TARGETS)
	@echo "make check: all of $(CHECK_TARGETS) passed"

bench: all $(BENCH_TARGETS)

format:
	clang-format -i $(wildcard src/*/*.c src/*/*.h tests/*.c tests/*/*.c tests/*/*.h)

# ctuuninitvar: cppcheck takes err_set()'s output parameter for a read of it.
lint:
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability,performance \
	    --inline-suppr --suppress=ctuuninitvar --std=c11 -Isrc src tests/*/*.c

clean:
	rm -rf build

-include $(LIB_OBJ:.o=.d) $(TEST_OBJ:.o=.d)

# The README's first command: everything on this machine, see scripts/demo.sh.
run: all
	scripts/demo.sh
