/* test_geo.c — IP → country against fixture .mmdb files built at test time
 * with tests/fixtures/geo/make-mmdb.pl; open errors; the local-address rule;
 * the cache; the country table against Debian's iso-codes. */
#include "geo/geo.h"

#include "util/ipnet.h"

#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ISO_JSON "/usr/share/iso-codes/json/iso_3166-1.json"

/* The fixture: networks with chosen countries. Local networks are in the
 * database too, so the test shows geo_country() refuses them itself. */
struct net_cc {
    const char *net;
    const char *first, *last; /* first and last address of net */
    const char *cc;
    int registered; /* written as registered_country only */
};

static const struct net_cc fixture[] = {
    {"192.0.2.0/24", "192.0.2.0", "192.0.2.255", "DE", 0},
    {"198.51.100.7", "198.51.100.7", "198.51.100.7", "FR", 0},
    {"198.51.100.128/25", "198.51.100.128", "198.51.100.255", "AT", 0},
    {"203.0.113.0/26", "203.0.113.0", "203.0.113.63", "BR", 1},
    {"2001:db8::/32", "2001:db8::", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", "JP", 0},
    {"2001:db9:1::/48", "2001:db9:1::", "2001:db9:1:ffff:ffff:ffff:ffff:ffff", "NZ", 0},
    {"10.0.0.0/8", "10.0.0.1", "10.255.255.254", "US", 0},
    {"127.0.0.0/8", "127.0.0.1", "127.0.0.1", "US", 0},
    {"fd00::/8", "fd00::1", "fdff::1", "US", 0},
    {"fe80::/10", "fe80::1", "febf::1", "US", 0},
};
#define FIXTURE_COUNT (sizeof fixture / sizeof fixture[0])

/* Addresses just outside the fixture's networks: no country. */
static const char *outside[] = {
    "192.0.3.0",    "192.0.1.255",      "198.51.100.6", "198.51.100.8", "198.51.100.127",
    "203.0.113.64", "2001:db7:ffff::1", "2001:db9::1",  "2001:db9:2::", "8.8.8.8",
};

/* Paths set up once (unchecked fixture, in the runner process). */
static char tmpdir[256];
static char good_db[300];

static void write_file(const char *path, const char *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    ck_assert_msg(f != NULL, "%s", path);
    ck_assert_uint_eq(fwrite(data, 1, len, f), len);
    ck_assert_int_eq(fclose(f), 0);
}

static void build_fixture(void)
{
    const char *src = getenv("MAILLOG_SRCDIR");
    char tsv[300], cmd[1024];
    FILE *f;

    snprintf(tmpdir, sizeof tmpdir, "/tmp/maillog-geo-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    snprintf(tsv, sizeof tsv, "%s/in.tsv", tmpdir);
    snprintf(good_db, sizeof good_db, "%s/good.mmdb", tmpdir);
    f = fopen(tsv, "w");
    ck_assert_ptr_nonnull(f);
    for (size_t i = 0; i < FIXTURE_COUNT; i++)
        fprintf(f, "%s\t%s%s\n", fixture[i].net, fixture[i].cc, fixture[i].registered ? "\tR" : "");
    ck_assert_int_eq(fclose(f), 0);
    snprintf(cmd, sizeof cmd, "perl '%s/tests/fixtures/geo/make-mmdb.pl' '%s' '%s'",
             src ? src : ".", tsv, good_db);
    ck_assert_msg(system(cmd) == 0, "%s failed", cmd);
}

static void remove_fixture(void)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (tmpdir[0] != '\0' && system(cmd) != 0)
        fprintf(stderr, "test_geo: could not remove %s\n", tmpdir);
}

static struct geo *open_good(void)
{
    struct err e = {{0}};
    struct geo *g = geo_open(good_db, &e);
    ck_assert_msg(g != NULL, "%s", e.text);
    return g;
}

START_TEST(finds_the_countries_it_was_given)
{
    struct geo *g = open_good();
    char iso[3];

    for (size_t i = 0; i < FIXTURE_COUNT; i++) {
        const struct net_cc *n = &fixture[i];
        struct ip_addr ip;
        ck_assert_int_eq(ip_parse(n->first, strlen(n->first), &ip), 0);
        if (ip_is_local(&ip))
            continue;
        ck_assert_msg(geo_country(g, n->first, iso) == 1, "%s", n->first);
        ck_assert_str_eq(iso, n->cc);
        ck_assert_msg(geo_country(g, n->last, iso) == 1, "%s", n->last);
        ck_assert_str_eq(iso, n->cc);
    }
    for (size_t i = 0; i < sizeof outside / sizeof outside[0]; i++) {
        strcpy(iso, "XX");
        ck_assert_msg(geo_country(g, outside[i], iso) == 0, "%s has no country", outside[i]);
        ck_assert_str_eq(iso, "");
    }
    geo_close(g);
}
END_TEST

START_TEST(accepts_mapped_and_bracketed_forms)
{
    struct geo *g = open_good();
    char iso[3];

    ck_assert_int_eq(geo_country(g, "::ffff:192.0.2.77", iso), 1);
    ck_assert_str_eq(iso, "DE");
    ck_assert_int_eq(geo_country(g, "[2001:db8::25]", iso), 1);
    ck_assert_str_eq(iso, "JP");
    ck_assert_int_eq(geo_country(g, "[198.51.100.7]", iso), 1);
    ck_assert_str_eq(iso, "FR");
    geo_close(g);
}
END_TEST

START_TEST(local_unparsable_and_no_database_give_nothing)
{
    struct geo *g = open_good();
    char iso[3];

    /* In the database with a country, but local: still no country. */
    for (size_t i = 0; i < FIXTURE_COUNT; i++) {
        struct ip_addr ip;
        ck_assert_int_eq(ip_parse(fixture[i].first, strlen(fixture[i].first), &ip), 0);
        if (!ip_is_local(&ip))
            continue;
        strcpy(iso, "XX");
        ck_assert_msg(geo_country(g, fixture[i].first, iso) == 0, "%s is local", fixture[i].first);
        ck_assert_str_eq(iso, "");
        ck_assert_int_eq(geo_country(g, fixture[i].last, iso), 0);
    }
    static const char *junk[] = {"", "unknown", "192.0.2", "192.0.2.1:25", "fe80::1%eth0"};
    for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++) {
        strcpy(iso, "XX");
        ck_assert_int_eq(geo_country(g, junk[i], iso), 0);
        ck_assert_str_eq(iso, "");
    }
    ck_assert_uint_eq(geo_db_lookups(g), 0); /* none of it reached the database */
    geo_close(g);

    strcpy(iso, "XX");
    ck_assert_int_eq(geo_country(NULL, "192.0.2.1", iso), 0);
    ck_assert_str_eq(iso, "");
    geo_close(NULL);
}
END_TEST

