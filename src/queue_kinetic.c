/* Kinetic tournament over response-ratio lines, the HRRN order of queue.c.
 *
 * Each internal node keeps a copy of its winner's line next to its
 * certificate, so re-evaluating a node reads its two children (adjacent in
 * memory) and nothing else. Each node also keeps the least certificate of its
 * subtree: advancing the clock
 * to t re-evaluates, bottom-up, exactly the nodes whose certificate expired
 * by t and their ancestors, and a leaf update walks one path. Both cost
 * O(log n) per event or update, with no separate event queue. */
#include <float.h>

#include "queue_internal.h"

static inline bool line_before(const cs__line *x, const cs__line *y, double t)
{
    /* (t - a_x + s_x) / s_x > (t - a_y + s_y) / s_y, cross-multiplied; ties
     * by earlier arrival, then smaller id. */
    double lhs = ((t - x->a) + x->s) * y->s;
    double rhs = ((t - y->a) + y->s) * x->s;
    if (lhs != rhs)
        return lhs > rhs;
    if (x->a != y->a)
        return x->a < y->a;
    return x->id < y->id;
}

/* A time up to which winner w (ahead at time t) stays ahead of loser l. Only a
 * steeper line (smaller s) can overtake; the lines meet at
 *   t* = (s_w a_l - s_l a_w) / (s_w - s_l).
 * The certificate is t* minus a bound on the rounding of t* and of the
 * comparison near it, so that it never expires late; expiring early only
 * costs a re-check. It is always > t. */
static double cross_time(const cs__line *w, const cs__line *l, double t)
{
    if (!(l->s < w->s))
        return CS__INF;
    double den = w->s - l->s;
    double ts = (w->s * l->a - l->s * w->a) / den;
    double mag = fabs(ts) + fabs(l->a) + fabs(w->a) + l->s + w->s;
    double c = ts - 16.0 * DBL_EPSILON * (mag * (l->s + w->s) / den + fabs(ts));
    return c > t ? c : nextafter(t, CS__INF);
}

static inline double min3(double x, double y, double z)
{
    double m = x < y ? x : y;
    return m < z ? m : z;
}

static inline double subtree_min(const cs__kinetic *k, size_t i)
{
    return min3(k->node[i].cert, k->node[2 * i].mincert, k->node[2 * i + 1].mincert);
}

/* Winner line and certificate of internal node i at time t. */
static const cs__line *node_winner(const cs__kinetic *k, size_t i, double t, double *cert)
{
    const cs__line *x = &k->node[2 * i].w, *y = &k->node[2 * i + 1].w;
    *cert = CS__INF;
    if (x->slot == CS__NIL)
        return y;
    if (y->slot == CS__NIL)
        return x;
    if (line_before(x, y, t)) {
        *cert = cross_time(x, y, t);
        return x;
    }
    *cert = cross_time(y, x, t);
    return y;
}

/* Re-evaluate node i at t; true when its winning slot changed. */
static bool node_eval(cs__kinetic *k, size_t i, double t)
{
    double c;
    const cs__line *w = node_winner(k, i, t, &c);
    cs__knode *n = &k->node[i];
    bool changed = n->w.slot != w->slot;
    n->w = *w;
    n->cert = c;
    return changed;
}

void cs__kin_free(const cs_allocator *a, cs__kinetic *k)
{
    cs__free(a, k->node);
    memset(k, 0, sizeof *k);
}

bool cs__kin_reserve(const cs_allocator *a, cs__kinetic *k, size_t need)
{
    if (need <= k->cap)
        return true;
    size_t cap = k->cap < 8 ? 8 : k->cap;
    while (cap < need)
        cap *= 2;
    if (cap > ((size_t)1 << 31))
        return false;
    cs__knode *node = cs__alloc_array(a, 2 * cap, sizeof *node);
    if (node == NULL)
        return false;
    for (size_t i = 0; i < 2 * cap; i++) {
        node[i].w.slot = CS__NIL;
        node[i].cert = node[i].mincert = CS__INF;
    }
    for (size_t i = 0; i < k->cap; i++)
        node[cap + i].w = k->node[k->cap + i].w;
    cs__free(a, k->node);
    k->node = node;
    k->cap = cap;
    k->valid = false;
    return true;
}

/* Leaf `leaf` changed: re-evaluate ancestors while their winner changes (all
 * of them when the winner's own line changed), and the subtree minima while
 * they change. */
