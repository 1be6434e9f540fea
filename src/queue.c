/* Pending-task queues: FCFS, priority with aging, SJF, HRRN, fair share, DRF.
 *
 * Tasks live in a slot table (free list, id map). The orders are kept by:
 * - a task set (FCFS, PRIORITY, SJF; and one per tenant, FCFS, for fair share
 *   and DRF): a sorted run in a ring buffer, which takes every entry that does
 *   not sort before the run's tail (in-order arrivals: O(1), sequential
 *   memory), and a 4-ary heap for the rest. Both use lazy deletion: an entry
 *   names a slot and the slot's generation; a cancel or re-key bumps the
 *   generation, and stale entries are dropped when they reach the front or,
 *   once they outnumber the live ones, all at once (amortised O(1) each). No
 *   position array is maintained, which halves the cache misses of a pop. A
 *   slot is reused only once no entry names it, so the order data an entry
 *   reads through its slot never changes under it.
 * - a kinetic tournament for HRRN (queue_kinetic.c).
 * - for fair share and DRF, an indexed heap of the tenants with pending tasks,
 *   keyed by the borrowed cs_fair handle, which notifies the queue of every
 *   change (fair_internal.h). */
#include "cloudsched/queue.h"

#include "fair_internal.h"
#include "queue_internal.h"
#include "task_internal.h"

/* Stale entries tolerated in a task set beyond its live ones. */
#define STALE_SLACK 16

typedef struct task {
    uint64_t id;
    uint64_t tenant;
    double arrival;
    double svc;      /* service time: the estimate, or the default when unknown */
    double estimate; /* as given; 0 = unknown */
    int64_t priority;
    uint32_t link;   /* fair index while pending (fair share, DRF); next free slot when free */
    uint32_t gen;    /* bumped when the task's set entry goes stale */
    uint32_t refs;   /* set entries naming this slot, live or stale */
    bool live;       /* pending */
} task;

/* Sorted run + heap of (key, slot, generation) entries; see the file comment. */
typedef struct tset {
    cs__hentry *ring;
    size_t rhead, rlen, rcap; /* rcap: 0 or a power of two */
    cs__heap heap;
    size_t live;              /* valid entries */
} tset;

struct cs_queue {
    cs_allocator alloc;
    cs_queue_policy policy;
    double slope;
    double default_runtime;
    cs_fair *fair;
    cs__fair_observer obs;
    double now; /* -inf before the first peek, pop or order */

    task *t;
    size_t t_cap, nslots, n;
    uint32_t free_head;
    cs_idmap map;

    tset set;        /* FCFS, PRIORITY, SJF */
    cs__kinetic kin; /* HRRN */

