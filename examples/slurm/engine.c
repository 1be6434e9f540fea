/* engine.c: mirror Slurm snapshots into a cs_pool and a cs_sched, run the
 * library's policy, and turn its decisions into Slurm actions.
 *
 * Every job the engine has ever seen and still cares about has a record,
 * kept in an array sorted by Slurm job id. Each cycle merges the records with
 * the snapshot's jobs (also sorted by id) and reconciles each pair:
 *
 *   record          Slurm says        the engine
 *   --------------  ----------------  ------------------------------------------
 *   none            pending           holds it (if needed), submits it once
 *                                     its dependencies and begin time allow:
 *                                     MANAGED
 *   none            running           mirrors its allocations: FOREIGN
 *   MANAGED queued  pending           keeps it held and unpinned
 *   MANAGED queued  running           someone else started it: FOREIGN
 *   MANAGED started pending           waits; revokes the decision when a pinned
 *                                     node is no longer up, the job got held,
 *                                     Slurm delays it (a begin time, e.g.
 *                                     after a requeue), or it stayed pending
 *                                     past --pin-timeout
 *   MANAGED started running           checks Slurm used the chosen node(s)
 *   MANAGED started ended             complete / fail / cancel in the library
 *   FOREIGN         pending again     releases the mirror and adopts it
 *   any             gone or ended     forgets it
 *
 * A task's id in the library is (job id << 16) | generation: a revoked
 * decision forgets the task and submits a new generation, so the library
 * never sees an id twice while it remembers the first.
 * Foreign allocations are made directly in the pool with the owner tag
 * FOREIGN_OWNER | job id, which never equals a task id. */
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "csl.h"

#define FOREIGN_OWNER (UINT64_C(1) << 63)
#define LABEL_PREFIX "partition:"
#define NUM_RESOURCES 2
#define NUM_FEATURES 2
#define DECISIONS_PER_CALL 64
/* Released jobs get priorities counting down from here, one per decision. */
#define TOP_PRIORITY 1000000000u

enum rec_kind { REC_NONE = 0, REC_MANAGED = 1, REC_FOREIGN = 2 };

typedef struct rec {
    uint32_t job;
    enum rec_kind kind;
    uint16_t gen;         /* generation of the library task */
    bool submitted;       /* MANAGED: a library task exists */
    bool released;        /* MANAGED: the library started it and Slurm was told */
    bool started_seen;    /* MANAGED: Slurm reported it running where we said */
    bool preempting;      /* MANAGED: requeued by a preemption, Slurm not done yet */
    double released_at;
    double not_before;    /* MANAGED: latest begin time Slurm reported */
    char *pinned;         /* comma-separated nodes of the release (owned) */
    uint64_t *fallocs;    /* FOREIGN: pool allocations (owned) */
    size_t num_fallocs;
    bool foreign_done;    /* FOREIGN: every node's share is mirrored */
} rec;

struct csl_engine {
    csl_config cfg;
    cs_pool *pool;
    cs_sched *sched;
    cs_predict *pred;
    char **node_names;   /* node id i + 1 has name node_names[i] */
    size_t *by_name;     /* indices into node_names, sorted by name */
    size_t num_nodes, cap_nodes;
    rec *recs;           /* sorted by job id */
    size_t num_recs, cap_recs;
    uint64_t cycle, seq;
    double now;
    cs_decision dec[DECISIONS_PER_CALL];
    csl_cycle_stats *stats;
};

/* ---- small helpers -------------------------------------------------------- */

#if defined(__GNUC__) || defined(__clang__)
#define CSL_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define CSL_PRINTF(f, a)
#endif

CSL_PRINTF(2, 3) static void say(const csl_engine *e, const char *fmt, ...);
CSL_PRINTF(3, 4) static void event(const csl_engine *e, const char *kind, const char *fmt, ...);

static void say(const csl_engine *e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("cloudsched-slurm: ", e->cfg.log);
    vfprintf(e->cfg.log, fmt, ap);
    fputc('\n', e->cfg.log);
    va_end(ap);
}

/* One JSON line: {"event":"<kind>","t":now,"cycle":c,<rest>}. */
static void event(const csl_engine *e, const char *kind, const char *fmt, ...)
{
    if (e->cfg.events == NULL)
        return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(e->cfg.events, "{\"event\":\"%s\",\"t\":%.3f,\"cycle\":%llu", kind, e->now,
            (unsigned long long)e->cycle);
    if (fmt != NULL && *fmt != '\0') {
        fputc(',', e->cfg.events);
        vfprintf(e->cfg.events, fmt, ap);
    }
    fputs("}\n", e->cfg.events);
    fflush(e->cfg.events);
    va_end(ap);
}

