/*
 * UTF-8 decoding as Node's Buffer.toString('utf8') does it (the WHATWG Encoding Standard
 * decoder): valid sequences are kept byte for byte, and each maximal subpart of an invalid
 * sequence becomes one U+FFFD. drizzle-orm hashes and executes the decoded text, so this is
 * what makes our hashes equal to the ones in its ledger.
 */
#include "codebase/codebase.h"

#include "core/mem.h"

#include <string.h>

static const char replacement[3] = {'\xEF', '\xBF', '\xBD'};

char *cb_utf8_decode(const char *bytes, size_t len, size_t *out_len)
{
    const unsigned char *s = (const unsigned char *)bytes;
    /* Worst case: every byte is invalid and becomes three. */
    char *out = pf_malloc(len * 3 + 1);
    size_t i = 0, o = 0;

    while (i < len) {
        unsigned char b = s[i];
        if (b < 0x80) {
            out[o++] = (char)b;
            i++;
            continue;
        }
        /* Continuations still needed, and the allowed range of the first one: the narrowed
         * ranges after E0, ED, F0 and F4 reject overlongs, surrogates and > U+10FFFF. */
        size_t need;
        unsigned char lo = 0x80, hi = 0xBF;
        if (b >= 0xC2 && b <= 0xDF) {
            need = 1;
        } else if (b >= 0xE0 && b <= 0xEF) {
            need = 2;
            if (b == 0xE0)
                lo = 0xA0;
            else if (b == 0xED)
                hi = 0x9F;
        } else if (b >= 0xF0 && b <= 0xF4) {
            need = 3;
            if (b == 0xF0)
                lo = 0x90;
            else if (b == 0xF4)
                hi = 0x8F;
        } else {
            /* 80..C1 (stray continuation, overlong lead) and F5..FF never start a sequence. */
            memcpy(out + o, replacement, 3);
            o += 3;
            i++;
            continue;
        }
        size_t k = 1;
        while (k <= need && i + k < len && s[i + k] >= lo && s[i + k] <= hi) {
            lo = 0x80;
            hi = 0xBF;
            k++;
        }
        if (k == need + 1) {
            memcpy(out + o, s + i, k);
            o += k;
        } else {
            /* The lead and the continuations accepted so far are one maximal subpart; the
             * byte that broke the sequence (if any) is decoded afresh on the next turn. */
            memcpy(out + o, replacement, 3);
            o += 3;
        }
        i += k;
    }
    out[o] = '\0';
    if (out_len)
        *out_len = o;
    return out;
}
