/* Shared between the files of src/fleet/ only. */
#ifndef PF_FLEET_INTERNAL_H
#define PF_FLEET_INTERNAL_H

#include "fleet/fleet.h"
#include "ssh/ssh.h"

#include <pthread.h>

/* Where a worker publishes its open connection so that the supervisor can cancel it. */
typedef struct JobSlot {
    pthread_mutex_t *mutex; /* the pool's slot mutex */
    PgConn *conn;           /* guarded by mutex */
    const char *target;     /* name of the target in flight, or NULL; guarded by mutex */
    SshHub *hub;            /* the run's tunnels, or NULL when no selected target uses one */
} JobSlot;

void job_slot_attach(JobSlot *slot, PgConn *conn);
void job_slot_detach(JobSlot *slot);

/* Run one target's job on the calling thread. slot may be NULL. */
void fleet_job_run(const FleetRun *run, TargetResult *res, const volatile int *interrupted,
                   JobSlot *slot);

#endif
