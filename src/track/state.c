/*
 * state.c — what of the tracker's memory a later run needs, as bytes.
 *
 * A run of the ingest ends wherever the log ends, often between two lines
 * that belong together: a content filter's "queued as NEWQID" and NEWQID's
 * first line, a pipe filter's hand-over and the copy it re-sends through
 * pickup, two mails of one SMTP AUTH connection. The store keeps messages
 * and their rows; the links between them live only in the tracker (see
 * track_impl.h). track_state_encode() writes them all (their tables are
 * bounded; whether a link still applies is decided, as in one run, by the
 * time of the line that would use it) with what the messages in memory know
 * beyond their rows, and track_flush() hands the bytes to the sink, which
 * commits them with the rows and the log offset. The next run gives them
 * back to track_restore(), which reloads those messages from the store, so
 * it goes on as one long run would have. (Not the newest time seen: one
 * line stamped in the future would stay in it for good.)
 *
 * The format is private to this file and versioned: every number, and each
 * string's length before its bytes, as 8 bytes little-endian; each section
 * is a count and its entries. Bytes that do not decode (another
 * version, a damaged row) are refused as a whole; the caller warns and the
 * run starts with no links, as every run did before this existed.
 */
#include "track/track_impl.h"

#include <stdlib.h>
#include <string.h>

#define STATE_MAGIC 0x53544c4dU /* "MLTS" */
#define STATE_VERSION 2U
#define STATE_MESSAGES_MAX TRACK_OPEN_MAX

/* ---- bytes out ---- */

struct out {
    unsigned char *p;
    size_t len, cap;
    bool failed; /* out of memory: everything after is dropped */
};

static void put_bytes(struct out *o, const void *p, size_t n)
{
    if (o->failed)
        return;
    if (o->len + n > o->cap) {
        size_t cap = o->cap ? o->cap * 2 : 4096;
        unsigned char *q;
        while (cap < o->len + n)
            cap *= 2;
        if ((q = realloc(o->p, cap)) == NULL) {
            o->failed = true;
            return;
        }
        o->p = q;
        o->cap = cap;
    }
    memcpy(o->p + o->len, p, n);
    o->len += n;
}

static void put_u64(struct out *o, uint64_t v)
{
    unsigned char b[8];

    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)(v >> (8 * i));
    put_bytes(o, b, sizeof b);
}

static void put_i64(struct out *o, int64_t v)
{
    put_u64(o, (uint64_t)v);
}

static void put_f64(struct out *o, double v)
{
    uint64_t bits;

    memcpy(&bits, &v, sizeof bits);
    put_u64(o, bits);
}

static void put_str(struct out *o, const char *s)
{
    size_t n = strnlen(s, 0xffff);

    put_u64(o, n);
    put_bytes(o, s, n);
}

/* ---- bytes in ---- */

struct in {
    const unsigned char *p;
    size_t len, pos;
    bool bad; /* ran past the end or met a value out of range */
};

static uint64_t get_u64(struct in *in)
{
    uint64_t v = 0;

    if (in->bad || in->len - in->pos < 8) {
        in->bad = true;
        return 0;
    }
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)in->p[in->pos + i] << (8 * i);
    in->pos += 8;
    return v;
}

static int64_t get_i64(struct in *in)
{
    return (int64_t)get_u64(in);
}

static double get_f64(struct in *in)
{
    uint64_t bits = get_u64(in);
    double v;

    memcpy(&v, &bits, sizeof v);
    return v;
}

/* A time (UTC seconds) in the range the tracker's differences of times
 * cannot overflow in. A line can carry any stamp (TAI64N up to 2^62): an
 * entry with a time outside is not saved; bytes with one are damaged. */
static bool time_ok(int64_t v)
{
    return v >= 0 && v <= ((int64_t)1 << 40);
}

static int64_t get_time(struct in *in)
{
    int64_t v = get_i64(in);

    if (!time_ok(v))
        in->bad = true;
    return in->bad ? 0 : v;
}

