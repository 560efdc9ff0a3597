/*
 * geo.c — IP → country with libmaxminddb, behind a bounded per-run cache
 * (see geo.h for the contract).
 *
 * The cache is two-way set-associative: GEO_CACHE_SLOTS entries keyed by
 * the parsed address, in buckets of two; a new address replaces the least
 * recently used of its bucket. Misses (no country) are cached too. Memory
 * is fixed at open time, whatever the log.
 *
 * libmaxminddb maps its file. A file rewritten in place while mapped (cp,
 * PHP copy(): truncated, then written) kills the run with SIGBUS at the
 * next lookup past the new end, so geo_open() maps a private copy instead:
 * a memfd holding the bytes read at open time. A copy taken while the file
 * is half-written fails MMDB_open like any corrupt file (a warning).
 */
#include "geo/geo.h"

#include "util/ipnet.h"

#include <errno.h>
#include <fcntl.h>
#include <maxminddb.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define GEO_CACHE_SLOTS 8192 /* power of two; ~200 KiB */
#define GEO_CACHE_WAYS 2     /* slots per bucket, least recently used replaced */

struct geo_slot {
    struct ip_addr ip; /* family 0: empty */
    char iso[3];       /* "" = no country */
};

struct geo {
    MMDB_s db;
    size_t db_lookups; /* lookups that reached the database */
    struct geo_slot cache[GEO_CACHE_SLOTS];
};

/* A memfd with the content of path, named by "/proc/self/fd/N" in name;
 * the fd, or -1 when no copy could be made (the caller maps path itself). */
static int private_copy(const char *path, char name[64])
{
    char buf[65536];
    ssize_t n;
    int src = open(path, O_RDONLY | O_CLOEXEC), dst;

    if (src < 0)
        return -1;
    dst = memfd_create("maillog-geoip", MFD_CLOEXEC);
    if (dst < 0) {
        close(src);
        return -1;
    }
    while ((n = read(src, buf, sizeof buf)) > 0)
        if (write(dst, buf, (size_t)n) != n) {
            n = -1;
            break;
        }
    close(src);
    if (n < 0) {
        close(dst);
        return -1;
    }
    snprintf(name, 64, "/proc/self/fd/%d", dst);
    return dst;
}

/* What libmaxminddb cannot say about path: missing (it says only "error
 * opening"), not a file, empty. 0, or -1 with e. */
static int check_file(const char *path, struct err *e)
{
    struct stat st;

    if (stat(path, &st) < 0)
        return err_sys(e, "GeoIP database %s", path);
    if (!S_ISREG(st.st_mode))
        return err_set(e, "GeoIP database %s: not a regular file", path);
    if (st.st_size == 0)
        return err_set(e, "GeoIP database %s: empty file, not a MaxMind DB", path);
    return 0;
}

/* MMDB_open(open_path) into db, errors named after path. */
static int open_mmdb(const char *path, const char *open_path, MMDB_s *db, struct err *e)
{
    int status;

    errno = 0;
    status = MMDB_open(open_path, MMDB_MODE_MMAP, db);
    if (status == MMDB_SUCCESS)
        return 0;
    if (status == MMDB_IO_ERROR || status == MMDB_FILE_OPEN_ERROR)
        return err_sys(e, "GeoIP database %s: %s", path, MMDB_strerror(status));
    return err_set(e, "GeoIP database %s: not a valid MaxMind DB file (%s)", path,
                   MMDB_strerror(status));
}

int geo_check(const char *path, struct err *e)
{
    MMDB_s db;

    if (check_file(path, e) < 0 || open_mmdb(path, path, &db, e) < 0)
        return -1;
    MMDB_close(&db);
    return 0;
}

struct geo *geo_open(const char *path, struct err *e)
{
    char copy[64];
    int copy_fd, rc;
    struct geo *g;

