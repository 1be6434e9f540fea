/* slurm_io.c: read a Slurm cluster into a csl_snapshot and carry out the
 * engine's actions, through libslurm's C API (slurm/slurm.h, -lslurm).
 *
 * Reads: slurm_load_node (nodes, their states and partitions),
 * slurm_load_partitions (which nodes each partition holds, and to check the
 * managed partitions exist),
 * slurm_load_jobs with SHOW_DETAIL (jobs, and the CPUs each running job holds
 * on each node). Writes: slurm_update_job (priority 0 holds a job; priority
 * INFINITE releases it, with ReqNodeList and the node count pinned in the
 * same request; then the decision's priority), slurm_requeue (preemption). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <slurm/slurm.h>
#include <slurm/slurm_errno.h>

#include "csl.h"

struct csl_io {
    FILE *log;
    node_info_msg_t *node_msg;
    job_info_msg_t *job_msg;
    partition_info_msg_t *part_msg;
    csl_node *nodes;
    csl_job *jobs;
    char **strings; /* owned strings of the current snapshot */
    size_t num_strings, cap_strings;
    const char **alloc_nodes; /* all running jobs' node names, back to back */
    uint32_t *alloc_cpus;
    size_t num_alloc, cap_alloc;
};

static void drop_snapshot(csl_io *io)
{
    slurm_free_node_info_msg(io->node_msg);
    slurm_free_job_info_msg(io->job_msg);
    slurm_free_partition_info_msg(io->part_msg);
    io->node_msg = NULL;
    io->job_msg = NULL;
    io->part_msg = NULL;
    for (size_t i = 0; i < io->num_strings; i++)
        free(io->strings[i]);
    io->num_strings = 0;
    io->num_alloc = 0;
    free(io->nodes);
    free(io->jobs);
    io->nodes = NULL;
    io->jobs = NULL;
}

int csl_io_create(FILE *log, csl_io **out)
{
    csl_io *io = calloc(1, sizeof *io);
    if (io == NULL)
        return -1;
    io->log = log;
    slurm_init(NULL); /* reads SLURM_CONF or the default slurm.conf */
    *out = io;
    return 0;
}

void csl_io_destroy(csl_io *io)
{
    if (io == NULL)
        return;
    drop_snapshot(io);
    free(io->strings);
    free(io->alloc_nodes);
    free(io->alloc_cpus);
    free(io);
    slurm_fini();
}

/* Keep a malloc'd string until the next load; NULL on failure (s freed). */
static char *keep(csl_io *io, char *s)
{
    if (s == NULL)
        return NULL;
    if (io->num_strings == io->cap_strings) {
        size_t cap = io->cap_strings ? 2 * io->cap_strings : 64;
        char **v = realloc(io->strings, cap * sizeof *v);
        if (v == NULL) {
            free(s);
            return NULL;
        }
        io->strings = v;
        io->cap_strings = cap;
    }
    io->strings[io->num_strings++] = s;
    return s;
}

static bool push_alloc(csl_io *io, const char *name, uint32_t cpus)
{
    if (io->num_alloc == io->cap_alloc) {
        size_t cap = io->cap_alloc ? 2 * io->cap_alloc : 64;
        const char **n = realloc(io->alloc_nodes, cap * sizeof *n);
        if (n == NULL)
            return false;
        io->alloc_nodes = n;
        uint32_t *c = realloc(io->alloc_cpus, cap * sizeof *c);
        if (c == NULL)
            return false;
        io->alloc_cpus = c;
        io->cap_alloc = cap;
    }
    io->alloc_nodes[io->num_alloc] = name;
    io->alloc_cpus[io->num_alloc] = cpus;
    io->num_alloc++;
    return true;
}

static csl_node_state node_state(uint32_t s)
{
    uint32_t base = s & NODE_STATE_BASE;
    if (base == NODE_STATE_DOWN || base == NODE_STATE_UNKNOWN || base == NODE_STATE_FUTURE)
        return CSL_NODE_DOWN;
    if (s & (NODE_STATE_DRAIN | NODE_STATE_FAIL | NODE_STATE_NO_RESPOND |
             NODE_STATE_POWERED_DOWN | NODE_STATE_POWERING_DOWN | NODE_STATE_POWER_DOWN |
             NODE_STATE_REBOOT_REQUESTED | NODE_STATE_MAINT))
        return CSL_NODE_DRAIN;
    return CSL_NODE_UP;
}

static csl_job_phase job_phase(uint32_t s)
{
    uint32_t base = s & JOB_STATE_BASE;
    if (s & JOB_COMPLETING)
        return CSL_JOB_RUNNING; /* resources are held until completion ends */
    switch (base) {
    case JOB_PENDING: return CSL_JOB_PENDING;
    case JOB_RUNNING:
    case JOB_SUSPENDED: return CSL_JOB_RUNNING;
    case JOB_COMPLETE: return CSL_JOB_COMPLETED;
    case JOB_CANCELLED: return CSL_JOB_CANCELLED;
    default: return CSL_JOB_FAILED;
    }
}

