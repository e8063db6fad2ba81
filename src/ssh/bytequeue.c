/*
 * Byte queues: what waits to be written to a socket or an SSH channel (a session's outgoing
 * packets, each link's data in either direction). The hub's loop thread owns every queue; a
 * unit test drives one directly.
 */
#include "ssh/internal.h"

#include "core/mem.h"

#include <stdlib.h>
#include <string.h>

void byteq_push(ByteQ *q, const void *data, size_t len)
{
    if (q->start > 0 && q->start + q->len + len > q->cap) {
        memmove(q->data, q->data + q->start, q->len);
        q->start = 0;
    }
    PF_GROW(q->data, q->cap, q->start + q->len + len);
    memcpy(q->data + q->start + q->len, data, len);
    q->len += len;
}

void byteq_drop(ByteQ *q, size_t n)
{
    q->start += n;
    q->len -= n;
    if (q->len == 0)
        q->start = 0;
}

void byteq_free(ByteQ *q)
{
    free(q->data);
    memset(q, 0, sizeof *q);
}
