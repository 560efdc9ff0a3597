# mk/plesk.mk — the Plesk extension package (issue 8).
#
#   make pack          build/mail-log-$(VERSION).zip: meta.xml at the root,
#                      htdocs/ (index.php, the UI bundle dist/, icons), plib/,
#                      sbin/maillog and sbin/maillog.cgi (0755, linked as
#                      below), _meta/ (icons rendered from _meta/icon.svg,
#                      screenshots from the browser tests), DESCRIPTION.md,
#                      CHANGES.md. Laid out by scripts/plesk-pack.sh.
#   make plesk-static  the two packaged programs, build/musl/out/maillog and
#                      maillog.cgi: fully static (musl), built by
#                      scripts/build-musl.sh with the libraries from Debian's
#                      sources (the first run fetches and builds them, about
#                      2.5 minutes; build/musl/prefix keeps them).
#   make check-plesk   php -l, the bridge test with pm_* doubles, meta.xml,
#                      the zip's layout and modes, the packed binaries'
#                      --version, and that they are static (tests/plesk/).
#
# Why static: Plesk runs on AlmaLinux/RHEL 8 (glibc 2.28), Debian 11 and
# Ubuntu 20.04 (2.31) as well as on newer systems; a program linked on this
# machine (glibc 2.36) starts on none of the older ones, and the libcurl of
# each distribution differs. A static musl program runs on all of them. The
# cost: OpenSSL and libcurl security fixes reach servers only with a new
# package (build/musl/versions.txt names the source versions built in).

PLESK_ZIP := build/mail-log-$(VERSION).zip
PLESK_STATIC := build/musl/out

CHECK_TARGETS += check-plesk
.PHONY: pack check-plesk plesk-static

build/.deps-php: scripts/deps.sh
	@mkdir -p build
	scripts/deps.sh build php
	@touch $@

# The packaged binaries. Always run: the script's inner make decides what is
# out of date, and its libraries are built once.
plesk-static:
	scripts/build-musl.sh build/musl

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