    cs__heap theap;  /* fair share, DRF: tenants with pending tasks */
    uint32_t *tpos;  /* position in theap by fair index */
    size_t tpos_cap;
    tset *ts;        /* by fair index */
    size_t ts_len, ts_cap;

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

static bool uses_set(const cs_queue *q)
{
    return q->policy == CS_QUEUE_FCFS || q->policy == CS_QUEUE_PRIORITY ||
           q->policy == CS_QUEUE_SJF;
}

/* ---- orders ------------------------------------------------------------- */

/* Ties everywhere: earlier arrival, then smaller id. */
static inline bool rec_before(const task *x, const task *y)
{
    if (x->arrival != y->arrival)
        return x->arrival < y->arrival;
    return x->id < y->id;
}

static bool task_tie(const void *ctx, uint32_t a, uint32_t b)
{
    const task *t = ((const cs_queue *)ctx)->t;
    return rec_before(&t[a], &t[b]);
}

static bool tenant_tie(const void *ctx, uint32_t a, uint32_t b)
{
    const cs_fair *f = ((const cs_queue *)ctx)->fair;
    return cs__fair_tenant_id(f, a) < cs__fair_tenant_id(f, b);
}

static cs__heap_ops set_ops(const cs_queue *q)
{
    cs__heap_ops ops = {NULL, task_tie, q};
    return ops;
}

static cs__heap_ops tenant_ops(cs_queue *q)
{
    cs__heap_ops ops = {q->tpos, tenant_tie, q};
    return ops;
}

/* Key of a task in its set (smaller first). */
static double set_key(const cs_queue *q, const task *t)
{
    switch (q->policy) {
    case CS_QUEUE_PRIORITY:
        /* priority + slope (now - arrival) is largest when
         * slope * arrival - priority is smallest, whatever now is. */
        return q->slope * t->arrival - (double)t->priority;
    case CS_QUEUE_SJF:
        return t->svc;
    default: /* FCFS, and FCFS inside a tenant */
        return t->arrival;
    }
}

static double tenant_key(const cs_queue *q, uint32_t fidx)
{
    return cs__fair_key(q->fair, fidx,
                        q->policy == CS_QUEUE_DRF ? CS__FAIR_KEY_DRF : CS__FAIR_KEY_USAGE);
}

/* ---- slots ---------------------------------------------------------------- */

static void slot_free(cs_queue *q, uint32_t s)
{
    q->t[s].link = q->free_head;
    q->free_head = s;
}

/* One entry naming slot s is gone; a dead slot is reused once none is left. */
static void slot_unref(cs_queue *q, uint32_t s)
{
    if (--q->t[s].refs == 0 && !q->t[s].live)
        slot_free(q, s);
}

/* The task leaves the queue; its entries (if any are left) go stale. */
static void task_kill(cs_queue *q, uint32_t s)
{
    task *t = &q->t[s];
    cs__idmap_del(&q->map, t->id);
    t->live = false;
    t->gen++;
    q->n--;
    if (t->refs == 0)
        slot_free(q, s);
}

/* ---- task sets ------------------------------------------------------------ */

static inline cs__hentry *ring_at(const tset *s, size_t i)
{
    return &s->ring[(s->rhead + i) & (s->rcap - 1)];
}

static inline bool entry_valid(const cs_queue *q, const cs__hentry *e)
{
    return q->t[e->item].gen == e->aux;
}

static inline bool entry_before(const cs_queue *q, const cs__hentry *x, const cs__hentry *y)
{
    if (x->key != y->key)
        return x->key < y->key;
    return task_tie(q, x->item, y->item);
}

static size_t ts_stale(const tset *s)
{
    return s->rlen + s->heap.n - s->live;
}

/* Whether an entry with this key for this task may go at the end of the
 * sorted run: it does not sort before the run's tail. */
static bool ring_accepts(const cs_queue *q, const tset *s, double key, const task *rec)
{
    if (s->rlen == 0)
        return true;
    const cs__hentry *tail = ring_at(s, s->rlen - 1);
    if (key != tail->key)
        return key > tail->key;
    return !rec_before(rec, &q->t[tail->item]);
}

static bool ring_reserve(const cs_allocator *a, tset *s, size_t need)
{
    if (need <= s->rcap)
        return true;
    size_t cap = s->rcap < 8 ? 8 : s->rcap * 2;
    while (cap < need)
        cap *= 2;
    cs__hentry *r = cs__alloc_array(a, cap, sizeof *r);
    if (r == NULL)
        return false;
    for (size_t i = 0; i < s->rlen; i++)
        r[i] = *ring_at(s, i);
    cs__free(a, s->ring);
    s->ring = r;
    s->rcap = cap;
    s->rhead = 0;
    return true;
}

static void ts_free(const cs_allocator *a, tset *s)
{
    cs__free(a, s->ring);
    cs__heap_free(a, &s->heap);
    memset(s, 0, sizeof *s);
}

/* Room for one more entry (key, rec), and a heap of at least heap_need. */
static bool ts_reserve(cs_queue *q, tset *s, double key, const task *rec, size_t heap_need)
{
    if (ring_accepts(q, s, key, rec)) {
        if (!ring_reserve(&q->alloc, s, s->rlen + 1))
            return false;
    } else if (heap_need < s->heap.n + 1) {
        heap_need = s->heap.n + 1;
    }
    return cs__heap_reserve(&q->alloc, &s->heap, heap_need);
}

/* Add e (room reserved): to the run when it sorts last, else to the heap. */
static void ts_insert(cs_queue *q, tset *s, cs__hentry e, bool allow_ring)
{
    q->t[e.item].refs++;
    if (allow_ring && ring_accepts(q, s, e.key, &q->t[e.item])) {
        *ring_at(s, s->rlen) = e;
        s->rlen++;
    } else {
        cs__heap_ops ops = set_ops(q);
        cs__heap_push(&s->heap, e, &ops);
    }
}

/* Drop every stale entry: the run keeps its order, the heap is rebuilt. O(size). */
static void ts_compact(cs_queue *q, tset *s)
{
    size_t w = 0;
    for (size_t i = 0; i < s->rlen; i++) {
        cs__hentry e = *ring_at(s, i);
        if (entry_valid(q, &e))
            *ring_at(s, w++) = e;
        else
            slot_unref(q, e.item);
    }
    s->rlen = w;
    w = 0;
    for (size_t i = 0; i < s->heap.n; i++) {
        cs__hentry e = s->heap.e[i];
        if (entry_valid(q, &e))
            s->heap.e[w++] = e;
        else
            slot_unref(q, e.item);
    }
    s->heap.n = w;
    cs__heap_ops ops = set_ops(q);
    cs__heap_build(&s->heap, &ops);
}

static void ts_maybe_compact(cs_queue *q, tset *s)
{
    if (ts_stale(s) > s->live + STALE_SLACK || (s->live == 0 && ts_stale(s) > 0))
        ts_compact(q, s);
}

/* Drop stale entries at the front of the run and the top of the heap. */
static void ts_clean(cs_queue *q, tset *s)
{
    while (s->rlen > 0 && !entry_valid(q, ring_at(s, 0))) {
        uint32_t slot = ring_at(s, 0)->item;
        s->rhead = (s->rhead + 1) & (s->rcap - 1);
        s->rlen--;
        slot_unref(q, slot);
    }
    cs__heap_ops ops = set_ops(q);
    while (s->heap.n > 0 && !entry_valid(q, &s->heap.e[0])) {
        uint32_t slot = s->heap.e[0].item;
        cs__heap_remove_at(&s->heap, 0, &ops);
        slot_unref(q, slot);
    }
}

/* After ts_clean on a set with live entries: is the first one in the run? */
static bool ts_head_in_ring(const cs_queue *q, const tset *s)
{
    if (s->heap.n == 0)
        return true;
    if (s->rlen == 0)
        return false;
    return entry_before(q, ring_at(s, 0), &s->heap.e[0]);
}

static uint32_t ts_head(cs_queue *q, tset *s)
{
    ts_clean(q, s);
    return ts_head_in_ring(q, s) ? ring_at(s, 0)->item : s->heap.e[0].item;
}

/* Remove the first entry (ts_head was just called) and its task. */
static void ts_pop_head(cs_queue *q, tset *s)
{
    uint32_t slot;
    if (ts_head_in_ring(q, s)) {
        slot = ring_at(s, 0)->item;
        s->rhead = (s->rhead + 1) & (s->rcap - 1);
        s->rlen--;
    } else {
        cs__heap_ops ops = set_ops(q);
        slot = s->heap.e[0].item;
        cs__heap_remove_at(&s->heap, 0, &ops);
    }
    s->live--;
    task_kill(q, slot);
    slot_unref(q, slot);
    ts_maybe_compact(q, s);
}

/* Best-first walk over the heap part, merged with the run. */
typedef struct heap_walk {
    const cs_queue *q;
    const cs__heap *h;
} heap_walk;

static bool heap_walk_less(const void *ctx, uint32_t a, uint32_t b)
{
    const heap_walk *w = ctx;
    return entry_before(w->q, &w->h->e[a], &w->h->e[b]);
}

/* Best-first walk step: the children of heap position i become candidates. */
static void push_children(uint32_t *room, size_t *m, size_t i, size_t n, cs__less_fn less,
                          const void *ctx)
{
    size_t c = cs__heap_child(i);
    for (size_t j = c; j < c + CS__HEAP_D && j < n; j++)
        cs__pq_push(room, m, (uint32_t)j, less, ctx);
}

/* Candidates the walk of ts_list may hold. */
static size_t ts_room(const tset *s, size_t k)
{
    size_t need;
    if (!cs__add_size(k, ts_stale(s), &need) || !cs__mul_size(need, CS__HEAP_D - 1, &need) ||
        !cs__add_size(need, 1, &need) || need > s->heap.n)
        need = s->heap.n;
    return need;
}

/* Append the ids of s in order to out[] until *count reaches cap. The heap
 * candidates are positions; taking one exposes its children. */
static void ts_list(const cs_queue *q, const tset *s, uint32_t *room, uint64_t *out, size_t cap,
                    size_t *count)
{
    heap_walk w = {q, &s->heap};
    size_t m = 0, ri = 0;
    if (s->heap.n > 0)
        cs__pq_push(room, &m, 0, heap_walk_less, &w);
    while (*count < cap) {
        while (ri < s->rlen && !entry_valid(q, ring_at(s, ri)))
            ri++;
        /* Expose children of stale heap candidates until the best is valid. */
        while (m > 0 && !entry_valid(q, &s->heap.e[room[0]]))
            push_children(room, &m, cs__pq_pop(room, &m, heap_walk_less, &w), s->heap.n,
                          heap_walk_less, &w);
        if (ri < s->rlen && (m == 0 || entry_before(q, ring_at(s, ri), &s->heap.e[room[0]]))) {
            out[(*count)++] = q->t[ring_at(s, ri)->item].id;
            ri++;
        } else if (m > 0) {
            uint32_t i = cs__pq_pop(room, &m, heap_walk_less, &w);
            out[(*count)++] = q->t[s->heap.e[i].item].id;
            push_children(room, &m, i, s->heap.n, heap_walk_less, &w);
        } else {
            break;
        }
    }
}

/* ---- fair-share observer -------------------------------------------------- */

static cs_queue *queue_of(cs__fair_observer *o)
{
    return (cs_queue *)(void *)((char *)o - offsetof(cs_queue, obs));
}

static void on_tenant_changed(cs__fair_observer *o, uint32_t fidx)
{
    cs_queue *q = queue_of(o);
    if (fidx >= q->ts_len || q->ts[fidx].live == 0)
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
            if (q->t[i].live)
                cs__fair_unpin(q->fair, q->t[i].link);
    }
    for (size_t i = 0; i < q->ts_len; i++)
        ts_free(a, &q->ts[i]);
    cs__free(a, q->ts);
    cs__free(a, q->tpos);
    cs__heap_free(a, &q->theap);
    ts_free(a, &q->set);
    cs__kin_free(a, &q->kin);
    cs__idmap_free(a, &q->map);
    cs__free(a, q->t);
    cs__free(a, q->scratch);
    cs_allocator keep = q->alloc;
    cs__free(&keep, q);
}