static void walk_up(cs__kinetic *k, size_t leaf, bool changed_line)
{
    bool eval = true;
    for (size_t i = leaf / 2; i >= 1; i /= 2) {
        if (eval)
            eval = node_eval(k, i, k->now) || changed_line;
        double m = subtree_min(k, i);
        if (!eval && m == k->node[i].mincert)
            break;
        k->node[i].mincert = m;
    }
}

void cs__kin_set(cs__kinetic *k, uint32_t slot, double a, double s, uint64_t id,
                 bool changed_line)
{
    size_t leaf = k->cap + slot;
    cs__line *l = &k->node[leaf].w;
    l->a = a;
    l->s = s;
    l->id = id;
    l->slot = slot;
    if (k->valid)
        walk_up(k, leaf, changed_line);
}

void cs__kin_clear(cs__kinetic *k, uint32_t slot)
{
    size_t leaf = k->cap + slot;
    k->node[leaf].w.slot = CS__NIL;
    if (k->valid)
        walk_up(k, leaf, false);
}

/* Bottom-up over the subtrees holding an expired certificate; true when the
 * winner of i changed. Depth <= 31. */
static bool advance_node(cs__kinetic *k, size_t i, double t)
{
    if (i >= k->cap || k->node[i].mincert > t)
        return false;
    bool below = advance_node(k, 2 * i, t);
    below = advance_node(k, 2 * i + 1, t) || below;
    bool changed = false;
    if (below || k->node[i].cert <= t)
        changed = node_eval(k, i, t);
    k->node[i].mincert = subtree_min(k, i);
    return changed;
}

void cs__kin_advance(cs__kinetic *k, double t)
{
    if (!k->valid) {
        for (size_t i = k->cap; i-- > 1;) {
            node_eval(k, i, t);
            k->node[i].mincert = subtree_min(k, i);
        }
        k->valid = true;
    } else if (k->cap > 0) {
        advance_node(k, 1, t);
    }
    k->now = t;
}

/* ---- listing ------------------------------------------------------------ */

static bool node_less(const void *ctx, uint32_t a, uint32_t b)
{
    const cs__kinetic *k = ctx;
    return line_before(&k->node[a].w, &k->node[b].w, k->now);
}

size_t cs__kin_room(const cs__kinetic *k, size_t cap, size_t live)
{
    size_t height = 0, need;
    while (((size_t)1 << height) < k->cap)
        height++;
    if (!cs__mul_size(cap, height, &need) || !cs__add_size(need, 1, &need) || need > live)
        need = live;
    return need;
}

/* Best-first walk: taking the winner of a subtree leaves the subtrees hanging
 * off its path down to its leaf, whose winners are known. The candidates are
 * disjoint non-empty subtrees, at most min(live, 1 + cap * height). */
size_t cs__kin_list(const cs__kinetic *k, uint32_t *room, uint64_t *out, size_t cap)
{
    size_t m = 0, count = 0;
    if (cap > 0 && k->cap > 0 && k->node[1].w.slot != CS__NIL)
        cs__pq_push(room, &m, 1, node_less, k);
    while (m > 0 && count < cap) {
        uint32_t v = cs__pq_pop(room, &m, node_less, k);
        uint32_t w = k->node[v].w.slot;
        out[count++] = k->node[v].w.id;
        while (v < k->cap) {
            uint32_t mine = k->node[2 * v].w.slot == w ? 2 * v : 2 * v + 1;
            if (k->node[mine ^ 1u].w.slot != CS__NIL)
                cs__pq_push(room, &m, mine ^ 1u, node_less, k);
            v = mine;
        }
    }
    return count;
}

/* ---- invariants ---------------------------------------------------------- */

bool cs__kin_check(const cs__kinetic *k)
{
    if (!k->valid)
        return true;
    for (size_t i = k->cap; i < 2 * k->cap; i++)
        if (k->node[i].cert != CS__INF || k->node[i].mincert != CS__INF)
            return false;
    for (size_t i = k->cap; i-- > 1;) {
        double c;
        const cs__line *w = node_winner(k, i, k->now, &c);
        const cs__knode *n = &k->node[i];
        if (n->w.slot != w->slot)
            return false;
        if (w->slot != CS__NIL && (n->w.a != w->a || n->w.s != w->s || n->w.id != w->id))
            return false;
        /* A pair that can cross has a certificate, beyond the clock. */
        if ((c == CS__INF) != (n->cert == CS__INF))
            return false;
        if (n->cert != CS__INF && !(n->cert > k->now))
            return false;
        if (n->mincert != subtree_min(k, i))
            return false;
    }
    return true;
}
