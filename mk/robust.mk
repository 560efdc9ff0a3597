# robust.mk — robustness and security checks (issue 9), tests/robust/.
#
#   make check-robust  (~5 min) each a Python script over the real programs:
#     hostile.py      hostile log content (HTML/JS, escapes, invalid UTF-8, NUL,
#                     1 MB lines, CSV formulas) through ingest and maillog.cgi,
#                     on the ASan+UBSan build
#     memcheck.py     valgrind memcheck (definite leaks are errors) over parse,
#                     ingest, search, stats, settings and CGI routes, two roles
#     concurrency.py  ingest every 2 s while 20 CGI clients page all tabs for
#                     ROBUST_LOAD_SECONDS (no error, no torn page); two ingests
#                     started at once == one ingest
#     faults.py       read-only fs/file, log deleted mid-run, GeoIP replaced,
#                     SIGTERM/SIGKILL trials
#     security.py     file modes under umask 022/000, no shell, no identity
#                     from headers; the standalone lighttpd serves only htdocs/
#                     and the CGI (scripts/demo.sh --background)
#   make soak-robust   the load test for ROBUST_SOAK_SECONDS (default 600) with
#                      40 clients, and 30 signal trials (figures for the README)
# Disk full and kill -9 trials of ingest are in check-store (tests/ingest);
# fuzzing in check-fuzz / make fuzz. Review: tests/robust/SECURITY-REVIEW.md.

ROBUST_LOAD_SECONDS ?= 60
ROBUST_SOAK_SECONDS ?= 600
ROBUST_ENV = MAILLOG_SRCDIR=$(CURDIR) PYTHONDONTWRITEBYTECODE=1

build/.deps-robust: scripts/deps.sh
	@mkdir -p build
	scripts/deps.sh build test robust
	@touch $@

.PHONY: check-robust soak-robust
# The programs are snapshotted first: others may relink build/ meanwhile.
SNAP := build/robust-snap
define robust-snap
	rm -rf $(SNAP)/$(1) && mkdir -p $(SNAP)/$(1) && cp $(2)/maillog $(2)/maillog.cgi $(SNAP)/$(1)/
endef

check-robust: build/.deps-robust all
	$(MAKE) SANITIZE=1 build/asan/maillog build/asan/maillog.cgi
	$(call robust-snap,asan,build/asan)
	$(call robust-snap,opt,$(BUILD))
	cd tests/robust && $(ROBUST_ENV) ROBUST_BIN=$(CURDIR)/$(SNAP)/asan python3 hostile.py
	cd tests/robust && $(ROBUST_ENV) ROBUST_BIN=$(CURDIR)/$(SNAP)/opt python3 memcheck.py
	cd tests/robust && $(ROBUST_ENV) ROBUST_BIN=$(CURDIR)/$(SNAP)/opt \
	    LOAD_SECONDS=$(ROBUST_LOAD_SECONDS) CLIENTS=20 python3 concurrency.py
	cd tests/robust && $(ROBUST_ENV) ROBUST_BIN=$(CURDIR)/$(SNAP)/opt python3 faults.py
	cd tests/robust && $(ROBUST_ENV) ROBUST_BIN=$(CURDIR)/$(SNAP)/opt python3 security.py

soak-robust: build/.deps-robust all
	$(call robust-snap,opt,$(BUILD))
	cd tests/robust && $(ROBUST_ENV) ROBUST_BIN=$(CURDIR)/$(SNAP)/opt \
	    LOAD_SECONDS=$(ROBUST_SOAK_SECONDS) CLIENTS=40 python3 concurrency.py load
	cd tests/robust && $(ROBUST_ENV) ROBUST_BIN=$(CURDIR)/$(SNAP)/opt SIGNAL_TRIALS=30 \
	    python3 faults.py signals

CHECK_TARGETS += check-robust