/* A count of at most max. */
static size_t get_count(struct in *in, size_t max)
{
    uint64_t n = get_u64(in);

    if (n > max)
        in->bad = true;
    return in->bad ? 0 : (size_t)n;
}

/* A string into dst (size bytes, NUL-terminated); too long is bad. */
static void get_str(struct in *in, char *dst, size_t size)
{
    size_t n = get_count(in, size - 1);

    if (!in->bad && in->len - in->pos < n)
        in->bad = true;
    if (in->bad) {
        dst[0] = '\0';
        return;
    }
    memcpy(dst, in->p + in->pos, n);
    dst[n] = '\0';
    in->pos += n;
}

/* ---- what is saved ---- */

static void encode_access(struct out *o, const struct access_event *a)
{
    put_i64(o, a->time);
    put_str(o, a->host);
    put_str(o, a->user);
    put_str(o, a->ip);
    put_u64(o, (uint64_t)a->protocol);
    put_u64(o, a->success);
    put_str(o, a->method);
    put_str(o, a->detail);
}

static void decode_access(struct in *in, struct access_event *a)
{
    memset(a, 0, sizeof *a);
    a->time = get_time(in);
    get_str(in, a->host, sizeof a->host);
    get_str(in, a->user, sizeof a->user);
    get_str(in, a->ip, sizeof a->ip);
    a->protocol = (enum access_protocol)get_count(in, PROTO_COUNT - 1);
    a->success = get_count(in, 1) != 0;
    get_str(in, a->method, sizeof a->method);
    get_str(in, a->detail, sizeof a->detail);
}

/* What a message in memory knows beyond its row in the store. */
static void encode_extras(struct out *o, const struct open_message *m)
{
    put_i64(o, m->m.id);
    put_u64(o, m->lines_total);
    put_u64(o, m->started);
    put_str(o, m->filter_relay);
    put_str(o, m->unlinked_relay);
    put_u64(o, m->filter_unlinked);
    put_i64(o, m->filter_pid);
    put_f64(o, m->filter_delay);
    put_i64(o, m->filter_uid);
    put_u64(o, m->filter_uid_known);
    put_u64(o, m->filter_batches);
    put_u64(o, m->filter_children);
    put_i64(o, m->pickup_uid);
}

static void decode_extras(struct in *in, int64_t *id, struct open_message *m)
{
    *id = get_i64(in);
    m->lines_total = (uint32_t)get_count(in, RECORD_LINES_MAX);
    m->started = get_count(in, 1) != 0;
    get_str(in, m->filter_relay, sizeof m->filter_relay);
    get_str(in, m->unlinked_relay, sizeof m->unlinked_relay);
    m->filter_unlinked = (uint32_t)get_count(in, UINT32_MAX);
    m->filter_pid = (long)get_i64(in);
    m->filter_delay = get_f64(in);
    m->filter_uid = (long)get_i64(in);
    m->filter_uid_known = get_count(in, 1) != 0;
    m->filter_batches = (uint32_t)get_count(in, UINT32_MAX);
    m->filter_children = (uint32_t)get_count(in, UINT32_MAX);
    m->pickup_uid = (long)get_i64(in);
}

/* A count not known yet: its place, filled in by put_count_at(). */
static size_t put_count_later(struct out *o)
{
    size_t at = o->len;

    put_u64(o, 0);
    return at;
}

static void put_count_at(struct out *o, size_t at, uint64_t n)
{
    if (o->failed)
        return;
    for (int i = 0; i < 8; i++)
        o->p[at + (size_t)i] = (unsigned char)(n >> (8 * i));
}

/* The newest n entries of a ring of PICKUPS whose next slot is next, oldest
 * first: restoring them in that order keeps "newest first" the same. */
#define RING_AGE(next, k) (((next) - (k)) % PICKUPS)

