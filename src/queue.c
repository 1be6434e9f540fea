/* Pending-task queues: FCFS, priority with aging, SJF (indexed 4-ary heaps),
 * HRRN (kinetic tournament), fair share and DRF (a heap of tenants keyed by
 * the borrowed cs_fair handle, each tenant with its own FCFS heap).
 *
 * Tasks live in a slot table (free list, id map); a slot index is stable for
 * the task's stay and doubles as its leaf in the HRRN tournament. */
#include "cloudsched/queue.h"

#include <float.h>

#include "fair_internal.h"
#include "queue_internal.h"
#include "task_internal.h"

typedef struct task {
    uint64_t id;       /* CS_ID_NONE when the slot is free */
    uint64_t tenant;
    double arrival;
    double svc;        /* service time: estimate, or the default when unknown */
    double estimate;   /* as given; 0 = unknown */
    int64_t priority;
    uint32_t link;     /* fair index (fair share, DRF); next free slot when free */
    uint32_t unused;
} task;

/* Kinetic tournament over the response-ratio lines of the HRRN tasks.
 * Nodes are numbered as in a binary heap: 1 is the root, node i has children
 * 2i and 2i + 1, and leaf cap + s holds slot s. win[i] is the slot that wins
 * node i at the queue's clock; cert[i] is a time up to which that winner is
 * certain to stay (the lines of win[2i] and win[2i + 1] do not cross before
 * it), and the nodes with a finite certificate sit in the event heap. */
typedef struct kinetic {
    size_t cap;      /* number of leaves, a power of two; 0 before the first push */
    uint32_t *win;   /* 2 * cap */
    double *cert;    /* cap */
    uint32_t *epos;  /* cap: position in `events`, or CS__NIL */
    cs__heap events; /* items are internal nodes, keyed by cert */
    bool valid;      /* win/cert/events describe the clock `now` */
} kinetic;

/* Pending tasks of one tenant (fair share, DRF), indexed by fair index. */
typedef struct qtenant {
    cs__heap h; /* FCFS: key arrival, ties by id */
} qtenant;

struct cs_queue {
    cs_allocator alloc;
    cs_queue_policy policy;
    double slope;
    double default_runtime;
    cs_fair *fair;
    cs__fair_observer obs;
    double now; /* -inf before the first peek, pop or order */

    task *t;
    size_t t_cap;
    uint32_t *pos; /* heap position of each slot */
    size_t pos_cap;
    size_t nslots, n;
    uint32_t free_head;
    cs_idmap map;

    cs__heap heap; /* FCFS, PRIORITY, SJF */
    kinetic kin;   /* HRRN */

    cs__heap theap;  /* fair share, DRF: tenants with pending tasks */
    uint32_t *tpos;  /* position in theap by fair index */
    size_t tpos_cap;
    qtenant *qt;
    size_t qt_len, qt_cap;

    uint32_t *scratch; /* cs_queue_order's candidate heaps */
    size_t scratch_cap;
};

static const cs_queue_options queue_options_defaults = {
    .size = sizeof(cs_queue_options),
    .policy = CS_QUEUE_FCFS,
    .aging_slope = 0.0,
    .default_runtime = 3600.0,
    .fair = NULL,
};

#define QUEUE_OPTIONS_MIN_SIZE (offsetof(cs_queue_options, fair) + sizeof(cs_fair *))

static bool uses_fair(const cs_queue *q)
{
    return q->policy == CS_QUEUE_FAIRSHARE || q->policy == CS_QUEUE_DRF;
}

static bool uses_heap(const cs_queue *q)
{
    return q->policy == CS_QUEUE_FCFS || q->policy == CS_QUEUE_PRIORITY ||
           q->policy == CS_QUEUE_SJF;
}

/* ---- orders ------------------------------------------------------------- */

/* Ties everywhere: earlier arrival, then smaller id. */
static bool task_tie(const void *ctx, uint32_t a, uint32_t b)
{
    const task *t = ((const cs_queue *)ctx)->t;
    if (t[a].arrival != t[b].arrival)
        return t[a].arrival < t[b].arrival;
    return t[a].id < t[b].id;
}

static bool tenant_tie(const void *ctx, uint32_t a, uint32_t b)
{
    const cs_fair *f = ((const cs_queue *)ctx)->fair;
    return cs__fair_tenant_id(f, a) < cs__fair_tenant_id(f, b);
}

static cs__heap_ops task_ops(cs_queue *q)
{
    cs__heap_ops ops = {q->pos, task_tie, q};
    return ops;
}

