# mk/ui.mk — the web UI bundle (htdocs/dist/main.js, main.css and assets),
# built by `make` from htdocs/src with esbuild (htdocs/build.mjs).
#
# Dependencies come from the npm registry through the committed
# htdocs/package-lock.json (`npm ci`); node_modules and dist are not in git.
# The built bundle is what the extension ships (make pack) and what
# `make run` and the browser tests serve.

UI_DIR := htdocs
UI_BUNDLE := $(UI_DIR)/dist/main.js
UI_SRC := $(wildcard $(UI_DIR)/src/*) $(UI_DIR)/build.mjs
UI_NPM_STAMP := $(UI_DIR)/node_modules/.maillog-ci

.PHONY: ui
all: $(UI_BUNDLE)
ui: $(UI_BUNDLE)

$(UI_NPM_STAMP): $(UI_DIR)/package.json $(UI_DIR)/package-lock.json
	scripts/deps.sh ui
	cd $(UI_DIR) && npm ci --no-audit --no-fund --loglevel=error
	@# Once, on a fresh clone, node did not find esbuild right after npm ci;
	@# check that the packages load, and install again when they do not.
	cd $(UI_DIR) && node -e "require('esbuild'); require.resolve('@plesk/ui-library/dist/plesk-ui-library.css')" || \
	    { sleep 2; npm ci --no-audit --no-fund --loglevel=error && node -e "require('esbuild')"; }
	@touch $@

$(UI_BUNDLE): $(UI_SRC) $(UI_NPM_STAMP)
	cd $(UI_DIR) && node build.mjs
