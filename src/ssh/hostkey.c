/*
 * Host keys: OpenSSH-style SHA256 fingerprints, and the check of a server's key against a
 * known_hosts file (plain and hashed entries, "[host]:port" for ports other than 22) under the
 * tunnel's policy: strict refuses unknown keys, accept-new records them; both refuse a key
 * that differs from the one recorded.
 */
#include "ssh/internal.h"

#include "core/log.h"
#include "core/mem.h"
#include "core/util.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void ssh_fingerprint(const unsigned char *blob, size_t len, char out[SSH_FINGERPRINT_LEN])
{
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256(blob, len, digest);
    unsigned char b64[64];
    int n = EVP_EncodeBlock(b64, digest, (int)sizeof digest);
    while (n > 0 && b64[n - 1] == '=')
        n--;
    snprintf(out, SSH_FINGERPRINT_LEN, "SHA256:%.*s", n, (const char *)b64);
}

bool ssh_fingerprint_b64(const char *b64, char out[SSH_FINGERPRINT_LEN])
{
    size_t len = strlen(b64);
    if (len == 0 || len % 4 != 0 || len > 1 << 16)
        return false;
    unsigned char *blob = pf_malloc(len);
    int n = EVP_DecodeBlock(blob, (const unsigned char *)b64, (int)len);
    if (n < 0) {
        free(blob);
        return false;
    }
    /* EVP_DecodeBlock counts the padding as zero bytes. */
    if (b64[len - 1] == '=')
        n--;
    if (b64[len - 2] == '=')
        n--;
    ssh_fingerprint(blob, (size_t)n, out);
    free(blob);
    return true;
}

/* The first string of a key blob: its type ("ssh-ed25519"); false when malformed. */
static bool blob_type(const unsigned char *blob, size_t len, const char **type, size_t *tlen)
{
    if (len < 4)
        return false;
    size_t n = (size_t)blob[0] << 24 | (size_t)blob[1] << 16 | (size_t)blob[2] << 8 | blob[3];
    if (n == 0 || n > len - 4 || n > 64)
        return false;
    *type = (const char *)blob + 4;
    *tlen = n;
    return true;
}

const char *ssh_key_type_label(const unsigned char *blob, size_t len)
{
    const char *t;
    size_t n;
    if (!blob_type(blob, len, &t, &n))
        return "UNKNOWN";
    if (n == 11 && memcmp(t, "ssh-ed25519", n) == 0)
        return "ED25519";
    if (n >= 10 && memcmp(t, "ecdsa-sha2", 10) == 0)
        return "ECDSA";
    if (n == 7 && memcmp(t, "ssh-rsa", n) == 0)
        return "RSA";
    if (n == 7 && memcmp(t, "ssh-dss", n) == 0)
        return "DSA";
    return "UNKNOWN";
}

char *ssh_host_pattern(const char *host, int port)
{
    return port == 22 ? pf_strdup(host) : pf_asprintf("[%s]:%d", host, port);
}

char *ssh_known_hosts_line(const char *pattern, const unsigned char *blob, size_t len)
{
    const char *type;
    size_t tlen;
    if (!blob_type(blob, len, &type, &tlen))
        return NULL;
    char *b64 = pf_malloc(4 * ((len + 2) / 3) + 1);
    EVP_EncodeBlock((unsigned char *)b64, blob, (int)len);
    char *line = pf_asprintf("%s %.*s %s\n", pattern, (int)tlen, type, b64);
    free(b64);
    return line;
}

static int knownhost_key_bit(int hostkey_type)
{
    switch (hostkey_type) {
    case LIBSSH2_HOSTKEY_TYPE_RSA:
        return LIBSSH2_KNOWNHOST_KEY_SSHRSA;
    case LIBSSH2_HOSTKEY_TYPE_DSS:
        return LIBSSH2_KNOWNHOST_KEY_SSHDSS;
    case LIBSSH2_HOSTKEY_TYPE_ECDSA_256:
        return LIBSSH2_KNOWNHOST_KEY_ECDSA_256;
    case LIBSSH2_HOSTKEY_TYPE_ECDSA_384:
        return LIBSSH2_KNOWNHOST_KEY_ECDSA_384;
    case LIBSSH2_HOSTKEY_TYPE_ECDSA_521:
        return LIBSSH2_KNOWNHOST_KEY_ECDSA_521;
    case LIBSSH2_HOSTKEY_TYPE_ED25519:
        return LIBSSH2_KNOWNHOST_KEY_ED25519;
    default:
        return LIBSSH2_KNOWNHOST_KEY_UNKNOWN;
    }
}