static bool lib_ok(const csl_engine *e, cs_status st, const char *what, uint32_t job)
{
    if (st == CS_OK)
        return true;
    say(e, "job %u: %s: %s", job, what, cs_status_str(st));
    e->stats->errors++;
    return false;
}

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d != NULL)
        memcpy(d, s, n);
    return d;
}

/* FNV-1a, 64 bits: a stable tenant id for an account name. */
static uint64_t name_hash(const char *s)
{
    uint64_t h = UINT64_C(14695981039346656037);
    for (; *s != '\0'; s++) {
        h ^= (unsigned char)*s;
        h *= UINT64_C(1099511628211);
    }
    return h == CS_ID_NONE ? h - 1 : h;
}

static uint64_t tenant_of(const csl_engine *e, const csl_job *j)
{
    if (e->cfg.tenant_by_user)
        return j->user_id;
    return name_hash(j->account != NULL ? j->account : "");
}

static uint64_t task_id(const rec *r)
{
    return ((uint64_t)r->job << 16) | r->gen;
}

static bool managed_partition(const csl_engine *e, const char *partition)
{
    if (e->cfg.num_partitions == 0)
        return true;
    for (size_t i = 0; i < e->cfg.num_partitions; i++)
        if (partition != NULL && strcmp(partition, e->cfg.partitions[i]) == 0)
            return true;
    return false;
}

/* Remember the latest begin time Slurm showed for a pending job (it hides it
 * once the job is held), and tell whether the job may be submitted now. */
static bool ready(const csl_engine *e, rec *r, const csl_job *j)
{
    if (j->phase == CSL_JOB_PENDING && j->begin > r->not_before)
        r->not_before = j->begin;
    return j->eligible && e->now >= r->not_before;
}

/* ---- nodes ---------------------------------------------------------------- */

static int name_index_cmp(const void *key, const void *elem, const csl_engine *e)
{
    return strcmp((const char *)key, e->node_names[*(const size_t *)elem]);
}

/* Node id of a name, or 0 when unknown. Binary search over by_name. */
static uint64_t node_id(const csl_engine *e, const char *name)
{
    size_t lo = 0, hi = e->num_nodes;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = name_index_cmp(name, &e->by_name[mid], e);
        if (c == 0)
            return (uint64_t)e->by_name[mid] + 1;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return 0;
}

static cs_node_state pool_state(const csl_engine *e, uint64_t id, size_t *num_allocs)
{
    cs_node_info info = {.size = sizeof info};
    if (cs_pool_node_info(e->pool, id, &info, NULL, NULL, NULL) != CS_OK)
        return CS_NODE_DOWN;
    if (num_allocs != NULL)
        *num_allocs = info.num_allocations;
    return info.state;
}

