/* The two full passes of the balance solver (classification and the final
 * write), as a template over a vector "lane" type. src/balance.c includes
 * this file once per instruction set, after defining:
 *   LN(name)      the variant's name for `name`
 *   LANES_FN      attributes of the variant's functions (e.g. a target)
 *   LANES_INLINE  the same, for helpers that must be inlined
 *   VL            doubles per vector (1, 2 or 4); NV = 4 / VL vectors per step
 *   vd, vm, vci   double vector, lane mask (all ones / zeros), int64 counters
 *   V_*, C_*, M_*, CI_*  the primitives used below.
 * Every variant processes 4 elements per step and keeps 4 accumulator lanes
 * (element i goes to lane i % 4), reduced in lane order at the end, so all
 * variants perform the same floating-point operations in the same order:
 * the results are bit-identical whichever instruction set runs.
 *
 * Not a public header; no include guard on purpose. */

#define NV (4 / VL)

/* Lane-wise compensated (TwoSum) accumulation. */
#define LANE_TWOSUM(s, c, v)                                                   \
    do {                                                                       \
        vd t_ = V_ADD((s), (v));                                               \
        vd bv_ = V_SUB(t_, (s));                                               \
        (c) = V_ADD((c), V_ADD(V_SUB((s), V_SUB(t_, bv_)), V_SUB((v), bv_)));  \
        (s) = t_;                                                              \
    } while (0)

/* Reduce accumulator vectors (NV of them) to 4 lanes in order, then to one
 * compensated sum. */
LANES_INLINE csum LN(reduce)(const vd *s, const vd *c)
{
    double ls[4], lc[4];
    for (int h = 0; h < NV; h++) {
        V_STOREU(ls + h * VL, s[h]);
        V_STOREU(lc + h * VL, c[h]);
    }
    csum r = {0.0, 0.0};
    for (int k = 0; k < 4; k++) {
        csum_add(&r, ls[k]);
        csum_add(&r, lc[k]);
    }
    return r;
}

LANES_INLINE double LN(plain_reduce)(const vd *s)
{
    double ls[4];
    for (int h = 0; h < NV; h++)
        V_STOREU(ls + h * VL, s[h]);
    return ((ls[0] + ls[1]) + ls[2]) + ls[3];
}

/* Mask of lane k < count for vector h of a step. */
LANES_INLINE vm LN(live_mask)(int h, size_t count)
{
    double on[VL];
    for (int k = 0; k < VL; k++)
        on[k] = (size_t)(h * VL + k) < count ? 1.0 : 0.0;
    return C_LT(V_SET(0.0), V_LOADU(on));
}

/* Load 4 elements of a strided array (stride 0: a constant), padding lanes
 * past n with element i. */
LANES_INLINE void LN(load4)(vd *out, const double *p, size_t stride, size_t i, size_t n)
{
    if (stride == 1 && i + 4 <= n) {
        for (int h = 0; h < NV; h++)
            out[h] = V_LOADU(p + i + (size_t)h * VL);
        return;
    }
    double tmp[4];
    for (size_t k = 0; k < 4; k++)
        tmp[k] = p[(i + k < n ? i + k : i) * stride];
    for (int h = 0; h < NV; h++)
        out[h] = V_LOADU(tmp + h * VL);
}

/* The four inputs of elements i .. i + 3. */
LANES_INLINE void LN(load_inputs)(const bal_view *v, size_t i, size_t n, vd *W, vd *T, vd *L,
                                  vd *U)
{
    LN(load4)(W, v->w, v->sw, i, n);
    LN(load4)(T, v->t, v->st, i, n);
    LN(load4)(L, v->l, v->sl, i, n);
    LN(load4)(U, v->u, v->su, i, n);
}

