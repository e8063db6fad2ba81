/*
 * Unit tests for src/ssh/ that need no server: OpenSSH-style fingerprints (compared with what
 * `ssh-keygen -lf` printed for the same keys), known_hosts host patterns and lines, key type
 * labels, the byte queue, and a hub that is created, run and stopped without any tunnel use.
 */
#include "core/mem.h"
#include "ssh/internal.h"
#include "ssh/ssh.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* Public keys and the fingerprints `ssh-keygen -lf` printed for them. */
static const char ED25519_B64[] =
    "AAAAC3NzaC1lZDI1NTE5AAAAIJYYKLXnZm4PdV6c7WEbI7XGnPjhrRJqTX7Jbg0Id+Ji";
static const char ED25519_FP[] = "SHA256:28fQBiJHvNIzZ5AtX/lkx4qArOt5SLoOhbfAvUyth9U";
static const char ECDSA_B64[] =
    "AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBES/DpMeBtprH1JjQN+cF7kDUb6Bpv0qlhSnilEz"
    "lyfzK9IbEppRQd2xgYH4chfHWa51HXumE4cTBjWXYedPh8c=";
static const char ECDSA_FP[] = "SHA256:UzZCjhJzjNtlZUGEZupOrkQYnhnQUIMH2rXZujxwks0";

static unsigned char *decode(const char *b64, size_t *len)
{
    size_t n = strlen(b64);
    unsigned char *out = pf_malloc(n);
    int got = EVP_DecodeBlock(out, (const unsigned char *)b64, (int)n);
    assert_true(got > 0);
    if (b64[n - 1] == '=')
        got--;
    if (b64[n - 2] == '=')
        got--;
    *len = (size_t)got;
    return out;
}

static void test_fingerprint(void **state)
{
    size_t len;
    unsigned char *blob = decode(ED25519_B64, &len);
    char fp[SSH_FINGERPRINT_LEN];
    ssh_fingerprint(blob, len, fp);
    assert_string_equal(fp, ED25519_FP);
    assert_null(strchr(fp, '=')); /* no base64 padding, as OpenSSH prints it */
    free(blob);

    blob = decode(ECDSA_B64, &len);
    ssh_fingerprint(blob, len, fp);
    assert_string_equal(fp, ECDSA_FP);
    free(blob);
}

static void test_fingerprint_b64(void **state)
{
    char fp[SSH_FINGERPRINT_LEN];
    assert_true(ssh_fingerprint_b64(ED25519_B64, fp));
    assert_string_equal(fp, ED25519_FP);
    assert_true(ssh_fingerprint_b64(ECDSA_B64, fp)); /* padded */
    assert_string_equal(fp, ECDSA_FP);
    assert_false(ssh_fingerprint_b64("", fp));
    assert_false(ssh_fingerprint_b64("abc", fp));  /* not a multiple of 4 */
    assert_false(ssh_fingerprint_b64("a$c!", fp)); /* not base64 */
}

static void test_key_type_label(void **state)
{
    size_t len;
    unsigned char *blob = decode(ED25519_B64, &len);
    assert_string_equal(ssh_key_type_label(blob, len), "ED25519");
    assert_string_equal(ssh_key_type_label(blob, 3), "UNKNOWN");
    free(blob);
    blob = decode(ECDSA_B64, &len);
    assert_string_equal(ssh_key_type_label(blob, len), "ECDSA");
    free(blob);
    static const unsigned char rsa[] = {0, 0, 0, 7, 's', 's', 'h', '-', 'r', 's', 'a', 0};
    assert_string_equal(ssh_key_type_label(rsa, sizeof rsa), "RSA");
    static const unsigned char bad[] = {0, 0, 1, 0, 's', 's', 'h'}; /* length past the end */
    assert_string_equal(ssh_key_type_label(bad, sizeof bad), "UNKNOWN");
}

static void test_host_pattern(void **state)
{
    char *p = ssh_host_pattern("bastion.example.com", 22);
    assert_string_equal(p, "bastion.example.com");
    free(p);
    p = ssh_host_pattern("127.0.0.1", 2222);
    assert_string_equal(p, "[127.0.0.1]:2222");
    free(p);
}

