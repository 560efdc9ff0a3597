# store.mk — checks and benchmarks of ingest and the store.
#
#   make check-store  tests/ingest/run.sh: one run == many runs (the mix log
#                     cut in places, fixtures and corpus windows cut after
#                     every line, every corpus log in 37 runs), kill -9 trials,
#                     rotation (rename, copytruncate, gzip), backfill, bad
#                     input (GeoIP, unreadable log, lock, full disk), GeoIP
#                     answers, the CLI; on the corpus logs (~2 min)
#   make bench-store  ingest throughput against pflogsumm on the same files,
#                     peak memory, and query latencies on a generated database
#                     of 10M deliveries + 5M logins (cached in build/bench/store/)
#
# The store's unit tests (tests/store/test_store.c) run in check-unit.

build/.deps-store: scripts/deps.sh
	@mkdir -p build
	scripts/deps.sh build store
	@touch $@

.PHONY: check-store bench-store
check-store: build/.deps-store $(BUILD)/maillog $(GEOIP_DB)
	tests/store/upgrade.sh $(CURDIR)/$(BUILD)/maillog
	MAILLOG_CORPUS=$(CURDIR)/../shared/corpus KILL_TRIALS=20 GEOIP_DB=$(CURDIR)/$(GEOIP_DB) \
	    tests/ingest/run.sh $(CURDIR)/$(BUILD)/maillog

CHECK_TARGETS += check-store

$(BUILD)/bench_query: tests/store/bench_query.c $(BUILD)/libmaillog.a
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

bench-store: build/.deps-store $(BUILD)/maillog $(BUILD)/bench_query
	MAILLOG_CORPUS=$(CURDIR)/../shared/corpus tests/store/bench.sh $(CURDIR)/$(BUILD)

BENCH_TARGETS += bench-store