/* Classification pass: see classify_pass in balance.c. */
LANES_FN static size_t LN(classify_pass)(const bal_view *v, size_t n, double lo, double hi,
                                         bal_rec *restrict rec, csum *C, csum *K, int *bad)
{
    const vd vlo = V_SET(lo), vhi = V_SET(hi), zero = V_SET(0.0), one = V_SET(1.0);
    vd cs[NV], cc[NV], ks[NV], kc[NV];
    vm badm = M_ZERO;
    for (int h = 0; h < NV; h++)
        cs[h] = cc[h] = ks[h] = kc[h] = zero;
    size_t m = 0;
    for (size_t i = 0; i < n; i += 4) {
        vd W[NV], T[NV], L[NV], U[NV];
        LN(load_inputs)(v, i, n, W, T, L, U);
        bool tail = i + 4 > n;
        for (int h = 0; h < NV; h++) {
            vd w = W[h], t = T[h], l = L[h], u = U[h];
            vd iw = V_DIV(one, w);
            /* Valid: 0 < w < inf (then 1/w > 0), t finite (t - t = 0), and
             * l - u <= 0, which is false for NaN and for l = u = +-inf. */
            vm ok = M_AND(M_AND(C_LT(zero, w), C_LT(zero, iw)),
                          M_AND(C_LE(V_SUB(t, t), zero), C_LE(V_SUB(l, u), zero)));
            vd a = V_MUL(w, V_SUB(l, t)), b = V_MUL(w, V_SUB(u, t));
            vm up = C_LE(b, vlo), dn = C_LE(vhi, a);
            vm fr = M_AND(C_LE(a, vlo), C_LE(vhi, b));
            vm sv = M_ANDNOT(M_OR(M_OR(up, dn), fr), M_ONES);
            if (CS_UNLIKELY(tail)) {
                vm live = LN(live_mask)(h, n - i);
                ok = M_OR(ok, M_ANDNOT(live, M_ONES));
                up = M_AND(up, live);
                dn = M_AND(dn, live);
                fr = M_AND(fr, live);
                sv = M_AND(sv, live);
            }
            badm = M_OR(badm, M_ANDNOT(ok, M_ONES));
            /* up, dn, fr are disjoint (a <= b and lo < hi): a bitwise select */
            vd cv = V_ADD(V_ADD(V_MASK(up, u), V_MASK(dn, l)), V_MASK(fr, t));
            LANE_TWOSUM(cs[h], cc[h], cv);
            vd kv = V_MASK(fr, iw);
            LANE_TWOSUM(ks[h], kc[h], kv);
            int bits = M_BITS(sv);
            if (CS_UNLIKELY(bits != 0)) {
                double la[VL], lb[VL], lt[VL], liw[VL], ll[VL], lu[VL];
                V_STOREU(la, a);
                V_STOREU(lb, b);
                V_STOREU(lt, t);
                V_STOREU(liw, iw);
                V_STOREU(ll, l);
                V_STOREU(lu, u);
                for (int k = 0; k < VL; k++) {
                    if (bits & (1 << k)) {
                        bal_rec *r = &rec[m++];
                        r->a = la[k];
                        r->b = lb[k];
                        r->t = lt[k];
                        r->iw = liw[k];
                        r->l = ll[k];
                        r->u = lu[k];
                    }
                }
            }
        }
    }
    csum c0 = LN(reduce)(cs, cc), k0 = LN(reduce)(ks, kc);
    csum_add(C, c0.s);
    csum_add(C, c0.c);
    csum_add(K, k0.s);
    csum_add(K, k0.c);
    *bad |= M_BITS(badm) != 0;
    return m;
}

/* Final pass: see final_pass in balance.c. */
LANES_FN static void LN(final_pass)(const bal_view *v, size_t n, double mu,
                                    double *restrict x, size_t xs, bal_final *f)
{
    const vd vmu = V_SET(mu), zero = V_SET(0.0), one = V_SET(1.0);
    vd ss[NV], sc[NV], obj[NV], ls[NV], us[NV];
    vci nl = CI_ZERO, nu = CI_ZERO;
    for (int h = 0; h < NV; h++)
        ss[h] = sc[h] = obj[h] = ls[h] = us[h] = zero;
    for (size_t i = 0; i < n; i += 4) {
        vd W[NV], T[NV], L[NV], U[NV];
        LN(load_inputs)(v, i, n, W, T, L, U);
        bool tail = i + 4 > n;
        vd X[NV];
        for (int h = 0; h < NV; h++) {
            vd w = W[h], t = T[h], l = L[h], u = U[h];
            /* u when mu >= b, l when mu <= a, else t + mu / w kept within
             * [l, u] against rounding: the classification of the search, so
             * fixed elements land exactly on their bounds. */
            vd a = V_MUL(w, V_SUB(l, t)), b = V_MUL(w, V_SUB(u, t));
            vd xf = V_MAX(V_MIN(V_ADD(t, V_MUL(vmu, V_DIV(one, w))), u), l);
            vd xi = V_BLEND(C_LE(b, vmu), u, V_BLEND(C_LE(vmu, a), l, xf));
            X[h] = xi;
            vm isl = C_LE(xi, l), isu = M_ANDNOT(isl, C_LE(u, xi));
            if (CS_UNLIKELY(tail)) {
                vm live = LN(live_mask)(h, n - i);
                xi = V_MASK(live, xi);
                t = V_MASK(live, t);
                w = V_MASK(live, w);
                l = V_MASK(live, l);
                u = V_MASK(live, u);
                isl = M_AND(isl, live);
                isu = M_AND(isu, live);
            }
            LANE_TWOSUM(ss[h], sc[h], xi);
            vd d = V_SUB(xi, t);
            obj[h] = V_ADD(obj[h], V_MUL(w, V_MUL(d, d)));
            ls[h] = V_ADD(ls[h], l);
            us[h] = V_ADD(us[h], u);
            nl = CI_ADD(nl, isl);
            nu = CI_ADD(nu, isu);
        }
        if (xs == 1 && !tail) {
            for (int h = 0; h < NV; h++)
                V_STOREU(x + i + (size_t)h * VL, X[h]);
        } else {
            double tmp[4];
            for (int h = 0; h < NV; h++)
                V_STOREU(tmp + h * VL, X[h]);
            for (size_t k = 0; k < 4 && i + k < n; k++)
                x[(i + k) * xs] = tmp[k];
        }
    }
    f->sum = LN(reduce)(ss, sc);
    f->objective = LN(plain_reduce)(obj);
    f->lsum = LN(plain_reduce)(ls);
    f->usum = LN(plain_reduce)(us);
    int64_t cl[4] = {0, 0, 0, 0}, cu[4] = {0, 0, 0, 0};
    CI_STORE(cl, nl);
    CI_STORE(cu, nu);
    f->nl = (size_t)(cl[0] + cl[1] + cl[2] + cl[3]);
    f->nu = (size_t)(cu[0] + cu[1] + cu[2] + cu[3]);
    f->nf = n - f->nl - f->nu;
}

#undef NV
#undef LANE_TWOSUM