START_TEST(missing_file_is_a_clear_error)
{
    struct err e = {{0}};
    char path[300];

    snprintf(path, sizeof path, "%s/absent.mmdb", tmpdir);
    ck_assert_ptr_null(geo_open(path, &e));
    ck_assert_msg(strstr(e.text, path) != NULL, "%s", e.text);
    ck_assert_msg(strstr(e.text, "No such file") != NULL, "%s", e.text);
    ck_assert_ptr_null(geo_open(tmpdir, &e)); /* a directory */
    ck_assert_msg(strstr(e.text, tmpdir) != NULL, "%s", e.text);
}
END_TEST

START_TEST(corrupt_files_are_a_clear_error)
{
    struct err e = {{0}};
    char path[300];
    FILE *f = fopen(good_db, "rb");
    char *data;
    long size;

    /* The first half of a good database: no metadata section. */
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
    size = ftell(f);
    ck_assert_int_gt(size, 100);
    rewind(f);
    data = malloc((size_t)size);
    ck_assert_ptr_nonnull(data);
    ck_assert_uint_eq(fread(data, 1, (size_t)size, f), (size_t)size);
    fclose(f);
    snprintf(path, sizeof path, "%s/half.mmdb", tmpdir);
    write_file(path, data, (size_t)size / 2);
    ck_assert_ptr_null(geo_open(path, &e));
    ck_assert_msg(strstr(e.text, path) != NULL && strstr(e.text, "not a valid MaxMind DB"), "%s",
                  e.text);

    /* The metadata kept, but the tree and data section overwritten: opening
     * may succeed or not, lookups must not crash or invent countries. */
    memset(data, 0xff, (size_t)size / 2);
    snprintf(path, sizeof path, "%s/scrambled.mmdb", tmpdir);
    write_file(path, data, (size_t)size);
    struct geo *g = geo_open(path, &e);
    if (g != NULL) {
        char iso[3];
        for (size_t i = 0; i < FIXTURE_COUNT; i++)
            if (geo_country(g, fixture[i].first, iso) == 1)
                ck_assert_int_eq(strlen(iso), 2);
        geo_close(g);
    }
    free(data);

    snprintf(path, sizeof path, "%s/text.mmdb", tmpdir);
    write_file(path, "this is not a database\n", 23);
    ck_assert_ptr_null(geo_open(path, &e));
    ck_assert_msg(strstr(e.text, "not a valid MaxMind DB") != NULL, "%s", e.text);
    snprintf(path, sizeof path, "%s/empty.mmdb", tmpdir);
    write_file(path, "", 0);
    ck_assert_ptr_null(geo_open(path, &e));
    ck_assert_msg(strstr(e.text, path) != NULL && strstr(e.text, "empty"), "%s", e.text);
}
END_TEST

/* The i-th of many addresses: spread over the fixture's DE, AT, JP networks
 * and an unknown one, so the cache sees far more addresses than it holds. */