static cs__heap_ops tenant_ops(cs_queue *q)
{
    cs__heap_ops ops = {q->tpos, tenant_tie, q};
    return ops;
}

/* Heap key of a task (smaller first) under FCFS, PRIORITY or SJF. */
static double heap_key(const cs_queue *q, const task *t)
{
    switch (q->policy) {
    case CS_QUEUE_PRIORITY:
        /* priority + slope (now - arrival) is largest when
         * slope * arrival - priority is smallest, whatever now is. */
        return q->slope * t->arrival - (double)t->priority;
    case CS_QUEUE_SJF:
        return t->svc;
    default:
        return t->arrival;
    }
}

static double tenant_key(const cs_queue *q, uint32_t fidx)
{
    return cs__fair_key(q->fair, fidx,
                        q->policy == CS_QUEUE_DRF ? CS__FAIR_KEY_DRF : CS__FAIR_KEY_USAGE);
}

/* ---- HRRN kinetic tournament ---------------------------------------------- */

/* True when slot a goes before slot b at time t: a higher response ratio
 * (t - a + s) / s, compared by cross-multiplication; then task_tie. */
static bool hrrn_before(const cs_queue *q, uint32_t a, uint32_t b, double t)
{
    const task *x = &q->t[a], *y = &q->t[b];
    double lhs = ((t - x->arrival) + x->svc) * y->svc;
    double rhs = ((t - y->arrival) + y->svc) * x->svc;
    if (lhs != rhs)
        return lhs > rhs;
    return task_tie(q, a, b);
}

/* A time up to which winner w (ahead at time t) stays ahead of loser l. Only a
 * steeper line (smaller s) can overtake; the lines meet at
 *   t* = (s_w a_l - s_l a_w) / (s_w - s_l).
 * The certificate is t* minus a bound on the rounding of t* and of the
 * comparison near it, so that it never fires late; firing early only costs a
 * re-check. It is always > t. */
static double cross_time(const cs_queue *q, uint32_t w, uint32_t l, double t)
{
    const task *W = &q->t[w], *L = &q->t[l];
    if (!(L->svc < W->svc))
        return CS__INF;
    double den = W->svc - L->svc;
    double ts = (W->svc * L->arrival - L->svc * W->arrival) / den;
    double mag = fabs(ts) + fabs(L->arrival) + fabs(W->arrival) + L->svc + W->svc;
    double c = ts - 16.0 * DBL_EPSILON * (mag * (L->svc + W->svc) / den + fabs(ts));
    return c > t ? c : nextafter(t, CS__INF);
}

static cs__heap_ops event_ops(kinetic *k)
{
    cs__heap_ops ops = {k->epos, NULL, NULL};
    return ops;
}

static void set_cert(kinetic *k, uint32_t node, double c)
{
    cs__heap_ops ops = event_ops(k);
    uint32_t p = k->epos[node];
    k->cert[node] = c;
    if (c == CS__INF) {
        if (p != CS__NIL)
            cs__heap_remove_at(&k->events, p, &ops);
    } else if (p == CS__NIL) {
        cs__heap_push(&k->events, c, node, &ops);
    } else {
        cs__heap_update(&k->events, p, c, &ops);
    }
}

/* Winner and certificate of internal node i from its children at time t. */
static void node_eval(const cs_queue *q, uint32_t i, double t, uint32_t *winner, double *cert)
{
    const uint32_t *win = q->kin.win;
    uint32_t x = win[2 * i], y = win[2 * i + 1];
    *cert = CS__INF;
    if (x == CS__NIL) {
        *winner = y;
    } else if (y == CS__NIL) {
        *winner = x;
    } else if (hrrn_before(q, x, y, t)) {
        *winner = x;
        *cert = cross_time(q, x, y, t);
    } else {
        *winner = y;
        *cert = cross_time(q, y, x, t);
    }
}

/* Re-evaluate node i at time t; true when its winner changed. */
static bool node_fix(cs_queue *q, uint32_t i, double t)
{
    uint32_t w;
    double c;
    node_eval(q, i, t, &w, &c);
    set_cert(&q->kin, i, c);
    bool changed = q->kin.win[i] != w;
    q->kin.win[i] = w;
    return changed;
}

