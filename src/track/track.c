/*
 * track.c — queue-id correlation (see track.h for the contract with the sink).
 *
 * Data structures:
 *   - open messages: a chained hash table keyed by (syslog host, queue id),
 *     threaded on an LRU list (closed ones linger at its head for
 *     REINJECT_WINDOW, see EV_REMOVED). At most TRACK_OPEN_MAX stay in memory; the least
 *     recently touched is flushed to the sink and dropped, and comes back
 *     through find_open_message() if its queue id shows up again. Each open
 *     message keeps the raw lines not yet handed over, and copies of its
 *     deferred deliveries so that "status=expired" can turn them into expired.
 *   - smtpd sessions: a direct-mapped table keyed by (host, pid), remembering
 *     the SASL user already reported for the connection, so one login that
 *     sends ten mails is one access event.
 *   - pending reinjections: a direct-mapped table (host, new queue id) →
 *     parent, for a "queued as NEWQID" seen before NEWQID's own first line.
 *   - recent pickups: a ring of messages that entered by pickup, searched by
 *     Message-ID when a pipe delivery (bogofilter, …) re-injects a mail.
 * Collisions in the direct-mapped tables only lose a link or let a duplicate
 * access event through; they never corrupt anything.
 */
#include "track/track.h"
#include "track/track_impl.h"
#include "parse/event.h"
#include "util/slice.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- hashing ---- */

uint64_t track_hash_bytes(uint64_t h, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)p[i];
        h *= 1099511628211ULL;
    }
    return h;
}

uint64_t track_hash_key(struct slice host, struct slice queue_id)
{
    uint64_t h = track_hash_bytes(14695981039346656037ULL, host.ptr, host.len);
    h = track_hash_bytes(h, "\0", 1);
    return track_hash_bytes(h, queue_id.ptr, queue_id.len);
}

/* ---- small helpers ---- */

static void copy_text(char *dst, size_t size, struct slice s)
{
    slice_copy(dst, size, s);
}

/* "::ffff:192.0.2.1" → "192.0.2.1"; brackets already gone. */
static void copy_ip(char *dst, size_t size, struct slice ip)
{
    if (ip.len > 7 && (slice_starts(ip, "::ffff:") || slice_starts(ip, "::FFFF:")) &&
        memchr(ip.ptr + 7, '.', ip.len - 7) != NULL)
        ip = slice_skip(ip, 7);
    copy_text(dst, size, ip);
}

static bool ip_is_loopback_text(const char *ip)
{
    return strncmp(ip, "127.", 4) == 0 || strcmp(ip, "::1") == 0;
}

static enum message_origin origin_of(const struct mail_message *m)
{
    if (m->sasl_username[0] != '\0')
        return ORIGIN_SASL;
    if (m->client_ip[0] == '\0' || ip_is_loopback_text(m->client_ip))
        return ORIGIN_LOCAL;
    return ORIGIN_REMOTE;
}

/* ---- open message table ---- */

static void lru_unlink(struct tracker *t, struct open_message *o)
{
    if (o->lru_prev)
        o->lru_prev->lru_next = o->lru_next;
    else
        t->lru_head = o->lru_next;
    if (o->lru_next)
        o->lru_next->lru_prev = o->lru_prev;
    else
        t->lru_tail = o->lru_prev;
    o->lru_prev = o->lru_next = NULL;
}

static void lru_append(struct tracker *t, struct open_message *o)
{
    o->lru_prev = t->lru_tail;
    o->lru_next = NULL;
    if (t->lru_tail)
        t->lru_tail->lru_next = o;
    else
        t->lru_head = o;
    t->lru_tail = o;
}

static void lru_prepend(struct tracker *t, struct open_message *o)
{
    o->lru_prev = NULL;
    o->lru_next = t->lru_head;
    if (t->lru_head)
        t->lru_head->lru_prev = o;
    else
        t->lru_tail = o;
    t->lru_head = o;
}

struct open_message *track_table_find(struct tracker *t, uint64_t hash, struct slice host,
                                      struct slice queue_id)
{
    struct open_message *o = t->buckets[hash & (t->bucket_count - 1)];

    for (; o != NULL; o = o->hash_next)
        if (o->hash == hash && slice_eq(queue_id, o->m.queue_id) && slice_eq(host, o->m.host))
            return o;
    return NULL;
}

static int table_grow(struct tracker *t)
{
    size_t n = t->bucket_count * 2;
    struct open_message **b = calloc(n, sizeof *b);

    if (b == NULL)
        return -1;
    for (size_t i = 0; i < t->bucket_count; i++) {
        struct open_message *o = t->buckets[i], *next;
        for (; o != NULL; o = next) {
            next = o->hash_next;
            o->hash_next = b[o->hash & (n - 1)];
            b[o->hash & (n - 1)] = o;
        }
    }
    free(t->buckets);
    t->buckets = b;
    t->bucket_count = n;
    return 0;
}

static void table_remove(struct tracker *t, struct open_message *o)
{
    struct open_message **pp = &t->buckets[o->hash & (t->bucket_count - 1)];

    while (*pp != NULL && *pp != o)
        pp = &(*pp)->hash_next;
    if (*pp == o)
        *pp = o->hash_next;
    lru_unlink(t, o);
    t->open_count--;
}