static void test_known_hosts_line(void **state)
{
    size_t len;
    unsigned char *blob = decode(ED25519_B64, &len);
    char *line = ssh_known_hosts_line("[127.0.0.1]:2222", blob, len);
    char *want = pf_asprintf("[127.0.0.1]:2222 ssh-ed25519 %s\n", ED25519_B64);
    assert_string_equal(line, want);
    free(line);
    free(want);
    assert_null(ssh_known_hosts_line("h", blob, 2));
    free(blob);

    blob = decode(ECDSA_B64, &len);
    line = ssh_known_hosts_line("db-bastion", blob, len);
    want = pf_asprintf("db-bastion ecdsa-sha2-nistp256 %s\n", ECDSA_B64);
    assert_string_equal(line, want);
    free(line);
    free(want);
    free(blob);
}

static void test_byteq(void **state)
{
    ByteQ q = {0};
    byteq_push(&q, "hello ", 6);
    byteq_push(&q, "world", 5);
    assert_int_equal(q.len, 11);
    assert_memory_equal(q.data + q.start, "hello world", 11);
    byteq_drop(&q, 6);
    assert_int_equal(q.len, 5);
    assert_memory_equal(q.data + q.start, "world", 5);
    /* Pushing more than fits after start moves the pending bytes to the front. */
    char big[300];
    memset(big, 'x', sizeof big);
    byteq_push(&q, big, sizeof big);
    assert_int_equal(q.len, 305);
    assert_memory_equal(q.data + q.start, "world", 5);
    assert_int_equal(q.data[q.start + 304], 'x');
    byteq_drop(&q, 305);
    assert_int_equal(q.len, 0);
    assert_int_equal(q.start, 0);
    byteq_free(&q);
    assert_null(q.data);
}

static void *run_hub(void *arg)
{
    ssh_hub_run(arg);
    return NULL;
}

/* A hub with tunnels that are never used opens nothing, and stops when asked. */
static void test_hub_start_stop(void **state)
{
    InvTunnel tunnels[2] = {0};
    tunnels[0].name = "jump";
    tunnels[0].host = "127.0.0.1";
    tunnels[0].port = 1;
    tunnels[0].user = "nobody";
    tunnels[1] = tunnels[0];
    tunnels[1].name = "inner";
    tunnels[1].via = "jump";
    Inventory inv = {0};
    inv.tunnels = tunnels;
    inv.n_tunnels = 2;
    SshHub *hub = NULL;
    PfErr err = {0};
    assert_int_equal(ssh_hub_new(&inv, &hub, &err), PF_OK);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, run_hub, hub), 0);
    ssh_hub_stop(hub);
    assert_int_equal(pthread_join(th, NULL), 0);
    /* After the loop stopped, requests fail at once instead of waiting. */
    SshForward *f = (SshForward *)&f;
    assert_int_equal(ssh_hub_forward(hub, "inner", "db", 5432, &f, &err), PF_ERR_UNREACHABLE);
    assert_null(f);
    assert_string_equal(err.msg, "interrupted: the tunnels are closing");
    ssh_hub_free(hub);
    ssh_hub_free(NULL);
    ssh_forward_close(NULL);
}

/* A bastion that refuses connections: the worker gets the cause, the tunnel stays failed. */
static void test_hub_unreachable(void **state)
{
    InvTunnel t = {0};
    t.name = "down";
    t.host = "127.0.0.1";
    t.port = 1; /* nothing listens on port 1 */
    t.user = "nobody";
    t.connect_timeout_ms = 5000;
    Inventory inv = {0};
    inv.tunnels = &t;
    inv.n_tunnels = 1;
    SshHub *hub = NULL;
    PfErr err = {0};
    assert_int_equal(ssh_hub_new(&inv, &hub, &err), PF_OK);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, run_hub, hub), 0);
    SshForward *f = NULL;
    assert_int_equal(ssh_hub_forward(hub, "down", "db", 5432, &f, &err), PF_ERR_UNREACHABLE);
    assert_string_equal(err.msg, "down: cannot connect to 127.0.0.1 port 1: connection refused");
    assert_int_equal(ssh_hub_forward(hub, "down", "db2", 5432, &f, &err), PF_ERR_UNREACHABLE);
    assert_string_equal(err.msg, "down: cannot connect to 127.0.0.1 port 1: connection refused");
    ssh_hub_stop(hub);
    pthread_join(th, NULL);
    ssh_hub_free(hub);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fingerprint),      cmocka_unit_test(test_fingerprint_b64),
        cmocka_unit_test(test_key_type_label),   cmocka_unit_test(test_host_pattern),
        cmocka_unit_test(test_known_hosts_line), cmocka_unit_test(test_byteq),
        cmocka_unit_test(test_hub_start_stop),   cmocka_unit_test(test_hub_unreachable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
