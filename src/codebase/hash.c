/* sha256 hex digests, and drizzle-orm's migration hash built on them. */
#include "codebase/codebase.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>

void cb_sha256_hex(const void *data, size_t len, char out[65])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;

    /* Only fails when OpenSSL cannot allocate: treated like out-of-memory elsewhere. */
    if (!EVP_Digest(data, len, md, &md_len, EVP_sha256(), NULL) || md_len != 32) {
        fprintf(stderr, "pgfleet: sha256 failed\n");
        abort();
    }
    for (unsigned int i = 0; i < md_len; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 0xF];
    }
    out[64] = '\0';
}

char *cb_drizzle_hash(const char *bytes, size_t len, size_t *text_len, char hash[65])
{
    size_t n;
    char *text = cb_utf8_decode(bytes, len, &n);
    cb_sha256_hex(text, n, hash);
    if (text_len)
        *text_len = n;
    return text;
}