void track_open_free(struct open_message *o)
{
    free(o->lines);
    free(o->deferred);
    free(o);
}

/* Hands the message (and its pending lines) to the sink. */
static int store_message(struct tracker *t, struct open_message *o, struct err *e)
{
    o->m.new_lines = o->lines_len ? o->lines : NULL;
    o->m.new_lines_len = o->lines_len;
    if (t->sink.put_message(t->sink.ctx, &o->m, e) != 0)
        return -1;
    o->m.stored = true;
    o->lines_len = 0;
    o->m.new_lines = NULL;
    o->m.new_lines_len = 0;
    o->dirty = false;
    return 0;
}

/* Gives the message its id (stored later, by track_flush() at the latest). */
static int ensure_id(struct tracker *t, struct open_message *o, struct err *e)
{
    if (o->m.id != 0)
        return 0;
    if (t->sink.reserve_message_id == NULL)
        return store_message(t, o, e);
    return t->sink.reserve_message_id(t->sink.ctx, &o->m.id, e);
}

/* Flushes and drops o from memory. */
static int retire(struct tracker *t, struct open_message *o, struct err *e)
{
    int rc = 0;

    if (o->dirty || !o->m.stored || o->lines_len > 0)
        rc = store_message(t, o, e);
    table_remove(t, o);
    track_open_free(o);
    return rc;
}

struct open_message *track_open_new(uint64_t hash, struct slice host, struct slice queue_id,
                                    int64_t now)
{
    struct open_message *o = calloc(1, sizeof *o);

    if (o == NULL)
        return NULL;
    o->hash = hash;
    copy_text(o->m.host, sizeof o->m.host, host);
    copy_text(o->m.queue_id, sizeof o->m.queue_id, queue_id);
    o->m.first_seen = o->m.last_seen = now;
    o->m.size = -1;
    o->m.nrcpt = -1;
    o->m.local_uid = -1;
    o->pickup_uid = -1;
    o->dirty = true;
    return o;
}

int track_table_insert(struct tracker *t, struct open_message *o, struct err *e)
{
    if (t->open_count + 1 > t->bucket_count && table_grow(t) != 0)
        return err_set(e, "tracker: out of memory");
    o->hash_next = t->buckets[o->hash & (t->bucket_count - 1)];
    t->buckets[o->hash & (t->bucket_count - 1)] = o;
    lru_append(t, o);
    t->open_count++;
    /* Bounded memory: the least recently used message goes back to the store. */
    while (t->open_count > TRACK_OPEN_MAX && t->lru_head != NULL && t->lru_head != o)
        if (retire(t, t->lru_head, e) != 0)
            return -1;
    return 0;
}

/* ---- raw lines ---- */

static void append_line(struct open_message *o, const char *line, size_t len)
{
    uint32_t need;

    if (o->lines_total >= RECORD_LINES_MAX)
        return;
    if (len > RECORD_LINES_MAX - o->lines_total - 1)
        len = RECORD_LINES_MAX - o->lines_total - 1;
    need = o->lines_len + (uint32_t)len + 1;
    if (need > o->lines_cap) {
        uint32_t cap = o->lines_cap ? o->lines_cap * 2 : 512;
        char *p;
        while (cap < need)
            cap *= 2;
        p = realloc(o->lines, cap);
        if (p == NULL)
            return; /* the trace loses a line; the records do not */
        o->lines = p;
        o->lines_cap = cap;
    }
    memcpy(o->lines + o->lines_len, line, len);
    o->lines[o->lines_len + len] = '\n';
    o->lines_len = need;
    o->lines_total += (uint32_t)len + 1;
}

/* ---- lookup / create ---- */

static struct pending_link *pending_slot(struct tracker *t, uint64_t key)
{
    return &t->pending[key % PENDING];
}

static void apply_parent(struct open_message *child, const struct mail_message *parent)
{
    if (child->m.parent_id == parent->id)
        return;
    child->m.parent_id = parent->id;
    memcpy(child->m.parent_queue_id, parent->queue_id, sizeof child->m.parent_queue_id);
    /* The tabs must describe the mail as it arrived, not as the filter re-sent it. */
    memcpy(child->m.client_host, parent->client_host, sizeof child->m.client_host);
    memcpy(child->m.client_ip, parent->client_ip, sizeof child->m.client_ip);
    memcpy(child->m.sasl_method, parent->sasl_method, sizeof child->m.sasl_method);
    memcpy(child->m.sasl_username, parent->sasl_username, sizeof child->m.sasl_username);
    child->m.origin = parent->origin;
    child->m.local_uid = parent->local_uid; /* not the filter's own user */
    child->dirty = true;
}

/* The parent with store id parent_id, no longer in memory (retired after
 * its `removed`, or a run ended in between), as the store has it: its
 * client and origin go to child. Leaves child as it is when the sink cannot
 * say or the parent is gone. */
static int apply_stored_parent(struct tracker *t, struct open_message *child, int64_t parent_id,
                               struct err *e)
{
    struct mail_message parent;
    int found;