static const char *many_address(unsigned i, char *buf, size_t size)
{
    switch (i % 4) {
    case 0:
        snprintf(buf, size, "192.0.2.%u", i / 4 % 256);
        break;
    case 1:
        snprintf(buf, size, "198.51.100.%u", 128 + i / 4 % 128);
        break;
    case 2:
        snprintf(buf, size, "2001:db8:%x::%x", i / 4 / 65536, i / 4 % 65536);
        break;
    default:
        snprintf(buf, size, "2001:db9:2::%x", i / 4);
        break;
    }
    return buf;
}

static const char *many_expected(unsigned i)
{
    static const char *cc[] = {"DE", "AT", "JP", ""};
    return cc[i % 4];
}

START_TEST(cache_gives_the_same_answers)
{
    struct geo *g = open_good();
    char iso[3], buf[64];
    const unsigned n = 40000; /* several times the cache */

    /* The same address again: answered from the cache. */
    ck_assert_int_eq(geo_country(g, "192.0.2.10", iso), 1);
    size_t before = geo_db_lookups(g);
    for (int i = 0; i < 100; i++) {
        ck_assert_int_eq(geo_country(g, "192.0.2.10", iso), 1);
        ck_assert_str_eq(iso, "DE");
        ck_assert_int_eq(geo_country(g, "::ffff:192.0.2.10", iso), 1); /* same address */
        ck_assert_str_eq(iso, "DE");
    }
    ck_assert_uint_eq(geo_db_lookups(g), before);
    ck_assert_int_eq(geo_country(g, "198.51.100.8", iso), 0); /* misses are cached too */
    ck_assert_int_eq(geo_country(g, "198.51.100.8", iso), 0);
    ck_assert_uint_eq(geo_db_lookups(g), before + 1);

    /* Many distinct addresses, twice: evictions never change an answer. */
    for (int pass = 0; pass < 2; pass++)
        for (unsigned i = 0; i < n; i++) {
            const char *ip = many_address(i, buf, sizeof buf);
            int found = geo_country(g, ip, iso);
            ck_assert_msg(strcmp(iso, many_expected(i)) == 0, "%s: got '%s'", ip, iso);
            ck_assert_int_eq(found, iso[0] != '\0');
        }
    ck_assert_uint_gt(geo_db_lookups(g), before + n); /* the cache is bounded */
    geo_close(g);
}
END_TEST

START_TEST(country_table_matches_iso_codes)
{
    json_error_t jerr;
    json_t *root = json_load_file(ISO_JSON, 0, &jerr);
    ck_assert_msg(root != NULL, "%s: %s (scripts/deps.sh test installs iso-codes)", ISO_JSON,
                  jerr.text);
    json_t *list = json_object_get(root, "3166-1");
    ck_assert(json_is_array(list));
    ck_assert_uint_eq(country_count(), json_array_size(list));

    size_t i;
    json_t *entry;
    json_array_foreach(list, i, entry)
    {
        const char *code = json_string_value(json_object_get(entry, "alpha_2"));
        json_t *common = json_object_get(entry, "common_name");
        const char *name = json_string_value(common ? common : json_object_get(entry, "name"));
        ck_assert_ptr_nonnull(code);
        ck_assert_msg(country_name(code) != NULL, "%s missing", code);
        ck_assert_str_eq(country_name(code), name);
    }
    json_decref(root);

    for (i = 1; i < country_count(); i++)
        ck_assert_msg(strcmp(country_at(i - 1)->code, country_at(i)->code) < 0, "order at %zu", i);
    ck_assert_ptr_null(country_at(country_count()));
    ck_assert_ptr_null(country_name("XX"));
    ck_assert_ptr_null(country_name("de"));
    ck_assert_ptr_null(country_name("DEU"));
    ck_assert_ptr_null(country_name(""));
    ck_assert_ptr_null(country_name(NULL));
    ck_assert_str_eq(country_name(country_at(0)->code), country_at(0)->name);
    size_t last = country_count() - 1;
    ck_assert_str_eq(country_name(country_at(last)->code), country_at(last)->name);
}
END_TEST

Suite *suite_geo_geo(void);
Suite *suite_geo_geo(void)
{
    Suite *s = suite_create("geo/geo");
    TCase *tc = tcase_create("geo");
    tcase_add_unchecked_fixture(tc, build_fixture, remove_fixture);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, finds_the_countries_it_was_given);
    tcase_add_test(tc, accepts_mapped_and_bracketed_forms);
    tcase_add_test(tc, local_unparsable_and_no_database_give_nothing);
    tcase_add_test(tc, missing_file_is_a_clear_error);
    tcase_add_test(tc, corrupt_files_are_a_clear_error);
    tcase_add_test(tc, cache_gives_the_same_answers);
    suite_add_tcase(s, tc);
    TCase *table = tcase_create("countries");
    tcase_add_test(table, country_table_matches_iso_codes);
    suite_add_tcase(s, table);
    return s;
}
