/* The scheduler loop. See sched.h for the contract.
 *
 * Representation: task records in slots (reused after cs_sched_forget),
 * an id map, and per task one block holding everything variable-length
 * (demand, labels, locality lists, features, and the placement arrays sized
 * for `count` replicas at submit, so that starting a task never allocates).
 *
 * A step reserves every buffer it may need before its first decision
 * (scratch arrays, pool allocation slots, queue room for requeued victims),
 * so that no decision can fail half-way: either the step returns CS_OK with
 * its decisions applied, or CS_ERR_NOMEM with nothing changed. */
#include "cloudsched/sched.h"

#include <stdlib.h>

#include "cloudsched/balance.h"
#include "cloudsched/fair.h"
#include "cloudsched/predict.h"
#include "internal.h"
#include "pool_internal.h"
#include "fair_internal.h"
#include "queue_internal.h"
#include "task_internal.h"

#define NO_SLOT UINT32_MAX

typedef struct task_rec {
    uint64_t id;
    uint64_t tenant;
    int64_t priority;
    double submit, start, end;
    double estimate;      /* in use: predicted or the user's; 0 = unknown */
    double user_estimate; /* as submitted, 0 = unknown */
    int estimate_source;  /* cs_predict_source, 0 = the user's estimate without a predictor */
    double locality_weight;
    uint32_t count, elastic_min, replicas, preemptions;
    uint32_t partition;
    uint32_t step_stamp; /* == sched->stamp: examined (blocked) in this step */
    uint8_t state;
    uint8_t topology;
    /* the block */
    void *block;
    int64_t *demand;
    cs_label *labels;
    size_t num_labels;
    uint64_t *pref_nodes;
    size_t num_pref_nodes;
    uint32_t *pref_zones;
    size_t num_pref_zones;
    double *features;
    size_t num_features;
    uint64_t *pl_nodes, *pl_allocs; /* count entries each; replicas are used */
} task_rec;

/* A reservation made in this step: k replicas of task t on node slot s,
 * during [t0, t1). Chained per node. */
typedef struct resv {
    uint32_t slot, k, task, next;
    double t0, t1;
} resv;

/* A candidate node's topology group, for gang packing. */
typedef struct group_pair {
    uint64_t key; /* zone << 32 | rack (rack 0 when grouping by zone) */
    uint32_t cand;
} group_pair;

/* A task of a load-balanced batch: placed again, largest first. */
typedef struct movable {
    double size;  /* dominant share of the pool's capacity */
    uint64_t id;
    uint32_t task, first_node_slot;
} movable;

/* A change of a node's projected free capacity at time t: sign * k
 * replicas of a task's demand. */
typedef struct tl_event {
    double t;
    uint32_t task, k;
    int32_t sign;
} tl_event;

struct cs_sched {
    cs_allocator a;
    cs_pool *pool;
    cs_queue *queue;
    cs_fair *fair;
    cs_sched_options opt;
    double weights[CS_POOL_MAX_RESOURCES];
    size_t p;
    double now;

    task_rec *tasks;
    size_t task_cap, task_end;
    uint32_t free_task; /* free list through step_stamp */
    cs_idmap task_map;

    uint64_t n_submitted, n_state[5], n_forgotten[5];
    uint64_t pending_replicas; /* sum of count over pending tasks */
    uint64_t running_replicas;
    int64_t fair_cap[CS_POOL_MAX_RESOURCES];
    bool fair_cap_set;

    /* step scratch (capacities only grow) */
    uint32_t stamp;
    uint64_t *order;
    size_t order_cap;
    uint32_t *cand_slot, *cand_k, *cand_take;
    group_pair *cand_grp;
    double *cand_score, *cand_score2;
    size_t cand_cap, ncand;
    uint32_t *resv_head; /* per node slot */
    uint32_t *resv_stamp;
    size_t node_scratch_cap;
    resv *resvs;
    size_t resv_cap, nresv;
    double *times;      /* candidate reservation times */
    size_t times_cap;
    tl_event *tl_ev;    /* one node's timeline events */
    size_t tl_ev_cap;
    double *seg_t;      /* arena of node timelines (see timeline()) */
    int64_t *seg_v;
    size_t seg_cap, seg_used;
    uint32_t tl_gen;    /* a node's cached timeline is valid iff tl_valid == tl_gen */
    uint32_t *tl_valid, *tl_off, *tl_len; /* per node slot */
    uint64_t *victims;
    size_t victim_cap, victim_half;
    int64_t min_run_prio; /* a lower bound of running priorities in this step */

    /* load balancing (CS_PLACE_LOAD_BALANCE) */
    cs_balance_workspace *bal;
    int64_t *bal_load, *bal_cap, *bal_col; /* per node slot: one resource at a time */
    int64_t *bal_x;                         /* targets, slot * p */
    size_t bal_cap_n;
    struct movable *bal_tasks;           /* the batch being placed again */
    size_t bal_tasks_cap;
};

static const cs_sched_options sched_options_defaults = {
    .size = sizeof(cs_sched_options),
    .policy = CS_QUEUE_FCFS,
    .aging_slope = 0.0,
    .default_runtime = 3600.0,
    .placement = CS_PLACE_FIRST_FIT,
    .head_of_line = CS_HOL_BACKFILL,
    .backfill_depth = 1,
    .preemption = 0,
    .fail_on_node_down = 0,
    .max_scan = 0,
    .resource_weights = NULL,
    .fair_half_life = 604800.0,
    .predictor = NULL,
    .use_predictions = 0,
};
#define SCHED_OPTIONS_MIN_SIZE (offsetof(cs_sched_options, fair_half_life) + sizeof(double))
#define TASK_INFO_MIN_SIZE (offsetof(cs_task_info, preemptions) + sizeof(uint32_t))
#define COUNTS_MIN_SIZE (offsetof(cs_sched_counts, failed) + sizeof(uint64_t))

cs_status cs_sched_options_init(cs_sched_options *options, size_t size)
{
    return cs__struct_init(options, size, sizeof *options, SCHED_OPTIONS_MIN_SIZE,
                           &sched_options_defaults);
}

/* ------------------------------------------------------------------ */
/* helpers                                                             */

static inline bool time_ok(const cs_sched *s, double now)
{
    return isfinite(now) && now >= s->now;
}

static inline task_rec *find_task(const cs_sched *s, uint64_t id)
{
    uint32_t i = cs__idmap_get(&s->task_map, id);
    return i == CS_IDMAP_MISSING ? NULL : &s->tasks[i];
}

static inline uint32_t task_index(const cs_sched *s, const task_rec *t)
{
    return (uint32_t)(t - s->tasks);
}

static inline const int64_t *node_free(const cs_pool *pool, uint32_t slot)
{
    return pool->free_ + (size_t)slot * pool->p;
}

static inline const int64_t *node_cap(const cs_pool *pool, uint32_t slot)
{
    return pool->cap + (size_t)slot * pool->p;
}

/* How many replicas of demand d fit in v (per-dimension floor division),
 * capped at `limit`. An all-zero demand fits `limit` times. */
static uint32_t replicas_in(const int64_t *v, const int64_t *d, size_t p, uint32_t limit)
{
    uint64_t k = limit;
    for (size_t j = 0; j < p; j++) {
        if (d[j] <= 0)
            continue;
        if (v[j] < d[j])
            return 0;
        uint64_t q = (uint64_t)(v[j] / d[j]);
        if (q < k)
            k = q;
    }
    return (uint32_t)k;
}

/* Duration used for backfilling: the estimate, or +inf when unknown. */
static double run_estimate(const task_rec *t)
{
    return t->estimate > 0.0 ? t->estimate : CS__INF;
}

/* Expected end of a running task. One that outlived its estimate gets an
 * extended one (doubled until it lies ahead, up to a user estimate still
 * ahead: cs_predict_extend), so reservations never rely on a release that
 * is already overdue. */
static double expected_end(const task_rec *t, double now)
{
    double est = run_estimate(t);
    if (!isfinite(est))
        return CS__INF;
    if (t->start + est > now)
        return t->start + est;
    double ext = est;
    if (cs_predict_extend(est, now - t->start, t->user_estimate, &ext) != CS_OK ||
        !(t->start + ext > now))
        return CS__INF; /* cannot happen for finite inputs; stay safe */
    return t->start + ext;
}

/* Tenant usage charged when a run ends: seconds x normalised size. */
static void charge_run(cs_sched *s, task_rec *t, double now)
{
    int64_t cap[CS_POOL_MAX_RESOURCES];
    cs_pool_totals(s->pool, CS_PARTITION_ANY, cap, NULL, NULL);
    double size = 0.0;
    for (size_t k = 0; k < s->p; k++)
        if (cap[k] > 0)
            size += (double)t->replicas * (double)t->demand[k] / (double)cap[k];
    double amount = (now - t->start) * size / (double)s->p;
    if (amount > 0.0 && isfinite(amount))
        (void)cs_fair_charge(s->fair, t->tenant, amount, now);
}

static void drf_vector(const cs_sched *s, const task_rec *t, int64_t *out)
{
    for (size_t k = 0; k < s->p; k++)
        out[k] = t->demand[k] * (int64_t)t->replicas; /* bounded: checked at submit */
}

/* A node's free capacity or reservations changed: drop its timeline. */
static inline void touch_node(cs_sched *s, uint32_t slot)
{
    if (slot < s->node_scratch_cap)
        s->tl_valid[slot] = 0;
}

/* Whether allocation `aid` is one of t's replicas (owners are the caller's
 * tags too, so the owner alone does not say). */
static bool owns_alloc(const task_rec *t, uint64_t aid)
{
    for (uint32_t r = 0; r < t->replicas; r++)
        if (t->pl_allocs[r] == aid)
            return true;
    return false;
}

/* End a running task's run: release its allocations and DRF share, charge
 * its tenant. The caller sets the new state. */
static void end_run(cs_sched *s, task_rec *t, double now)
{
    for (uint32_t i = 0; i < t->replicas; i++) {
        (void)cs_pool_release(s->pool, t->pl_allocs[i]);
        touch_node(s, cs__idmap_get(&s->pool->node_map, t->pl_nodes[i]));
    }
    int64_t v[CS_POOL_MAX_RESOURCES];
    drf_vector(s, t, v);
    (void)cs_fair_release(s->fair, t->tenant, v, s->p);
    charge_run(s, t, now);
    s->running_replicas -= t->replicas;
}