/* Build every node afresh at time t. O(cap). */
static void kin_rebuild(cs_queue *q, double t)
{
    kinetic *k = &q->kin;
    uint32_t cap = (uint32_t)k->cap;
    for (uint32_t s = 0; s < cap; s++)
        k->win[cap + s] = s < q->nslots && q->t[s].id != CS_ID_NONE ? s : CS__NIL;
    k->events.n = 0;
    for (uint32_t i = cap; i-- > 1;) {
        node_eval(q, i, t, &k->win[i], &k->cert[i]);
        k->epos[i] = CS__NIL;
        if (k->cert[i] != CS__INF) {
            k->events.e[k->events.n].key = k->cert[i];
            k->events.e[k->events.n].item = i;
            k->events.n++;
        }
    }
    cs__heap_ops ops = event_ops(k);
    cs__heap_build(&k->events, &ops);
    k->valid = true;
}

/* Bring the tournament to time t >= its clock: replay every certificate that
 * expires by t, re-evaluating at t itself (events skipped in between are
 * resolved by the comparison at t), then pass changed winners up the tree. */
static void kin_advance(cs_queue *q, double t)
{
    kinetic *k = &q->kin;
    if (!k->valid) {
        kin_rebuild(q, t);
        return;
    }
    while (k->events.n > 0 && k->events.e[0].key <= t) {
        uint32_t i = k->events.e[0].item;
        while (node_fix(q, i, t) && i > 1)
            i /= 2;
    }
}

/* Slot s entered, left or changed its line: re-evaluate its ancestors at the
 * queue's clock. A changed line re-evaluates every ancestor (`always`),
 * otherwise the walk stops where the winner stays the same. */
static void kin_leaf(cs_queue *q, uint32_t s, bool present, bool always)
{
    kinetic *k = &q->kin;
    if (!k->valid)
        return; /* rebuilt at the next peek, pop or order */
    uint32_t i = (uint32_t)k->cap + s;
    k->win[i] = present ? s : CS__NIL;
    for (i /= 2; i >= 1; i /= 2)
        if (!node_fix(q, i, q->now) && !always)
            break;
}

/* Arrays for a tournament of `cap` leaves, allocated before anything changes. */
static cs_status kin_grow(cs_queue *q, size_t need)
{
    kinetic *k = &q->kin;
    if (need <= k->cap)
        return CS_OK;
    size_t cap = k->cap < 8 ? 8 : k->cap;
    while (cap < need)
        cap *= 2;
    if (cap > ((size_t)1 << 31))
        return CS_ERR_OVERFLOW;
    uint32_t *win = cs__alloc_array(&q->alloc, 2 * cap, sizeof *win);
    double *cert = cs__alloc_array(&q->alloc, cap, sizeof *cert);
    uint32_t *epos = cs__alloc_array(&q->alloc, cap, sizeof *epos);
    cs__hentry *ev = cs__alloc_array(&q->alloc, cap, sizeof *ev);
    if (win == NULL || cert == NULL || epos == NULL || ev == NULL) {
        cs__free(&q->alloc, win);
        cs__free(&q->alloc, cert);
        cs__free(&q->alloc, epos);
        cs__free(&q->alloc, ev);
        return CS_ERR_NOMEM;
    }
    cs__free(&q->alloc, k->win);
    cs__free(&q->alloc, k->cert);
    cs__free(&q->alloc, k->epos);
    cs__free(&q->alloc, k->events.e);
    k->win = win;
    k->cert = cert;
    k->epos = epos;
    k->events.e = ev;
    k->events.cap = cap;
    k->events.n = 0;
    k->cap = cap;
    k->valid = false;
    return CS_OK;
}

/* ---- fair-share observer -------------------------------------------------- */

static cs_queue *queue_of(cs__fair_observer *o)
{
    return (cs_queue *)(void *)((char *)o - offsetof(cs_queue, obs));
}

static void on_tenant_changed(cs__fair_observer *o, uint32_t fidx)
{
    cs_queue *q = queue_of(o);
    if (fidx >= q->qt_len || q->qt[fidx].h.n == 0)
        return;
    cs__heap_ops ops = tenant_ops(q);
    cs__heap_update(&q->theap, q->tpos[fidx], tenant_key(q, fidx), &ops);
}

static void on_all_changed(cs__fair_observer *o)
{
    cs_queue *q = queue_of(o);
    for (size_t i = 0; i < q->theap.n; i++)
        q->theap.e[i].key = tenant_key(q, q->theap.e[i].item);
    cs__heap_ops ops = tenant_ops(q);
    cs__heap_build(&q->theap, &ops);
}

/* ---- life cycle --------------------------------------------------------- */

cs_status cs_queue_options_init(cs_queue_options *options, size_t size)
{
    return cs__struct_init(options, size, sizeof(cs_queue_options), QUEUE_OPTIONS_MIN_SIZE,
                           &queue_options_defaults);
}

