/*
 * User authentication by public key, one non-blocking step at a time: the keys of ssh-agent
 * first (agent: true), then each identity file in order, with the passphrase read from the
 * environment variable the inventory names. What was tried is kept for the error message:
 * paths and reasons only, never key material or passphrases.
 */
#include "ssh/internal.h"

#include "core/mem.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void ssh_auth_clear(Auth *a)
{
    if (a->agent) {
        libssh2_agent_disconnect(a->agent);
        libssh2_agent_free(a->agent);
    }
    pf_buf_free(&a->tried);
    memset(a, 0, sizeof *a);
}

/* Note "what (why)" for the error message. */
static void tried(Auth *a, const char *what, const char *why)
{
    pf_buf_printf(&a->tried, "%s%s (%s)", a->tried.len ? ", " : "", what, why);
}

/* Whether a key file is RSA, from its .pub beside it or a PEM header. */
static bool is_rsa(const char *path)
{
    char head[40] = "";
    char *pub = pf_asprintf("%s.pub", path);
    FILE *f = fopen(pub, "r");
    free(pub);
    if (f) {
        bool rsa = fgets(head, sizeof head, f) && strncmp(head, "ssh-rsa ", 8) == 0;
        fclose(f);
        return rsa;
    }
    f = fopen(path, "r");
    if (!f)
        return false;
    bool rsa = fgets(head, sizeof head, f) && strncmp(head, "-----BEGIN RSA", 14) == 0;
    fclose(f);
    return rsa;
}

/* 1 authenticated, 0 again later, -1 no agent key accepted (go on with files), -2 session. */
static int agent_step(Tunnel *t, PfErr *err)
{
    Auth *a = &t->auth;
    const char *user = t->cfg->user;
    if (!a->agent) {
        const char *sock = getenv("SSH_AUTH_SOCK");
        if (!sock || !*sock) {
            tried(a, "ssh-agent", "SSH_AUTH_SOCK is not set");
            return -1;
        }
        a->agent = libssh2_agent_init(t->session);
        if (!a->agent || libssh2_agent_connect(a->agent) != 0) {
            tried(a, "ssh-agent", "cannot connect to SSH_AUTH_SOCK");
            return -1;
        }
        if (libssh2_agent_list_identities(a->agent) != 0 ||
            libssh2_agent_get_identity(a->agent, &a->agent_id, NULL) != 0) {
            tried(a, "ssh-agent", "no keys");
            return -1;
        }
    }
    for (;;) {
        int rc = libssh2_agent_userauth(a->agent, user, a->agent_id);
        if (rc == LIBSSH2_ERROR_EAGAIN)
            return 0;
        if (rc == 0)
            return 1;
        if (ssh_session_failed(rc)) {
            pf_err_set(err, PF_ERR_UNREACHABLE, "connection lost during authentication");
            return -2;
        }
        a->agent_refused++;
        struct libssh2_agent_publickey *next = NULL;
        if (libssh2_agent_get_identity(a->agent, &next, a->agent_id) != 0) {
            char why[64];
            snprintf(why, sizeof why, "%d key%s refused by the server", a->agent_refused,
                     a->agent_refused == 1 ? "" : "s");
            tried(a, "ssh-agent", why);
            return -1;
        }
        a->agent_id = next;
    }
}

int ssh_auth_step(Tunnel *t, PfErr *err)
{
    const InvTunnel *c = t->cfg;
    Auth *a = &t->auth;
    if (c->agent && !a->agent_done) {
        int rc = agent_step(t, err);
        if (rc >= 0 || rc == -2)
            return rc;
        a->agent_done = true;
    }
    const char *pass_name = c->passphrase_env;
    const char *passphrase = pass_name ? getenv(pass_name) : NULL;
    while (a->key < c->n_identity) {
        const char *path = c->identity[a->key];
        if (access(path, R_OK) != 0) {
            tried(a, path, errno == ENOENT ? "not found" : strerror(errno));
            a->key++;
            continue;
        }
        int rc =
            libssh2_userauth_publickey_fromfile_ex(t->session, c->user, (unsigned)strlen(c->user),
                                                   NULL, path, passphrase ? passphrase : "");
        if (rc == LIBSSH2_ERROR_EAGAIN)
            return 0;
        if (rc == 0)
            return 1;
        if (ssh_session_failed(rc)) {
            pf_err_set(err, PF_ERR_UNREACHABLE, "connection lost during authentication");
            return -2;
        }
        if ((rc == LIBSSH2_ERROR_PUBLICKEY_UNVERIFIED ||
             rc == LIBSSH2_ERROR_AUTHENTICATION_FAILED) &&
            is_rsa(path))
            tried(a, path,
                  "refused by the server; an RSA key: libssh2 1.10 signs with ssh-rsa (SHA-1), "
                  "which OpenSSH 8.8 and later refuse unless PubkeyAcceptedAlgorithms +ssh-rsa; "
                  "an ed25519 or ecdsa key avoids this");
        else if (rc == LIBSSH2_ERROR_PUBLICKEY_UNVERIFIED ||
                 rc == LIBSSH2_ERROR_AUTHENTICATION_FAILED)
            tried(a, path, "refused by the server");
        else if (rc == LIBSSH2_ERROR_FILE && pass_name && !passphrase)
            pf_buf_printf(&a->tried, "%s%s (cannot be read: passphrase_env %s is not set)",
                          a->tried.len ? ", " : "", path, pass_name);
        else if (rc == LIBSSH2_ERROR_FILE)
            tried(a, path, "cannot be read: a wrong or missing passphrase, or not a private key");
        else
            tried(a, path, "cannot be used");
        a->key++;
    }
    pf_err_set(err, PF_ERR_UNREACHABLE,
               "%s: authentication as %s refused; tried: %s; hint: the public key must be in "
               "~%s/.ssh/authorized_keys on %s",
               c->name, c->user, a->tried.len ? a->tried.data : "no key", c->user, c->host);
    return -1;
}
