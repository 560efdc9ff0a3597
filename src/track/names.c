/*
 * names.c — the stable names of the record.h enums, as stored in the
 * database and shown by the API and the CLI.
 */
#include "track/record.h"

#include <string.h>

static const char *const status_names[DELIVERY_STATUS_COUNT] = {"sent",    "deferred", "bounced",
                                                                "expired", "rejected", "discarded"};
static const char *const origin_names[ORIGIN_COUNT] = {"remote", "sasl", "local"};
static const char *const protocol_names[PROTO_COUNT] = {"imap", "pop3", "smtp", "submission",
                                                        "managesieve"};

const char *delivery_status_name(enum delivery_status status)
{
    return (unsigned)status < DELIVERY_STATUS_COUNT ? status_names[status] : NULL;
}

int delivery_status_from_name(const char *name)
{
    for (int i = 0; i < DELIVERY_STATUS_COUNT; i++)
        if (strcmp(name, status_names[i]) == 0)
            return i;
    return -1;
}

const char *message_origin_name(enum message_origin origin)
{
    return (unsigned)origin < ORIGIN_COUNT ? origin_names[origin] : NULL;
}

const char *access_protocol_name(enum access_protocol protocol)
{
    return (unsigned)protocol < PROTO_COUNT ? protocol_names[protocol] : NULL;
}

int access_protocol_from_name(const char *name)
{
    for (int i = 0; i < PROTO_COUNT; i++)
        if (strcmp(name, protocol_names[i]) == 0)
            return i;
    return -1;
}