static rec *find_rec(csl_engine *e, uint32_t job)
{
    size_t lo = 0, hi = e->num_recs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (e->recs[mid].job == job)
            return &e->recs[mid];
        if (e->recs[mid].job < job)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* Add a node seen for the first time: labels name its partitions. */
static bool add_node(csl_engine *e, const csl_node *n)
{
    if (e->num_nodes == e->cap_nodes) {
        size_t cap = e->cap_nodes ? 2 * e->cap_nodes : 16;
        char **names = realloc(e->node_names, cap * sizeof *names);
        if (names == NULL)
            return false;
        e->node_names = names;
        size_t *idx = realloc(e->by_name, cap * sizeof *idx);
        if (idx == NULL)
            return false;
        e->by_name = idx;
        e->cap_nodes = cap;
    }
    char *name = dup_str(n->name);
    if (name == NULL)
        return false;
    /* Labels "partition:<name>" = "1", one per partition of the node. */
    cs_label labels[32];
    char keys[32][80];
    size_t nl = 0;
    const char *p = n->partitions != NULL ? n->partitions : "";
    while (*p != '\0' && nl < 32) {
        size_t len = strcspn(p, ",");
        if (len > 0 && len + sizeof LABEL_PREFIX < sizeof keys[0]) {
            snprintf(keys[nl], sizeof keys[nl], LABEL_PREFIX "%.*s", (int)len, p);
            bool dup = false;
            for (size_t k = 0; k < nl; k++)
                dup = dup || strcmp(keys[k], keys[nl]) == 0;
            if (!dup) {
                labels[nl].key = keys[nl];
                labels[nl].value = "1";
                nl++;
            }
        }
        p += len;
        if (*p == ',')
            p++;
    }
    int64_t cap[NUM_RESOURCES] = {n->cpus, n->mem_mib};
    cs_node_spec spec;
    cs_node_spec_init(&spec, sizeof spec);
    spec.capacity = cap;
    spec.num_resources = NUM_RESOURCES;
    spec.labels = labels;
    spec.num_labels = nl;
    spec.state = n->state == CSL_NODE_UP     ? CS_NODE_UP
                 : n->state == CSL_NODE_DRAIN ? CS_NODE_DRAINING
                                              : CS_NODE_DOWN;
    uint64_t id = (uint64_t)e->num_nodes + 1;
    if (!lib_ok(e, cs_pool_add_node(e->pool, id, &spec, NULL), "add node", 0)) {
        free(name);
        return false;
    }
    e->node_names[e->num_nodes] = name;
    /* Insert into by_name keeping it sorted. */
    size_t pos = 0;
    while (pos < e->num_nodes && strcmp(e->node_names[e->by_name[pos]], name) < 0)
        pos++;
    memmove(&e->by_name[pos + 1], &e->by_name[pos], (e->num_nodes - pos) * sizeof *e->by_name);
    e->by_name[pos] = e->num_nodes;
    e->num_nodes++;
    event(e, "node", "\"node\":\"%s\",\"state\":\"%s\",\"cpus\":%lld,\"mem_mib\":%lld", name,
          n->state == CSL_NODE_UP ? "up" : n->state == CSL_NODE_DRAIN ? "drain" : "down",
          (long long)n->cpus, (long long)n->mem_mib);
    return true;
}

/* A node went down: the library requeued the tasks on it; their Slurm jobs,
 * if still pending, are re-held and unpinned by the job pass. */
static void node_down(csl_engine *e, uint64_t id)
{
    size_t nalloc = 0;
    pool_state(e, id, &nalloc);
    uint64_t *hit = calloc(nalloc + 1, sizeof *hit);
    size_t nhit = 0;
    if (hit == NULL) {
        say(e, "out of memory");
        e->stats->errors++;
        return;
    }
    if (lib_ok(e, cs_sched_node_down(e->sched, id, e->now, hit, nalloc + 1, &nhit),
               "node down", 0)) {
        for (size_t i = 0; i < nhit; i++) {
            rec *r = find_rec(e, (uint32_t)(hit[i] >> 16));
            if (r != NULL) {
                r->released = false;
                r->started_seen = false;
                event(e, "requeue", "\"job\":%u,\"why\":\"node down\"", r->job);
            }
        }
    }
    free(hit);
}

static void sync_nodes(csl_engine *e, const csl_snapshot *snap)
{
    bool *present = calloc(e->num_nodes + snap->num_nodes + 1, sizeof *present);
    if (present == NULL) {
        say(e, "out of memory");
        e->stats->errors++;
        return;
    }
    for (size_t i = 0; i < snap->num_nodes; i++) {
        const csl_node *n = &snap->nodes[i];
        uint64_t id = node_id(e, n->name);
        if (id == 0) {
            if (add_node(e, n))
                present[e->num_nodes] = true;
            continue;
        }
        present[id] = true;
        cs_node_state cur = pool_state(e, id, NULL);
        cs_node_state want = n->state == CSL_NODE_UP     ? CS_NODE_UP
                             : n->state == CSL_NODE_DRAIN ? CS_NODE_DRAINING
                                                          : CS_NODE_DOWN;
        if (cur != want) {
            if (want == CS_NODE_DOWN) {
                node_down(e, id);
            } else {
                if (cur != CS_NODE_UP)
                    lib_ok(e, cs_sched_node_up(e->sched, id, e->now), "node up", 0);
                if (want == CS_NODE_DRAINING)
                    lib_ok(e, cs_sched_drain_node(e->sched, id, e->now), "drain node", 0);
            }
            event(e, "node", "\"node\":\"%s\",\"state\":\"%s\"", n->name,
                  want == CS_NODE_UP ? "up" : want == CS_NODE_DRAINING ? "drain" : "down");
        }
        int64_t cap[NUM_RESOURCES], want_cap[NUM_RESOURCES] = {n->cpus, n->mem_mib};
        cs_node_info info = {.size = sizeof info};
        if (cs_pool_node_info(e->pool, id, &info, cap, NULL, NULL) == CS_OK &&
            (cap[0] != want_cap[0] || cap[1] != want_cap[1]))
            lib_ok(e, cs_pool_set_node_capacity(e->pool, id, want_cap), "node capacity", 0);
    }
    /* Nodes Slurm no longer reports are down. */
    for (uint64_t id = 1; id <= e->num_nodes; id++)
        if (!present[id] && pool_state(e, id, NULL) != CS_NODE_DOWN) {
            node_down(e, id);
            event(e, "node", "\"node\":\"%s\",\"state\":\"gone\"", e->node_names[id - 1]);
        }
    free(present);
}

/* ---- the library side of a managed job ------------------------------------ */

static void job_demand(const csl_job *j, uint32_t *replicas, int64_t demand[NUM_RESOURCES])
{
    uint32_t nn = j->num_nodes > 0 ? j->num_nodes : 1;
    uint32_t cpus = j->cpus > 0 ? j->cpus : 1;
    int64_t per = ((int64_t)cpus + nn - 1) / nn;
    *replicas = nn;
    demand[0] = per;
    demand[1] = j->mem_per_cpu ? j->mem_mib * per : j->mem_mib;
}

static void submit(csl_engine *e, rec *r, const csl_job *j)
{
    uint32_t replicas;
    int64_t demand[NUM_RESOURCES];
    job_demand(j, &replicas, demand);
    double features[NUM_FEATURES] = {log2(1.0 + (double)demand[0]),
                                     log2(1.0 + (double)demand[1])};
    char key[96];
    snprintf(key, sizeof key, LABEL_PREFIX "%s", j->partition != NULL ? j->partition : "");
    cs_label need = {key, NULL};
    cs_task_spec t;
    cs_task_spec_init(&t, sizeof t);
    t.id = task_id(r);
    t.tenant = tenant_of(e, j);
    t.priority = -j->nice;
    t.demand = demand;
    t.num_resources = NUM_RESOURCES;
    t.count = replicas;
    t.topology = replicas > 1 ? CS_TOPOLOGY_SPREAD : CS_TOPOLOGY_ANY;
    t.runtime_estimate = j->time_limit;
    t.features = features;
    t.num_features = NUM_FEATURES;
    t.labels = &need;
    t.num_labels = 1;
    if (!lib_ok(e, cs_sched_submit(e->sched, &t, e->now), "submit", j->id))
        return;
    r->submitted = true;
    r->released = false;
    r->started_seen = false;
    event(e, "submit",
          "\"job\":%u,\"task\":%llu,\"tenant\":\"%s\",\"cpus\":%lld,\"mem_mib\":%lld,"
          "\"replicas\":%u,\"estimate\":%.0f",
          j->id, (unsigned long long)t.id, j->account != NULL ? j->account : "",
          (long long)demand[0], (long long)demand[1], replicas, j->time_limit);
}

enum ending { END_CANCEL, END_COMPLETE, END_FAIL };

/* End the library task (if any) and forget it; the next submission of the
 * same job uses the next generation. */
static void retire(csl_engine *e, rec *r, enum ending how)
{
    if (!r->submitted)
        return;
    uint64_t id = task_id(r);
    cs_task_info info = {.size = sizeof info};
    if (cs_sched_task_info(e->sched, id, &info) == CS_OK &&
        (info.state == CS_TASK_PENDING || info.state == CS_TASK_RUNNING)) {
        cs_status st;
        if (info.state == CS_TASK_RUNNING && how == END_COMPLETE)
            st = cs_sched_complete(e->sched, id, e->now);
        else if (info.state == CS_TASK_RUNNING && how == END_FAIL)
            st = cs_sched_fail(e->sched, id, e->now);
        else
            st = cs_sched_cancel(e->sched, id, e->now);
        lib_ok(e, st, "end task", r->job);
    }
    lib_ok(e, cs_sched_forget(e->sched, id), "forget task", r->job);
    r->submitted = r->released = r->started_seen = r->preempting = false;
    r->gen++;
    free(r->pinned);
    r->pinned = NULL;
}

/* Withdraw a decision Slurm did not carry out: hold and unpin the job, and
 * put it back in the library's queue as a new submission. */
static void revoke(csl_engine *e, rec *r, const csl_job *j, const csl_actions *act,
                   const char *why)
{
    if (act->hold(act->ctx, j->id) != 0) {
        e->stats->errors++;
        return; /* try again next cycle */
    }
    event(e, "revoke", "\"job\":%u,\"nodes\":\"%s\",\"why\":\"%s\"", j->id,
          r->pinned != NULL ? r->pinned : "", why);
    retire(e, r, END_CANCEL);
    e->stats->revoked++;
    if (ready(e, r, j))
        submit(e, r, j);
}

/* ---- foreign jobs (running, not started by this engine) ------------------ */

static void foreign_release(csl_engine *e, rec *r)
{
    for (size_t i = 0; i < r->num_fallocs; i++)
        lib_ok(e, cs_pool_release(e->pool, r->fallocs[i]), "release foreign", r->job);
    free(r->fallocs);
    r->fallocs = NULL;
    r->num_fallocs = 0;
    r->foreign_done = false;
}

/* Mirror a foreign job's allocations, all or none; retried each cycle until
 * every node it runs on is known and up. */
static void foreign_sync(csl_engine *e, rec *r, const csl_job *j)
{
    if (r->foreign_done)
        return;
    foreign_release(e, r);
    if (j->num_alloc == 0)
        return;
    r->fallocs = calloc(j->num_alloc, sizeof *r->fallocs);
    if (r->fallocs == NULL)
        return;
    for (size_t i = 0; i < j->num_alloc; i++) {
        uint64_t id = node_id(e, j->alloc_nodes[i]);
        int64_t d[NUM_RESOURCES] = {j->alloc_cpus[i],
                                    j->mem_per_cpu ? j->mem_mib * j->alloc_cpus[i] : j->mem_mib};
        if (id == 0 || pool_state(e, id, NULL) != CS_NODE_UP ||
            cs_pool_allocate(e->pool, id, d, FOREIGN_OWNER | j->id,
                             &r->fallocs[r->num_fallocs]) != CS_OK) {
            foreign_release(e, r);
            return;
        }
        r->num_fallocs++;
    }
    r->foreign_done = true;
    event(e, "foreign", "\"job\":%u,\"nodes\":%zu", j->id, j->num_alloc);
}

/* ---- reconciling one job --------------------------------------------------- */

/* Do the node(s) Slurm used equal the comma-separated list we pinned? */
static bool same_nodes(const char *pinned, const csl_job *j)
{
    if (pinned == NULL)
        return false;
    size_t count = 0;
    for (const char *p = pinned; *p != '\0';) {
        size_t len = strcspn(p, ",");
        bool found = false;
        for (size_t i = 0; i < j->num_alloc && !found; i++)
            found = strlen(j->alloc_nodes[i]) == len && strncmp(j->alloc_nodes[i], p, len) == 0;
        if (!found)
            return false;
        count++;
        p += len;
        if (*p == ',')
            p++;
    }
    return count == j->num_alloc;
}

static bool pinned_nodes_up(const csl_engine *e, const char *pinned)
{
    char name[256];
    for (const char *p = pinned; p != NULL && *p != '\0';) {
        size_t len = strcspn(p, ",");
        if (len >= sizeof name)
            return false;
        memcpy(name, p, len);
        name[len] = '\0';
        uint64_t id = node_id(e, name);
        if (id == 0 || pool_state(e, id, NULL) != CS_NODE_UP)
            return false;
        p += len;
        if (*p == ',')
            p++;
    }
    return true;
}

static void adopt(csl_engine *e, rec *r, const csl_job *j, const csl_actions *act)
{
    if (j->phase == CSL_JOB_RUNNING) {
        r->kind = REC_FOREIGN;
        foreign_sync(e, r, j);
        return;
    }
    if (j->phase != CSL_JOB_PENDING || !managed_partition(e, j->partition))
        return;
    if (!j->held || j->pinned) {
        if (act->hold(act->ctx, j->id) != 0) {
            e->stats->errors++;
            return; /* maybe Slurm started it meanwhile: next cycle tells */
        }
        event(e, "hold", "\"job\":%u", j->id);
    }
    r->kind = REC_MANAGED;
    if (ready(e, r, j))
        submit(e, r, j);
}

static void reconcile(csl_engine *e, rec *r, const csl_job *j, const csl_actions *act)
{
    bool ended = j->phase >= CSL_JOB_COMPLETED;
    switch (r->kind) {
    case REC_NONE:
        adopt(e, r, j, act);
        return;
    case REC_FOREIGN:
        if (j->phase == CSL_JOB_RUNNING) {
            foreign_sync(e, r, j);
            return;
        }
        foreign_release(e, r);
        r->kind = REC_NONE;
        if (j->phase == CSL_JOB_PENDING) /* requeued: ours from now on */
            adopt(e, r, j, act);
        return;
    case REC_MANAGED:
        break;
    }
    if (!r->released) {
        /* Queued in the library (or not yet submitted). */
        if (j->phase == CSL_JOB_PENDING) {
            r->preempting = false;
            if (!j->held || j->pinned) {
                if (act->hold(act->ctx, j->id) != 0)
                    e->stats->errors++;
                else
                    event(e, "hold", "\"job\":%u", j->id);
            }
            bool ok = ready(e, r, j);
            if (!r->submitted && ok) {
                submit(e, r, j);
            } else if (r->submitted && !ok) {
                /* Not startable before its begin time (e.g. requeued by a
                 * preemption): out of the library until then. */
                retire(e, r, END_CANCEL);
                event(e, "wait", "\"job\":%u,\"until\":%.0f", j->id, r->not_before);
            }
        } else if (j->phase == CSL_JOB_RUNNING) {
            if (r->preempting)
                return; /* Slurm has not requeued it yet */
            say(e, "job %u was started outside the library; mirroring it", j->id);
            event(e, "outside", "\"job\":%u", j->id);
            retire(e, r, END_CANCEL);
            r->kind = REC_FOREIGN;
            foreign_sync(e, r, j);
        } else {
            retire(e, r, END_CANCEL);
            r->kind = REC_NONE;
        }
        return;
    }
    /* Started by the library and released in Slurm. */
    if (j->phase == CSL_JOB_PENDING) {
        const char *why = NULL;
        ready(e, r, j);
        if (j->held)
            why = "held";
        else if (r->not_before > e->now + 1)
            why = "begin"; /* e.g. requeued: Slurm will not start it before then */
        else if (!pinned_nodes_up(e, r->pinned))
            why = "node";
        else if (e->now - r->released_at > e->cfg.pin_timeout)
            why = "timeout";
        if (why != NULL)
            revoke(e, r, j, act, why);
        return;
    }
    if (j->phase == CSL_JOB_RUNNING) {
        if (r->started_seen)
            return;
        if (!same_nodes(r->pinned, j)) {
            say(e, "job %u runs elsewhere than the library chose (%s); mirroring it", j->id,
                r->pinned);
            event(e, "moved", "\"job\":%u,\"nodes\":\"%s\"", j->id, r->pinned);
            retire(e, r, END_CANCEL);
            r->kind = REC_FOREIGN;
            foreign_sync(e, r, j);
            return;
        }
        r->started_seen = true;
        event(e, "running", "\"job\":%u,\"nodes\":\"%s\"", j->id, r->pinned);
        return;
    }
    if (ended) {
        static const char *names[] = {"", "", "completed", "failed", "cancelled"};
        retire(e, r,
               j->phase == CSL_JOB_COMPLETED ? END_COMPLETE
               : j->phase == CSL_JOB_FAILED  ? END_FAIL
                                             : END_CANCEL);
        event(e, "end", "\"job\":%u,\"state\":\"%s\"", j->id, names[j->phase]);
        e->stats->ended++;
        r->kind = REC_NONE;
    }
}

/* A record whose job Slurm no longer reports (purged, or never ours). */
static void vanish(csl_engine *e, rec *r)
{
    if (r->kind == REC_MANAGED) {
        retire(e, r, END_CANCEL);
        event(e, "gone", "\"job\":%u", r->job);
    } else if (r->kind == REC_FOREIGN) {
        foreign_release(e, r);
    }
    r->kind = REC_NONE;
}

static int job_cmp(const void *a, const void *b)
{
    uint32_t x = ((const csl_job *)a)->id, y = ((const csl_job *)b)->id;
    return (x > y) - (x < y);
}

/* Merge the sorted records with the sorted jobs into a new record array. */
static int sync_jobs(csl_engine *e, csl_snapshot *snap, const csl_actions *act)
{
    qsort(snap->jobs, snap->num_jobs, sizeof *snap->jobs, job_cmp);
    size_t cap = e->num_recs + snap->num_jobs + 1;
    rec *out = malloc(cap * sizeof *out);
    if (out == NULL) {
        say(e, "out of memory");
        return -1;
    }
    /* The old array stays live during the merge: node_down and decisions
     * look records up in it, so build `out` and swap at the end. */
    size_t i = 0, k = 0, n = 0;
    while (i < snap->num_jobs || k < e->num_recs) {
        rec *r;
        const csl_job *j = NULL;
        rec fresh;
        if (k < e->num_recs && (i == snap->num_jobs || e->recs[k].job < snap->jobs[i].id)) {
            r = &e->recs[k++];
            vanish(e, r);
        } else {
            j = &snap->jobs[i++];
            if (i < snap->num_jobs && snap->jobs[i].id == j->id)
                continue; /* duplicate id: keep the last copy */
            if (k < e->num_recs && e->recs[k].job == j->id) {
                r = &e->recs[k++];
            } else {
                memset(&fresh, 0, sizeof fresh);
                fresh.job = j->id;
                r = &fresh;
            }
            reconcile(e, r, j, act);
        }
        if (r->kind != REC_NONE)
            out[n++] = *r;
        else
            free(r->pinned), free(r->fallocs);
    }
    free(e->recs);
    e->recs = out;
    e->num_recs = n;
    e->cap_recs = cap;
    return 0;
}

/* ---- decisions ------------------------------------------------------------ */

static const char *reason_name(cs_decision_reason r)
{
    switch (r) {
    case CS_REASON_IN_ORDER: return "in_order";
    case CS_REASON_SKIP_AHEAD: return "skip_ahead";
    case CS_REASON_BACKFILL: return "backfill";
    case CS_REASON_AFTER_PREEMPTION: return "after_preemption";
    case CS_REASON_PREEMPTED: return "preempted";
    }
    return "unknown";
}

static void apply_start(csl_engine *e, const cs_decision *d, const csl_actions *act)
{
    rec *r = find_rec(e, (uint32_t)(d->task >> 16));
    if (r == NULL || task_id(r) != d->task) {
        say(e, "decision for unknown task %llu", (unsigned long long)d->task);
        e->stats->errors++;
        return;
    }
    uint64_t nodes[64];
    size_t nn = 0;
    if (!lib_ok(e, cs_sched_task_placement(e->sched, d->task, nodes, NULL, 64, &nn),
                "placement", r->job))
        return;
    char list[64 * 32];
    size_t len = 0;
    list[0] = '\0';
    for (size_t i = 0; i < nn; i++) {
        const char *name = e->node_names[nodes[i] - 1];
        bool dup = false;
        for (size_t q = 0; q < i; q++)
            dup = dup || nodes[q] == nodes[i];
        if (dup)
            continue;
        int w = snprintf(list + len, sizeof list - len, "%s%s", len ? "," : "", name);
        if (w < 0 || (size_t)w >= sizeof list - len)
            break;
        len += (size_t)w;
    }
    uint32_t distinct = 0;
    for (const char *p = list; *p != '\0'; p += strcspn(p, ","), p += *p == ',')
        distinct++;
    uint32_t prio = e->seq < TOP_PRIORITY - 1 ? TOP_PRIORITY - (uint32_t)e->seq : 1;
    if (act->release(act->ctx, r->job, list, distinct, prio) != 0) {
        /* Slurm refused (the job vanished or changed): undo; the next cycle
         * sees what happened to it. */
        e->stats->errors++;
        retire(e, r, END_CANCEL);
        return;
    }
    free(r->pinned);
    r->pinned = dup_str(list);
    r->released = true;
    r->released_at = e->now;
    e->stats->started++;
    event(e, "start", "\"seq\":%llu,\"job\":%u,\"nodes\":\"%s\",\"reason\":\"%s\",\"priority\":%u",
          (unsigned long long)e->seq, r->job, list, reason_name(d->reason), prio);
    e->seq++;
}

static void apply_preempt(csl_engine *e, const cs_decision *d, const csl_actions *act)
{
    rec *r = find_rec(e, (uint32_t)(d->task >> 16));
    if (r == NULL)
        return;
    r->released = false;
    r->started_seen = false;
    if (act->requeue(act->ctx, r->job) != 0) {
        e->stats->errors++; /* next cycle mirrors it as running outside */
        return;
    }
    r->preempting = true;
    event(e, "preempt", "\"job\":%u,\"for\":%llu", r->job,
          (unsigned long long)(d->related >> 16));
}

static int run_step(csl_engine *e, const csl_actions *act)
{
    for (;;) {
        size_t n = 0;
        cs_status st = cs_sched_step(e->sched, e->now, e->dec, DECISIONS_PER_CALL, &n);
        if (st != CS_OK) {
            say(e, "step: %s", cs_status_str(st));
            return -1;
        }
        for (size_t i = 0; i < n; i++) {
            if (e->dec[i].kind == CS_DECISION_START)
                apply_start(e, &e->dec[i], act);
            else
                apply_preempt(e, &e->dec[i], act);
        }
        if (n < DECISIONS_PER_CALL)
            return 0;
    }
}

/* ---- public ----------------------------------------------------------------- */

void csl_config_init(csl_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->policy = CS_QUEUE_FCFS;
    cfg->placement = CS_PLACE_FIRST_FIT;
    cfg->head_of_line = CS_HOL_BACKFILL;
    cfg->backfill_depth = 1;
    cfg->pin_timeout = 60;
    cfg->log = stderr;
}

int csl_engine_create(const csl_config *cfg, csl_engine **out)
{
    csl_engine *e = calloc(1, sizeof *e);
    if (e == NULL)
        return -1;
    e->cfg = *cfg;
    csl_cycle_stats scratch = {0};
    e->stats = &scratch;
    const char *names[NUM_RESOURCES] = {"cpu", "mem_mib"};
    cs_status st = cs_pool_create(NUM_RESOURCES, names, NULL, NULL, &e->pool);
    /* The predictor always learns from finished jobs; --predict decides
     * whether the policy uses it. */
    if (st == CS_OK) {
        cs_predict_options po;
        cs_predict_options_init(&po, sizeof po);
        po.num_features = NUM_FEATURES;
        st = cs_predict_create(&po, NULL, &e->pred);
    }
    if (st == CS_OK) {
        cs_sched_options so;
        cs_sched_options_init(&so, sizeof so);
        so.policy = cfg->policy;
        so.placement = cfg->placement;
        so.head_of_line = cfg->head_of_line;
        so.backfill_depth = cfg->backfill_depth;
        so.preemption = cfg->preemption;
        so.predictor = e->pred;
        so.use_predictions = cfg->use_predictions;
        st = cs_sched_create(e->pool, &so, NULL, &e->sched);
    }
    for (size_t i = 0; st == CS_OK && i < cfg->num_weights; i++) {
        uint64_t t = cfg->tenant_by_user ? strtoull(cfg->weights[i].tenant, NULL, 10)
                                         : name_hash(cfg->weights[i].tenant);
        st = cs_sched_set_tenant_weight(e->sched, t, cfg->weights[i].weight);
    }
    if (st != CS_OK) {
        say(e, "cannot create the scheduler: %s", cs_status_str(st));
        csl_engine_destroy(e);
        return -1;
    }
    e->stats = NULL;
    *out = e;
    return 0;
}

void csl_engine_destroy(csl_engine *e)
{
    if (e == NULL)
        return;
    for (size_t i = 0; i < e->num_recs; i++) {
        free(e->recs[i].pinned);
        free(e->recs[i].fallocs);
    }
    free(e->recs);
    for (size_t i = 0; i < e->num_nodes; i++)
        free(e->node_names[i]);
    free(e->node_names);
    free(e->by_name);
    cs_sched_destroy(e->sched);
    cs_predict_destroy(e->pred);
    cs_pool_destroy(e->pool);
    free(e);
}

int csl_engine_cycle(csl_engine *e, csl_snapshot *snap, double now, const csl_actions *act,
                     csl_cycle_stats *stats)
{
    memset(stats, 0, sizeof *stats);
    e->stats = stats;
    e->now = now > e->now ? now : e->now;
    e->cycle++;
    sync_nodes(e, snap);
    int rc = sync_jobs(e, snap, act);
    if (rc == 0)
        rc = run_step(e, act);
    if (rc == 0 && e->cfg.check) {
        cs_status st = cs_sched_check(e->sched);
        if (st != CS_OK) {
            say(e, "invariant check failed: %s", cs_status_str(st));
            rc = -1;
        }
    }
    for (size_t i = 0; i < e->num_recs; i++) {
        const rec *r = &e->recs[i];
        if (r->kind == REC_FOREIGN)
            stats->foreign++;
        else if (r->released)
            stats->running++;
        else
            stats->pending++;
    }
    e->stats = NULL;
    return rc;
}

size_t csl_engine_held_jobs(const csl_engine *e, uint32_t *ids, size_t capacity)
{
    size_t n = 0;
    for (size_t i = 0; i < e->num_recs; i++) {
        const rec *r = &e->recs[i];
        if (r->kind == REC_MANAGED && !r->released && !r->preempting) {
            if (n < capacity)
                ids[n] = r->job;
            n++;
        }
    }
    return n;
}
