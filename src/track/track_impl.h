/*
 * track_impl.h — the tracker's data structures, shared by track.c (the
 * correlation) and state.c (what of it a later run needs). Private to
 * src/track: everything else goes through track.h.
 */
#ifndef MAILLOG_TRACK_TRACK_IMPL_H
#define MAILLOG_TRACK_TRACK_IMPL_H

#include "parse/event.h"
#include "track/track.h"
#include "util/slice.h"

#include <stdbool.h>
#include <stdint.h>

#define DEFERRED_MAX 32
#define SESSIONS 4096
#define PENDING 4096
#define PICKUPS 256
#define REINJECT_WINDOW 300        /* seconds between a re-injected child and its parent's line */
#define QUEUE_LIFETIME (6 * 86400) /* Postfix's maximal_queue_lifetime (5d) + slack */

struct open_message {
    struct mail_message m;
    uint64_t hash;
    struct open_message *hash_next;
    struct open_message *lru_prev, *lru_next;
    char *lines; /* unflushed raw lines */
    uint32_t lines_len, lines_cap;
    uint32_t lines_total;           /* bytes handed over or pending, for the cap */
    struct mail_delivery *deferred; /* copies of currently deferred recipients */
    int deferred_count;
    bool dirty;
    bool started; /* a client=/pickup line was seen: another one means reuse */
    /* Pipe filters (bogofilter, …) that re-inject the mail through pickup:
     * filter_relay is the one this mail is known to have come back from (its
     * deliveries to it are hand-overs); filter_unlinked counts the deliveries
     * to unlinked_relay stored as final before the copy was seen. The filter
     * runs once per batch of recipients (one pipe pid) and re-sends one copy
     * a run: a mail takes no more copies than it had batches. */
    char filter_relay[32];
    char unlinked_relay[32];
    uint32_t filter_unlinked;
    long filter_pid;       /* the latest batch: one pipe run, whose lines share */
    double filter_delay;   /* its pid and delay (a pid can run twice) */
    long filter_uid;       /* the user the filter re-sends as (pickup uid=), */
    bool filter_uid_known; /* learnt from its first copy */
    uint32_t filter_batches, filter_children;
    long pickup_uid; /* a copy from pickup: its uid=, -1 unknown */
};

struct session {
    uint64_t host_hash;
    long pid;
    uint64_t user_hash;
    int64_t time; /* of its latest line */
};

struct pending_link {
    uint64_t key; /* hash of (host, new queue id) */
    int64_t parent_id;
    int64_t time;
    char parent_queue_id[RECORD_QID_MAX];
};

struct pickup {
    uint64_t msgid_hash;
    uint64_t key; /* hash of (host, queue id) */
    int64_t time;
};

/* A mail handed to a pipe filter: its copy may come back through pickup
 * after the pipe line (the filter logs when it has re-sent it). */
struct pipe_hand {
    uint64_t msgid_hash;
    uint64_t key; /* the parent's (host, queue id) hash */
    int64_t parent_id;
    int64_t time;
};

struct tracker {
    struct track_sink sink;
    struct parser parser;
    struct track_counts counts;
    struct open_message **buckets;
    size_t bucket_count;
    size_t open_count;
    struct open_message *lru_head, *lru_tail; /* head = least recently used */
    struct session sessions[SESSIONS];
    struct pending_link pending[PENDING];
    struct pickup pickups[PICKUPS];
    unsigned pickup_next;
    struct pipe_hand pipe_hands[PICKUPS];
    unsigned pipe_hand_next;
    int64_t latest_time;             /* of the newest line seen */
    struct access_event last_access; /* for "message repeated N times" */
    bool last_was_access;
};

/* track.c, for state.c */
uint64_t track_hash_bytes(uint64_t h, const char *p, size_t n);
uint64_t track_hash_key(struct slice host, struct slice queue_id);
struct open_message *track_open_new(uint64_t hash, struct slice host, struct slice queue_id,
                                    int64_t now);
int track_table_insert(struct tracker *t, struct open_message *o, struct err *e);
struct open_message *track_table_find(struct tracker *t, uint64_t hash, struct slice host,
                                      struct slice queue_id);
void track_open_free(struct open_message *o);

/* state.c, for track_flush(): the links a later run needs (see state.c),
 * into *data (malloc'ed, *len bytes). -1 when out of memory. */
int track_state_encode(const struct tracker *t, unsigned char **data, size_t *len);

#endif
