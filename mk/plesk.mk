# mk/plesk.mk — the Plesk extension package (issue 8).
#
#   make pack          build/mail-log-$(VERSION).zip: meta.xml at the root,
#                      htdocs/ (index.php, the UI bundle dist/, icons), plib/,
#                      sbin/maillog and sbin/maillog.cgi (0755, linked as
#                      below), _meta/ (icons rendered from _meta/icon.svg,
#                      screenshots from the browser tests), DESCRIPTION.md,
#                      CHANGES.md. Laid out by scripts/plesk-pack.sh.
#   make STATIC=1      link build/maillog and build/maillog.cgi the way the
#                      package does (the pack itself always uses
#                      build/static/, linked from the normal objects).
#   make check-plesk   php -l, the bridge test with pm_* doubles, meta.xml,
#                      the zip's layout and modes, the packed binaries'
#                      --version, and their libraries (tests/plesk/).
#
# Linking for Plesk servers: SQLite, jansson, libmaxminddb and zlib come from
# Debian's -dev static archives, so the server needs none of them (nor their
# versions). libcurl stays dynamic: a static libcurl drags in OpenSSL,
# nghttp2, libssh2, libidn2, libpsl, Kerberos and LDAP, fixes the CA-store
# path of the build machine, and freezes TLS security fixes into our binary;
# libcurl.so.4 is on every Plesk server (the package managers of RHEL/Alma
# and Plesk's own packages depend on it) and is updated by the OS.
# glibc stays dynamic too: the binaries need the glibc of the build machine
# or newer; tests/plesk/check-pack.sh prints which Plesk platforms that covers.

PLESK_ZIP := build/mail-log-$(VERSION).zip
PLESK_STATIC := build/static
STATIC_ARCHIVES = $(foreach l,sqlite3 jansson maxminddb z,$(shell $(CC) -print-file-name=lib$(l).a))
STATIC_LDLIBS = $(STATIC_ARCHIVES) $(shell pkg-config --libs libcurl 2>/dev/null) -lm

ifeq ($(STATIC),1)
ifneq ($(SANITIZE),1)
LDLIBS := $(STATIC_LDLIBS)
endif
endif

CHECK_TARGETS += check-plesk
.PHONY: pack check-plesk plesk-static

build/.deps-php: scripts/deps.sh
	@mkdir -p build
	scripts/deps.sh build php
	@touch $@

# The packaged binaries, linked from the same objects as build/maillog.
$(PLESK_STATIC)/maillog: build/src/cli/maillog.o build/libmaillog.a
	@mkdir -p $(dir $@)
	@for a in $(STATIC_ARCHIVES); do [ -f "$$a" ] || { \
	    echo "plesk.mk: static archive $$a not found (scripts/deps.sh build)" >&2; exit 1; }; done
	$(CC) $(LDFLAGS) -o $@ $^ $(STATIC_LDLIBS)

# --as-needed: the CGI does not use libcurl (see the Makefile's rule).
$(PLESK_STATIC)/maillog.cgi: build/src/api/maillog_cgi.o build/libmaillog.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -Wl,--as-needed -o $@ $^ $(STATIC_LDLIBS)

plesk-static: $(PLESK_STATIC)/maillog $(PLESK_STATIC)/maillog.cgi

# Always re-laid: it is cheap, and the inputs (screenshots, git release
# number) are not all files make could track. The UI bundle is built by
# mk/ui.mk's rule when that file is there (it is included after this one).
# Likewise the country database of mk/geoip.mk, shipped in plib/resources/.
PLESK_UI := $(if $(wildcard mk/ui.mk),htdocs/dist/main.js)
PLESK_GEOIP := $(if $(wildcard mk/geoip.mk),build/geoip/country.mmdb)
pack: build/.deps-php plesk-static $(PLESK_UI) $(PLESK_GEOIP)
	scripts/plesk-pack.sh $(VERSION) $(PLESK_STATIC) $(PLESK_ZIP)

check-plesk: build/.deps-php
	$(MAKE) pack
	tests/plesk/run.sh $(PLESK_ZIP)
