# mk/browser.mk — browser tests of the UI (tests/browser/run.mjs): headless
# Debian chromium driven by playwright-core (npm, committed lockfile; it never
# downloads a browser) against lighttpd + maillog.cgi + a database ingested
# from a generated log, all started by scripts/demo.sh --background.
# Screenshots of every screen (1280×800) land in tests/browser/screenshots/.
#
#   make check-browser    bounded by BROWSER_TIMEOUT seconds

BROWSER_DIR := tests/browser
BROWSER_NPM_STAMP := $(BROWSER_DIR)/node_modules/.maillog-ci
BROWSER_TIMEOUT ?= 420

$(BROWSER_NPM_STAMP): $(BROWSER_DIR)/package.json $(BROWSER_DIR)/package-lock.json
	scripts/deps.sh browser
	cd $(BROWSER_DIR) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

.PHONY: check-browser
check-browser: $(BROWSER_NPM_STAMP)
	scripts/deps.sh web browser
	$(MAKE) --no-print-directory all
	$(MAKE) --no-print-directory geoip || echo "check-browser: no GeoIP database, countries are not checked"
	@# run.mjs stops its server itself; killed by the timeout or by an
	@# uncaught error it cannot, so the server is stopped here whatever happened
	timeout --kill-after=10 $(BROWSER_TIMEOUT) node $(BROWSER_DIR)/run.mjs; rc=$$?; \
	    [ -n "$$BROWSER_KEEP$$BROWSER_BASE" ] || scripts/demo.sh --stop --dir "$${BROWSER_DEMO_DIR:-build/browser-demo}" >/dev/null 2>&1; \
	    exit $$rc

CHECK_TARGETS += check-browser
