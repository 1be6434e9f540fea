/* Kinetic tournament over response-ratio lines, the HRRN order of queue.c.
 *
 * Each internal node keeps a copy of its winner's line, so re-evaluating a
 * node reads its two children (adjacent in memory) and nothing else. Each
 * node also keeps the least certificate of its subtree: advancing the clock
 * to t re-evaluates, bottom-up, exactly the nodes whose certificate expired
 * by t and their ancestors, and a leaf update walks one path. Both cost
 * O(log n) per event or update, with no separate event queue. */
#include <float.h>

#include "queue_internal.h"

bool cs__line_before(const cs__line *x, const cs__line *y, double t)
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

static inline double child_min(const cs__kinetic *k, size_t c)
{
    return c < k->cap ? k->mincert[c] : CS__INF;
}

static inline double min3(double x, double y, double z)
{
    double m = x < y ? x : y;
    return m < z ? m : z;
}

/* Winner line and certificate of internal node i at time t. */
static const cs__line *node_winner(const cs__kinetic *k, size_t i, double t, double *cert)
{
    const cs__line *x = &k->line[2 * i], *y = &k->line[2 * i + 1];
    *cert = CS__INF;
    if (x->slot == CS__NIL)
        return y;
    if (y->slot == CS__NIL)
        return x;
    if (cs__line_before(x, y, t)) {
        *cert = cross_time(x, y, t);
        return x;
    }
    *cert = cross_time(y, x, t);
    return y;
}

/* Re-evaluate node i at t; true when its winning slot changed. */
static bool node_eval(cs__kinetic *k, size_t i, double t)
{
    const cs__line *w = node_winner(k, i, t, &k->cert[i]);
    bool changed = k->line[i].slot != w->slot;
    k->line[i] = *w;
    return changed;
}

void cs__kin_free(const cs_allocator *a, cs__kinetic *k)
{
    cs__free(a, k->line);
    cs__free(a, k->cert);
    cs__free(a, k->mincert);
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
    cs__line *line = cs__alloc_array(a, 2 * cap, sizeof *line);
    double *cert = cs__alloc_array(a, cap, sizeof *cert);
    double *mincert = cs__alloc_array(a, cap, sizeof *mincert);
    if (line == NULL || cert == NULL || mincert == NULL) {
        cs__free(a, line);
        cs__free(a, cert);
        cs__free(a, mincert);
        return false;
    }
    for (size_t i = 0; i < cap; i++) {
        line[i].slot = CS__NIL;
        cert[i] = mincert[i] = CS__INF;
        if (i < k->cap)
            line[cap + i] = k->line[k->cap + i];
        else
            line[cap + i].slot = CS__NIL;
    }
    cs__free(a, k->line);
    cs__free(a, k->cert);
    cs__free(a, k->mincert);
    k->line = line;
    k->cert = cert;
    k->mincert = mincert;
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
        double m = min3(k->cert[i], child_min(k, 2 * i), child_min(k, 2 * i + 1));
        if (!eval && m == k->mincert[i])
            break;
        k->mincert[i] = m;
    }
}

void cs__kin_set(cs__kinetic *k, uint32_t slot, double a, double s, uint64_t id,
                 bool changed_line)
{
    size_t leaf = k->cap + slot;
    cs__line *l = &k->line[leaf];
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
    k->line[leaf].slot = CS__NIL;
    if (k->valid)
        walk_up(k, leaf, false);
}

/* Bottom-up over the subtrees holding an expired certificate; true when the
 * winner of i changed. Depth <= 31. */
static bool advance_node(cs__kinetic *k, size_t i, double t)
{
    if (i >= k->cap || k->mincert[i] > t)
        return false;
    bool below = advance_node(k, 2 * i, t);
    below = advance_node(k, 2 * i + 1, t) || below;
    bool changed = false;
    if (below || k->cert[i] <= t)
        changed = node_eval(k, i, t);
    k->mincert[i] = min3(k->cert[i], child_min(k, 2 * i), child_min(k, 2 * i + 1));
    return changed;
}

void cs__kin_advance(cs__kinetic *k, double t)
{
    if (!k->valid) {
        for (size_t i = k->cap; i-- > 1;) {
            node_eval(k, i, t);
            k->mincert[i] = min3(k->cert[i], child_min(k, 2 * i), child_min(k, 2 * i + 1));
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
    return cs__line_before(&k->line[a], &k->line[b], k->now);
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
    if (cap > 0 && k->cap > 0 && k->line[1].slot != CS__NIL)
        cs__pq_push(room, &m, 1, node_less, k);
    while (m > 0 && count < cap) {
        uint32_t v = cs__pq_pop(room, &m, node_less, k);
        uint32_t w = k->line[v].slot;
        out[count++] = k->line[v].id;
        while (v < k->cap) {
            uint32_t mine = k->line[2 * v].slot == w ? 2 * v : 2 * v + 1;
            if (k->line[mine ^ 1u].slot != CS__NIL)
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
    for (size_t i = k->cap; i-- > 1;) {
        double c;
        const cs__line *w = node_winner(k, i, k->now, &c);
        const cs__line *l = &k->line[i];
        if (l->slot != w->slot)
            return false;
        if (w->slot != CS__NIL && (l->a != w->a || l->s != w->s || l->id != w->id))
            return false;
        /* A pair that can cross has a certificate, beyond the clock. */
        if ((c == CS__INF) != (k->cert[i] == CS__INF))
            return false;
        if (k->cert[i] != CS__INF && !(k->cert[i] > k->now))
            return false;
        if (k->mincert[i] != min3(k->cert[i], child_min(k, 2 * i), child_min(k, 2 * i + 1)))
            return false;
    }
    return true;
}