    if (t->sink.load_message == NULL)
        return 0;
    if ((found = t->sink.load_message(t->sink.ctx, parent_id, &parent, e)) < 0)
        return -1;
    if (found == 1)
        apply_parent(child, &parent);
    return 0;
}

/*
 * The open message for (host, queue id): in memory, else from the sink, else
 * a new one when create is set. A message left open longer than Postfix
 * keeps mail is not continued: the id has been reused.
 */
static int lookup(struct tracker *t, const struct event *ev, struct slice queue_id, bool create,
                  struct open_message **out, struct err *e)
{
    struct slice host = ev->header.host;
    uint64_t hash = track_hash_key(host, queue_id);
    struct open_message *o = track_table_find(t, hash, host, queue_id);
    char host_z[RECORD_HOST_MAX], qid_z[RECORD_QID_MAX];
    int found;

    *out = NULL;
    if (o != NULL && o->m.closed) {
        /* a line after `removed`: the queue id has been reused */
        if (retire(t, o, e) != 0)
            return -1;
        o = NULL;
    }
    if (o != NULL) {
        lru_unlink(t, o);
        lru_append(t, o);
        *out = o;
        return 0;
    }
    o = track_open_new(hash, host, queue_id, ev->header.time);
    if (o == NULL)
        return err_set(e, "tracker: out of memory");
    copy_text(host_z, sizeof host_z, host);
    copy_text(qid_z, sizeof qid_z, queue_id);
    found = t->sink.find_open_message(t->sink.ctx, host_z, qid_z, &o->m, e);
    if (found < 0) {
        track_open_free(o);
        return -1;
    }
    if (found == 1)
        o->m.stored = true;
    if (found == 1 && ev->header.time - o->m.last_seen <= QUEUE_LIFETIME) {
        o->dirty = false;
        o->started = true;
        o->m.new_lines = NULL;
        o->m.new_lines_len = 0;
    } else {
        if (found == 1) {
            /* stale: close the old life in the store, then start afresh */
            o->m.closed = true;
            o->m.new_lines = NULL;
            o->m.new_lines_len = 0;
            if (t->sink.put_message(t->sink.ctx, &o->m, e) != 0) {
                track_open_free(o);
                return -1;
            }
            memset(&o->m, 0, sizeof o->m);
            copy_text(o->m.host, sizeof o->m.host, host);
            copy_text(o->m.queue_id, sizeof o->m.queue_id, queue_id);
            o->m.first_seen = o->m.last_seen = ev->header.time;
            o->m.size = -1;
            o->m.nrcpt = -1;
            o->m.local_uid = -1;
        }
        if (!create) {
            track_open_free(o);
            return 0;
        }
        o->dirty = true;
        t->counts.messages++;
    }
    if (track_table_insert(t, o, e) != 0)
        return -1;
    {
        struct pending_link *p = pending_slot(t, hash);
        if (p->key == hash && p->parent_id != 0 && ev->header.time - p->time <= REINJECT_WINDOW) {
            struct slice parent_qid = slice_make(p->parent_queue_id, strlen(p->parent_queue_id));
            struct open_message *parent =
                track_table_find(t, track_hash_key(host, parent_qid), host, parent_qid);

            if (parent != NULL && parent->m.id == p->parent_id) {
                apply_parent(o, &parent->m);
            } else if (apply_stored_parent(t, o, p->parent_id, e) < 0) {
                return -1;
            } else if (o->m.parent_id != p->parent_id) { /* gone: linked, its client unknown */
                o->m.parent_id = p->parent_id;
                memcpy(o->m.parent_queue_id, p->parent_queue_id, sizeof o->m.parent_queue_id);
            }
            p->key = 0;
        }
    }
    *out = o;
    return 0;
}

/* Queue-id reuse: a second client=/pickup for a live id starts a new life. */
static int start_life(struct tracker *t, const struct event *ev, struct open_message **o,
                      struct err *e)
{
    if ((*o)->started) {
        (*o)->m.closed = true;
        (*o)->dirty = true;
        if (retire(t, *o, e) != 0)
            return -1;
        if (lookup(t, ev, ev->queue_id, true, o, e) != 0)
            return -1;
    }
    (*o)->started = true;
    return 0;
}

/* ---- deliveries ---- */

static void remember_deferred(struct open_message *o, const struct mail_delivery *d)
{
    for (int i = 0; i < o->deferred_count; i++) {
        if (strcmp(o->deferred[i].recipient, d->recipient) == 0) {
            o->deferred[i] = *d;
            return;
        }
    }
    if (o->deferred_count >= DEFERRED_MAX)
        return;
    if (o->deferred == NULL) {
        o->deferred = calloc(DEFERRED_MAX, sizeof *o->deferred);
        if (o->deferred == NULL)
            return;
    }
    o->deferred[o->deferred_count++] = *d;
}

static void forget_deferred(struct open_message *o, const char *recipient)
{
    for (int i = 0; i < o->deferred_count; i++) {
        if (strcmp(o->deferred[i].recipient, recipient) == 0) {
            o->deferred[i] = o->deferred[--o->deferred_count];
            return;
        }
    }
}