cs_status cs_queue_create(const cs_queue_options *options, const cs_allocator *alloc,
                          cs_queue **out)
{
    cs_queue_options o = queue_options_defaults;
    cs_allocator a;
    if (out == NULL || !cs__allocator_resolve(&a, alloc))
        return CS_ERR_INVALID;
    if (options != NULL &&
        !cs__struct_import(&o, options, sizeof o, QUEUE_OPTIONS_MIN_SIZE,
                           &queue_options_defaults))
        return CS_ERR_INVALID;
    if (o.policy != CS_QUEUE_FCFS && o.policy != CS_QUEUE_PRIORITY &&
        o.policy != CS_QUEUE_SJF && o.policy != CS_QUEUE_HRRN &&
        o.policy != CS_QUEUE_FAIRSHARE && o.policy != CS_QUEUE_DRF)
        return CS_ERR_INVALID;
    if (!isfinite(o.aging_slope) || o.aging_slope < 0.0 || !isfinite(o.default_runtime) ||
        o.default_runtime <= 0.0)
        return CS_ERR_INVALID;
    bool fair = o.policy == CS_QUEUE_FAIRSHARE || o.policy == CS_QUEUE_DRF;
    if (fair && o.fair == NULL)
        return CS_ERR_INVALID;
    cs_queue *q = cs__alloc(&a, sizeof *q);
    if (q == NULL)
        return CS_ERR_NOMEM;
    memset(q, 0, sizeof *q);
    q->alloc = a;
    q->policy = o.policy;
    q->slope = o.aging_slope;
    q->default_runtime = o.default_runtime;
    q->fair = fair ? o.fair : NULL;
    q->now = -CS__INF;
    q->free_head = CS__NIL;
    if (fair) {
        q->obs.tenant_changed = on_tenant_changed;
        q->obs.all_changed = on_all_changed;
        cs__fair_attach(q->fair, &q->obs);
    }
    *out = q;
    return CS_OK;
}

void cs_queue_destroy(cs_queue *queue)
{
    if (queue == NULL)
        return;
    cs_queue *q = queue;
    const cs_allocator *a = &q->alloc;
    if (q->fair != NULL) {
        cs__fair_detach(q->fair, &q->obs);
        for (size_t i = 0; i < q->nslots; i++)
            if (q->t[i].id != CS_ID_NONE)
                cs__fair_unpin(q->fair, q->t[i].link);
    }
    for (size_t i = 0; i < q->qt_len; i++)
        cs__heap_free(a, &q->qt[i].h);
    cs__free(a, q->qt);
    cs__free(a, q->tpos);
    cs__heap_free(a, &q->theap);
    cs__free(a, q->kin.win);
    cs__free(a, q->kin.cert);
    cs__free(a, q->kin.epos);
    cs__heap_free(a, &q->kin.events);
    cs__heap_free(a, &q->heap);
    cs__idmap_free(a, &q->map);
    cs__free(a, q->t);
    cs__free(a, q->pos);
    cs__free(a, q->scratch);
    cs_allocator keep = q->alloc;
    cs__free(&keep, q);
}

/* ---- push / remove -------------------------------------------------------- */

/* Room for fair index fidx and one more task of it: qt, tpos and theap. */
static cs_status reserve_tenant(cs_queue *q, uint32_t fidx)
{
    size_t need = (size_t)fidx + 1;
    void *p = q->qt;
    if (!cs__reserve(&q->alloc, &p, &q->qt_cap, need, sizeof *q->qt))
        return CS_ERR_NOMEM;
    q->qt = p;
    /* Empty records are not observable, so they may be added now. */
    for (; q->qt_len < need; q->qt_len++)
        memset(&q->qt[q->qt_len], 0, sizeof *q->qt);
    p = q->tpos;
    if (!cs__reserve(&q->alloc, &p, &q->tpos_cap, need, sizeof *q->tpos))
        return CS_ERR_NOMEM;
    q->tpos = p;
    if (!cs__heap_reserve(&q->alloc, &q->theap, q->theap.n + 1) ||
        !cs__heap_reserve(&q->alloc, &q->qt[fidx].h, q->qt[fidx].h.n + 1))
        return CS_ERR_NOMEM;
    return CS_OK;
}