static const char *known_key_label(int typemask)
{
    switch (typemask & LIBSSH2_KNOWNHOST_KEY_MASK) {
    case LIBSSH2_KNOWNHOST_KEY_SSHRSA:
        return "RSA";
    case LIBSSH2_KNOWNHOST_KEY_SSHDSS:
        return "DSA";
    case LIBSSH2_KNOWNHOST_KEY_ECDSA_256:
    case LIBSSH2_KNOWNHOST_KEY_ECDSA_384:
    case LIBSSH2_KNOWNHOST_KEY_ECDSA_521:
        return "ECDSA";
    case LIBSSH2_KNOWNHOST_KEY_ED25519:
        return "ED25519";
    default:
        return "UNKNOWN";
    }
}

/* Read known_hosts line by line, so that a line libssh2 cannot parse (a key type it does not
 * know, a @cert-authority or @revoked marker) is skipped instead of failing the whole file. */
static PfErrCode read_known_hosts(LIBSSH2_KNOWNHOSTS *hosts, const char *path, const char *tunnel,
                                  bool *exists, PfErr *err)
{
    *exists = false;
    FILE *f = fopen(path, "r");
    if (!f) {
        if (errno == ENOENT)
            return PF_OK;
        return pf_err_set(err, PF_ERR_UNREACHABLE, "%s: cannot read known_hosts %s: %s", tunnel,
                          path, strerror(errno));
    }
    *exists = true;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, f)) > 0) {
        const char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '#' || *p == '\n' || *p == '\0' || *p == '@')
            continue;
        if (libssh2_knownhost_readline(hosts, p, strlen(p), LIBSSH2_KNOWNHOST_FILE_OPENSSH) != 0)
            pf_log(PF_LOG_DEBUG, tunnel, "skipping a known_hosts line libssh2 cannot read");
    }
    free(line);
    fclose(f);
    return PF_OK;
}

/* Append one line to known_hosts, creating the file (0600) and its directory (0700). */
static PfErrCode append_known_host(const char *path, const char *line, const char *tunnel,
                                   PfErr *err)
{
    char *dir = pf_dirname(path);
    struct stat st;
    if (stat(dir, &st) != 0 && mkdir(dir, 0700) != 0 && errno != EEXIST) {
        int e = errno;
        free(dir);
        return pf_err_set(err, PF_ERR_UNREACHABLE, "%s: cannot create %s for known_hosts: %s",
                          tunnel, path, strerror(e));
    }
    free(dir);
    int fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return pf_err_set(err, PF_ERR_UNREACHABLE, "%s: cannot write known_hosts %s: %s", tunnel,
                          path, strerror(errno));
    /* Start on a new line when the file does not end with one. */
    char last = '\n';
    off_t size = lseek(fd, 0, SEEK_END);
    if (size > 0 && pread(fd, &last, 1, size - 1) != 1)
        last = '\n';
    PfBuf b = PF_BUF_INIT;
    if (last != '\n')
        pf_buf_putc(&b, '\n');
    pf_buf_puts(&b, line);
    ssize_t w = write(fd, b.data, b.len);
    int e = errno;
    bool ok = w == (ssize_t)b.len;
    pf_buf_free(&b);
    if (close(fd) != 0 && ok) {
        ok = false;
        e = errno;
    }
    if (!ok)
        return pf_err_set(err, PF_ERR_UNREACHABLE, "%s: cannot write known_hosts %s: %s", tunnel,
                          path, strerror(e));
    return PF_OK;
}