/* ---- push / remove -------------------------------------------------------- */

/* Room for fair index fidx, the task's entry in its set, and the tenant heap. */
static cs_status reserve_tenant(cs_queue *q, uint32_t fidx, double key, const task *rec)
{
    size_t need = (size_t)fidx + 1;
    void *p = q->ts;
    if (!cs__reserve(&q->alloc, &p, &q->ts_cap, need, sizeof *q->ts))
        return CS_ERR_NOMEM;
    q->ts = p;
    /* Empty sets are not observable, so they may be added now. */
    for (; q->ts_len < need; q->ts_len++)
        memset(&q->ts[q->ts_len], 0, sizeof *q->ts);
    p = q->tpos;
    if (!cs__reserve(&q->alloc, &p, &q->tpos_cap, need, sizeof *q->tpos))
        return CS_ERR_NOMEM;
    q->tpos = p;
    if (!cs__heap_reserve(&q->alloc, &q->theap, q->theap.n + 1) ||
        !ts_reserve(q, &q->ts[fidx], key, rec, 0))
        return CS_ERR_NOMEM;
    return CS_OK;
}

cs_status cs_queue_push(cs_queue *queue, const cs_task_spec *spec, double arrival)
{
    cs_queue *q = queue;
    cs_task_spec copy;
    const cs_task_spec *sp = spec;
    if (q == NULL || spec == NULL || !isfinite(arrival))
        return CS_ERR_INVALID;
    cs_status st = CS_OK;
    if (spec->size != sizeof copy) { /* an older, shorter struct */
        st = cs__task_spec_import(&copy, spec);
        sp = &copy;
    }
    if (st == CS_OK)
        st = cs__task_spec_check(sp, 0);
    if (st != CS_OK)
        return st;
    task rec = {
        .id = sp->id,
        .tenant = sp->tenant,
        .arrival = arrival,
        .svc = sp->runtime_estimate > 0.0 ? sp->runtime_estimate : q->default_runtime,
        .estimate = sp->runtime_estimate,
        .priority = sp->priority,
        .link = CS__NIL,
        .live = true,
    };
    double key = set_key(q, &rec);
    if (!isfinite(key))
        return CS_ERR_INVALID;

    /* Reserve everything; nothing observable changes until the commit. */
    size_t cell;
    if (!cs__idmap_has_room(&q->map, 1)) { /* the map will be rebuilt */
        if (cs__idmap_get(&q->map, rec.id) != CS__NIL)
            return CS_ERR_EXISTS;
        if (!cs__idmap_reserve(&q->alloc, &q->map, 1))
            return CS_ERR_NOMEM;
    }
    if (cs__idmap_probe(&q->map, rec.id, &cell) != CS__NIL)
        return CS_ERR_EXISTS;
    uint32_t slot = q->free_head != CS__NIL ? q->free_head : (uint32_t)q->nslots;
    if (slot == CS__NIL || (q->policy == CS_QUEUE_HRRN && slot >= ((uint32_t)1 << 31)))
        return CS_ERR_OVERFLOW;
    if (slot == q->free_head)
        rec.gen = q->t[slot].gen;
    void *p = q->t;
    if (!cs__reserve(&q->alloc, &p, &q->t_cap, (size_t)slot + 1, sizeof *q->t))
        return CS_ERR_NOMEM;
    q->t = p;
    if (uses_set(q)) {
        /* Room for re-keyed copies too, so that updates never allocate. */
        size_t heap_need = q->policy == CS_QUEUE_FCFS ? 0 : 2 * (q->set.live + 1) + STALE_SLACK + 1;
        if (!ts_reserve(q, &q->set, key, &rec, heap_need))
            return CS_ERR_NOMEM;
    } else if (q->policy == CS_QUEUE_HRRN) {
        if (!cs__kin_reserve(&q->alloc, &q->kin, (size_t)slot + 1))
            return CS_ERR_NOMEM;
    } else {
        uint32_t fidx = cs__fair_find(q->fair, rec.tenant);
        if (fidx == CS__NIL)
            fidx = cs__fair_next_index(q->fair);
        if (fidx == CS__NIL)
            return CS_ERR_OVERFLOW;
        if ((st = reserve_tenant(q, fidx, key, &rec)) != CS_OK)
            return st;
        /* The last step that can fail: it may create the tenant. */
        if ((st = cs__fair_pin(q->fair, rec.tenant, &rec.link)) != CS_OK)
            return st;
    }

    /* Commit. */
    if (slot == q->nslots)
        q->nslots++;
    else
        q->free_head = q->t[slot].link;
    q->t[slot] = rec;
    q->n++;
    cs__idmap_put_at(&q->map, cell, rec.id, slot);
    cs__hentry e = {key, slot, rec.gen};
    if (uses_set(q)) {
        ts_insert(q, &q->set, e, true);
        q->set.live++;
    } else if (q->policy == CS_QUEUE_HRRN) {
        cs__kin_set(&q->kin, slot, rec.arrival, rec.svc, rec.id, false);
    } else {
        tset *ts = &q->ts[rec.link];
        if (ts->live == 0) {
            cs__heap_ops tops = tenant_ops(q);
            cs__hentry te = {tenant_key(q, rec.link), rec.link, 0};
            cs__heap_push(&q->theap, te, &tops);
        }
        ts_insert(q, ts, e, true);
        ts->live++;
    }
    return CS_OK;
}

