/* pgfleet version: pgfleet's version and the libraries it runs with. */
#include "cmd/cmd.h"
#include "inventory/inventory.h"
#include "pg/pg.h"

#include <cjson/cJSON.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>
#include <yaml.h>

int cmd_version(int argc, char **argv)
{
    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("usage: pgfleet version\n\nPrint pgfleet's version and the versions of the "
               "libraries it runs with.\n");
        return PF_EXIT_OK;
    }
    int pq = pg_libpq_version();
    printf("pgfleet %s\n", PGFLEET_VERSION);
    printf("libpq %d.%d, libyaml %s, cJSON %s, %s\n", pq / 10000, pq % 100,
           yaml_get_version_string(), cJSON_Version(), OpenSSL_version(OPENSSL_VERSION));
    printf("plugins: %s\n", inv_plugin_dir());
    return PF_EXIT_OK;
}