static int put_delivery(struct tracker *t, struct open_message *o, struct mail_delivery *d,
                        struct err *e)
{
    if (ensure_id(t, o, e) != 0)
        return -1;
    d->message_id = o->m.id;
    if (d->is_hop)
        t->counts.hops++;
    else
        t->counts.deliveries[d->status]++;
    if (d->status == DELIVERY_DEFERRED)
        remember_deferred(o, d);
    else
        forget_deferred(o, d->recipient);
    return t->sink.put_delivery(t->sink.ctx, &o->m, d, e);
}

static void fill_delivery(struct mail_delivery *d, const struct event *ev)
{
    memset(d, 0, sizeof *d);
    d->time = ev->header.time;
    copy_text(d->recipient, sizeof d->recipient, ev->to);
    copy_text(d->orig_to, sizeof d->orig_to, ev->orig_to);
    copy_text(d->relay, sizeof d->relay, ev->relay);
    copy_text(d->service, sizeof d->service, ev->header.daemon);
    copy_text(d->dsn, sizeof d->dsn, ev->dsn);
    copy_text(d->status_text, sizeof d->status_text, ev->text);
    d->delay = ev->delay;
    d->status = ev->status;
    d->attempts = 1;
}

/* relay "host[ip]:port" → ip, or "" */
static void relay_ip(const char *relay, char *ip, size_t size)
{
    const char *open = strchr(relay, '['), *close;

    ip[0] = '\0';
    if (open == NULL || (close = strchr(open, ']')) == NULL)
        return;
    copy_ip(ip, size, slice_make(open + 1, (size_t)(close - open - 1)));
}

/* The message (host of ev, queue_id) as the store has it when it was seen
 * within REINJECT_WINDOW, into memory: a filter's copy can be delivered and
 * removed before the "queued as" line names it, and a run of the ingest can
 * end in between. */
static int load_recent(struct tracker *t, const struct event *ev, struct slice queue_id,
                       uint64_t hash, struct open_message **out, struct err *e)
{
    char host_z[RECORD_HOST_MAX], qid_z[RECORD_QID_MAX];
    struct open_message *o;
    int found;

    *out = NULL;
    if (t->sink.find_recent_message == NULL)
        return 0;
    o = track_open_new(hash, ev->header.host, queue_id, ev->header.time);
    if (o == NULL)
        return err_set(e, "tracker: out of memory");
    copy_text(host_z, sizeof host_z, ev->header.host);
    copy_text(qid_z, sizeof qid_z, queue_id);
    found = t->sink.find_recent_message(t->sink.ctx, host_z, qid_z,
                                        ev->header.time - REINJECT_WINDOW, &o->m, e);
    if (found != 1) {
        track_open_free(o);
        return found < 0 ? -1 : 0;
    }
    o->dirty = false;
    o->started = true;
    if (track_table_insert(t, o, e) != 0)
        return -1;
    *out = o;
    return 0;
}

/* "queued as NEWQID" from a relay on this host: the mail went through a
 * content filter or another instance and comes back as NEWQID. */
static int link_reinjection(struct tracker *t, const struct event *ev, struct open_message *o,
                            struct mail_delivery *d, struct err *e)
{
    char ip[RECORD_IP_MAX];
    struct slice host = ev->header.host;
    uint64_t hash = track_hash_key(host, ev->new_queue_id);
    struct open_message *child = track_table_find(t, hash, host, ev->new_queue_id);

    relay_ip(d->relay, ip, sizeof ip);
    if (child == NULL && ip_is_loopback_text(ip) &&
        load_recent(t, ev, ev->new_queue_id, hash, &child, e) != 0)
        return -1;
    if (child != NULL && child != o &&
        (ip_is_loopback_text(ip) || (ip[0] != '\0' && strcmp(child->m.client_ip, ip) == 0) ||
         (child->m.parent_id == 0 && ip_is_loopback_text(child->m.client_ip)))) {
        if (ensure_id(t, o, e) != 0)
            return -1;
        apply_parent(child, &o->m);
        d->is_hop = true;
    } else if (child == NULL && ip_is_loopback_text(ip)) {
        struct pending_link *p = pending_slot(t, hash);
        if (ensure_id(t, o, e) != 0)
            return -1;
        p->key = hash;
        p->parent_id = o->m.id;
        memcpy(p->parent_queue_id, o->m.queue_id, sizeof p->parent_queue_id);
        p->time = ev->header.time;
        d->is_hop = true;
    }
    return 0;
}

/* Pipe transports that store mail in a mailbox. A copy that comes back
 * through pickup after one of these is a new mail (a Sieve redirect, a
 * vacation reply), not the same mail re-injected by a filter. */
static const struct word final_pipe_transports[] = {
    WORD("dovecot"),  WORD("dovecot-lda"), WORD("plesk_virtual"), WORD("maildrop"), WORD("cyrus"),
    WORD("procmail"), WORD("deliver"),     WORD("lda"),           WORD("mailman"),  WORD("uucp"),
    {NULL, 0}};

static uint64_t msgid_hash_of(const struct mail_message *m)
{
    return track_hash_bytes(14695981039346656037ULL, m->message_id, strlen(m->message_id));
}