    if (check_file(path, e) < 0)
        return NULL;
    g = calloc(1, sizeof *g);
    if (g == NULL) {
        err_sys(e, "GeoIP database %s", path);
        return NULL;
    }
    copy_fd = private_copy(path, copy);
    rc = open_mmdb(path, copy_fd >= 0 ? copy : path, &g->db, e);
    if (copy_fd >= 0)
        close(copy_fd); /* the mapping keeps the copy */
    if (rc < 0) {
        free(g);
        return NULL;
    }
    return g;
}

void geo_close(struct geo *g)
{
    if (g == NULL)
        return;
    MMDB_close(&g->db);
    free(g);
}

/* FNV-1a over the address, folded to a bucket index. */
static size_t bucket_of(const struct ip_addr *ip)
{
    uint32_t h = 2166136261u;
    size_t n = ip->family == AF_INET ? 4 : 16;

    for (size_t i = 0; i < n; i++) {
        h ^= ip->bytes[i];
        h *= 16777619u;
    }
    h ^= (uint32_t)ip->family;
    return h & (GEO_CACHE_SLOTS / GEO_CACHE_WAYS - 1);
}

/* Copies a two-letter upper-case code from entry at path into iso; 1/0. */
static int read_code(MMDB_entry_s *entry, const char *key, char iso[3])
{
    MMDB_entry_data_s data;

    if (MMDB_get_value(entry, &data, key, "iso_code", NULL) != MMDB_SUCCESS)
        return 0;
    if (!data.has_data || data.type != MMDB_DATA_TYPE_UTF8_STRING || data.data_size != 2)
        return 0;
    for (int i = 0; i < 2; i++)
        if (data.utf8_string[i] < 'A' || data.utf8_string[i] > 'Z')
            return 0;
    iso[0] = data.utf8_string[0];
    iso[1] = data.utf8_string[1];
    iso[2] = '\0';
    return 1;
}

/* The database lookup proper; 1 found, 0 not. */
static int lookup(struct geo *g, const struct ip_addr *ip, char iso[3])
{
    struct sockaddr_storage ss;
    MMDB_lookup_result_s res;
    int mmdb_error = MMDB_SUCCESS;

    memset(&ss, 0, sizeof ss);
    if (ip->family == AF_INET) {
        struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
        sin->sin_family = AF_INET;
        memcpy(&sin->sin_addr, ip->bytes, 4);
    } else {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
        sin6->sin6_family = AF_INET6;
        memcpy(&sin6->sin6_addr, ip->bytes, 16);
    }
    res = MMDB_lookup_sockaddr(&g->db, (const struct sockaddr *)&ss, &mmdb_error);
    /* An IPv6 address in an IPv4-only database is an error: no country. */
    if (mmdb_error != MMDB_SUCCESS || !res.found_entry)
        return 0;
    return read_code(&res.entry, "country", iso) ||
           read_code(&res.entry, "registered_country", iso);
}

static bool same_ip(const struct ip_addr *a, const struct ip_addr *b)
{
    return a->family == b->family && memcmp(a->bytes, b->bytes, sizeof a->bytes) == 0;
}

int geo_country(struct geo *g, const char *ip_text, char iso[3])
{
    struct ip_addr ip;
    struct geo_slot *way;

    iso[0] = '\0';
    if (g == NULL || ip_text == NULL || ip_parse(ip_text, strlen(ip_text), &ip) < 0 ||
        ip_is_local(&ip))
        return 0;
    way = &g->cache[bucket_of(&ip) * GEO_CACHE_WAYS];
    if (!same_ip(&way[0].ip, &ip)) {
        /* Two-way LRU: way[0] is the most recent; a hit in way[1] or a miss
         * moves way[0] down and puts this address first. */
        struct geo_slot slot;
        if (same_ip(&way[1].ip, &ip)) {
            slot = way[1];
        } else {
            slot.ip = ip;
            g->db_lookups++;
            if (!lookup(g, &ip, slot.iso))
                slot.iso[0] = '\0';
        }
        way[1] = way[0];
        way[0] = slot;
    }
    memcpy(iso, way[0].iso, 3);
    return iso[0] != '\0';
}

size_t geo_db_lookups(const struct geo *g)
{
    return g == NULL ? 0 : g->db_lookups;
}