static int fail(csl_io *io, char *err, size_t errlen, const char *what)
{
    int code = slurm_get_errno();
    snprintf(err, errlen, "%s: %s (SLURM_CONF=%s)", what, slurm_strerror(code),
             getenv("SLURM_CONF") != NULL ? getenv("SLURM_CONF") : "default");
    drop_snapshot(io);
    return -1;
}

/* Where a running job is: one entry per node, with the CPUs it holds there. */
static bool job_placement(csl_io *io, slurm_job_info_t *ji, size_t *first, size_t *count)
{
    *first = io->num_alloc;
    *count = 0;
    if (ji->nodes == NULL || ji->nodes[0] == '\0')
        return true;
    hostlist_t hl = slurm_hostlist_create(ji->nodes);
    if (hl == NULL)
        return false;
    size_t n = (size_t)slurm_hostlist_count(hl);
    char *host;
    bool ok = true;
    while (ok && (host = slurm_hostlist_shift(hl)) != NULL) {
        char *name = keep(io, host);
        int cpus = -1;
        if (name != NULL && ji->job_resrcs != NULL)
            cpus = slurm_job_cpus_allocated_on_node(ji->job_resrcs, name);
        if (cpus <= 0) /* no detail: share the job's CPUs evenly */
            cpus = (int)((ji->num_cpus + n - 1) / (n ? n : 1));
        ok = name != NULL && push_alloc(io, name, (uint32_t)cpus);
    }
    slurm_hostlist_destroy(hl);
    *count = io->num_alloc - *first;
    return ok;
}

int csl_io_load(csl_io *io, csl_snapshot *snap, char *err, size_t errlen)
{
    drop_snapshot(io);
    memset(snap, 0, sizeof *snap);
    if (slurm_load_partitions(0, &io->part_msg, SHOW_ALL) != SLURM_SUCCESS)
        return fail(io, err, errlen, "cannot load partitions from slurmctld");
    if (slurm_load_node(0, &io->node_msg, SHOW_ALL) != SLURM_SUCCESS)
        return fail(io, err, errlen, "cannot load nodes from slurmctld");
    if (slurm_load_jobs(0, &io->job_msg, SHOW_ALL | SHOW_DETAIL) != SLURM_SUCCESS)
        return fail(io, err, errlen, "cannot load jobs from slurmctld");

    /* Node records carry their partitions only once this fills them in. */
    slurm_populate_node_partitions(io->node_msg, io->part_msg);
    size_t nn = io->node_msg->record_count, nj = io->job_msg->record_count;
    io->nodes = calloc(nn + 1, sizeof *io->nodes);
    io->jobs = calloc(nj + 1, sizeof *io->jobs);
    if (io->nodes == NULL || io->jobs == NULL) {
        snprintf(err, errlen, "out of memory");
        drop_snapshot(io);
        return -1;
    }
    size_t k = 0;
    for (size_t i = 0; i < nn; i++) {
        node_info_t *ni = &io->node_msg->node_array[i];
        if (ni->name == NULL)
            continue;
        csl_node *n = &io->nodes[k++];
        n->name = ni->name;
        n->cpus = ni->cpus;
        n->mem_mib = (int64_t)ni->real_memory;
        n->state = node_state(ni->node_state);
        n->partitions = ni->partitions;
    }
    snap->nodes = io->nodes;
    snap->num_nodes = k;

    /* Placements first (push_alloc may move the arrays), pointers after. */
    size_t *first = calloc(nj + 1, sizeof *first), *count = calloc(nj + 1, sizeof *count);
    if (first == NULL || count == NULL) {
        free(first);
        free(count);
        snprintf(err, errlen, "out of memory");
        drop_snapshot(io);
        return -1;
    }
    k = 0;
    for (size_t i = 0; i < nj; i++) {
        slurm_job_info_t *ji = &io->job_msg->job_array[i];
        csl_job *j = &io->jobs[k];
        j->id = ji->job_id;
        j->phase = job_phase(ji->job_state);
        j->held = j->phase == CSL_JOB_PENDING && ji->priority == 0;
        j->eligible = j->phase == CSL_JOB_PENDING &&
                      (ji->dependency == NULL || ji->dependency[0] == '\0');
        j->pinned = ji->req_nodes != NULL && ji->req_nodes[0] != '\0';
        j->begin = j->phase == CSL_JOB_PENDING && !j->held ? (double)ji->eligible_time : 0.0;
        j->partition = ji->partition;
        if (ji->partition != NULL && strchr(ji->partition, ',') != NULL) {
            size_t len = strcspn(ji->partition, ",");
            char *p = malloc(len + 1);
            if (p != NULL) {
                memcpy(p, ji->partition, len);
                p[len] = '\0';
            }
            j->partition = keep(io, p);
        }
        j->account = ji->account;
        j->user_id = ji->user_id;
        j->cpus = ji->num_cpus;
        j->num_nodes = ji->num_nodes > 0 ? ji->num_nodes : 1;
        j->mem_per_cpu = (ji->pn_min_memory & MEM_PER_CPU) != 0;
        j->mem_mib = (int64_t)(ji->pn_min_memory & ~MEM_PER_CPU);
        j->time_limit = ji->time_limit == INFINITE || ji->time_limit == NO_VAL
                            ? 0.0
                            : 60.0 * (double)ji->time_limit;
        j->nice = (int64_t)ji->nice - (int64_t)NICE_OFFSET;
        if (j->phase == CSL_JOB_RUNNING && !job_placement(io, ji, &first[k], &count[k])) {
            free(first);
            free(count);
            snprintf(err, errlen, "out of memory");
            drop_snapshot(io);
            return -1;
        }
        k++;
    }
    for (size_t i = 0; i < k; i++) {
        io->jobs[i].num_alloc = count[i];
        io->jobs[i].alloc_nodes = count[i] ? io->alloc_nodes + first[i] : NULL;
        io->jobs[i].alloc_cpus = count[i] ? io->alloc_cpus + first[i] : NULL;
    }
    free(first);
    free(count);
    snap->jobs = io->jobs;
    snap->num_jobs = k;
    return 0;
}

