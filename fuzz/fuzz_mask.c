/*
 * Fuzzing password masking: inv_mask_dsn, inv_dsn_secrets and inv_dsn_scrub on any dsn, URL or
 * key=value, with the property of dsn_check.h (the password libpq reads never shows in the
 * masked text) checked on each one.
 *
 * Input: the dsn; a NUL byte ends it, and what follows is a message to scrub with it.
 */
#include "dsn_check.h"
#include "common.h"

#include "inventory/inventory.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, '\0', size);
    size_t dsn_len = nul ? (size_t)(nul - data) : size;
    char *dsn = fz_strndup(data, dsn_len);
    fz_check_dsn(dsn);
    if (nul) {
        char *message = fz_strndup(nul + 1, size - dsn_len - 1);
        free(inv_dsn_scrub(message, dsn));
        free(message);
    }
    free(dsn);
    return 0;
}