bool cs__queue_reserve(cs_queue *q, uint64_t tenant, size_t n)
{
    size_t need;
    if (!cs__add_size(q->nslots, n, &need) || need >= CS__NIL)
        return false;
    void *p = q->t;
    if (!cs__reserve(&q->alloc, &p, &q->t_cap, need, sizeof *q->t))
        return false;
    q->t = p;
    p = q->pos;
    if (!cs__reserve(&q->alloc, &p, &q->pos_cap, need, sizeof *q->pos))
        return false;
    q->pos = p;
    if (!cs__idmap_reserve(&q->alloc, &q->map, n))
        return false;
    if (uses_heap(q) && !cs__heap_reserve(&q->alloc, &q->heap, q->n + n))
        return false;
    if (q->policy == CS_QUEUE_HRRN && kin_grow(q, need) != CS_OK)
        return false;
    if (uses_fair(q)) {
        uint32_t fidx = cs__fair_find(q->fair, tenant);
        if (fidx == CS__NIL || reserve_tenant(q, fidx) != CS_OK ||
            !cs__heap_reserve(&q->alloc, &q->theap, q->theap.n + 1) ||
            !cs__heap_reserve(&q->alloc, &q->qt[fidx].h, q->qt[fidx].h.n + n))
            return false;
    }
    return true;
}

cs_status cs_queue_push(cs_queue *queue, const cs_task_spec *spec, double arrival)
{
    cs_queue *q = queue;
    cs_task_spec s;
    if (q == NULL || spec == NULL || !isfinite(arrival))
        return CS_ERR_INVALID;
    cs_status st = cs__task_spec_import(&s, spec);
    if (st == CS_OK)
        st = cs__task_spec_check(&s, 0);
    if (st != CS_OK)
        return st;
    task rec = {
        .id = s.id,
        .tenant = s.tenant,
        .arrival = arrival,
        .svc = s.runtime_estimate > 0.0 ? s.runtime_estimate : q->default_runtime,
        .estimate = s.runtime_estimate,
        .priority = s.priority,
        .link = CS__NIL,
    };
    if (q->policy == CS_QUEUE_PRIORITY && !isfinite(heap_key(q, &rec)))
        return CS_ERR_INVALID;
    if (cs__idmap_get(&q->map, s.id) != CS__NIL)
        return CS_ERR_EXISTS;

    /* Reserve everything; nothing observable changes until the commit. */
    uint32_t slot = q->free_head != CS__NIL ? q->free_head : (uint32_t)q->nslots;
    if (slot == CS__NIL)
        return CS_ERR_OVERFLOW;
    void *p = q->t;
    if (!cs__reserve(&q->alloc, &p, &q->t_cap, (size_t)slot + 1, sizeof *q->t))
        return CS_ERR_NOMEM;
    q->t = p;
    p = q->pos;
    if (!cs__reserve(&q->alloc, &p, &q->pos_cap, (size_t)slot + 1, sizeof *q->pos))
        return CS_ERR_NOMEM;
    q->pos = p;
    if (!cs__idmap_reserve(&q->alloc, &q->map, 1))
        return CS_ERR_NOMEM;
    if (uses_heap(q) && !cs__heap_reserve(&q->alloc, &q->heap, q->n + 1))
        return CS_ERR_NOMEM;
    if (q->policy == CS_QUEUE_HRRN && (st = kin_grow(q, (size_t)slot + 1)) != CS_OK)
        return st;
    if (uses_fair(q)) {
        uint32_t fidx = cs__fair_find(q->fair, s.tenant);
        if (fidx == CS__NIL)
            fidx = cs__fair_next_index(q->fair);
        if (fidx == CS__NIL)
            return CS_ERR_OVERFLOW;
        if ((st = reserve_tenant(q, fidx)) != CS_OK)
            return st;
        /* The last step that can fail: it may create the tenant. */
        if ((st = cs__fair_pin(q->fair, s.tenant, &rec.link)) != CS_OK)
            return st;
    }

    /* Commit. */
    if (slot == q->nslots)
        q->nslots++;
    else
        q->free_head = q->t[slot].link;
    q->t[slot] = rec;
    q->n++;
    cs__idmap_put(&q->map, rec.id, slot);
    cs__heap_ops ops = task_ops(q);
    if (uses_heap(q)) {
        cs__heap_push(&q->heap, heap_key(q, &rec), slot, &ops);
    } else if (q->policy == CS_QUEUE_HRRN) {
        kin_leaf(q, slot, true, false);
    } else {
        qtenant *qt = &q->qt[rec.link];
        if (qt->h.n == 0) {
            cs__heap_ops tops = tenant_ops(q);
            cs__heap_push(&q->theap, tenant_key(q, rec.link), rec.link, &tops);
        }
        cs__heap_push(&qt->h, rec.arrival, slot, &ops);
    }
    return CS_OK;
}

