# Fuzzing (libFuzzer, clang + Debian's libclang-rt-14-dev): the line parser
# with the tracker, and the CGI request reader. `make fuzz` runs each for
# FUZZ_SECONDS; `make check` runs each for FUZZ_CHECK_SECONDS as a smoke test.
# Seeds: tests/fuzz/seeds/<target>/ (our fixtures) plus, for the parser, the
# real logs of ../shared/corpus when present. Findings land in build/fuzz/;
# each one fixed becomes a fixture or a seed here. seeds/track/state-*.bin
# are tracker states as an ingest saved them (for the restore path).
FUZZ_SECONDS ?= 600
FUZZ_CHECK_SECONDS ?= 20
FUZZ_CC := clang
FUZZ_CFLAGS = -std=c11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer \
    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -Isrc \
    $(shell pkg-config --cflags jansson 2>/dev/null)
FUZZ_TRACK_SRC := tests/fuzz/fuzz_track.c src/util/err.c $(wildcard src/parse/*.c src/track/*.c)
FUZZ_REQUEST_SRC := tests/fuzz/fuzz_request.c src/util/err.c src/api/request.c src/api/reply.c src/api/csv.c \
    src/api/text.c

build/fuzz/fuzz_track: $(FUZZ_TRACK_SRC) build/.deps-test
	@mkdir -p build/fuzz
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $(FUZZ_TRACK_SRC) -ljansson

build/fuzz/fuzz_request: $(FUZZ_REQUEST_SRC) build/.deps-test
	@mkdir -p build/fuzz
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $(FUZZ_REQUEST_SRC) -ljansson

# run-fuzz TARGET SECONDS EXTRA-SEED-DIRS [OPTIONS]
define run-fuzz
	@mkdir -p build/fuzz/$(1)-corpus build/fuzz/$(1)-findings
	cd build/fuzz && ./$(1) -max_total_time=$(2) -max_len=65536 -rss_limit_mb=2048 $(4) \
	    -artifact_prefix=$(1)-findings/ -print_final_stats=1 \
	    $(1)-corpus $(CURDIR)/tests/fuzz/seeds/$(patsubst fuzz_%,%,$(1)) $(3) 2>&1 | \
	    grep -E '^(#[0-9]+.*DONE|Done|stat::number_of_executed_units|stat::peak_rss_mb|==[0-9]+==|SUMMARY)' || true
	@test -z "$$(ls build/fuzz/$(1)-findings)" || { echo "fuzz: $(1) found crashes:"; ls build/fuzz/$(1)-findings; exit 1; }
endef

FUZZ_CORPUS_SEEDS := $(wildcard $(CURDIR)/../shared/corpus/*/)

fuzz: build/fuzz/fuzz_track build/fuzz/fuzz_request
	$(call run-fuzz,fuzz_track,$(FUZZ_SECONDS),$(FUZZ_CORPUS_SEEDS),-timeout=10)
	$(call run-fuzz,fuzz_request,$(FUZZ_SECONDS),,-timeout=10)

# The smoke test in `make check` is repeatable: a fixed seed (a slow machine
# runs a prefix of the same inputs, never other ones) and generous time
# limits per input (a loaded machine must not turn a slow input into a
# finding). `make fuzz` keeps random seeds, to find new things.
FUZZ_CHECK_OPTIONS := -seed=1 -timeout=60 -report_slow_units=60

check-fuzz: build/fuzz/fuzz_track build/fuzz/fuzz_request
	$(call run-fuzz,fuzz_track,$(FUZZ_CHECK_SECONDS),,$(FUZZ_CHECK_OPTIONS))
	$(call run-fuzz,fuzz_request,$(FUZZ_CHECK_SECONDS),,$(FUZZ_CHECK_OPTIONS))

CHECK_TARGETS += check-fuzz
.PHONY: fuzz check-fuzz