/* The open message with hash key and store id id, or NULL. */
static struct open_message *open_by_id(struct tracker *t, uint64_t key, int64_t id)
{
    for (struct open_message *c = t->buckets[key & (t->bucket_count - 1)]; c != NULL;
         c = c->hash_next)
        if (c->hash == key && c->m.id == id)
            return c;
    return NULL;
}

/* A pipe delivery to a filter (bogofilter, spamassassin, …): a hand-over
 * when the mail came back through pickup with the same Message-ID. The
 * filter is run once per batch of recipients and each run re-sends one
 * copy: every copy seen so far is linked, and once one has come back, every
 * delivery of the mail to that filter is a hand-over. When none has come
 * back yet, the delivery is final until one does (link_pipe_parent()). */
/* True when copy c (from pickup) can be the re-sent copy of parent's filter:
 * the same user re-sends every copy, so a Sieve redirect or vacation reply
 * (another user, the same Message-ID) is not taken for one. */
static bool filter_copy_fits(const struct open_message *parent, const struct open_message *c)
{
    return !parent->filter_uid_known || c->pickup_uid < 0 || c->pickup_uid == parent->filter_uid;
}

static void filter_copy_link(struct open_message *parent, struct open_message *c)
{
    apply_parent(c, &parent->m);
    parent->filter_children++;
    if (!parent->filter_uid_known && c->pickup_uid >= 0) {
        parent->filter_uid = c->pickup_uid;
        parent->filter_uid_known = true;
    }
}

static int link_pipe_reinjection(struct tracker *t, const struct event *ev, struct open_message *o,
                                 struct mail_delivery *d, struct err *e)
{
    uint64_t msgid_hash;
    bool linked = false;

    if (o->m.message_id[0] == '\0' || slice_in_words(ev->relay, final_pipe_transports))
        return 0;
    if (ensure_id(t, o, e) != 0)
        return -1;
    if (o->filter_batches == 0 || ev->header.pid != o->filter_pid || ev->delay != o->filter_delay) {
        o->filter_batches++;
        o->filter_pid = ev->header.pid;
        o->filter_delay = ev->delay;
    }
    msgid_hash = msgid_hash_of(&o->m);
    /* newest first: the copy of this run came back last */
    for (unsigned n = 1; n <= PICKUPS && o->filter_children < o->filter_batches; n++) {
        struct pickup *p = &t->pickups[(t->pickup_next - n) % PICKUPS];
        if (p->msgid_hash != msgid_hash || ev->header.time - p->time > REINJECT_WINDOW)
            continue;
        for (struct open_message *c = t->buckets[p->key & (t->bucket_count - 1)]; c != NULL;
             c = c->hash_next) {
            if (c->hash == p->key && c != o && c->m.parent_id == 0 &&
                strcmp(c->m.message_id, o->m.message_id) == 0 && filter_copy_fits(o, c) &&
                o->filter_children < o->filter_batches) {
                filter_copy_link(o, c);
                linked = true;
            }
        }
    }
    if (linked)
        copy_text(o->filter_relay, sizeof o->filter_relay, ev->relay);
    if (o->filter_relay[0] != '\0' && slice_eq(ev->relay, o->filter_relay)) {
        d->is_hop = true;
    } else {
        o->filter_unlinked++;
        copy_text(o->unlinked_relay, sizeof o->unlinked_relay, ev->relay);
    }
    {
        struct pipe_hand *last = &t->pipe_hands[(t->pipe_hand_next - 1) % PICKUPS];
        if (last->key != o->hash || last->parent_id != o->m.id) {
            struct pipe_hand *h = &t->pipe_hands[t->pipe_hand_next++ % PICKUPS];
            h->msgid_hash = msgid_hash;
            h->key = o->hash;
            h->parent_id = o->m.id;
        }
        t->pipe_hands[(t->pipe_hand_next - 1) % PICKUPS].time = ev->header.time;
    }
    return 0;
}

/* A copy from pickup whose Message-ID a pipe filter was handed moments ago:
 * the child of that mail, whose deliveries to the filter, stored as final
 * so far, become hand-overs. */
static int link_pipe_parent(struct tracker *t, struct open_message *child, struct err *e)
{
    uint64_t msgid_hash = msgid_hash_of(&child->m);

    for (unsigned n = 1; n <= PICKUPS; n++) {
        struct pipe_hand *h = &t->pipe_hands[(t->pipe_hand_next - n) % PICKUPS];
        struct open_message *parent;
        int64_t gap = child->m.last_seen - h->time;

        if (h->msgid_hash != msgid_hash || gap > REINJECT_WINDOW || gap < -REINJECT_WINDOW)
            continue;
        parent = open_by_id(t, h->key, h->parent_id);
        if (parent == NULL || parent == child ||
            strcmp(parent->m.message_id, child->m.message_id) != 0 ||
            parent->filter_children >= parent->filter_batches || !filter_copy_fits(parent, child))
            continue;
        filter_copy_link(parent, child);
        if (parent->filter_unlinked > 0) {
            if (t->sink.mark_hops != NULL &&
                t->sink.mark_hops(t->sink.ctx, &parent->m, parent->unlinked_relay, e) != 0)
                return -1;
            /* this run's counts: the deliveries may have been counted by an earlier run */
            uint64_t counted = t->counts.deliveries[DELIVERY_SENT];
            t->counts.deliveries[DELIVERY_SENT] -=
                counted < parent->filter_unlinked ? counted : parent->filter_unlinked;
            t->counts.hops += parent->filter_unlinked;
            parent->filter_unlinked = 0;
            memcpy(parent->filter_relay, parent->unlinked_relay, sizeof parent->filter_relay);
        }
        return 0;
    }
    return 0;
}

