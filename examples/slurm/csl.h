/* csl.h: the pieces of cloudsched-slurm, the program that lets libcloudsched
 * make a Slurm cluster's scheduling decisions.
 *
 * The program is split so that the decision logic never talks to Slurm:
 * - slurm_io.c reads Slurm (libslurm) into a csl_snapshot and carries out
 *   csl_actions (hold, release with a pin, requeue) through libslurm;
 * - engine.c mirrors each snapshot into a cs_pool and a cs_sched, runs the
 *   library's policy and calls the actions: it sees Slurm only through the
 *   two types below, so it can be driven by a fake cluster too;
 * - cloudsched_slurm.c parses the flags, reads the clock and runs the loop.
 *
 * How Slurm is made to follow the library (see docs/slurm.md): every pending
 * job of the managed partitions is held (priority 0); when the library starts
 * a job, the engine pins it to the node(s) the library chose (ReqNodeList,
 * exactly that many nodes) and releases it with a priority that decreases
 * with the decision's sequence number, so that Slurm's FIFO scheduler starts
 * released jobs in the library's order on the library's nodes.
 *
 * Thread-safety: one engine per thread; the program is single-threaded. */
#ifndef CSL_H
#define CSL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cloudsched/cloudsched.h>

/* ---- A snapshot of the cluster, as Slurm reports it ---------------------- */

typedef enum csl_node_state {
    CSL_NODE_UP = 0,    /* idle, mixed or allocated, and responding */
    CSL_NODE_DRAIN = 1, /* drained or draining, failing, not responding, powered down */
    CSL_NODE_DOWN = 2   /* down, unknown or future */
} csl_node_state;

typedef struct csl_node {
    const char *name;       /* Slurm NodeName (borrowed for the cycle) */
    int64_t cpus;           /* configured CPUs */
    int64_t mem_mib;        /* configured RealMemory, MiB */
    csl_node_state state;
    const char *partitions; /* comma-separated partitions holding the node, or NULL */
} csl_node;

typedef enum csl_job_phase {
    CSL_JOB_PENDING = 0,
    CSL_JOB_RUNNING = 1,   /* running, suspended or completing: holds resources */
    CSL_JOB_COMPLETED = 2, /* exit code 0 */
    CSL_JOB_FAILED = 3,    /* failed, timeout, node failure, out of memory, ... */
    CSL_JOB_CANCELLED = 4
} csl_job_phase;

typedef struct csl_job {
    uint32_t id;
    csl_job_phase phase;
    int held;                /* pending with priority 0 (held by a user or an admin) */
    int eligible;            /* pending and waiting for nothing but resources */
    int pinned;              /* ReqNodeList is set */
    double begin;            /* pending, not held: when Slurm lets it start
                              * (--begin, or the delay after a requeue);
                              * 0 = unknown (Slurm hides it while held) */
    const char *partition;   /* first partition of the job (borrowed) */
    const char *account;     /* may be NULL */
    uint32_t user_id;
    uint32_t cpus;           /* CPUs requested (all nodes) */
    uint32_t num_nodes;      /* nodes requested, >= 1 */
    int64_t mem_mib;         /* memory per node, or per CPU when mem_per_cpu */
    int mem_per_cpu;
    double time_limit;       /* seconds; 0 = none */
    int64_t nice;            /* Slurm nice value (lower runs first) */
    /* Running jobs: where Slurm placed them (borrowed). */
    size_t num_alloc;
    const char *const *alloc_nodes;
    const uint32_t *alloc_cpus;
} csl_job;

typedef struct csl_snapshot {
    csl_node *nodes;
    size_t num_nodes;
    csl_job *jobs; /* the engine sorts them by id */
    size_t num_jobs;
} csl_snapshot;

/* ---- What the engine asks Slurm to do ------------------------------------ */

typedef struct csl_actions {
    void *ctx;
    /* Hold a pending job (priority 0) and clear any node pin. 0 on success. */
    int (*hold)(void *ctx, uint32_t job);
    /* Pin a held job to exactly `nodes` (comma-separated, num_nodes of them)
     * and release it with the given priority. 0 on success. */
    int (*release)(void *ctx, uint32_t job, const char *nodes, uint32_t num_nodes,
                   uint32_t priority);
    /* Requeue a running job (preemption). 0 on success. */
    int (*requeue)(void *ctx, uint32_t job);
} csl_actions;

/* ---- The engine ----------------------------------------------------------- */

typedef struct csl_weight {
    const char *tenant; /* account (or user id in decimal with tenant_by_user) */
    double weight;
} csl_weight;

typedef struct csl_config {
    cs_queue_policy policy;
    cs_placement placement;
    cs_head_of_line head_of_line;
    uint32_t backfill_depth;
    int preemption;
    int use_predictions;
    double pin_timeout;          /* seconds a released job may stay pending */
    int tenant_by_user;          /* 0: tenant = account; 1: tenant = user id */
    const char *const *partitions; /* managed partitions; none = all */
    size_t num_partitions;
    const csl_weight *weights;
    size_t num_weights;
    FILE *events;                /* JSON lines of decisions and changes, or NULL */
    FILE *log;                   /* human-readable messages (never NULL) */
    int verbose;
    int check;                   /* run cs_sched_check after every cycle */
} csl_config;

typedef struct csl_cycle_stats {
    size_t started;   /* jobs released this cycle */
    size_t revoked;   /* stale decisions withdrawn */
    size_t ended;     /* managed jobs that ended */
    size_t pending;   /* managed jobs pending after the cycle */
    size_t running;   /* managed jobs released or running after the cycle */
    size_t foreign;   /* running jobs the library did not start */
    size_t errors;    /* failed Slurm actions or library calls */
} csl_cycle_stats;

typedef struct csl_engine csl_engine;

void csl_config_init(csl_config *cfg);
int csl_engine_create(const csl_config *cfg, csl_engine **out);
void csl_engine_destroy(csl_engine *e);
/* Reconcile with the snapshot (sorted in place), run one scheduling step at
 * `now` (seconds, non-decreasing) and apply its decisions. 0 on success, -1
 * when the library failed (the message is in the log). */
int csl_engine_cycle(csl_engine *e, csl_snapshot *snap, double now, const csl_actions *act,
                     csl_cycle_stats *stats);
/* Ids of the jobs the engine holds and has not released (for --release-on-exit). */
size_t csl_engine_held_jobs(const csl_engine *e, uint32_t *ids, size_t capacity);

/* ---- libslurm ------------------------------------------------------------- */

typedef struct csl_io csl_io;
int csl_io_create(FILE *log, csl_io **out);
void csl_io_destroy(csl_io *io);
/* Load nodes, partitions and jobs. 0 on success; otherwise -1 with a
 * message in `err` (e.g. slurmctld unreachable). The snapshot stays valid
 * until the next load or destroy. */
int csl_io_load(csl_io *io, csl_snapshot *snap, char *err, size_t errlen);
/* Actions carried out through libslurm. */
void csl_io_actions(csl_io *io, csl_actions *act);
/* Whether the last load listed a partition of that name. */
bool csl_io_partition_exists(const csl_io *io, const char *name);
/* Release a job held by us without pinning it (hand it back to Slurm). */
int csl_io_unhold(csl_io *io, uint32_t job);

#endif /* CSL_H */
