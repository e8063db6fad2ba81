/*
 * A growable byte buffer, always NUL-terminated. The buffer owns its data until
 * pf_buf_take() hands it to the caller.
 */
#ifndef PF_CORE_BUF_H
#define PF_CORE_BUF_H

#include <stddef.h>

typedef struct PfBuf {
    char *data;
    size_t len;
    size_t cap;
} PfBuf;

#define PF_BUF_INIT                                                                                \
    {                                                                                              \
        NULL, 0, 0                                                                                 \
    }

void pf_buf_append(PfBuf *b, const void *data, size_t len);
void pf_buf_puts(PfBuf *b, const char *s);
void pf_buf_putc(PfBuf *b, char c);
void pf_buf_printf(PfBuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Returns the data (never NULL; "" when empty) and resets the buffer; caller frees. */
char *pf_buf_take(PfBuf *b);
void pf_buf_free(PfBuf *b);

#endif