/* Take slot s out of every structure and free it. */
static void detach_slot(cs_queue *q, uint32_t s)
{
    task *t = &q->t[s];
    cs__heap_ops ops = task_ops(q);
    if (uses_heap(q)) {
        cs__heap_remove_at(&q->heap, q->pos[s], &ops);
    } else if (q->policy == CS_QUEUE_HRRN) {
        kin_leaf(q, s, false, false);
    } else {
        uint32_t fidx = t->link;
        qtenant *qt = &q->qt[fidx];
        cs__heap_remove_at(&qt->h, q->pos[s], &ops);
        if (qt->h.n == 0) {
            cs__heap_ops tops = tenant_ops(q);
            cs__heap_remove_at(&q->theap, q->tpos[fidx], &tops);
        }
        cs__fair_unpin(q->fair, fidx);
    }
    cs__idmap_del(&q->map, t->id);
    t->id = CS_ID_NONE;
    t->link = q->free_head;
    q->free_head = s;
    q->n--;
}

cs_status cs_queue_remove(cs_queue *queue, uint64_t id)
{
    if (queue == NULL)
        return CS_ERR_INVALID;
    uint32_t s = cs__idmap_get(&queue->map, id);
    if (s == CS__NIL)
        return CS_ERR_NOT_FOUND;
    detach_slot(queue, s);
    return CS_OK;
}

/* ---- selection ------------------------------------------------------------ */

/* The slot that goes first at the queue's clock (n > 0; the tournament has
 * been advanced). */
static uint32_t head_slot(const cs_queue *q)
{
    if (uses_heap(q))
        return q->heap.e[0].item;
    if (q->policy == CS_QUEUE_HRRN)
        return q->kin.win[1];
    return q->qt[q->theap.e[0].item].h.e[0].item;
}

static void set_clock(cs_queue *q, double now)
{
    if (q->policy == CS_QUEUE_HRRN)
        kin_advance(q, now);
    q->now = now;
}

static cs_status select_head(cs_queue *q, double now, uint64_t *id, bool take)
{
    if (q == NULL || id == NULL || !isfinite(now) || now < q->now)
        return CS_ERR_INVALID;
    if (q->n == 0)
        return CS_ERR_NOT_FOUND;
    set_clock(q, now);
    uint32_t s = head_slot(q);
    *id = q->t[s].id;
    if (take)
        detach_slot(q, s);
    return CS_OK;
}

cs_status cs_queue_peek(cs_queue *queue, double now, uint64_t *id)
{
    return select_head(queue, now, id, false);
}

cs_status cs_queue_pop(cs_queue *queue, double now, uint64_t *id)
{
    return select_head(queue, now, id, true);
}

/* ---- ordered listing ------------------------------------------------------ */

/* Best-first walk of an indexed heap: the candidates are heap positions, the
 * next entry in order is the best candidate, and taking it exposes its
 * children (Frederickson's heap selection in its simple O(k log k) form). */
typedef struct heap_walk {
    const cs__heap *h;
    cs__heap_ops ops;
} heap_walk;

static bool heap_walk_less(const void *ctx, uint32_t a, uint32_t b)
{
    const heap_walk *w = ctx;
    return cs__heap_before(&w->h->e[a], &w->h->e[b], &w->ops);
}

/* Emit the items of h in heap order into out[] until *count reaches cap.
 * `room` holds at least min(h->n, 1 + 3 (cap - *count)) candidates. */
static void heap_list(const cs_queue *q, const cs__heap *h, cs__heap_ops ops, uint32_t *room,
                      uint64_t *out, size_t cap, size_t *count)
{
    heap_walk w = {h, ops};
    size_t m = 0;
    if (h->n > 0)
        cs__pq_push(room, &m, 0, heap_walk_less, &w);
    while (m > 0 && *count < cap) {
        uint32_t i = cs__pq_pop(room, &m, heap_walk_less, &w);
        out[(*count)++] = q->t[h->e[i].item].id;
        size_t c = cs__heap_child(i);
        for (size_t j = c; j < c + CS__HEAP_D && j < h->n; j++)
            cs__pq_push(room, &m, (uint32_t)j, heap_walk_less, &w);
    }
}

static bool hrrn_node_less(const void *ctx, uint32_t a, uint32_t b)
{
    const cs_queue *q = ctx;
    return hrrn_before(q, q->kin.win[a], q->kin.win[b], q->now);
}

/* Best-first walk of the tournament: taking the winner of a subtree leaves
 * the subtrees hanging off its path down to its leaf, whose winners are
 * already known. The candidates are disjoint subtrees. */