static void set_state(cs_sched *s, task_rec *t, cs_task_state st)
{
    s->n_state[t->state]--;
    t->state = (uint8_t)st;
    s->n_state[st]++;
}

/* ------------------------------------------------------------------ */
/* create / destroy                                                    */

void cs_sched_destroy(cs_sched *s)
{
    if (s == NULL)
        return;
    const cs_allocator *a = &s->a;
    for (size_t i = 0; i < s->task_end; i++)
        if (s->tasks[i].id != CS_ID_NONE)
            cs__free(a, s->tasks[i].block);
    void *arrays[] = {s->tasks,     s->order,     s->cand_slot, s->cand_k,    s->cand_take,
                      s->cand_score, s->resv_head, s->resv_stamp, s->resvs,     s->victims,
                      s->cand_score2,
                      s->cand_grp,  s->tl_ev,     s->seg_t,     s->seg_v,     s->tl_valid,
                      s->tl_off,    s->tl_len,
                      s->times};
    for (size_t i = 0; i < sizeof arrays / sizeof arrays[0]; i++)
        cs__free(a, arrays[i]);
    cs__idmap_free(a, &s->task_map);
    cs_queue_destroy(s->queue);
    cs_fair_destroy(s->fair);
    cs_balance_workspace_destroy(s->bal);
    cs__free(a, s->bal_load);
    cs__free(a, s->bal_cap);
    cs__free(a, s->bal_x);
    cs__free(a, s->bal_col);
    cs__free(a, s->bal_tasks);
    cs_allocator copy = s->a;
    cs__free(&copy, s);
}

cs_status cs_sched_create(cs_pool *pool, const cs_sched_options *options,
                          const cs_allocator *allocator, cs_sched **out)
{
    cs_allocator a;
    cs_sched_options o;
    if (pool == NULL || out == NULL || !cs__allocator_resolve(&a, allocator))
        return CS_ERR_INVALID;
    if (options == NULL)
        o = sched_options_defaults;
    else if (!cs__struct_import(&o, options, sizeof o, SCHED_OPTIONS_MIN_SIZE,
                                &sched_options_defaults))
        return CS_ERR_INVALID;
    size_t p = pool->p;
    if ((unsigned)o.placement > CS_PLACE_LOAD_BALANCE || (unsigned)o.head_of_line > CS_HOL_BACKFILL ||
        !isfinite(o.fair_half_life) || o.fair_half_life < 0.0 || !isfinite(o.default_runtime) ||
        o.default_runtime <= 0.0 || !isfinite(o.aging_slope) || o.aging_slope < 0.0)
        return CS_ERR_INVALID;
    double w[CS_POOL_MAX_RESOURCES];
    bool any = false;
    for (size_t k = 0; k < p; k++) {
        w[k] = o.resource_weights ? o.resource_weights[k] : 1.0;
        if (!isfinite(w[k]) || w[k] < 0.0)
            return CS_ERR_INVALID;
        any |= w[k] > 0.0;
    }
    if (!any)
        return CS_ERR_INVALID;

    cs_sched *s = cs__alloc(&a, sizeof *s);
    if (s == NULL)
        return CS_ERR_NOMEM;
    memset(s, 0, sizeof *s);
    s->a = a;
    s->pool = pool;
    s->opt = o;
    s->opt.resource_weights = NULL; /* copied into s->weights */
    memcpy(s->weights, w, p * sizeof *w);
    s->p = p;
    s->now = -CS__INF;
    s->free_task = NO_SLOT;

    cs_fair_options fo;
    cs_fair_options_init(&fo, sizeof fo);
    fo.half_life = o.fair_half_life;
    fo.num_resources = p;
    cs_status st = cs_fair_create(&fo, &a, &s->fair);
    if (st == CS_OK) {
        cs_queue_options qo;
        cs_queue_options_init(&qo, sizeof qo);
        qo.policy = o.policy;
        qo.aging_slope = o.aging_slope;
        qo.default_runtime = o.default_runtime;
        qo.fair = s->fair;
        st = cs_queue_create(&qo, &a, &s->queue);
    }
    if (st == CS_OK && o.placement == CS_PLACE_LOAD_BALANCE)
        st = cs_balance_workspace_create(&a, &s->bal);
    if (st != CS_OK) {
        cs_sched_destroy(s);
        return st;
    }
    *out = s;
    return CS_OK;
}

/* ------------------------------------------------------------------ */
/* submit                                                              */

/* One block per task: demand, placement arrays, locality lists, features,
 * labels and their strings, aligned by decreasing alignment. */
static cs_status make_task_block(cs_sched *s, const cs_task_spec *ts, task_rec *t)
{
    size_t p = s->p, bytes = 0, strbytes = 0;
    for (size_t i = 0; i < ts->num_labels; i++) {
        size_t add = strlen(ts->labels[i].key) + 1 +
                     (ts->labels[i].value ? strlen(ts->labels[i].value) + 1 : 0);
        if (!cs__add_size(strbytes, add, &strbytes))
            return CS_ERR_INVALID;
    }
    size_t n64 = p + 2 * (size_t)ts->count + ts->num_preferred_nodes + ts->num_features;
    size_t sizes[4] = {0};
    if (!cs__mul_size(n64, 8, &sizes[0]) ||
        !cs__mul_size(ts->num_labels, sizeof(cs_label), &sizes[1]) ||
        !cs__mul_size(ts->num_preferred_zones, sizeof(uint32_t), &sizes[2]))
        return CS_ERR_OVERFLOW;
    sizes[3] = strbytes;
    for (int i = 0; i < 4; i++)
        if (!cs__add_size(bytes, sizes[i], &bytes))
            return CS_ERR_OVERFLOW;
    char *b = cs__alloc(&s->a, bytes);
    if (b == NULL)
        return CS_ERR_NOMEM;
    t->block = b;
    t->demand = (int64_t *)(void *)b;
    memcpy(t->demand, ts->demand, p * sizeof(int64_t));
    t->pl_nodes = (uint64_t *)(void *)(b + 8 * p);
    t->pl_allocs = t->pl_nodes + ts->count;
    t->pref_nodes = t->pl_allocs + ts->count;
    t->num_pref_nodes = ts->num_preferred_nodes;
    if (ts->num_preferred_nodes)
        memcpy(t->pref_nodes, ts->preferred_nodes, ts->num_preferred_nodes * 8);
    t->features = (double *)(void *)(t->pref_nodes + ts->num_preferred_nodes);
    t->num_features = ts->num_features;
    if (ts->num_features)
        memcpy(t->features, ts->features, ts->num_features * sizeof(double));
    t->labels = (cs_label *)(void *)(b + sizes[0]);
    t->num_labels = ts->num_labels;
    t->pref_zones = (uint32_t *)(void *)(b + sizes[0] + sizes[1]);
    t->num_pref_zones = ts->num_preferred_zones;
    if (ts->num_preferred_zones)
        memcpy(t->pref_zones, ts->preferred_zones, ts->num_preferred_zones * sizeof(uint32_t));
    char *str = b + sizes[0] + sizes[1] + sizes[2];
    for (size_t i = 0; i < ts->num_labels; i++) {
        size_t kl = strlen(ts->labels[i].key) + 1;
        memcpy(str, ts->labels[i].key, kl);
        t->labels[i].key = str;
        str += kl;
        t->labels[i].value = NULL;
        if (ts->labels[i].value != NULL) {
            size_t vl = strlen(ts->labels[i].value) + 1;
            memcpy(str, ts->labels[i].value, vl);
            t->labels[i].value = str;
            str += vl;
        }
    }
    return CS_OK;
}

cs_status cs_sched_submit(cs_sched *s, const cs_task_spec *spec, double now)
{
    cs_task_spec ts;
    if (s == NULL || !time_ok(s, now))
        return CS_ERR_INVALID;
    cs_status st = cs__task_spec_import(&ts, spec);
    if (st != CS_OK)
        return st;
    st = cs__task_spec_check(&ts, s->p);
    if (st != CS_OK)
        return st;
    if (find_task(s, ts.id) != NULL)
        return CS_ERR_EXISTS;
    /* Reserve: a task slot, the map entry, the block; then push (which may
     * itself fail without changing the queue) and only then commit. */
    if (s->free_task == NO_SLOT && s->task_end == s->task_cap &&
        !cs__reserve(&s->a, (void **)&s->tasks, &s->task_cap, s->task_end + 1, sizeof(task_rec)))
        return CS_ERR_NOMEM;
    if (s->task_end >= CS_IDMAP_MISSING - 1)
        return CS_ERR_OVERFLOW;
    if (!cs__idmap_reserve(&s->a, &s->task_map, 1))
        return CS_ERR_NOMEM;
    /* The estimate in use: a prediction when the options ask for one. The
     * predictor is asked whenever there is one, so that a feature count it
     * cannot learn from is refused here rather than lost at completion. */
    double user_estimate = ts.runtime_estimate;
    int source = 0;
    if (s->opt.predictor != NULL) {
        double est, upper;
        cs_predict_source src;
        st = cs_predict_estimate(s->opt.predictor, ts.tenant,
                                 ts.num_features ? ts.features : NULL, ts.num_features,
                                 ts.runtime_estimate, &est, &upper, &src);
        if (st == CS_ERR_DIMENSION)
            return st;
        if (s->opt.use_predictions && st == CS_OK && est > 0.0 && isfinite(est)) {
            ts.runtime_estimate = est;
            source = (int)src;
        }
    }
    task_rec t;
    memset(&t, 0, sizeof t);
    st = make_task_block(s, &ts, &t);
    if (st != CS_OK)
        return st;
    st = cs_queue_push(s->queue, &ts, now);
    if (st != CS_OK) {
        cs__free(&s->a, t.block);
        return st;
    }
    /* The tenant must be known to the fair state before its task can start
     * (a step may not fail half-way). Fair-share and DRF queues made it
     * known on the push; other policies do it here. */
    if (cs__fair_find(s->fair, ts.tenant) == CS_IDMAP_MISSING &&
        (st = cs_fair_set_weight(s->fair, ts.tenant, 1.0)) != CS_OK) {
        (void)cs_queue_remove(s->queue, ts.id);
        cs__free(&s->a, t.block);
        return st;
    }
    t.id = ts.id;
    t.tenant = ts.tenant;
    t.priority = ts.priority;
    t.submit = now;
    t.start = (double)NAN;
    t.end = (double)NAN;
    t.estimate = ts.runtime_estimate;
    t.user_estimate = user_estimate;
    t.estimate_source = source;
    t.locality_weight = ts.locality_weight;
    t.count = ts.count;
    t.elastic_min = ts.elastic_min ? ts.elastic_min : ts.count;
    t.partition = ts.partition;
    t.state = CS_TASK_PENDING;
    t.topology = (uint8_t)ts.topology;
    uint32_t i;
    if (s->free_task != NO_SLOT) {
        i = s->free_task;
        s->free_task = s->tasks[i].step_stamp;
    } else {
        i = (uint32_t)s->task_end++;
    }
    s->tasks[i] = t;
    cs__idmap_put(&s->task_map, t.id, i);
    s->n_submitted++;
    s->n_state[CS_TASK_PENDING]++;
    s->pending_replicas += t.count;
    s->now = now;
    return CS_OK;
}