int track_state_encode(const struct tracker *t, unsigned char **data, size_t *len)
{
    struct out o = {NULL, 0, 0, false};
    size_t at;
    uint64_t n;

    put_u64(&o, STATE_MAGIC);
    put_u64(&o, STATE_VERSION);
    put_i64(&o, time_ok(t->parser.clock.classic_last) ? t->parser.clock.classic_last : 0);

    at = put_count_later(&o);
    n = 0;
    for (size_t i = 0; i < SESSIONS; i++) {
        const struct session *s = &t->sessions[i];
        if (s->host_hash == 0 || s->user_hash == 0 || !time_ok(s->time)) /* as good as none */
            continue;
        put_u64(&o, i);
        put_u64(&o, s->host_hash);
        put_i64(&o, s->pid);
        put_u64(&o, s->user_hash);
        put_i64(&o, s->time);
        n++;
    }
    put_count_at(&o, at, n);

    put_u64(&o, t->last_was_access && time_ok(t->last_access.time));
    if (t->last_was_access && time_ok(t->last_access.time))
        encode_access(&o, &t->last_access);

    at = put_count_later(&o);
    n = 0;
    for (size_t i = 0; i < PENDING; i++) {
        const struct pending_link *p = &t->pending[i];
        if (p->key == 0 || !time_ok(p->time))
            continue;
        put_u64(&o, p->key);
        put_i64(&o, p->parent_id);
        put_i64(&o, p->time);
        put_str(&o, p->parent_queue_id);
        n++;
    }
    put_count_at(&o, at, n);

    at = put_count_later(&o);
    n = 0;
    for (unsigned k = PICKUPS; k >= 1; k--) {
        const struct pickup *p = &t->pickups[RING_AGE(t->pickup_next, k)];
        if (p->key == 0 || !time_ok(p->time))
            continue;
        put_u64(&o, p->msgid_hash);
        put_u64(&o, p->key);
        put_i64(&o, p->time);
        n++;
    }
    put_count_at(&o, at, n);

    at = put_count_later(&o);
    n = 0;
    for (unsigned k = PICKUPS; k >= 1; k--) {
        const struct pipe_hand *h = &t->pipe_hands[RING_AGE(t->pipe_hand_next, k)];
        if (h->key == 0 || !time_ok(h->time))
            continue;
        put_u64(&o, h->msgid_hash);
        put_u64(&o, h->key);
        put_i64(&o, h->parent_id);
        put_i64(&o, h->time);
        n++;
    }
    put_count_at(&o, at, n);

    /* Every message in memory, least recently used first: the ones the
     * links point at (a pending link's parent, a pickup's copy, a pipe
     * filter's parent), the closed ones a "queued as" line may still name,
     * and what the others know beyond their rows (a filter's runs, the
     * trace's size). A message without an id is not in the store. */
    at = put_count_later(&o);
    n = 0;
    for (const struct open_message *m = t->lru_head; m != NULL && n < STATE_MESSAGES_MAX;
         m = m->lru_next) {
        if (m->m.id == 0)
            continue;
        encode_extras(&o, m);
        n++;
    }
    put_count_at(&o, at, n);

    if (o.failed) {
        free(o.p);
        return -1;
    }
    *data = o.p;
    *len = o.len;
    return 0;
}

/* ---- restoring ---- */

/* One pass over the bytes: checks them all when t is NULL (writing into
 * scratch), else applies them to t (whose tables are empty) and reloads the
 * messages through the sink. Returns 0, 1 when the bytes do not decode (e
 * says why), -1 on a sink error. */
static int decode(struct tracker *t, struct tracker *scratch, const unsigned char *data, size_t len,
                  struct err *e)
{
    struct in in = {data, len, 0, false};
    struct tracker *dst = t != NULL ? t : scratch;
    size_t n;

    if (get_u64(&in) != STATE_MAGIC || get_u64(&in) != STATE_VERSION) {
        err_set(e, in.bad ? "truncated" : "not this version's");
        return 1;
    }
    dst->parser.clock.classic_last = get_time(&in);

    n = get_count(&in, SESSIONS);
    for (size_t k = 0; k < n && !in.bad; k++) {
        size_t i = get_count(&in, SESSIONS - 1);
        struct session *s = &dst->sessions[i];
        s->host_hash = get_u64(&in);
        s->pid = (long)get_i64(&in);
        s->user_hash = get_u64(&in);
        s->time = get_time(&in);
    }