static void remember_pickup(struct tracker *t, struct open_message *o)
{
    struct pickup *p = &t->pickups[t->pickup_next++ % PICKUPS];

    p->msgid_hash = msgid_hash_of(&o->m);
    p->key = o->hash;
    p->time = o->m.last_seen;
}

/* ---- access events ---- */

static int put_access(struct tracker *t, struct access_event *a, struct err *e)
{
    if (a->success)
        t->counts.access_ok++;
    else
        t->counts.access_failed++;
    t->last_access = *a;
    t->last_was_access = true;
    return t->sink.put_access(t->sink.ctx, a, e);
}

static enum access_protocol smtp_protocol(const struct event *ev)
{
    struct slice name = ev->header.syslog_name;
    if (slice_find(name, "submission") >= 0 || slice_find(name, "smtps") >= 0)
        return PROTO_SUBMISSION;
    return PROTO_SMTP;
}

static int login_event(struct tracker *t, const struct event *ev, struct err *e)
{
    struct access_event a;

    memset(&a, 0, sizeof a);
    a.time = ev->header.time;
    copy_text(a.host, sizeof a.host, ev->header.host);
    copy_text(a.user, sizeof a.user, ev->user);
    copy_ip(a.ip, sizeof a.ip, ev->ip);
    a.protocol = ev->family == FAMILY_POSTFIX ? smtp_protocol(ev) : ev->protocol;
    a.success = ev->success != 0;
    copy_text(a.method, sizeof a.method, ev->method);
    copy_text(a.detail, sizeof a.detail, ev->text);
    return put_access(t, &a, e);
}

static struct session *session_of(struct tracker *t, const struct event *ev)
{
    uint64_t host_hash =
        track_hash_bytes(14695981039346656037ULL, ev->header.host.ptr, ev->header.host.len);
    struct session *s = &t->sessions[(host_hash ^ (uint64_t)ev->header.pid) % SESSIONS];

    if (s->host_hash != host_hash || s->pid != ev->header.pid) {
        s->host_hash = host_hash;
        s->pid = ev->header.pid;
        s->user_hash = 0;
    }
    s->time = ev->header.time;
    return s;
}

/* SMTP AUTH: one access event per authenticated connection. */
static int sasl_login(struct tracker *t, const struct event *ev, const struct mail_message *m,
                      struct err *e)
{
    struct session *s = session_of(t, ev);
    uint64_t user_hash =
        track_hash_bytes(1469598103934665603ULL, ev->sasl_username.ptr, ev->sasl_username.len);
    struct access_event a;

    if (s->user_hash == user_hash)
        return 0;
    s->user_hash = user_hash;
    memset(&a, 0, sizeof a);
    a.time = ev->header.time;
    copy_text(a.host, sizeof a.host, ev->header.host);
    copy_text(a.user, sizeof a.user, ev->sasl_username);
    memcpy(a.ip, m->client_ip, sizeof a.ip);
    a.protocol = smtp_protocol(ev);
    a.success = true;
    copy_text(a.method, sizeof a.method, ev->sasl_method);
    return put_access(t, &a, e);
}

/* ---- per-kind handlers ---- */

static int on_client(struct tracker *t, const struct event *ev, const char *line, size_t len,
                     struct err *e)
{
    struct open_message *o;

    if (lookup(t, ev, ev->queue_id, true, &o, e) != 0 || start_life(t, ev, &o, e) != 0)
        return -1;
    /* A copy already linked to its parent (the filter's "queued as" line came
     * first) describes the mail as it arrived: the filter's connection back
     * from localhost does not replace the parent's client. */
    if (o->m.parent_id == 0 || o->m.client_ip[0] == '\0') {
        copy_text(o->m.client_host, sizeof o->m.client_host, ev->client_host);
        copy_ip(o->m.client_ip, sizeof o->m.client_ip, ev->client_ip);
        copy_text(o->m.sasl_method, sizeof o->m.sasl_method, ev->sasl_method);
        copy_text(o->m.sasl_username, sizeof o->m.sasl_username, ev->sasl_username);
    }
    if (o->m.parent_id == 0)
        o->m.origin = origin_of(&o->m);
    o->dirty = true;
    append_line(o, line, len);
    if (ev->sasl_username.len > 0 && sasl_login(t, ev, &o->m, e) != 0)
        return -1;
    return 0;
}

static int on_reject(struct tracker *t, const struct event *ev, const char *line, size_t len,
                     struct err *e)
{
    struct open_message *o;
    struct mail_delivery d;
    int rc;

