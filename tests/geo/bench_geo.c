/*
 * bench_geo.c — geo_country() throughput on a real country database:
 * distinct public addresses (every lookup reaches libmaxminddb) and a log-like
 * stream where a few hundred clients repeat (answered by the cache).
 *
 * Usage: bench_geo DB.mmdb   (make bench-geoip uses build/geoip/country.mmdb)
 */
#include "geo/geo.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* xorshift32: a fixed, reproducible address stream. */
static uint32_t next_random(uint32_t *state)
{
    uint32_t x = *state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *state = x;
    return x;
}

/* n lookups over `distinct` addresses (0: all distinct, random IPv4), the
 * texts made beforehand so only geo_country() is timed. */
static void run(struct geo *g, const char *label, unsigned n, unsigned distinct)
{
    enum { TEXT = 16 };
    unsigned count = distinct ? distinct : n;
    char *texts = malloc((size_t)count * TEXT);
    unsigned *order = malloc((size_t)n * sizeof *order);
    uint32_t state = 2463534242u;
    char iso[3];
    unsigned found = 0;

    if (texts == NULL || order == NULL) {
        fprintf(stderr, "bench_geo: out of memory\n");
        exit(1);
    }
    for (unsigned i = 0; i < count; i++) {
        uint32_t a = distinct ? 0x50000000u + i * 7919u : next_random(&state);
        snprintf(texts + (size_t)i * TEXT, TEXT, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255,
                 (a >> 8) & 255, a & 255);
    }
    for (unsigned i = 0; i < n; i++)
        order[i] = distinct ? next_random(&state) % distinct : i;

    size_t before = geo_db_lookups(g);
    double t0 = now();
    for (unsigned i = 0; i < n; i++)
        found += (unsigned)geo_country(g, texts + (size_t)order[i] * TEXT, iso);
    double secs = now() - t0;
    printf("bench-geoip: %-32s %9u lookups in %.3f s = %.2f M/s, %.0f ns each (%u with a "
           "country, %zu reached the database)\n",
           label, n, secs, n / secs / 1e6, secs / n * 1e9, found, geo_db_lookups(g) - before);
    free(order);
    free(texts);
}

int main(int argc, char **argv)
{
    struct err e;
    struct geo *g;

    if (argc != 2) {
        fprintf(stderr, "usage: %s DB.mmdb\n", argv[0]);
        return 2;
    }
    g = geo_open(argv[1], &e);
    if (g == NULL) {
        fprintf(stderr, "bench_geo: %s\n", e.text);
        return 1;
    }
    run(g, "random IPv4 (uncached)", 1000000, 0);
    run(g, "300 repeating clients (cached)", 10000000, 300);
    geo_close(g);
    return 0;
}