/* A fair tenant's set lost a task: leave the tenant heap when it is empty. */
static void tenant_lost_task(cs_queue *q, uint32_t fidx)
{
    if (q->ts[fidx].live == 0) {
        cs__heap_ops tops = tenant_ops(q);
        cs__heap_remove_at(&q->theap, q->tpos[fidx], &tops);
    }
    cs__fair_unpin(q->fair, fidx);
}

cs_status cs_queue_remove(cs_queue *queue, uint64_t id)
{
    cs_queue *q = queue;
    if (q == NULL)
        return CS_ERR_INVALID;
    uint32_t s = cs__idmap_get(&q->map, id);
    if (s == CS__NIL)
        return CS_ERR_NOT_FOUND;
    if (q->policy == CS_QUEUE_HRRN) {
        cs__kin_clear(&q->kin, s);
        task_kill(q, s);
    } else if (uses_set(q)) {
        task_kill(q, s); /* its entry goes stale */
        q->set.live--;
        ts_maybe_compact(q, &q->set);
    } else {
        uint32_t fidx = q->t[s].link;
        task_kill(q, s);
        q->ts[fidx].live--;
        ts_maybe_compact(q, &q->ts[fidx]);
        tenant_lost_task(q, fidx);
    }
    return CS_OK;
}