/* ------------------------------------------------------------------ */
/* the step: scratch                                                   */

static bool reserve_array(cs_sched *s, void **ptr, size_t *cap, size_t need, size_t elem)
{
    return cs__reserve(&s->a, ptr, cap, need, elem);
}

/* Grow per-node scratch arrays to the pool's slot count. */
static bool reserve_node_scratch(cs_sched *s)
{
    size_t need = s->pool->slot_end;
    if (need <= s->node_scratch_cap)
        return true;
    size_t cap = need < 64 ? 64 : need * 2;
    struct {
        void **ptr;
        size_t elem;
    } arrays[] = {
        {(void **)&s->cand_slot, sizeof(uint32_t)},   {(void **)&s->cand_k, sizeof(uint32_t)},
        {(void **)&s->cand_take, sizeof(uint32_t)},   {(void **)&s->cand_grp, sizeof(group_pair)},
        {(void **)&s->resv_head, sizeof(uint32_t)},   {(void **)&s->resv_stamp, sizeof(uint32_t)},
        {(void **)&s->cand_score, sizeof(double)},
        {(void **)&s->cand_score2, sizeof(double)},
        {(void **)&s->tl_valid, sizeof(uint32_t)},    {(void **)&s->tl_off, sizeof(uint32_t)},
        {(void **)&s->tl_len, sizeof(uint32_t)},
    };
    for (size_t i = 0; i < sizeof arrays / sizeof arrays[0]; i++) {
        void *q = *arrays[i].ptr ? s->a.realloc(s->a.ctx, *arrays[i].ptr, cap * arrays[i].elem)
                                 : cs__alloc(&s->a, cap * arrays[i].elem);
        if (q == NULL)
            return false;
        *arrays[i].ptr = q;
    }
    /* Stamps of new slots must not look current. */
    for (size_t i = s->node_scratch_cap; i < cap; i++)
        s->resv_stamp[i] = s->tl_valid[i] = 0;
    s->node_scratch_cap = cap;
    s->cand_cap = cap;
    return true;
}

/* ------------------------------------------------------------------ */
/* the step: timelines for backfilling                                 */

static inline bool has_resv(const cs_sched *s, uint32_t slot)
{
    return s->resv_stamp[slot] == s->stamp;
}

/* A node's projected free capacity as a step function, built on demand
 * into scratch at offset `off`: segment i starts at seg_t[i] (the first at
 * now) and holds seg_v[i * p ...] until the next. Events: expected releases
 * (+) and reservations (- at start, + at end). O(m log m) for m events. */
static int event_cmp(const void *x, const void *y)
{
    const tl_event *a = x, *b = y;
    return (a->t > b->t) - (a->t < b->t);
}

/* Forget every cached timeline. */
static void clear_timelines(cs_sched *s)
{
    s->seg_used = 0;
    if (++s->tl_gen == 0) { /* wrapped: no stale mark may look valid */
        for (size_t i = 0; i < s->node_scratch_cap; i++)
            s->tl_valid[i] = 0;
        s->tl_gen = 1;
    }
}

static size_t build_timeline(cs_sched *s, uint32_t slot, double now, size_t off)
{
    size_t p = s->p, ne = 0;
    tl_event *ev = s->tl_ev;
    /* Expected releases: the node's allocations that belong to running
     * tasks (allocations of the caller's own are never released here). */
    const cs_pool *pool = s->pool;
    for (uint32_t as = pool->alloc_head[slot]; as != CS_NIL; as = pool->anext[as]) {
        const task_rec *t = find_task(s, pool->owner[as]);
        if (t == NULL || t->state != CS_TASK_RUNNING || !owns_alloc(t, pool->alloc_id[as]))
            continue;
        double end = expected_end(t, now);
        if (isfinite(end))
            ev[ne++] = (tl_event){end, task_index(s, t), 1, +1};
    }
    if (has_resv(s, slot))
        for (uint32_t j = s->resv_head[slot]; j != NO_SLOT; j = s->resvs[j].next) {
            const resv *r = &s->resvs[j];
            ev[ne++] = (tl_event){r->t0, r->task, r->k, -1};
            if (isfinite(r->t1))
                ev[ne++] = (tl_event){r->t1, r->task, r->k, +1};
        }
    qsort(ev, ne, sizeof *ev, event_cmp);
    int64_t *v = &s->seg_v[off * p];
    memcpy(v, node_free(s->pool, slot), p * sizeof *v);
    s->seg_t[off] = now;
    size_t n = 1;
    for (size_t e = 0; e < ne; e++) {
        if (ev[e].t > s->seg_t[off + n - 1]) { /* a new segment */
            memcpy(&s->seg_v[(off + n) * p], &s->seg_v[(off + n - 1) * p], p * sizeof *v);
            s->seg_t[off + n] = ev[e].t;
            n++;
        }
        int64_t *cur = &s->seg_v[(off + n - 1) * p];
        const int64_t *d = s->tasks[ev[e].task].demand;
        for (size_t k = 0; k < p; k++)
            cur[k] += ev[e].sign * (int64_t)ev[e].k * d[k];
    }
    return n;
}

/* Replicas (at most limit) that fit through [a, b) in a built timeline. */
static uint32_t window_min(const cs_sched *s, size_t off, size_t n, double a, double b,
                           const int64_t *d, uint32_t limit)
{
    size_t lo = 0, hi = n; /* last segment starting at or before a */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->seg_t[off + mid] <= a)
            lo = mid;
        else
            hi = mid;
    }
    uint32_t k = limit;
    for (size_t j = lo; j < n && s->seg_t[off + j] < b && k > 0; j++) {
        uint32_t kj = replicas_in(&s->seg_v[(off + j) * s->p], d, s->p, limit);
        if (kj < k)
            k = kj;
    }
    return k;
}

/* A node's timeline, cached in the arena for the rest of the step until
 * the node changes (a start, a reservation or a preemption touches it).
 * When the arena is full it is emptied: every current timeline together
 * needs at most half of it (events + one segment per node). */
static void timeline(cs_sched *s, uint32_t slot, size_t *off, size_t *n)
{
    if (s->tl_valid[slot] == s->tl_gen) {
        *off = s->tl_off[slot];
        *n = s->tl_len[slot];
        return;
    }
    size_t need = 1 + s->pool->alloc_count[slot];
    if (has_resv(s, slot))
        for (uint32_t j = s->resv_head[slot]; j != NO_SLOT; j = s->resvs[j].next)
            need += 2;
    if (s->seg_used + need > s->seg_cap)
        clear_timelines(s);
    /* Starts may lower it; ends leave a bound that is still valid. */
    s->min_run_prio = INT64_MAX;
    if (s->opt.preemption)
        for (size_t i = 0; i < s->task_end; i++)
            if (s->tasks[i].id != CS_ID_NONE && s->tasks[i].state == CS_TASK_RUNNING &&
                s->tasks[i].priority < s->min_run_prio)
                s->min_run_prio = s->tasks[i].priority;
    *off = s->seg_used;
    *n = build_timeline(s, slot, s->now, *off);
    s->seg_used += *n;
    s->tl_off[slot] = (uint32_t)*off;
    s->tl_len[slot] = (uint32_t)*n;
    s->tl_valid[slot] = s->tl_gen;
}

/* Replicas of demand d (at most limit) that node `slot` can hold through
 * the whole window [a, b). Without reservations on the node its projected
 * free capacity never falls, so from now on the answer is its free now. */
static uint32_t window_replicas(cs_sched *s, uint32_t slot, double a, double b,
                                const int64_t *d, uint32_t limit)
{
    if (!has_resv(s, slot) && a <= s->now)
        return replicas_in(node_free(s->pool, slot), d, s->p, limit);
    size_t off, n;
    timeline(s, slot, &off, &n);
    return window_min(s, off, n, a, b, d, limit);
}

/* ------------------------------------------------------------------ */
/* the step: placement                                                 */

typedef struct collect_ctx {
    cs_sched *s;
    const task_rec *t;
    double window_end; /* now + estimate, or +inf */
    double now;
    uint32_t limit;    /* replicas per node */
    bool future;       /* reservation planning: capacity instead of free */
} collect_ctx;

static bool in_list64(const uint64_t *v, size_t n, uint64_t x)
{
    for (size_t i = 0; i < n; i++)
        if (v[i] == x)
            return true;
    return false;
}

static bool in_list32(const uint32_t *v, size_t n, uint32_t x)
{
    for (size_t i = 0; i < n; i++)
        if (v[i] == x)
            return true;
    return false;
}

static double locality_bonus(const cs_sched *s, const task_rec *t, uint32_t slot)
{
    if (t->num_pref_nodes && in_list64(t->pref_nodes, t->num_pref_nodes, s->pool->node_id[slot]))
        return 100.0 * t->locality_weight;
    if (t->num_pref_zones && in_list32(t->pref_zones, t->num_pref_zones, s->pool->zone[slot]))
        return 50.0 * t->locality_weight;
    return 0.0;
}

/* Utilisation fractions after placing `extra` replicas of t on the node;
 * returns the number of resources with capacity > 0. */
static size_t fractions(const cs_sched *s, const task_rec *t, uint32_t slot, uint32_t extra,
                        double *f, double *w)
{
    const int64_t *c = node_cap(s->pool, slot), *fr = node_free(s->pool, slot);
    size_t n = 0;
    for (size_t k = 0; k < s->p; k++) {
        if (c[k] <= 0)
            continue;
        double used = (double)(c[k] - fr[k]) + (double)extra * (double)t->demand[k];
        f[n] = used / (double)c[k];
        w[n] = s->weights[k];
        n++;
    }
    return n;
}

