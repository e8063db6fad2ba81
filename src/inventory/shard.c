/*
 * Sharding a fleet over several runners (--shard K/N, docs/scale.md): a target belongs to the
 * shard given by the first four bytes of the SHA-256 of its name, read big-endian, modulo N.
 * The name is the only input, so every runner, machine and pgfleet version agrees, whatever
 * the inventory's order or the selection.
 */
#include "inventory/inventory.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool inv_shard_parse(const char *s, InvShard *out)
{
    char *end;
    if (!s || !*s || *s < '0' || *s > '9')
        return false;
    unsigned long k = strtoul(s, &end, 10);
    if (*end != '/' || end[1] < '0' || end[1] > '9')
        return false;
    unsigned long n = strtoul(end + 1, &end, 10);
    if (*end || n < 1 || n > INV_SHARD_MAX || k >= n)
        return false;
    out->index = (unsigned)k;
    out->count = (unsigned)n;
    return true;
}

uint32_t inv_shard_hash(const char *name)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    if (!EVP_Digest(name, strlen(name), md, &md_len, EVP_sha256(), NULL) || md_len < 4) {
        fprintf(stderr, "pgfleet: sha256 failed\n");
        abort();
    }
    return (uint32_t)md[0] << 24 | (uint32_t)md[1] << 16 | (uint32_t)md[2] << 8 | md[3];
}

unsigned inv_shard_of(const char *name, unsigned count)
{
    return count ? inv_shard_hash(name) % count : 0;
}

void inv_shard_filter(const Inventory *inv, InvShard shard, size_t *idx, size_t *n_idx,
                      size_t *positions)
{
    size_t kept = 0;
    for (size_t i = 0; i < *n_idx; i++)
        if (shard.count == 0 ||
            inv_shard_of(inv->targets[idx[i]].name, shard.count) == shard.index) {
            if (positions)
                positions[kept] = i;
            idx[kept++] = idx[i];
        }
    *n_idx = kept;
}