/* ---- selection ------------------------------------------------------------ */

static void set_clock(cs_queue *q, double now)
{
    if (q->policy == CS_QUEUE_HRRN)
        cs__kin_advance(&q->kin, now);
    q->now = now;
}

static cs_status select_head(cs_queue *q, double now, uint64_t *id, bool take)
{
    if (q == NULL || id == NULL || !isfinite(now) || now < q->now)
        return CS_ERR_INVALID;
    if (q->n == 0)
        return CS_ERR_NOT_FOUND;
    set_clock(q, now);
    if (q->policy == CS_QUEUE_HRRN) {
        uint32_t s = cs__kin_head(&q->kin);
        *id = q->t[s].id;
        if (take) {
            cs__kin_clear(&q->kin, s);
            task_kill(q, s);
        }
    } else if (uses_set(q)) {
        *id = q->t[ts_head(q, &q->set)].id;
        if (take)
            ts_pop_head(q, &q->set);
    } else {
        uint32_t fidx = q->theap.e[0].item;
        *id = q->t[ts_head(q, &q->ts[fidx])].id;
        if (take) {
            ts_pop_head(q, &q->ts[fidx]);
            tenant_lost_task(q, fidx);
        }
    }
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

typedef struct tenant_walk {
    cs_queue *q;
} tenant_walk;

static bool tenant_walk_less(const void *ctx, uint32_t a, uint32_t b)
{
    const cs_queue *q = ((const tenant_walk *)ctx)->q;
    cs__heap_ops ops = {NULL, tenant_tie, q};
    return cs__heap_before(&q->theap.e[a], &q->theap.e[b], &ops);
}

bool cs__queue_reserve_order(cs_queue *q, size_t cap)
{
    size_t k = cap < q->n ? cap : q->n;
    /* Scratch for the candidate sets of the walks. */
    size_t need = 0;
    if (q->policy == CS_QUEUE_HRRN) {
        need = cs__kin_room(&q->kin, k, q->n);
    } else if (uses_set(q)) {
        need = ts_room(&q->set, k);
    } else {
        for (size_t i = 0; i < q->theap.n; i++) {
            size_t r = ts_room(&q->ts[q->theap.e[i].item], k);
            need = r > need ? r : need;
        }
        need += q->theap.n;
    }
    void *p = q->scratch;
    if (!cs__reserve(&q->alloc, &p, &q->scratch_cap, need, sizeof *q->scratch))
        return false;
    q->scratch = p;
    return true;
}

cs_status cs_queue_order(cs_queue *queue, double now, uint64_t *ids, size_t cap,
                         size_t *count)
{
    cs_queue *q = queue;
    if (q == NULL || count == NULL || (ids == NULL && cap > 0) || !isfinite(now) ||
        now < q->now)
        return CS_ERR_INVALID;
    size_t k = cap < q->n ? cap : q->n;
    if (!cs__queue_reserve_order(q, k))
        return CS_ERR_NOMEM;

    set_clock(q, now);
    *count = 0;
    if (k == 0)
        return CS_OK;
    if (q->policy == CS_QUEUE_HRRN) {
        *count = cs__kin_list(&q->kin, q->scratch, ids, k);
    } else if (uses_set(q)) {
        ts_list(q, &q->set, q->scratch, ids, k, count);
    } else {
        /* Tenants in order, each tenant's tasks in FCFS order: the tenants'
         * keys do not move while nothing is charged or allocated. */
        uint32_t *troom = q->scratch, *room = q->scratch + q->theap.n;
        tenant_walk tw = {q};
        size_t m = 0;
        cs__pq_push(troom, &m, 0, tenant_walk_less, &tw);
        while (m > 0 && *count < k) {
            uint32_t i = cs__pq_pop(troom, &m, tenant_walk_less, &tw);
            ts_list(q, &q->ts[q->theap.e[i].item], room, ids, k, count);
            push_children(troom, &m, i, q->theap.n, tenant_walk_less, &tw);
        }
    }
    return CS_OK;
}

/* ---- updates ------------------------------------------------------------ */

/* The task's key in the main set changed: its entry goes stale and a fresh
 * one joins the heap. Room was reserved at push (2 live + slack), and the
 * compaction keeps the set within it, so this never allocates. */
static void rekey(cs_queue *q, uint32_t s)
{
    task *t = &q->t[s];
    t->gen++;
    ts_maybe_compact(q, &q->set);
    cs__hentry e = {set_key(q, t), s, t->gen};
    ts_insert(q, &q->set, e, false);
}

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
    if (q->policy == CS_QUEUE_SJF)
        rekey(q, s);
    else if (q->policy == CS_QUEUE_HRRN)
        cs__kin_set(&q->kin, s, t->arrival, t->svc, t->id, true);
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
    if (!isfinite(set_key(q, &changed)))
        return CS_ERR_INVALID;
    q->t[s].priority = priority;
    if (q->policy == CS_QUEUE_PRIORITY)
        rekey(q, s);
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

/* Order of run and heap, keys of valid entries, live count; adds the entries
 * to *entries. */
static bool ts_ok(const cs_queue *q, const tset *s, size_t *entries)
{
    size_t valid = 0;
    for (size_t i = 0; i < s->rlen; i++) {
        const cs__hentry *e = ring_at(s, i);
        if (i > 0 && entry_before(q, e, ring_at(s, i - 1)))
            return false;
        if (entry_valid(q, e)) {
            valid++;
            if (!q->t[e->item].live || e->key != set_key(q, &q->t[e->item]))
                return false;
        }
    }
    cs__heap_ops ops = set_ops(q);
    for (size_t i = 0; i < s->heap.n; i++) {
        const cs__hentry *e = &s->heap.e[i];
        if (i > 0 && cs__heap_before(e, &s->heap.e[(i - 1) / CS__HEAP_D], &ops))
            return false;
        if (entry_valid(q, e)) {
            valid++;
            if (!q->t[e->item].live || e->key != set_key(q, &q->t[e->item]))
                return false;
        }
    }
    *entries += s->rlen + s->heap.n;
    return valid == s->live && ts_stale(s) <= s->live + STALE_SLACK;
}

cs_status cs_queue_check(const cs_queue *queue)
{
    const cs_queue *q = queue;
    if (q == NULL)
        return CS_ERR_INVALID;
    size_t live = 0, refs = 0, entries = 0, free_slots = 0;
    for (size_t s = 0; s < q->nslots; s++) {
        refs += q->t[s].refs;
        if (!q->t[s].live)
            continue;
        live++;
        if (cs__idmap_get(&q->map, q->t[s].id) != s)
            return CS_ERR_STATE;
    }
    for (uint32_t s = q->free_head; s != CS__NIL; s = q->t[s].link) {
        if (q->t[s].live || q->t[s].refs != 0 || ++free_slots > q->nslots)
            return CS_ERR_STATE;
    }
    if (live != q->n || q->map.len != q->n)
        return CS_ERR_STATE;
    if (uses_set(q)) {
        if (q->set.live != q->n || !ts_ok(q, &q->set, &entries))
            return CS_ERR_STATE;
    } else if (q->policy == CS_QUEUE_HRRN) {
        if (!cs__kin_check(&q->kin))
            return CS_ERR_STATE;
        for (size_t s = 0; s < q->kin.cap; s++) {
            const cs__line *l = &q->kin.node[q->kin.cap + s].w;
            bool want = s < q->nslots && q->t[s].live;
            if (want != (l->slot != CS__NIL))
                return CS_ERR_STATE;
            if (want && (l->slot != s || l->a != q->t[s].arrival || l->s != q->t[s].svc ||
                         l->id != q->t[s].id))
                return CS_ERR_STATE;
        }
    } else {
        cs__heap_ops tops = {q->tpos, tenant_tie, q};
        size_t total = 0, nonempty = 0;
        for (uint32_t f = 0; f < q->ts_len; f++) {
            const tset *s = &q->ts[f];
            if (!ts_ok(q, s, &entries))
                return CS_ERR_STATE;
            if (s->live == 0)
                continue;
            nonempty++;
            total += s->live;
            if (q->tpos[f] >= q->theap.n || q->theap.e[q->tpos[f]].item != f ||
                q->theap.e[q->tpos[f]].key != tenant_key(q, f))
                return CS_ERR_STATE;
        }
        for (size_t s = 0; s < q->nslots; s++)
            if (q->t[s].live && cs__fair_tenant_id(q->fair, q->t[s].link) != q->t[s].tenant)
                return CS_ERR_STATE;
        for (size_t i = 0; i < q->theap.n; i++)
            if (i > 0 && cs__heap_before(&q->theap.e[i], &q->theap.e[(i - 1) / CS__HEAP_D], &tops))
                return CS_ERR_STATE;
        if (total != q->n || nonempty != q->theap.n)
            return CS_ERR_STATE;
    }
    return refs == entries ? CS_OK : CS_ERR_STATE;
}