    if (ev->queue_id.len > 0) {
        if (lookup(t, ev, ev->queue_id, true, &o, e) != 0)
            return -1;
        append_line(o, line, len);
        if (o->m.sender[0] == '\0' && ev->from.len > 0)
            copy_text(o->m.sender, sizeof o->m.sender, ev->from);
        o->dirty = true;
        fill_delivery(&d, ev);
        return put_delivery(t, o, &d, e);
    }
    /* NOQUEUE: a message of its own, closed at once. */
    o = track_open_new(0, ev->header.host, slice_make("", 0), ev->header.time);
    if (o == NULL)
        return err_set(e, "tracker: out of memory");
    t->counts.messages++;
    copy_text(o->m.client_host, sizeof o->m.client_host, ev->client_host);
    copy_ip(o->m.client_ip, sizeof o->m.client_ip, ev->client_ip);
    copy_text(o->m.sender, sizeof o->m.sender, ev->from);
    o->m.origin = origin_of(&o->m);
    o->m.closed = true;
    append_line(o, line, len);
    fill_delivery(&d, ev);
    rc = put_delivery(t, o, &d, e);
    if (rc == 0 && o->dirty)
        rc = store_message(t, o, e);
    track_open_free(o);
    return rc;
}

static int on_delivery(struct tracker *t, const struct event *ev, struct open_message *o,
                       struct err *e)
{
    struct mail_delivery d;

    fill_delivery(&d, ev);
    if (ev->status == DELIVERY_SENT && ev->new_queue_id.len > 0 &&
        slice_find(ev->text, "queued as ") >= 0) {
        if (link_reinjection(t, ev, o, &d, e) != 0)
            return -1;
    } else if (ev->status == DELIVERY_SENT && slice_eq(ev->header.daemon, "pipe")) {
        if (link_pipe_reinjection(t, ev, o, &d, e) != 0)
            return -1;
    }
    return put_delivery(t, o, &d, e);
}

static int on_expired(struct tracker *t, const struct event *ev, struct open_message *o,
                      struct err *e)
{
    /* The sender is on this line too: qmgr's first line may be in a log
     * already rotated away. */
    if (o->m.sender[0] == '\0' && ev->from.len > 0) {
        copy_text(o->m.sender, sizeof o->m.sender, ev->from);
        o->dirty = true;
    }
    /* A mail expires days after its deferrals, so they were mostly stored by
     * earlier runs: the store knows them all, this tracker only its own. */
    if (t->sink.expire_deferred != NULL) {
        int n;

        if (ensure_id(t, o, e) != 0 ||
            (n = t->sink.expire_deferred(t->sink.ctx, &o->m, ev->header.time, e)) < 0)
            return -1;
        t->counts.deliveries[DELIVERY_EXPIRED] += (uint64_t)n;
        o->deferred_count = 0;
        return 0;
    }
    /* Every recipient still deferred has now given up. */
    while (o->deferred_count > 0) {
        struct mail_delivery d = o->deferred[--o->deferred_count];
        char last[RECORD_TEXT_MAX];

        memcpy(last, d.status_text, sizeof last);
        snprintf(d.status_text, sizeof d.status_text, "expired, returned to sender (last: %s)",
                 last);
        d.status = DELIVERY_EXPIRED;
        d.time = ev->header.time;
        d.attempts = 1;
        if (put_delivery(t, o, &d, e) != 0)
            return -1;
    }
    return 0;
}

static int on_notify(struct tracker *t, const struct event *ev, struct open_message *o,
                     struct err *e)
{
    struct open_message *dsn;

    if (ensure_id(t, o, e) != 0)
        return -1;
    if (lookup(t, ev, ev->new_queue_id, true, &dsn, e) != 0)
        return -1;
    if (dsn != NULL && dsn != o) {
        dsn->m.dsn_of = o->m.id;
        dsn->dirty = true;
    }
    return 0;
}

static int on_queue_line(struct tracker *t, const struct event *ev, const char *line, size_t len,
                         struct err *e)
{
    struct open_message *o;

    if (lookup(t, ev, ev->queue_id, ev->kind != EV_REMOVED, &o, e) != 0)
        return -1;
    if (o == NULL)
        return 0; /* "removed" of a message we never saw */
    append_line(o, line, len);
    o->m.last_seen = ev->header.time;
    o->dirty = true;
    switch (ev->kind) {
    case EV_MESSAGE_ID:
        copy_text(o->m.message_id, sizeof o->m.message_id, ev->message_id);
        if (o->m.origin == ORIGIN_LOCAL && o->m.client_ip[0] == '\0' && o->m.parent_id == 0 &&
            o->m.message_id[0] != '\0') {
            remember_pickup(t, o);
            return link_pipe_parent(t, o, e);
        }
        return 0;
    case EV_QUEUED:
        copy_text(o->m.sender, sizeof o->m.sender, ev->from);
        if (ev->size >= 0)
            o->m.size = ev->size;
        if (ev->nrcpt >= 0)
            o->m.nrcpt = (int)ev->nrcpt;
        return 0;
    case EV_PICKUP:
        if (start_life(t, ev, &o, e) != 0)
            return -1;
        if (o->lines_len == 0)
            append_line(o, line, len);
        copy_text(o->m.sender, sizeof o->m.sender, ev->from);
        o->m.origin = ORIGIN_LOCAL;
        o->pickup_uid = ev->uid;
        if (o->m.parent_id == 0)
            o->m.local_uid = ev->uid;
        return 0;
    case EV_DELIVERY:
        return on_delivery(t, ev, o, e);
    case EV_EXPIRED:
        return on_expired(t, ev, o, e);
    case EV_NOTIFY:
        return on_notify(t, ev, o, e);
    case EV_REMOVED:
        /* Stored as closed, but kept a little while (evicted first): a content
         * filter's "queued as" line can name this id after its whole life. */
        o->m.closed = true;
        if (store_message(t, o, e) != 0)
            return -1;
        lru_unlink(t, o);
        lru_prepend(t, o);
        return 0;
    default:
        return 0;
    }
}