static void hrrn_list(const cs_queue *q, uint32_t *room, uint64_t *out, size_t cap,
                      size_t *count)
{
    const kinetic *k = &q->kin;
    size_t m = 0;
    if (k->win[1] != CS__NIL)
        cs__pq_push(room, &m, 1, hrrn_node_less, q);
    while (m > 0 && *count < cap) {
        uint32_t v = cs__pq_pop(room, &m, hrrn_node_less, q);
        uint32_t w = k->win[v];
        out[(*count)++] = q->t[w].id;
        while (v < k->cap) {
            uint32_t mine = k->win[2 * v] == w ? 2 * v : 2 * v + 1;
            uint32_t other = mine ^ 1u;
            if (k->win[other] != CS__NIL)
                cs__pq_push(room, &m, other, hrrn_node_less, q);
            v = mine;
        }
    }
}

static size_t tree_height(size_t cap)
{
    size_t h = 0;
    while (((size_t)1 << h) < cap)
        h++;
    return h;
}

cs_status cs_queue_order(cs_queue *queue, double now, uint64_t *ids, size_t cap,
                         size_t *count)
{
    cs_queue *q = queue;
    if (q == NULL || count == NULL || (ids == NULL && cap > 0) || !isfinite(now) ||
        now < q->now)
        return CS_ERR_INVALID;
    size_t k = cap < q->n ? cap : q->n;
    /* Scratch: the candidate sets of the walks (see heap_list, hrrn_list). */
    size_t per = q->policy == CS_QUEUE_HRRN ? tree_height(q->kin.cap) : CS__HEAP_D - 1;
    size_t need;
    if (!cs__mul_size(k, per, &need) || !cs__add_size(need, 1, &need) || need > q->n)
        need = q->n;
    if (uses_fair(q))
        need += q->theap.n;
    void *p = q->scratch;
    if (!cs__reserve(&q->alloc, &p, &q->scratch_cap, need, sizeof *q->scratch))
        return CS_ERR_NOMEM;
    q->scratch = p;

    set_clock(q, now);
    *count = 0;
    if (k == 0)
        return CS_OK;
    if (uses_heap(q)) {
        heap_list(q, &q->heap, task_ops(q), q->scratch, ids, k, count);
    } else if (q->policy == CS_QUEUE_HRRN) {
        hrrn_list(q, q->scratch, ids, k, count);
    } else {
        /* Tenants in order, each tenant's tasks in FCFS order: the tenants'
         * keys do not move while nothing is charged or allocated. */
        uint32_t *troom = q->scratch, *room = q->scratch + q->theap.n;
        heap_walk tw = {&q->theap, tenant_ops(q)};
        size_t m = 0;
        cs__pq_push(troom, &m, 0, heap_walk_less, &tw);
        while (m > 0 && *count < k) {
            uint32_t i = cs__pq_pop(troom, &m, heap_walk_less, &tw);
            heap_list(q, &q->qt[q->theap.e[i].item].h, task_ops(q), room, ids, k, count);
            size_t c = cs__heap_child(i);
            for (size_t j = c; j < c + CS__HEAP_D && j < q->theap.n; j++)
                cs__pq_push(troom, &m, (uint32_t)j, heap_walk_less, &tw);
        }
    }
    return CS_OK;
}

/* ---- updates ------------------------------------------------------------ */

cs_status cs_queue_set_estimate(cs_queue *queue, uint64_t id, double estimate)
{
    cs_queue *q = queue;
    if (q == NULL || !isfinite(estimate) || estimate < 0.0)
        return CS_ERR_INVALID;
    uint32_t s = cs__idmap_get(&q->map, id);
    if (s == CS__NIL)
        return CS_ERR_NOT_FOUND;
    task *t = &q->t[s];
    t->estimate = estimate;
    t->svc = estimate > 0.0 ? estimate : q->default_runtime;
    if (q->policy == CS_QUEUE_SJF) {
        cs__heap_ops ops = task_ops(q);
        cs__heap_update(&q->heap, q->pos[s], t->svc, &ops);
    } else if (q->policy == CS_QUEUE_HRRN) {
        kin_leaf(q, s, true, true);
    }
    return CS_OK;
}

cs_status cs_queue_set_priority(cs_queue *queue, uint64_t id, int64_t priority)
{
    cs_queue *q = queue;
    if (q == NULL)
        return CS_ERR_INVALID;
    uint32_t s = cs__idmap_get(&q->map, id);
    if (s == CS__NIL)
        return CS_ERR_NOT_FOUND;
    task changed = q->t[s];
    changed.priority = priority;
    double key = heap_key(q, &changed);
    if (q->policy == CS_QUEUE_PRIORITY && !isfinite(key))
        return CS_ERR_INVALID;
    q->t[s].priority = priority;
    if (q->policy == CS_QUEUE_PRIORITY) {
        cs__heap_ops ops = task_ops(q);
        cs__heap_update(&q->heap, q->pos[s], key, &ops);
    }
    return CS_OK;
}

