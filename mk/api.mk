# api.mk — tests and benchmark of maillog.cgi (src/api, docs/API.md).
#
#   make check-api   the real maillog.cgi (ASan+UBSan build) run as a CGI
#                    program, no web server, against a database the real
#                    `maillog ingest` made from a generated log: every route
#                    for every role, scope, sort, search, pagination during
#                    ingest, CSV, settings/CSRF and a matrix of bad requests
#                    (tests/api/check_api.c, tests/api/cgi_world.c)
#   make bench-api   whole-process latency of the CGI on the store's big
#                    benchmark database (see bench-api below)
#
# The pure pieces (UTF-8, percent-decoding, CSV, SHA-256, request caps, log
# tail) are unit tests in tests/api/test_*.c and run in check-unit.

API_TEST_SRC := tests/api/check_api.c tests/api/cgi_world.c

$(BUILD)/test_api: $(API_TEST_SRC) tests/api/cgi.h $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $(API_TEST_SRC) $(LDLIBS) $(shell pkg-config --libs check)

.PHONY: check-api bench-api
check-api: build/.deps-test build/.deps-geoip
	$(MAKE) SANITIZE=1 build/asan/maillog build/asan/maillog.cgi build/asan/test_api
	MAILLOG_SRCDIR=$(CURDIR) MAILLOG_TEST_BUILD=build/asan build/asan/test_api

CHECK_TARGETS += check-api

# Whole-process latency (fork + exec + answer) of the optimised CGI on the
# store's benchmark database (10M deliveries + 5M logins, generated once by
# bench_query into $(BUILD)/bench/store/query.db; see mk/store.mk).
API_BENCH_DB := $(BUILD)/bench/store/query.db

$(BUILD)/bench_api: tests/api/bench_api.c $(DEPS_STAMP)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ tests/api/bench_api.c

bench-api: $(BUILD)/maillog.cgi $(BUILD)/bench_api $(BUILD)/bench_query
	@mkdir -p $(BUILD)/bench/store
	@[ -s $(API_BENCH_DB) ] || $(BUILD)/bench_query $(API_BENCH_DB) >/dev/null
	@printf '[maillog]\nlog = /dev/null\nmax_lines = 100\n' > $(BUILD)/bench/api.ini
	$(BUILD)/bench_api $(CURDIR)/$(BUILD)/maillog.cgi $(BUILD)/bench/api.ini $(API_BENCH_DB) \
	    d042.example User%20unknown s4242%40remote

BENCH_TARGETS += bench-api