    dst->last_was_access = get_count(&in, 1) != 0;
    if (dst->last_was_access)
        decode_access(&in, &dst->last_access);

    n = get_count(&in, PENDING);
    for (size_t k = 0; k < n && !in.bad; k++) {
        uint64_t key = get_u64(&in);
        struct pending_link *p = &dst->pending[key % PENDING];
        p->key = key;
        p->parent_id = get_i64(&in);
        p->time = get_time(&in);
        get_str(&in, p->parent_queue_id, sizeof p->parent_queue_id);
    }

    n = get_count(&in, PICKUPS);
    for (size_t k = 0; k < n && !in.bad; k++) {
        struct pickup *p = &dst->pickups[dst->pickup_next++ % PICKUPS];
        p->msgid_hash = get_u64(&in);
        p->key = get_u64(&in);
        p->time = get_time(&in);
    }
    n = get_count(&in, PICKUPS);
    for (size_t k = 0; k < n && !in.bad; k++) {
        struct pipe_hand *h = &dst->pipe_hands[dst->pipe_hand_next++ % PICKUPS];
        h->msgid_hash = get_u64(&in);
        h->key = get_u64(&in);
        h->parent_id = get_i64(&in);
        h->time = get_time(&in);
    }

    n = get_count(&in, STATE_MESSAGES_MAX);
    for (size_t k = 0; k < n && !in.bad; k++) {
        struct open_message extras, *o;
        struct mail_message m;
        struct slice host, queue_id;
        uint64_t hash;
        int64_t id;
        int found;

        memset(&extras, 0, sizeof extras);
        decode_extras(&in, &id, &extras);
        /* no way to ask, or gone from the store (purged): the links to it
         * are lost */
        if (t == NULL || in.bad || t->sink.load_message == NULL)
            continue;
        if ((found = t->sink.load_message(t->sink.ctx, id, &m, e)) < 0)
            return -1;
        if (found == 0) /* purged since */
            continue;
        host = slice_make(m.host, strlen(m.host));
        queue_id = slice_make(m.queue_id, strlen(m.queue_id));
        hash = track_hash_key(host, queue_id);
        /* listed twice (damaged bytes): one message is one entry */
        if (queue_id.len == 0 || track_table_find(t, hash, host, queue_id) != NULL)
            continue;
        if ((o = track_open_new(hash, host, queue_id, m.last_seen)) == NULL)
            return err_set(e, "tracker: out of memory");
        o->m = m;
        o->m.stored = true;
        o->dirty = false;
        o->lines_total = extras.lines_total;
        o->started = extras.started;
        memcpy(o->filter_relay, extras.filter_relay, sizeof o->filter_relay);
        memcpy(o->unlinked_relay, extras.unlinked_relay, sizeof o->unlinked_relay);
        o->filter_unlinked = extras.filter_unlinked;
        o->filter_pid = extras.filter_pid;
        o->filter_delay = extras.filter_delay;
        o->filter_uid = extras.filter_uid;
        o->filter_uid_known = extras.filter_uid_known;
        o->filter_batches = extras.filter_batches;
        o->filter_children = extras.filter_children;
        o->pickup_uid = extras.pickup_uid;
        if (track_table_insert(t, o, e) != 0)
            return -1;
    }
    if (in.bad || in.pos != in.len) {
        err_set(e, in.bad ? "truncated or out of range at byte %zu" : "%zu bytes too many",
                in.bad ? in.pos : in.len - in.pos);
        return 1;
    }
    return 0;
}

int track_restore(struct tracker *t, const void *data, size_t len, struct err *e)
{
    struct tracker *scratch;
    int rc;

    if (t->open_count != 0 || t->latest_time != 0)
        return err_set(e, "tracker: state restored after the first line");
    if ((scratch = calloc(1, sizeof *scratch)) == NULL)
        return err_set(e, "tracker: out of memory");
    rc = decode(NULL, scratch, data, len, e);
    free(scratch);
    return rc != 0 ? rc : decode(t, NULL, data, len, e);
}