size_t cs_queue_size(const cs_queue *queue)
{
    return queue == NULL ? 0 : queue->n;
}

bool cs_queue_contains(const cs_queue *queue, uint64_t id)
{
    return queue != NULL && cs__idmap_get(&queue->map, id) != CS__NIL;
}

/* ---- invariant checker ------------------------------------------------------ */

/* Heap order, positions and keys of one indexed heap. */
static bool heap_ok(const cs__heap *h, const uint32_t *pos, const cs__heap_ops *ops)
{
    for (size_t i = 0; i < h->n; i++) {
        if (pos[h->e[i].item] != i)
            return false;
        if (i > 0 && cs__heap_before(&h->e[i], &h->e[(i - 1) / CS__HEAP_D], ops))
            return false;
    }
    return true;
}

static bool kinetic_ok(const cs_queue *q)
{
    const kinetic *k = &q->kin;
    if (!k->valid)
        return true;
    uint32_t cap = (uint32_t)k->cap;
    if (q->nslots > cap)
        return false;
    for (uint32_t s = 0; s < cap; s++) {
        uint32_t want = s < q->nslots && q->t[s].id != CS_ID_NONE ? s : CS__NIL;
        if (k->win[cap + s] != want)
            return false;
    }
    size_t finite = 0;
    for (uint32_t i = 1; i < cap; i++) {
        uint32_t w;
        double c;
        node_eval(q, i, q->now, &w, &c);
        if (w != k->win[i])
            return false;
        /* A certificate in force must lie beyond the clock... */
        if (k->cert[i] != CS__INF) {
            finite++;
            if (!(k->cert[i] > q->now) || k->epos[i] == CS__NIL ||
                k->events.e[k->epos[i]].item != i || k->events.e[k->epos[i]].key != k->cert[i])
                return false;
        } else if (k->epos[i] != CS__NIL) {
            return false;
        }
        /* ...and a pair that can cross must have one. */
        if (c != CS__INF && k->cert[i] == CS__INF)
            return false;
    }
    cs__heap_ops ops = {k->epos, NULL, NULL};
    return finite == k->events.n && heap_ok(&k->events, k->epos, &ops);
}

cs_status cs_queue_check(const cs_queue *queue)
{
    const cs_queue *q = queue;
    if (q == NULL)
        return CS_ERR_INVALID;
    size_t live = 0;
    for (size_t s = 0; s < q->nslots; s++) {
        if (q->t[s].id == CS_ID_NONE)
            continue;
        live++;
        if (cs__idmap_get(&q->map, q->t[s].id) != s)
            return CS_ERR_STATE;
    }
    if (live != q->n || q->map.len != q->n)
        return CS_ERR_STATE;
    cs__heap_ops ops = {q->pos, task_tie, q};
    if (uses_heap(q)) {
        if (q->heap.n != q->n || !heap_ok(&q->heap, q->pos, &ops))
            return CS_ERR_STATE;
        for (size_t i = 0; i < q->heap.n; i++)
            if (q->heap.e[i].key != heap_key(q, &q->t[q->heap.e[i].item]))
                return CS_ERR_STATE;
    } else if (q->policy == CS_QUEUE_HRRN) {
        if (!kinetic_ok(q))
            return CS_ERR_STATE;
    } else {
        cs__heap_ops tops = {q->tpos, tenant_tie, q};
        size_t total = 0, nonempty = 0;
        for (uint32_t f = 0; f < q->qt_len; f++) {
            const cs__heap *h = &q->qt[f].h;
            if (h->n == 0)
                continue;
            nonempty++;
            total += h->n;
            if (!heap_ok(h, q->pos, &ops) || q->tpos[f] >= q->theap.n ||
                q->theap.e[q->tpos[f]].item != f ||
                q->theap.e[q->tpos[f]].key != tenant_key(q, f))
                return CS_ERR_STATE;
            for (size_t i = 0; i < h->n; i++) {
                const task *t = &q->t[h->e[i].item];
                if (t->link != f || h->e[i].key != t->arrival ||
                    cs__fair_tenant_id(q->fair, f) != t->tenant)
                    return CS_ERR_STATE;
            }
        }
        if (total != q->n || nonempty != q->theap.n || !heap_ok(&q->theap, q->tpos, &tops))
            return CS_ERR_STATE;
    }
    return CS_OK;
}