static double least_allocated(const cs_sched *s, const task_rec *t, uint32_t slot, uint32_t extra)
{
    double f[CS_POOL_MAX_RESOURCES], w[CS_POOL_MAX_RESOURCES], num = 0, den = 0;
    size_t n = fractions(s, t, slot, extra, f, w);
    for (size_t i = 0; i < n; i++) {
        num += w[i] * (1.0 - f[i]);
        den += w[i];
    }
    return den > 0 ? 100.0 * num / den : 0.0;
}

/* Score of placing replica number `taken` + 1 of t on the node: primary and
 * secondary keys, higher is better; ties then go to the lower node id. */
static void score(const cs_sched *s, const task_rec *t, uint32_t slot, uint32_t taken,
                  double position, double *primary, double *secondary)
{
    const cs_pool *pool = s->pool;
    double f[CS_POOL_MAX_RESOURCES], w[CS_POOL_MAX_RESOURCES];
    uint32_t extra = taken + 1;
    *secondary = 0.0;
    switch (s->opt.placement) {
    case CS_PLACE_FIRST_FIT:
        *primary = -position;
        return;
    case CS_PLACE_BEST_FIT:
    case CS_PLACE_WORST_FIT: {
        double sd = 0.0;
        for (size_t k = 0; k < s->p; k++)
            sd += pool->weights[k] * (double)t->demand[k];
        double after = pool->sval[slot] - (double)extra * sd;
        *primary = s->opt.placement == CS_PLACE_BEST_FIT ? -after : after;
        return;
    }
    case CS_PLACE_LEAST_ALLOCATED:
    case CS_PLACE_LOAD_BALANCE: /* the first placement of a batch; see rebalance() */
        *primary = least_allocated(s, t, slot, extra);
        break;
    case CS_PLACE_MOST_ALLOCATED: {
        size_t n = fractions(s, t, slot, extra, f, w);
        double num = 0, den = 0;
        for (size_t i = 0; i < n; i++) {
            num += w[i] * f[i];
            den += w[i];
        }
        *primary = den > 0 ? 100.0 * num / den : 0.0;
        break;
    }
    case CS_PLACE_BALANCED: {
        size_t n = fractions(s, t, slot, extra, f, w);
        double mean = 0, var = 0;
        for (size_t i = 0; i < n; i++)
            mean += f[i];
        mean = n ? mean / (double)n : 0.0;
        for (size_t i = 0; i < n; i++)
            var += (f[i] - mean) * (f[i] - mean);
        var = n ? var / (double)n : 0.0;
        *primary = 100.0 * (1.0 - sqrt(var));
        break;
    }
    case CS_PLACE_DOT_PRODUCT: {
        const int64_t *c = node_cap(pool, slot), *fr = node_free(pool, slot);
        double num = 0, den = 0;
        for (size_t k = 0; k < s->p; k++) {
            if (c[k] <= 0)
                continue;
            double cc = (double)c[k];
            double avail = (double)fr[k] - (double)taken * (double)t->demand[k];
            num += s->weights[k] * ((double)t->demand[k] / cc) * (avail / cc);
            den += s->weights[k];
        }
        *primary = den > 0 ? 100.0 * num / den : 0.0;
        break;
    }
    case CS_PLACE_CHEAPEST: {
        double cost = 0;
        for (size_t k = 0; k < s->p; k++)
            cost += pool->unit_cost[(size_t)slot * s->p + k] * (double)t->demand[k];
        *primary = -cost;
        *secondary = least_allocated(s, t, slot, extra);
        break;
    }
    case CS_PLACE_LOCALITY:
        *primary = 0.0;
        *secondary = least_allocated(s, t, slot, extra);
        break;
    }
    *primary += locality_bonus(s, t, slot);
}

static inline bool better(const cs_sched *s, uint32_t i, uint32_t j)
{
    if (s->cand_score[i] != s->cand_score[j])
        return s->cand_score[i] > s->cand_score[j];
    if (s->cand_score2[i] != s->cand_score2[j])
        return s->cand_score2[i] > s->cand_score2[j];
    return s->pool->node_id[s->cand_slot[i]] < s->pool->node_id[s->cand_slot[j]];
}

/* Visitor: a node with room for at least one replica now (or, when
 * planning a reservation, one whose capacity could hold one). */
static bool collect_visit(void *vctx, uint32_t slot)
{
    collect_ctx *c = vctx;
    cs_sched *s = c->s;
    const task_rec *t = c->t;
    if (!cs__pool_labels_match(s->pool, slot, t->labels, t->num_labels))
        return true;
    uint32_t k;
    if (c->future)
        k = replicas_in(node_cap(s->pool, slot), t->demand, s->p, c->limit);
    else
        k = window_replicas(s, slot, c->now, c->window_end, t->demand, c->limit);
    if (k == 0)
        return true;
    size_t i = s->ncand++;
    s->cand_slot[i] = slot;
    s->cand_k[i] = k;
    s->cand_take[i] = 0;
    if (!c->future)
        score(s, t, slot, 0, (double)i, &s->cand_score[i], &s->cand_score2[i]);
    return true;
}

static void collect(cs_sched *s, const task_rec *t, double now, bool future)
{
    int64_t zero[CS_POOL_MAX_RESOURCES] = {0};
    collect_ctx c = {
        .s = s,
        .t = t,
        .now = now,
        .window_end = now + run_estimate(t),
        .limit = t->topology == CS_TOPOLOGY_SPREAD ? 1 : t->count,
        .future = future,
    };
    s->ncand = 0;
    cs__pool_visit_fitting(s->pool, t->partition, future ? zero : t->demand, collect_visit, &c);
}

static int group_pair_cmp(const void *x, const void *y)
{
    const group_pair *a = x, *b = y;
    if (a->key != b->key)
        return a->key < b->key ? -1 : 1;
    return (a->cand > b->cand) - (a->cand < b->cand);
}

/* Restrict candidates to the one rack (or zone) that can hold all `want`
 * replicas with the least room left over, then the lowest id; false when
 * no single group can. O(C log C), O(C) when candidates come sorted. */
