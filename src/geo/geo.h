/*
 * geo.h — IP address → ISO 3166-1 country, with libmaxminddb.
 *
 * geo_open() maps a country database (GeoLite2-Country, DB-IP country lite,
 * or the one scripts/build-geoip makes from Debian's tor-geoipdb data). A
 * run keeps one struct geo; it caches answers per address text in a bounded
 * table, so a log full of the same few clients costs a few lookups.
 * Local addresses (ip_is_local) have no country: the UI shows them as
 * "local". A caller with no database passes g == NULL and gets no countries.
 *
 * The country table (code → English name) is static data generated from
 * Debian's iso-codes package (src/geo/countries.c).
 */
#ifndef MAILLOG_GEO_GEO_H
#define MAILLOG_GEO_GEO_H

#include "util/err.h"

#include <stddef.h>

struct geo; /* opaque: the open database + the per-run cache (bounded) */

/* Opens the .mmdb at path. NULL with e set ("path: …") when the file is
 * missing, unreadable or not a valid MaxMind DB. */
struct geo *geo_open(const char *path, struct err *e);

/* Whether geo_open(path) would succeed, without its private copy of the
 * file (for a status check): 0, or -1 with e as geo_open() would say. */
int geo_check(const char *path, struct err *e);

/* Looks up ip_text (NUL-terminated; brackets and ::ffff: mapped forms are
 * accepted). Returns 1 and writes the two-letter code ("DE") + NUL into iso
 * when found; 0 (iso = "") when g is NULL, the text is not an IP, the address
 * is local, or the database has no country for it. Reads country.iso_code,
 * falling back to registered_country.iso_code. */
int geo_country(struct geo *g, const char *ip_text, char iso[3]);

/* How many geo_country() calls reached the database (cache misses of
 * parsable, non-local addresses) since geo_open(); for tests and benchmarks. */
size_t geo_db_lookups(const struct geo *g);

/* Releases everything geo_open() made; g may be NULL. */
void geo_close(struct geo *g);

/* ISO 3166-1 alpha-2 codes with English names, sorted by code, for
 * /v1/countries and the validation of usual countries. */
struct country {
    char code[3];
    const char *name;
};

size_t country_count(void);
const struct country *country_at(size_t i); /* NULL when i >= country_count() */
const char *country_name(const char *code); /* NULL for an unknown code; case-sensitive ("DE") */

#endif