bool csl_io_partition_exists(const csl_io *io, const char *name)
{
    if (io->part_msg == NULL)
        return false;
    for (uint32_t i = 0; i < io->part_msg->record_count; i++)
        if (io->part_msg->partition_array[i].name != NULL &&
            strcmp(io->part_msg->partition_array[i].name, name) == 0)
            return true;
    return false;
}

static int update(csl_io *io, job_desc_msg_t *d, const char *what)
{
    if (slurm_update_job(d) == SLURM_SUCCESS)
        return 0;
    fprintf(io->log, "cloudsched-slurm: job %u: %s: %s\n", d->job_id, what,
            slurm_strerror(slurm_get_errno()));
    return -1;
}

static int io_hold(void *ctx, uint32_t job)
{
    csl_io *io = ctx;
    job_desc_msg_t d;
    slurm_init_job_desc_msg(&d);
    d.job_id = job;
    char none[1] = "";
    d.priority = 0;
    d.req_nodes = none; /* clear the pin */
    return update(io, &d, "hold");
}

static int io_release(void *ctx, uint32_t job, const char *nodes, uint32_t num_nodes,
                      uint32_t priority)
{
    csl_io *io = ctx;
    job_desc_msg_t d;
    slurm_init_job_desc_msg(&d);
    size_t len = strlen(nodes) + 1;
    char *list = malloc(len); /* libslurm wants a mutable string */
    if (list == NULL)
        return -1;
    memcpy(list, nodes, len);
    d.job_id = job;
    d.req_nodes = list;
    d.min_nodes = num_nodes;
    d.max_nodes = num_nodes;
    d.priority = INFINITE; /* release the hold */
    int rc = update(io, &d, "pin and release");
    free(list);
    if (rc != 0)
        return -1;
    /* Slurm cannot set a held job's priority in the releasing request: set
     * the decision's priority now, so that released jobs that wait start in
     * decision order. A failure here is harmless (the job may have started). */
    slurm_init_job_desc_msg(&d);
    d.job_id = job;
    d.priority = priority;
    if (slurm_update_job(&d) != SLURM_SUCCESS && io->log != NULL &&
        slurm_get_errno() != ESLURM_JOB_NOT_PENDING)
        fprintf(io->log, "cloudsched-slurm: job %u: set priority: %s\n", job,
                slurm_strerror(slurm_get_errno()));
    return 0;
}

static int io_requeue(void *ctx, uint32_t job)
{
    csl_io *io = ctx;
    if (slurm_requeue(job, 0) == SLURM_SUCCESS)
        return 0;
    fprintf(io->log, "cloudsched-slurm: job %u: requeue: %s\n", job,
            slurm_strerror(slurm_get_errno()));
    return -1;
}

void csl_io_actions(csl_io *io, csl_actions *act)
{
    act->ctx = io;
    act->hold = io_hold;
    act->release = io_release;
    act->requeue = io_requeue;
}

int csl_io_unhold(csl_io *io, uint32_t job)
{
    job_desc_msg_t d;
    slurm_init_job_desc_msg(&d);
    d.job_id = job;
    d.priority = INFINITE;
    return update(io, &d, "release");
}