/* ---- public ---- */

struct tracker *track_new(const struct track_sink *sink)
{
    struct tracker *t = calloc(1, sizeof *t);

    if (t == NULL)
        return NULL;
    t->sink = *sink;
    t->bucket_count = 1024;
    t->buckets = calloc(t->bucket_count, sizeof *t->buckets);
    if (t->buckets == NULL) {
        free(t);
        return NULL;
    }
    parser_init(&t->parser, (int64_t)time(NULL));
    return t;
}

void track_free(struct tracker *t)
{
    if (t == NULL)
        return;
    while (t->lru_head != NULL) {
        struct open_message *o = t->lru_head;
        table_remove(t, o);
        track_open_free(o);
    }
    free(t->buckets);
    free(t);
}

void track_set_reference_time(struct tracker *t, int64_t reference)
{
    /* where the last file's stamps stopped: the repeated hour at the end of
     * summer time can straddle two files or runs */
    int64_t last = t->parser.clock.classic_last;

    parser_init(&t->parser, reference);
    t->parser.clock.classic_last = last;
}

static int replay_repeated(struct tracker *t, long count, struct err *e)
{
    struct access_event a = t->last_access;

    if (!t->last_was_access)
        return 0;
    for (long i = 0; i < count && i < 1000; i++)
        if (put_access(t, &a, e) != 0)
            return -1;
    return 0;
}

static void count_unknown(struct track_counts *c, struct slice program)
{
    int i;

    if (program.len >= sizeof c->unknown_by_program[0].program)
        program.len = sizeof c->unknown_by_program[0].program - 1;
    for (i = 0; i < c->unknown_programs; i++)
        if (slice_eq(program, c->unknown_by_program[i].program))
            break;
    if (i == c->unknown_programs) {
        if (i == TRACK_PROGRAMS_MAX) {
            i = TRACK_PROGRAMS_MAX - 1;
            strcpy(c->unknown_by_program[i].program, "other");
        } else {
            slice_copy(c->unknown_by_program[i].program, sizeof c->unknown_by_program[i].program,
                       program);
            c->unknown_programs++;
        }
    }
    c->unknown_by_program[i].count++;
}

int track_line(struct tracker *t, const char *line, size_t len, struct err *e)
{
    struct event ev;
    bool was_access = t->last_was_access;

    t->counts.lines++;
    parse_line(&t->parser, line, len, &ev);
    t->last_was_access = false;
    if (ev.family == FAMILY_NONE) {
        t->counts.lines_unrecognized++;
        count_unknown(&t->counts, slice_make("-", 1));
        return 0;
    }
    if (ev.family != FAMILY_OTHER)
        t->counts.lines_mail++;
    if (ev.header.time > t->latest_time)
        t->latest_time = ev.header.time;
    switch (ev.kind) {
    case EV_UNKNOWN:
        t->counts.lines_unrecognized++;
        count_unknown(&t->counts, ev.header.daemon);
        return 0;
    case EV_IGNORED:
        return 0;
    case EV_CONNECT:
        session_of(t, &ev)->user_hash = 0;
        return 0;
    case EV_REPEATED:
        t->last_was_access = was_access;
        return replay_repeated(t, ev.count, e);
    case EV_LOGIN:
        return login_event(t, &ev, e);
    case EV_CLIENT:
        return on_client(t, &ev, line, len, e);
    case EV_REJECT:
        return on_reject(t, &ev, line, len, e);
    default:
        return on_queue_line(t, &ev, line, len, e);
    }
}

static int save_state(struct tracker *t, struct err *e)
{
    unsigned char *data;
    size_t len;
    int rc;

    if (t->sink.save_state == NULL)
        return 0;
    if (track_state_encode(t, &data, &len) != 0)
        return err_set(e, "tracker: out of memory");
    rc = t->sink.save_state(t->sink.ctx, data, len, e);
    free(data);
    return rc;
}

int track_flush(struct tracker *t, struct err *e)
{
    struct open_message *o, *next;

    for (o = t->lru_head; o != NULL; o = next) {
        next = o->lru_next;
        if (o->m.closed && t->latest_time - o->m.last_seen > REINJECT_WINDOW) {
            if (retire(t, o, e) != 0)
                return -1;
        } else if ((o->dirty || o->lines_len > 0 || !o->m.stored) && store_message(t, o, e) != 0) {
            return -1;
        }
    }
    return save_state(t, e);
}

const struct track_counts *track_counts(const struct tracker *t)
{
    return &t->counts;
}

size_t track_open_count(const struct tracker *t)
{
    return t->open_count;
}
