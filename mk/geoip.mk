# geoip.mk — the demo's country database and the GeoIP checks.
#
#   make geoip        build/geoip/country.mmdb from Debian's tor-geoipdb data
#                     (scripts/build-geoip; ~10 s, so it is kept until
#                     scripts/build-geoip changes or `make clean`)
#   make check-geoip  the built database against its source data (sampled
#                     ranges via mmdblookup), metadata, byte-identical rebuild
#
# The unit tests of src/geo (tests/geo/test_geo.c) run in check-unit with
# fixture databases made by tests/fixtures/geo/make-mmdb.pl.

GEOIP_DB := build/geoip/country.mmdb

.PHONY: geoip check-geoip
geoip: $(GEOIP_DB)

build/.deps-geoip: scripts/deps.sh
	@mkdir -p build
	scripts/deps.sh geoip
	@touch $@

# The package is kept beside the database (one download; the check and its
# rebuild use the same data, also when Debian has a newer one by then).
GEOIP_DEB_DIR := build/geoip/deb

$(GEOIP_DB): scripts/build-geoip build/.deps-geoip
	@mkdir -p $(dir $@)
	GEOIP_DEB_DIR=$(GEOIP_DEB_DIR) scripts/build-geoip $@

check-geoip: $(GEOIP_DB)
	GEOIP_DEB_DIR=$(GEOIP_DEB_DIR) tests/geo/check-build-geoip.sh $(GEOIP_DB)

CHECK_TARGETS += check-geoip

# geo_country() throughput on the demo database (uncached and cached).
$(BUILD)/bench_geo: tests/geo/bench_geo.c $(BUILD)/libmaillog.a
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

.PHONY: bench-geoip
bench-geoip: $(BUILD)/bench_geo $(GEOIP_DB)
	$(BUILD)/bench_geo $(GEOIP_DB)

BENCH_TARGETS += bench-geoip