static bool restrict_to_group(cs_sched *s, uint32_t want, bool by_rack)
{
    size_t n = s->ncand;
    group_pair *g = s->cand_grp;
    for (size_t i = 0; i < n; i++) {
        uint32_t slot = s->cand_slot[i];
        g[i].key = ((uint64_t)s->pool->zone[slot] << 32) | (by_rack ? s->pool->rack[slot] : 0u);
        g[i].cand = (uint32_t)i;
    }
    /* Racks usually follow node ids, so the visit order is often sorted. */
    bool sorted = true;
    for (size_t i = 1; i < n && sorted; i++)
        sorted = g[i - 1].key <= g[i].key;
    if (!sorted)
        qsort(g, n, sizeof *g, group_pair_cmp);
    uint64_t best_key = 0, best_left = UINT64_MAX;
    for (size_t i = 0; i < n;) {
        uint64_t room = 0;
        size_t j = i;
        for (; j < n && g[j].key == g[i].key; j++)
            room += s->cand_k[g[j].cand];
        if (room >= want && room - want < best_left) {
            best_left = room - want;
            best_key = g[i].key;
        }
        i = j;
    }
    if (best_left == UINT64_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (g[i].key != best_key)
            s->cand_k[g[i].cand] = 0;
    return true;
}

/* Plan replicas of t on the current candidates: the best-scoring node
 * takes each next replica; its score is then recomputed with that replica
 * counted. Returns the replicas planned (cand_take holds them). */
static uint32_t assign(cs_sched *s, const task_rec *t)
{
    uint32_t planned = 0;
    for (; planned < t->count; planned++) {
        uint32_t best = NO_SLOT;
        for (uint32_t i = 0; i < s->ncand; i++)
            if (s->cand_take[i] < s->cand_k[i] && (best == NO_SLOT || better(s, i, best)))
                best = i;
        if (best == NO_SLOT)
            break;
        s->cand_take[best]++;
        if (s->cand_take[best] < s->cand_k[best])
            score(s, t, s->cand_slot[best], s->cand_take[best], (double)best,
                  &s->cand_score[best], &s->cand_score2[best]);
    }
    return planned;
}

static bool any_reservation(const cs_sched *s)
{
    return s->nresv > 0;
}

/* Plan a start of t now. Returns the replicas planned (0: cannot start);
 * the plan is in cand_slot/cand_take[0..ncand). */
static uint32_t plan_now(cs_sched *s, const task_rec *t, double now)
{
    cs_placement pl = s->opt.placement;
    if (t->count == 1 && !any_reservation(s) &&
        (pl == CS_PLACE_FIRST_FIT || pl == CS_PLACE_BEST_FIT || pl == CS_PLACE_WORST_FIT)) {
        /* The pool's index answers directly. */
        cs_fit_query q;
        cs_fit_query_init(&q, sizeof q);
        q.demand = t->demand;
        q.partition = t->partition;
        q.labels = t->labels;
        q.num_labels = t->num_labels;
        uint64_t node;
        cs_fit how = pl == CS_PLACE_FIRST_FIT  ? CS_FIT_FIRST
                     : pl == CS_PLACE_BEST_FIT ? CS_FIT_BEST
                                               : CS_FIT_WORST;
        if (cs_pool_fit(s->pool, how, &q, &node) != CS_OK)
            return 0;
        s->ncand = 1;
        s->cand_slot[0] = cs__idmap_get(&s->pool->node_map, node);
        s->cand_take[0] = 1;
        s->cand_k[0] = 1;
        return 1;
    }
    collect(s, t, now, false);
    if (t->count > 1 && t->topology == CS_TOPOLOGY_PACK)
        if (!restrict_to_group(s, t->count, true))
            (void)restrict_to_group(s, t->count, false);
    uint32_t planned = assign(s, t);
    return planned >= t->elastic_min ? planned : 0;
}

/* ------------------------------------------------------------------ */
/* the step: reservations                                              */

static int double_cmp(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

static void add_reservation(cs_sched *s, task_rec *t, uint32_t slot, uint32_t k, double t0,
                            double dur)
{
    resv *r = &s->resvs[s->nresv];
    r->slot = slot;
    r->k = k;
    r->task = task_index(s, t);
    r->t0 = t0;
    r->t1 = t0 + dur;
    r->next = has_resv(s, slot) ? s->resv_head[slot] : NO_SLOT;
    s->resv_head[slot] = (uint32_t)s->nresv;
    s->resv_stamp[slot] = s->stamp;
    s->nresv++;
    touch_node(s, slot);
}

/* Reserve for blocked task t at the earliest time its minimum replica
 * count fits for its whole estimated run, on nodes whose capacity can hold
 * it. One replica: each node's earliest window from its own timeline, the
 * earliest overall (then the lowest id). A gang: the earliest segment start
 * of any candidate node at which the nodes together hold enough replicas
 * through the window; replicas reserved in (partition, id) order. */
static bool reserve_for(cs_sched *s, task_rec *t, double now)
{
    collect(s, t, now, true);
    if (s->ncand == 0)
        return false;
    double dur = run_estimate(t);
    uint32_t need = t->elastic_min;
    uint32_t limit = t->topology == CS_TOPOLOGY_SPREAD ? 1 : t->count;
    const uint64_t *ids = s->pool->node_id;
    if (need == 1) {
        double best_t = CS__INF;
        uint32_t best = NO_SLOT;
        for (uint32_t c = 0; c < s->ncand; c++) {
            uint32_t slot = s->cand_slot[c];
            size_t off, n;
            timeline(s, slot, &off, &n);
            for (size_t j = 0; j < n; j++) {
                double tau = s->seg_t[off + j];
                if (tau > best_t || (tau == best_t && ids[slot] > ids[best]))
                    break;
                if (window_min(s, off, n, tau, tau + dur, t->demand, 1) >= 1) {
                    best_t = tau;
                    best = slot;
                    break;
                }
            }
        }
        if (best == NO_SLOT)
            return false;
        add_reservation(s, t, best, 1, best_t, dur);
        return true;
    }
    /* All candidates' timelines must be in the arena at once. */
    if (s->seg_cap - s->seg_used < s->seg_cap / 2)
        clear_timelines(s);
    size_t nt = 0;
    for (uint32_t c = 0; c < s->ncand; c++) {
        uint32_t slot = s->cand_slot[c];
        size_t off, n;
        timeline(s, slot, &off, &n);
        for (size_t j = 0; j < n; j++)
            s->times[nt++] = s->seg_t[off + j];
    }
    qsort(s->times, nt, sizeof *s->times, double_cmp);
    for (size_t i = 0; i < nt; i++) {
        if (i > 0 && s->times[i] == s->times[i - 1])
            continue;
        double tau = s->times[i];
        uint64_t total = 0;
        for (uint32_t c = 0; c < s->ncand; c++) {
            uint32_t slot = s->cand_slot[c];
            s->cand_take[c] = window_min(s, s->tl_off[slot], s->tl_len[slot], tau, tau + dur,
                                         t->demand, limit);
            total += s->cand_take[c];
        }
        if (total < need)
            continue;
        uint32_t left = need;
        for (uint32_t c = 0; c < s->ncand && left > 0; c++) {
            uint32_t k = s->cand_take[c] < left ? s->cand_take[c] : left;
            if (k > 0)
                add_reservation(s, t, s->cand_slot[c], k, tau, dur);
            left -= k;
        }
        return true;
    }
    return false;
}

/* ------------------------------------------------------------------ */
/* the step: preemption                                                */

typedef struct victim_order_ctx {
    const cs_sched *s;
} victim_order_ctx;

/* Victim preference: lowest priority, then most recently started (least
 * work lost), then lowest id. */
static bool victim_before(const cs_sched *s, uint32_t a, uint32_t b)
{
    const task_rec *x = &s->tasks[a], *y = &s->tasks[b];
    if (x->priority != y->priority)
        return x->priority < y->priority;
    if (x->start != y->start)
        return x->start > y->start;
    return x->id < y->id;
}

/* Replicas of task index ti on node slot. */
static uint32_t replicas_on(const cs_sched *s, uint32_t ti, uint64_t node)
{
    const task_rec *t = &s->tasks[ti];
    uint32_t k = 0;
    for (uint32_t r = 0; r < t->replicas; r++)
        k += t->pl_nodes[r] == node;
    return k;
}

/* Choose victims on one node for a replica of t; returns the number of
 * victims (in s->victims[0..n)), or 0 when the node cannot be freed. */
static size_t victims_on_node(cs_sched *s, const task_rec *t, uint32_t slot, uint64_t *vbuf)
{
    const cs_pool *pool = s->pool;
    size_t p = s->p, n = 0;
    uint64_t node = pool->node_id[slot];
    /* Distinct lower-priority running tasks with a replica here. */
    for (uint32_t as = pool->alloc_head[slot]; as != CS_NIL; as = pool->anext[as]) {
        task_rec *v = find_task(s, pool->owner[as]);
        if (v == NULL || v->state != CS_TASK_RUNNING || v->priority >= t->priority)
            continue;
        uint32_t vi = task_index(s, v);
        bool seen = false;
        for (size_t j = 0; j < n && !seen; j++)
            seen = vbuf[j] == vi;
        if (seen)
            continue;
        /* Insertion keeps them in preference order. */
        size_t j = n++;
        while (j > 0 && victim_before(s, vi, (uint32_t)vbuf[j - 1])) {
            vbuf[j] = vbuf[j - 1];
            j--;
        }
        vbuf[j] = vi;
    }
    int64_t room[CS_POOL_MAX_RESOURCES];
    memcpy(room, node_free(pool, slot), p * sizeof *room);
    size_t take = 0;
    while (replicas_in(room, t->demand, p, 1) == 0) {
        if (take == n)
            return 0;
        uint32_t vi = (uint32_t)vbuf[take++];
        uint32_t k = replicas_on(s, vi, node);
        for (size_t d = 0; d < p; d++)
            room[d] += (int64_t)k * s->tasks[vi].demand[d];
    }
    /* Drop victims that turned out unnecessary, last chosen first. */
    for (size_t j = take; j-- > 0;) {
        uint32_t vi = (uint32_t)vbuf[j];
        uint32_t k = replicas_on(s, vi, node);
        for (size_t d = 0; d < p; d++)
            room[d] -= (int64_t)k * s->tasks[vi].demand[d];
        if (replicas_in(room, t->demand, p, 1) == 1) {
            memmove(&vbuf[j], &vbuf[j + 1], (take - j - 1) * sizeof *vbuf);
            take--;
        } else {
            for (size_t d = 0; d < p; d++)
                room[d] += (int64_t)k * s->tasks[vi].demand[d];
        }
    }
    return take;
}

typedef struct preempt_ctx {
    cs_sched *s;
    const task_rec *t;
    double now;
    uint64_t *cur, *best;
    size_t best_n;
    uint32_t best_slot;
    int64_t best_maxprio;
    double best_lost;
} preempt_ctx;

static bool preempt_visit(void *vctx, uint32_t slot)
{
    preempt_ctx *c = vctx;
    cs_sched *s = c->s;
    const task_rec *t = c->t;
    if (has_resv(s, slot) || !cs__pool_labels_match(s->pool, slot, t->labels, t->num_labels) ||
        replicas_in(node_cap(s->pool, slot), t->demand, s->p, 1) == 0)
        return true;
    size_t n = victims_on_node(s, t, slot, c->cur);
    if (n == 0)
        return true;
    int64_t maxprio = INT64_MIN;
    double lost = 0.0;
    for (size_t j = 0; j < n; j++) {
        const task_rec *v = &s->tasks[c->cur[j]];
        if (v->priority > maxprio)
            maxprio = v->priority;
        lost += c->now - v->start;
    }
    /* Fewest victims, then lowest top priority, then least work lost;
     * visiting in id order keeps the lowest node id on full ties. */
    bool take = c->best_slot == NO_SLOT || n < c->best_n ||
                (n == c->best_n && (maxprio < c->best_maxprio ||
                                    (maxprio == c->best_maxprio && lost < c->best_lost)));
    if (take) {
        memcpy(c->best, c->cur, n * sizeof *c->cur);
        c->best_n = n;
        c->best_slot = slot;
        c->best_maxprio = maxprio;
        c->best_lost = lost;
    }
    return true;
}

/* ------------------------------------------------------------------ */
/* the step: applying decisions                                        */

/* Start t with the planned replicas. Cannot fail: allocations were
 * reserved and the plan checked free capacity. */
static void start_task(cs_sched *s, task_rec *t, double now, cs_decision_reason reason,
                       cs_decision *out)
{
    uint32_t r = 0;
    for (uint32_t c = 0; c < s->ncand; c++) {
        uint64_t node = s->pool->node_id[s->cand_slot[c]];
        if (s->cand_take[c] > 0)
            touch_node(s, s->cand_slot[c]);
        for (uint32_t j = 0; j < s->cand_take[c]; j++, r++) {
            uint64_t aid = CS_ID_NONE;
            (void)cs_pool_allocate(s->pool, node, t->demand, t->id, &aid);
            t->pl_nodes[r] = node;
            t->pl_allocs[r] = aid;
        }
    }
    t->replicas = r;
    t->start = now;
    int64_t v[CS_POOL_MAX_RESOURCES];
    drf_vector(s, t, v);
    (void)cs_fair_allocate(s->fair, t->tenant, v, s->p);
    (void)cs_queue_remove(s->queue, t->id);
    set_state(s, t, CS_TASK_RUNNING);
    if (t->priority < s->min_run_prio)
        s->min_run_prio = t->priority;
    s->pending_replicas -= t->count;
    s->running_replicas += r;
    out->kind = CS_DECISION_START;
    out->reason = reason;
    out->task = t->id;
    out->related = CS_ID_NONE;
    out->node = t->pl_nodes[0];
    out->alloc_id = t->pl_allocs[0];
    out->replicas = r;
}

/* Put a task that lost its run back in the queue at its original place
 * (its original arrival). Only the queue changes; see back_to_pending. */
static cs_status push_back(cs_sched *s, const task_rec *t)
{
    cs_task_spec ts;
    cs_task_spec_init(&ts, sizeof ts);
    ts.id = t->id;
    ts.tenant = t->tenant;
    ts.priority = t->priority;
    ts.demand = t->demand;
    ts.num_resources = s->p;
    ts.count = t->count;
    ts.runtime_estimate = t->estimate;
    return cs_queue_push(s->queue, &ts, t->submit);
}

/* Push every task in ids[0..n) back, or none: the pushes that succeeded
 * are removed again when one fails (removal never allocates). */
static cs_status push_back_all(cs_sched *s, const uint64_t *ids, size_t n, bool by_index)
{
    for (size_t i = 0; i < n; i++) {
        const task_rec *t = by_index ? &s->tasks[ids[i]] : find_task(s, ids[i]);
        cs_status st = push_back(s, t);
        if (st != CS_OK) {
            while (i-- > 0)
                (void)cs_queue_remove(s->queue,
                                      by_index ? s->tasks[ids[i]].id : ids[i]);
            return st;
        }
    }
    return CS_OK;
}

/* The run of t ended and t is in the queue again. */
static void back_to_pending(cs_sched *s, task_rec *t)
{
    set_state(s, t, CS_TASK_PENDING);
    s->pending_replicas += t->count;
    t->preemptions++;
    t->replicas = 0;
}

/* Try to start blocked t by preempting lower priorities on one node.
 * Needs room for the victims' decisions and the start. */
static size_t try_preempt(cs_sched *s, task_rec *t, double now, cs_decision *out, size_t room)
{
    if (t->count != 1 || t->elastic_min > 1)
        return 0; /* preemption frees one node: single-replica tasks only */
    if (t->priority <= s->min_run_prio)
        return 0; /* nothing running has a lower priority: no node to scan */
    preempt_ctx c = {
        .s = s,
        .t = t,
        .now = now,
        .cur = s->victims,
        .best = s->victims + s->victim_half,
        .best_slot = NO_SLOT,
    };
    int64_t zero[CS_POOL_MAX_RESOURCES] = {0};
    cs__pool_visit_fitting(s->pool, t->partition, zero, preempt_visit, &c);
    if (c.best_slot == NO_SLOT || c.best_n + 1 > room)
        return 0;
    /* Victims go back to the queue first, all or none: under memory
     * pressure the step does not preempt. */
    if (push_back_all(s, c.best, c.best_n, true) != CS_OK)
        return 0;
    uint64_t node = s->pool->node_id[c.best_slot];
    for (size_t j = 0; j < c.best_n; j++) {
        task_rec *v = &s->tasks[c.best[j]];
        end_run(s, v, now);
        back_to_pending(s, v);
        out[j].kind = CS_DECISION_PREEMPT;
        out[j].reason = CS_REASON_PREEMPTED;
        out[j].task = v->id;
        out[j].related = t->id;
        out[j].node = node;
        out[j].alloc_id = CS_ID_NONE;
        out[j].replicas = 0;
    }
    s->ncand = 1;
    s->cand_slot[0] = c.best_slot;
    s->cand_take[0] = 1;
    start_task(s, t, now, CS_REASON_AFTER_PREEMPTION, &out[c.best_n]);
    return c.best_n + 1;
}

/* ------------------------------------------------------------------ */
/* the step: load-balanced batches                                     */

static int movable_cmp(const void *x, const void *y)
{
    const movable *a = x, *b = y;
    if (a->size != b->size)
        return a->size > b->size ? -1 : 1; /* largest first */
    return (a->id > b->id) - (a->id < b->id);
}

typedef struct rebalance_ctx {
    cs_sched *s;
    const task_rec *t;
    uint32_t best;
    double best_score;
} rebalance_ctx;

/* The fitting node whose remaining target, after taking the task, is
 * largest: sum_k w_k (x_k - d_k) / C_k. */
static bool rebalance_visit(void *vctx, uint32_t slot)
{
    rebalance_ctx *c = vctx;
    cs_sched *s = c->s;
    const task_rec *t = c->t;
    if (!cs__pool_labels_match(s->pool, slot, t->labels, t->num_labels))
        return true;
    const int64_t *cap = node_cap(s->pool, slot), *x = &s->bal_x[(size_t)slot * s->p];
    double score = 0.0;
    for (size_t k = 0; k < s->p; k++)
        if (cap[k] > 0)
            score += s->weights[k] * (double)(x[k] - t->demand[k]) / (double)cap[k];
    const uint64_t *ids = s->pool->node_id;
    if (c->best == NO_SLOT || score > c->best_score ||
        (score == c->best_score && ids[slot] < ids[c->best])) {
        c->best = slot;
        c->best_score = score;
    }
    return true;
}

/* Put the batch's movable tasks back on their first placement. */
static void restore_batch(cs_sched *s, size_t nm, size_t placed)
{
    for (size_t i = 0; i < placed; i++) {
        task_rec *t = &s->tasks[s->bal_tasks[i].task];
        (void)cs_pool_release(s->pool, t->pl_allocs[0]);
    }
    for (size_t i = 0; i < nm; i++) {
        task_rec *t = &s->tasks[s->bal_tasks[i].task];
        uint64_t node = s->pool->node_id[s->bal_tasks[i].first_node_slot];
        (void)cs_pool_allocate(s->pool, node, t->demand, t->id, &t->pl_allocs[0]);
        t->pl_nodes[0] = node;
    }
}

/* Place the single-replica tasks this step started again, as one batch
 * (see sched.h, "Load balancing"). Cannot fail: every fallback is the
 * placement the step already found. */
static void rebalance(cs_sched *s, cs_decision *out, size_t ndec)
{
    cs_pool *pool = s->pool;
    size_t p = s->p, nm = 0, nslot = pool->slot_end;
    int64_t tot[CS_POOL_MAX_RESOURCES];
    cs_pool_totals(pool, CS_PARTITION_ANY, tot, NULL, NULL);
    for (size_t i = 0; i < ndec; i++) {
        if (out[i].kind != CS_DECISION_START)
            continue;
        task_rec *t = find_task(s, out[i].task);
        if (t->replicas != 1 || t->count != 1)
            continue;
        movable *m = &s->bal_tasks[nm++];
        m->task = task_index(s, t);
        m->id = t->id;
        m->first_node_slot = cs__idmap_get(&pool->node_map, t->pl_nodes[0]);
        m->size = 0.0;
        for (size_t k = 0; k < p; k++)
            if (tot[k] > 0 && (double)t->demand[k] / (double)tot[k] > m->size)
                m->size = (double)t->demand[k] / (double)tot[k];
    }
    if (nm < 2)
        return;
    for (size_t i = 0; i < nm; i++) {
        task_rec *t = &s->tasks[s->bal_tasks[i].task];
        (void)cs_pool_release(pool, t->pl_allocs[0]);
        touch_node(s, s->bal_tasks[i].first_node_slot);
    }
    /* Targets per resource: the batch's demand spread so that utilisations
     * of up nodes come out as equal as possible. */
    for (size_t k = 0; k < p; k++) {
        int64_t demand = 0;
        for (size_t i = 0; i < nm; i++)
            demand += s->tasks[s->bal_tasks[i].task].demand[k];
        for (uint32_t j = 0; j < nslot; j++) {
            bool live = pool->node_id[j] != CS_ID_NONE;
            int64_t c = live ? node_cap(pool, j)[k] : 0, f = live ? node_free(pool, j)[k] : 0;
            s->bal_load[j] = c - f;
            s->bal_cap[j] = live && pool->state[j] == CS_NODE_UP ? c : c - f;
        }
        int64_t *col = s->bal_col;
        for (uint32_t j = 0; j < nslot; j++)
            col[j] = 0;
        if (demand > 0 &&
            cs_balance_utilisation_int(s->bal, nslot, s->bal_load, s->bal_cap, demand,
                                       CS_BALANCE_SQUARED, col, NULL) != CS_OK) {
            restore_batch(s, nm, 0);
            return;
        }
        for (uint32_t j = 0; j < nslot; j++)
            s->bal_x[(size_t)j * p + k] = col[j];
    }
    qsort(s->bal_tasks, nm, sizeof *s->bal_tasks, movable_cmp);
    for (size_t i = 0; i < nm; i++) {
        task_rec *t = &s->tasks[s->bal_tasks[i].task];
        rebalance_ctx c = {.s = s, .t = t, .best = NO_SLOT};
        cs__pool_visit_fitting(pool, t->partition, t->demand, rebalance_visit, &c);
        if (c.best == NO_SLOT) {
            restore_batch(s, nm, i);
            return;
        }
        (void)cs_pool_allocate(pool, pool->node_id[c.best], t->demand, t->id, &t->pl_allocs[0]);
        t->pl_nodes[0] = pool->node_id[c.best];
        for (size_t k = 0; k < p; k++)
            s->bal_x[(size_t)c.best * p + k] -= t->demand[k];
        touch_node(s, c.best);
    }
    for (size_t i = 0; i < ndec; i++) {
        if (out[i].kind != CS_DECISION_START)
            continue;
        const task_rec *t = find_task(s, out[i].task);
        out[i].node = t->pl_nodes[0];
        out[i].alloc_id = t->pl_allocs[0];
    }
}

/* ------------------------------------------------------------------ */
/* the step                                                            */

static bool reserve_seg(cs_sched *s, size_t need)
{
    if (need <= s->seg_cap)
        return true;
    size_t cap = need * 2, vbytes;
    if (!cs__mul_size(cap, s->p * sizeof(int64_t), &vbytes))
        return false;
    double *t = s->seg_t ? s->a.realloc(s->a.ctx, s->seg_t, cap * sizeof *t)
                         : cs__alloc_array(&s->a, cap, sizeof *t);
    if (t == NULL)
        return false;
    s->seg_t = t;
    int64_t *v = s->seg_v ? s->a.realloc(s->a.ctx, s->seg_v, vbytes) : cs__alloc(&s->a, vbytes);
    if (v == NULL)
        return false;
    s->seg_v = v;
    s->seg_cap = cap;
    return true;
}

/* Reserve everything a step may need, so that it cannot fail midway. */
static cs_status step_reserve(cs_sched *s)
{
    size_t pending = (size_t)s->n_state[CS_TASK_PENDING];
    size_t running = (size_t)s->n_state[CS_TASK_RUNNING];
    /* Releases are collected mid-step, after this step's starts. */
    /* Timeline events: allocations on a node (this step's starts included)
     * and reservations. */
    size_t rel_need = s->pool->num_allocs + (size_t)s->pending_replicas + 1;
    size_t resv_need = (size_t)s->pending_replicas + 1;
    size_t ev_need = rel_need + 2 * resv_need;
    size_t seg_need = ev_need + s->pool->slot_end + 1;
    size_t times_need = seg_need;
    /* Victims on one node are running tasks, including those started in
     * this step: at most running + pending; two buffers (current, best). */
    s->victim_half = running + pending + 1;
    size_t victim_need = s->opt.preemption ? 2 * s->victim_half : 1;
    if (!reserve_node_scratch(s) ||
        !reserve_array(s, (void **)&s->order, &s->order_cap, pending + 1, sizeof *s->order) ||
        !reserve_array(s, (void **)&s->resvs, &s->resv_cap, resv_need, sizeof *s->resvs) ||
        !reserve_array(s, (void **)&s->times, &s->times_cap, times_need, sizeof *s->times) ||
        !reserve_array(s, (void **)&s->tl_ev, &s->tl_ev_cap, ev_need, sizeof *s->tl_ev) ||
        !reserve_seg(s, 2 * seg_need) ||
        !reserve_array(s, (void **)&s->victims, &s->victim_cap, victim_need, sizeof *s->victims))
        return CS_ERR_NOMEM;
    if (s->bal != NULL) {
        size_t nslot = s->pool->slot_end, xbytes;
        if (!cs__mul_size(nslot, s->p * sizeof(int64_t), &xbytes))
            return CS_ERR_NOMEM;
        if (cs_balance_workspace_reserve(s->bal, nslot) != CS_OK ||
            !reserve_array(s, (void **)&s->bal_tasks, &s->bal_tasks_cap, pending + 1,
                           sizeof *s->bal_tasks))
            return CS_ERR_NOMEM;
        if (nslot > s->bal_cap_n) {
            int64_t *l = s->bal_load ? s->a.realloc(s->a.ctx, s->bal_load, nslot * 8)
                                     : cs__alloc(&s->a, nslot * 8);
            if (l == NULL)
                return CS_ERR_NOMEM;
            s->bal_load = l;
            int64_t *c = s->bal_cap ? s->a.realloc(s->a.ctx, s->bal_cap, nslot * 8)
                                    : cs__alloc(&s->a, nslot * 8);
            if (c == NULL)
                return CS_ERR_NOMEM;
            s->bal_cap = c;
            int64_t *col = s->bal_col ? s->a.realloc(s->a.ctx, s->bal_col, nslot * 8)
                                      : cs__alloc(&s->a, nslot * 8);
            if (col == NULL)
                return CS_ERR_NOMEM;
            s->bal_col = col;
            int64_t *x = s->bal_x ? s->a.realloc(s->a.ctx, s->bal_x, xbytes)
                                  : cs__alloc(&s->a, xbytes);
            if (x == NULL)
                return CS_ERR_NOMEM;
            s->bal_x = x;
            s->bal_cap_n = nslot;
        }
    }
    /* The order of every pending task may be listed. */
    if (!cs__queue_reserve_order(s->queue, pending))
        return CS_ERR_NOMEM;
    /* Every pending replica could start in this step. */
    if (!cs__pool_reserve_allocations(s->pool, (size_t)s->pending_replicas))
        return CS_ERR_NOMEM;
    return CS_OK;
}

static bool dynamic_order(const cs_sched *s)
{
    return s->opt.policy == CS_QUEUE_FAIRSHARE || s->opt.policy == CS_QUEUE_DRF;
}

/* DRF shares are measured against the pool's up capacity. */
static void sync_fair_capacity(cs_sched *s)
{
    int64_t cap[CS_POOL_MAX_RESOURCES];
    cs_pool_totals(s->pool, CS_PARTITION_ANY, cap, NULL, NULL);
    if (s->fair_cap_set && memcmp(cap, s->fair_cap, s->p * sizeof *cap) == 0)
        return;
    (void)cs_fair_set_capacity(s->fair, cap, s->p);
    memcpy(s->fair_cap, cap, s->p * sizeof *cap);
    s->fair_cap_set = true;
}

cs_status cs_sched_step(cs_sched *s, double now, cs_decision *out, size_t capacity,
                        size_t *count)
{
    if (s == NULL || out == NULL || count == NULL || capacity == 0 || !time_ok(s, now))
        return CS_ERR_INVALID;
    cs_status st = step_reserve(s);
    if (st != CS_OK)
        return st;
    *count = 0;
    s->now = now;
    sync_fair_capacity(s);
    if (++s->stamp == 0) { /* wrapped: no stale stamp may look current */
        for (size_t i = 0; i < s->node_scratch_cap; i++)
            s->resv_stamp[i] = 0;
        for (size_t i = 0; i < s->task_end; i++)
            if (s->tasks[i].id != CS_ID_NONE)
                s->tasks[i].step_stamp = 0;
        s->stamp = 1;
    }
    s->nresv = 0;
    clear_timelines(s);

    size_t ndec = 0, examined = 0;
    uint32_t reserved_tasks = 0;
    bool blocked_any = false, preempted = false;
    const cs_sched_options *o = &s->opt;
    /* The order is listed in growing prefixes: a step that stops early (a
     * strict head, a full buffer) never pays for sorting the whole queue.
     * Tasks already examined in this step carry its stamp and are skipped
     * when a longer prefix, or a fresh one after the order changed, is
     * listed again. */
    size_t want = 64;
    for (;;) {
        size_t pending = (size_t)s->n_state[CS_TASK_PENDING], n = 0;
        if (pending == 0)
            break;
        /* Room was reserved for every pending task; only victims pushed back
         * by preemption can make the queue need more, and then the step
         * ends with the decisions it made. */
        size_t lim = want < pending ? want : pending;
        if (lim > s->order_cap)
            lim = s->order_cap; /* victims pushed back may outgrow the buffer */
        if (cs_queue_order(s->queue, now, s->order, lim, &n) != CS_OK)
            break;
        bool refetch = false;
        for (size_t i = 0; i < n && !refetch; i++) {
            task_rec *t = find_task(s, s->order[i]);
            if (t->step_stamp == s->stamp)
                continue; /* already found blocked in this step */
            if ((o->max_scan && examined >= o->max_scan) || ndec >= capacity)
                goto done;
            examined++;
            cs_decision_reason reason = !blocked_any            ? CS_REASON_IN_ORDER
                                        : reserved_tasks > 0    ? CS_REASON_BACKFILL
                                                                : CS_REASON_SKIP_AHEAD;
            if (plan_now(s, t, now) > 0) {
                start_task(s, t, now, reason, &out[ndec++]);
                refetch = dynamic_order(s);
                continue;
            }
            t->step_stamp = s->stamp;
            if (o->preemption) {
                size_t k = try_preempt(s, t, now, &out[ndec], capacity - ndec);
                if (k > 0) {
                    ndec += k;
                    preempted = true;
                    refetch = true; /* victims are pending again */
                    continue;
                }
            }
            blocked_any = true;
            if (o->head_of_line == CS_HOL_STRICT)
                goto done;
            if (o->head_of_line == CS_HOL_BACKFILL && reserved_tasks < o->backfill_depth &&
                reserve_for(s, t, now))
                reserved_tasks++;
        }
        if (!refetch) {
            if (n == pending || lim == s->order_cap)
                break; /* every pending task was seen, or all that fit */
            want *= 2;
        }
    }
done:
    if (s->bal != NULL && s->nresv == 0 && !preempted)
        rebalance(s, out, ndec);
    *count = ndec;
    return CS_OK;
}

/* ------------------------------------------------------------------ */
/* ends of runs, failures, queries                                     */

static cs_status finish(cs_sched *s, uint64_t id, double now, cs_task_state final)
{
    if (s == NULL || !time_ok(s, now))
        return CS_ERR_INVALID;
    task_rec *t = find_task(s, id);
    if (t == NULL)
        return CS_ERR_NOT_FOUND;
    if (t->state != CS_TASK_RUNNING)
        return CS_ERR_STATE;
    s->now = now;
    end_run(s, t, now);
    set_state(s, t, final);
    t->end = now;
    return CS_OK;
}

cs_status cs_sched_complete(cs_sched *s, uint64_t task, double now)
{
    /* Feed the observed runtime to the predictor first: if that fails (no
     * memory for a new key), nothing has changed. */
    task_rec *t = s != NULL ? find_task(s, task) : NULL;
    if (t != NULL && t->state == CS_TASK_RUNNING && time_ok(s, now) && s->opt.predictor) {
        cs_status st = cs_predict_observe(s->opt.predictor, t->tenant,
                                          t->num_features ? t->features : NULL,
                                          t->num_features, t->user_estimate, now - t->start);
        if (st == CS_ERR_NOMEM)
            return st;
    }
    return finish(s, task, now, CS_TASK_DONE);
}

cs_status cs_sched_fail(cs_sched *s, uint64_t task, double now)
{
    return finish(s, task, now, CS_TASK_FAILED);
}

cs_status cs_sched_cancel(cs_sched *s, uint64_t task, double now)
{
    if (s == NULL || !time_ok(s, now))
        return CS_ERR_INVALID;
    task_rec *t = find_task(s, task);
    if (t == NULL)
        return CS_ERR_NOT_FOUND;
    if (t->state == CS_TASK_RUNNING)
        return finish(s, task, now, CS_TASK_CANCELLED);
    if (t->state != CS_TASK_PENDING)
        return CS_ERR_STATE;
    (void)cs_queue_remove(s->queue, task);
    s->now = now;
    s->pending_replicas -= t->count;
    set_state(s, t, CS_TASK_CANCELLED);
    t->end = now;
    return CS_OK;
}

static int u64_cmp(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return (a > b) - (a < b);
}

cs_status cs_sched_node_down(cs_sched *s, uint64_t node, double now, uint64_t *affected,
                             size_t capacity, size_t *count)
{
    if (s == NULL || !time_ok(s, now) || (capacity > 0 && affected == NULL))
        return CS_ERR_INVALID;
    cs_pool *pool = s->pool;
    uint32_t slot = cs__idmap_get(&pool->node_map, node);
    if (slot == CS_IDMAP_MISSING)
        return CS_ERR_NOT_FOUND;
    /* The running tasks with a replica here, each once, in id order. */
    size_t n = 0;
    if (!reserve_array(s, (void **)&s->victims, &s->victim_cap, pool->alloc_count[slot] + 1,
                       sizeof *s->victims))
        return CS_ERR_NOMEM;
    for (uint32_t as = pool->alloc_head[slot]; as != CS_NIL; as = pool->anext[as]) {
        task_rec *t = find_task(s, pool->owner[as]);
        if (t == NULL || t->state != CS_TASK_RUNNING || in_list64(s->victims, n, t->id))
            continue;
        s->victims[n++] = t->id;
    }
    qsort(s->victims, n, sizeof *s->victims, u64_cmp);
    if (count != NULL)
        *count = n;
    if (n > capacity && affected != NULL)
        return CS_ERR_BUFFER_TOO_SMALL;
    if (!s->opt.fail_on_node_down && push_back_all(s, s->victims, n, false) != CS_OK)
        return CS_ERR_NOMEM;
    s->now = now;
    for (size_t i = 0; i < n; i++) {
        task_rec *t = find_task(s, s->victims[i]);
        end_run(s, t, now);
        if (s->opt.fail_on_node_down) {
            set_state(s, t, CS_TASK_FAILED);
            t->end = now;
        } else {
            back_to_pending(s, t);
        }
        if (affected != NULL)
            affected[i] = t->id;
    }
    (void)cs_pool_set_node_state(pool, node, CS_NODE_DOWN);
    return CS_OK;
}

static cs_status set_node_state(cs_sched *s, uint64_t node, double now, cs_node_state state)
{
    if (s == NULL || !time_ok(s, now))
        return CS_ERR_INVALID;
    cs_status st = cs_pool_set_node_state(s->pool, node, state);
    if (st == CS_OK)
        s->now = now;
    return st;
}

cs_status cs_sched_drain_node(cs_sched *s, uint64_t node, double now)
{
    return set_node_state(s, node, now, CS_NODE_DRAINING);
}

cs_status cs_sched_node_up(cs_sched *s, uint64_t node, double now)
{
    return set_node_state(s, node, now, CS_NODE_UP);
}

cs_status cs_sched_task_info(const cs_sched *s, uint64_t task, cs_task_info *info)
{
    if (s == NULL || info == NULL || info->size < TASK_INFO_MIN_SIZE ||
        info->size > sizeof(cs_task_info))
        return CS_ERR_INVALID;
    const task_rec *t = find_task(s, task);
    if (t == NULL)
        return CS_ERR_NOT_FOUND;
    cs_task_info full = {
        .size = info->size,
        .state = (cs_task_state)t->state,
        .tenant = t->tenant,
        .priority = t->priority,
        .submit_time = t->submit,
        .start_time = t->start,
        .end_time = t->end,
        .estimate = t->estimate,
        .user_estimate = t->user_estimate,
        .estimate_source = t->estimate_source,
        .replicas = t->replicas,
        .preemptions = t->preemptions,
    };
    memcpy(info, &full, info->size);
    return CS_OK;
}

cs_status cs_sched_task_placement(const cs_sched *s, uint64_t task, uint64_t *nodes,
                                  uint64_t *allocs, size_t capacity, size_t *count)
{
    if (s == NULL || count == NULL)
        return CS_ERR_INVALID;
    const task_rec *t = find_task(s, task);
    if (t == NULL)
        return CS_ERR_NOT_FOUND;
    if (t->state != CS_TASK_RUNNING)
        return CS_ERR_STATE;
    *count = t->replicas;
    if ((nodes != NULL || allocs != NULL) && t->replicas > capacity)
        return CS_ERR_BUFFER_TOO_SMALL;
    if (nodes != NULL)
        memcpy(nodes, t->pl_nodes, t->replicas * sizeof *nodes);
    if (allocs != NULL)
        memcpy(allocs, t->pl_allocs, t->replicas * sizeof *allocs);
    return CS_OK;
}

cs_status cs_sched_counts_get(const cs_sched *s, cs_sched_counts *counts)
{
    if (s == NULL || counts == NULL || counts->size < COUNTS_MIN_SIZE ||
        counts->size > sizeof(cs_sched_counts))
        return CS_ERR_INVALID;
    cs_sched_counts full = {
        .size = counts->size,
        .submitted = s->n_submitted,
        .pending = s->n_state[CS_TASK_PENDING],
        .running = s->n_state[CS_TASK_RUNNING],
        .done = s->n_state[CS_TASK_DONE] + s->n_forgotten[CS_TASK_DONE],
        .cancelled = s->n_state[CS_TASK_CANCELLED] + s->n_forgotten[CS_TASK_CANCELLED],
        .failed = s->n_state[CS_TASK_FAILED] + s->n_forgotten[CS_TASK_FAILED],
    };
    memcpy(counts, &full, counts->size);
    return CS_OK;
}

cs_status cs_sched_pending_order(cs_sched *s, double now, uint64_t *ids, size_t capacity,
                                 size_t *count)
{
    if (s == NULL || count == NULL || (capacity > 0 && ids == NULL) || !time_ok(s, now))
        return CS_ERR_INVALID;
    /* Listing moves the queue's clock (HRRN ratios are read at now), so the
     * scheduler's clock moves with it: a later call may not go back. */
    cs_status st = cs_queue_order(s->queue, now, ids, capacity, count);
    if (st == CS_OK)
        s->now = now;
    return st;
}

cs_status cs_sched_set_tenant_weight(cs_sched *s, uint64_t tenant, double weight)
{
    if (s == NULL)
        return CS_ERR_INVALID;
    return cs_fair_set_weight(s->fair, tenant, weight);
}

cs_status cs_sched_tenant_usage(const cs_sched *s, uint64_t tenant, double now, double *usage,
                                double *dominant_share)
{
    if (s == NULL || !isfinite(now))
        return CS_ERR_INVALID;
    double u = 0.0, d = 0.0;
    cs_status st = cs_fair_usage(s->fair, tenant, now, &u);
    if (st == CS_OK)
        st = cs_fair_dominant_share(s->fair, tenant, &d, NULL);
    if (st != CS_OK)
        return st;
    if (usage)
        *usage = u;
    if (dominant_share)
        *dominant_share = d;
    return CS_OK;
}

cs_status cs_sched_forget(cs_sched *s, uint64_t task)
{
    if (s == NULL)
        return CS_ERR_INVALID;
    task_rec *t = find_task(s, task);
    if (t == NULL)
        return CS_ERR_NOT_FOUND;
    if (t->state == CS_TASK_PENDING || t->state == CS_TASK_RUNNING)
        return CS_ERR_STATE;
    uint32_t i = task_index(s, t);
    s->n_state[t->state]--;
    s->n_forgotten[t->state]++;
    cs__idmap_del(&s->task_map, task);
    cs__free(&s->a, t->block);
    memset(t, 0, sizeof *t);
    t->id = CS_ID_NONE;
    t->step_stamp = s->free_task;
    s->free_task = i;
    return CS_OK;
}

cs_status cs_sched_check(const cs_sched *s)
{
    if (s == NULL)
        return CS_ERR_INVALID;
    cs_status st = cs_pool_check(s->pool);
    if (st != CS_OK)
        return st;
    if (cs_queue_check(s->queue) != CS_OK)
        return CS_ERR_STATE;
    uint64_t by_state[5] = {0}, pending_replicas = 0, running_replicas = 0, live = 0;
    const cs_pool *pool = s->pool;
    size_t p = s->p;
    for (uint32_t i = 0; i < s->task_end; i++) {
        const task_rec *t = &s->tasks[i];
        if (t->id == CS_ID_NONE)
            continue;
        live++;
        if (t->state > CS_TASK_FAILED || cs__idmap_get(&s->task_map, t->id) != i)
            return CS_ERR_STATE;
        by_state[t->state]++;
        bool queued = cs_queue_contains(s->queue, t->id);
        if (queued != (t->state == CS_TASK_PENDING))
            return CS_ERR_STATE;
        if (t->state == CS_TASK_PENDING)
            pending_replicas += t->count;
        if (t->state != CS_TASK_RUNNING)
            continue;
        if (t->replicas < t->elastic_min || t->replicas > t->count)
            return CS_ERR_STATE;
        running_replicas += t->replicas;
        for (uint32_t r = 0; r < t->replicas; r++) {
            cs_allocation_info ai;
            int64_t d[CS_POOL_MAX_RESOURCES];
            if (cs_pool_allocation(pool, t->pl_allocs[r], &ai, d) != CS_OK ||
                ai.node != t->pl_nodes[r] || ai.owner != t->id ||
                memcmp(d, t->demand, p * sizeof *d) != 0)
                return CS_ERR_STATE;
            if (t->topology == CS_TOPOLOGY_SPREAD)
                for (uint32_t q = 0; q < r; q++)
                    if (t->pl_nodes[q] == t->pl_nodes[r])
                        return CS_ERR_STATE;
        }
    }
    for (int k = 0; k < 5; k++)
        if (by_state[k] != s->n_state[k])
            return CS_ERR_STATE;
    uint64_t total = 0;
    for (int k = 0; k < 5; k++)
        total += s->n_state[k] + s->n_forgotten[k];
    if (total != s->n_submitted || live != s->task_map.len ||
        cs_queue_size(s->queue) != s->n_state[CS_TASK_PENDING] ||
        pending_replicas != s->pending_replicas || running_replicas != s->running_replicas)
        return CS_ERR_STATE;
    /* DRF allocations: per tenant, the sum over its running tasks. */
    size_t nt = cs_fair_num_tenants(s->fair), got = 0;
    if (nt == 0)
        return running_replicas == 0 ? CS_OK : CS_ERR_STATE;
    uint64_t *tenants = cs__alloc_array(&s->a, nt, sizeof *tenants);
    int64_t *sums = cs__calloc_array(&s->a, nt * p, sizeof *sums);
    st = CS_OK;
    if (tenants == NULL || sums == NULL) {
        st = CS_ERR_NOMEM;
        goto out;
    }
    (void)cs_fair_tenants(s->fair, tenants, nt, &got);
    for (uint32_t i = 0; i < s->task_end && st == CS_OK; i++) {
        const task_rec *t = &s->tasks[i];
        if (t->id == CS_ID_NONE || t->state != CS_TASK_RUNNING)
            continue;
        size_t lo = 0, hi = nt;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (tenants[mid] < t->tenant)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo == nt || tenants[lo] != t->tenant) {
            st = CS_ERR_STATE;
            break;
        }
        for (size_t k = 0; k < p; k++)
            sums[lo * p + k] += t->demand[k] * (int64_t)t->replicas;
    }
    for (size_t i = 0; i < nt && st == CS_OK; i++) {
        int64_t v[CS_POOL_MAX_RESOURCES];
        if (cs_fair_allocation(s->fair, tenants[i], v, p) != CS_OK ||
            memcmp(v, &sums[i * p], p * sizeof *v) != 0)
            st = CS_ERR_STATE;
    }
out:
    cs__free(&s->a, tenants);
    cs__free(&s->a, sums);
    return st;
}
