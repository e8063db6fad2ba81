/*
 * SSH tunnels (docs/tunnels.md): the only code that includes <libssh2.h>. Nothing of libssh2
 * leaks out of src/ssh/.
 *
 * An SshHub holds every tunnel of the inventory. ssh_hub_run is its event loop: it runs on one
 * thread (created by src/fleet/), makes every libssh2 call, opens each tunnel's one SSH session
 * when first needed, and moves bytes between loopback sockets and SSH channels. Worker threads
 * ask it for a forward (ssh_hub_forward): a loopback port whose every TCP connection becomes a
 * direct-tcpip channel to the database, over the tunnel's session. See loop.c for the design.
 */
#ifndef PF_SSH_H
#define PF_SSH_H

#include "core/err.h"
#include "inventory/inventory.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct SshHub SshHub;
typedef struct SshForward SshForward;

/* A hub for the inventory's tunnels (borrowed: inv must outlive the hub). No I/O: sessions are
 * opened by the loop when a forward first needs them. Free with ssh_hub_free once
 * ssh_hub_run has returned (or was never called). */
PfErrCode ssh_hub_new(const Inventory *inv, SshHub **out, PfErr *err);
void ssh_hub_free(SshHub *hub);

/* The event loop. Call on one thread; returns after ssh_hub_stop. Closes every session and
 * connection before returning. */
void ssh_hub_run(SshHub *hub);

/* Make ssh_hub_run return. Thread-safe; forwards still being waited for fail. */
void ssh_hub_stop(SshHub *hub);

/* Called from worker threads (thread-safe). Blocks until the tunnel named via (and the tunnels
 * it goes via) is connected, its host key checked and its user authenticated, and the server
 * has agreed to open a channel to dest_host:dest_port; then *out is a loopback listener for
 * that destination (see ssh_forward_port), shared by the callers asking for the same one.
 * On failure (PF_ERR_UNREACHABLE) err says why, naming the tunnel: unreachable bastion,
 * refused authentication, unknown or changed host key, refused forwarding, destination
 * unreachable from the bastion, timeout. A tunnel that failed to open stays failed for the
 * hub's life; one that broke after opening is opened again by the next request.
 * Release *out with ssh_forward_close. */
PfErrCode ssh_hub_forward(SshHub *hub, const char *via, const char *dest_host, int dest_port,
                          SshForward **out, PfErr *err);

/* The 127.0.0.1 port to connect to. */
int ssh_forward_port(const SshForward *f);

/* Why connections through this forward stopped working ("tunnel eu-bastion broke: connection
 * closed by the server", a refused channel), or NULL while nothing went wrong. A copy: the
 * caller frees it. Thread-safe. */
char *ssh_forward_error(SshForward *f);

/* Release the forward; the listener closes when its last user releases it. Thread-safe;
 * accepts NULL. */
void ssh_forward_close(SshForward *f);

/* The SHA256 fingerprint of a public key blob as OpenSSH prints it: "SHA256:" and the
 * unpadded base64 of the digest (50 characters and a NUL fit in out). */
#define SSH_FINGERPRINT_LEN 64
void ssh_fingerprint(const unsigned char *blob, size_t len, char out[SSH_FINGERPRINT_LEN]);

#endif