PfErrCode ssh_check_host_key(Tunnel *t, PfErr *err)
{
    const InvTunnel *c = t->cfg;
    size_t len = 0;
    int type = 0;
    const char *key = libssh2_session_hostkey(t->session, &len, &type);
    if (!key || len == 0)
        return pf_err_set(err, PF_ERR_UNREACHABLE, "%s: the server sent no host key", c->name);
    const unsigned char *blob = (const unsigned char *)key;
    char fp[SSH_FINGERPRINT_LEN];
    ssh_fingerprint(blob, len, fp);
    const char *label = ssh_key_type_label(blob, len);
    char *pattern = ssh_host_pattern(c->host, c->port);

    LIBSSH2_KNOWNHOSTS *hosts = libssh2_knownhost_init(t->session);
    if (!hosts) {
        free(pattern);
        return pf_err_set(err, PF_ERR_INTERNAL, "%s: cannot initialise known hosts", c->name);
    }
    bool exists;
    PfErrCode rc = read_known_hosts(hosts, c->known_hosts, c->name, &exists, err);
    struct libssh2_knownhost *known = NULL;
    int check = LIBSSH2_KNOWNHOST_CHECK_NOTFOUND;
    if (rc == PF_OK)
        check = libssh2_knownhost_checkp(hosts, pattern, -1, key, len,
                                         LIBSSH2_KNOWNHOST_TYPE_PLAIN |
                                             LIBSSH2_KNOWNHOST_KEYENC_RAW | knownhost_key_bit(type),
                                         &known);
    if (rc != PF_OK) {
        /* err is set */
    } else if (check == LIBSSH2_KNOWNHOST_CHECK_MATCH) {
        pf_log(PF_LOG_DEBUG, c->name, "host key %s %s matches %s", label, fp, c->known_hosts);
    } else if (check == LIBSSH2_KNOWNHOST_CHECK_MISMATCH) {
        char was[SSH_FINGERPRINT_LEN] = "SHA256:?";
        if (known && known->key)
            ssh_fingerprint_b64(known->key, was);
        rc = pf_err_set(err, PF_ERR_UNREACHABLE,
                        "%s: HOST KEY CHANGED for %s: expected %s key %s (in %s), got %s key %s; "
                        "refusing to connect: someone may be intercepting the connection; hint: "
                        "if the key was changed on purpose, remove the old one with "
                        "ssh-keygen -R '%s' -f %s",
                        c->name, pattern, known ? known_key_label(known->typemask) : label, was,
                        c->known_hosts, label, fp, pattern, c->known_hosts);
    } else if (check == LIBSSH2_KNOWNHOST_CHECK_NOTFOUND &&
               c->host_key_policy == INV_HOST_KEY_ACCEPT_NEW) {
        char *line = ssh_known_hosts_line(pattern, blob, len);
        if (!line)
            rc = pf_err_set(err, PF_ERR_UNREACHABLE, "%s: cannot read the server's host key",
                            c->name);
        else
            rc = append_known_host(c->known_hosts, line, c->name, err);
        free(line);
        if (rc == PF_OK)
            pf_log(PF_LOG_WARN, c->name, "host key for %s (%s key %s) added to %s (accept-new)",
                   pattern, label, fp, c->known_hosts);
    } else if (check == LIBSSH2_KNOWNHOST_CHECK_NOTFOUND) {
        rc = pf_err_set(err, PF_ERR_UNREACHABLE,
                        "%s: host key for %s is not known (%s key %s); hint: check the "
                        "fingerprint with the bastion's administrator, then add the key to %s "
                        "(ssh-keyscan -p %d %s >> %s), or set host_key_policy: accept-new to "
                        "record it on first use",
                        c->name, pattern, label, fp, c->known_hosts, c->port, c->host,
                        c->known_hosts);
    } else {
        rc = pf_err_set(err, PF_ERR_UNREACHABLE, "%s: cannot check the host key of %s", c->name,
                        pattern);
    }
    libssh2_knownhost_free(hosts);
    free(pattern);
    return rc;
}
