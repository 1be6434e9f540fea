/* balance_qp: spread load with cs_balance, and with cs_qp when the problem
 * has constraints that balancing alone cannot express.
 *
 * An inference service must place 1500 requests/s on a fleet of 12 GPU
 * nodes in 3 racks that already serve other traffic. Node i serves up to
 * C_i requests/s and already carries L_i.
 *
 * 1. cs_balance_utilisation (water-filling, CS_BALANCE_LEVEL) gives the
 *    split x_i >= 0 with L_i + x_i <= C_i and sum x_i = D that minimises
 *    sum_i (L_i + x_i)^2 / C_i: every node that gets traffic ends at the
 *    same utilisation. O(n) expected, exact (see balance.h).
 * 2. The same problem written as a QP and solved by cs_qp_solve (interior
 *    point): the two answers agree, which checks both.
 * 3. Constraints across nodes, which a separable balance cannot take:
 *    each rack has a power budget for the new traffic (watts per request
 *    differ by GPU model), and no rack may carry more than 45% of the
 *    service (a failure domain). cs_qp_solve handles them as G x <= h and
 *    reports each constraint's multiplier: the price, in objective units,
 *    of one more watt or request/s in that rack.
 * 4. Weighted max-min fair division (cs_balance_max_min) of 100 GPUs among
 *    elastic demands, against the crude formula min(demand, C / K).
 *
 * balance_alibaba.c shows the integer and multi-resource forms on the
 * Alibaba node list; this example is about the continuous forms and the QP.
 * Every result is checked (against a hand computation, or one solver against
 * the other) and the program exits non-zero if one is off. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <cloudsched/cloudsched.h>

#define CHECK(call)                                                                 \
    do {                                                                            \
        cs_status st_ = (call);                                                     \
        if (st_ != CS_OK) {                                                         \
            fprintf(stderr, "%s:%d: %s -> %s\n", __FILE__, __LINE__, #call,         \
                    cs_status_str(st_));                                            \
            exit(1);                                                                \
        }                                                                           \
    } while (0)

enum { N = 12, RACKS = 3 };

typedef struct node {
    const char *model;
    double capacity;  /* C_i, requests/s */
    double load;      /* L_i, requests/s already served */
    double watts;     /* power per request/s */
    int rack;
} node;

static const node fleet[N] = {
    {"G2", 400, 100, 0.9, 0},   {"G2", 400, 150, 0.9, 0},   {"G2", 400, 50, 0.9, 0},
    {"G2", 400, 200, 0.9, 0},   {"T4", 150, 30, 0.5, 1},    {"T4", 150, 60, 0.5, 1},
    {"V100", 250, 100, 1.2, 1}, {"V100", 250, 40, 1.2, 1},  {"V100", 250, 50, 1.2, 2},
    {"V100", 250, 100, 1.2, 2}, {"V100", 250, 150, 1.2, 2}, {"V100", 250, 200, 1.2, 2},
};
static const double demand = 1500;                           /* D, requests/s */
static const double power_budget[RACKS] = {600, 550, 372};   /* watts for the new traffic */
static const double rack_share = 0.45;                       /* at most 45% of D per rack */

static int failures = 0;

static void verdict(const char *what, int ok)
{
    printf("  check: %-58s %s\n", what, ok ? "ok" : "FAILED");
    failures += !ok;
}

static double objective(const double *x)
{
    double f = 0;
    for (int i = 0; i < N; i++)
        f += (fleet[i].load + x[i]) * (fleet[i].load + x[i]) / fleet[i].capacity;
    return f;
}

static void print_split(const char *title, const double *x)
{
    printf("%s\n  node  model   rack   load  +traffic  utilisation\n", title);
    for (int i = 0; i < N; i++)
        printf("  %4d  %-5s  %4d  %5.0f  %8.1f  %5.1f%% -> %5.1f%%\n", i, fleet[i].model,
               fleet[i].rack, fleet[i].load, x[i], 100 * fleet[i].load / fleet[i].capacity,
               100 * (fleet[i].load + x[i]) / fleet[i].capacity);
    double traffic[RACKS] = {0}, power[RACKS] = {0};
    for (int i = 0; i < N; i++) {
        traffic[fleet[i].rack] += x[i];
        power[fleet[i].rack] += fleet[i].watts * x[i];
    }
    for (int r = 0; r < RACKS; r++)
        printf("  rack %d: %6.1f req/s (%4.1f%% of the service, cap %2.0f%%), %5.1f W (budget "
               "%3.0f W)\n",
               r, traffic[r], 100 * traffic[r] / demand, 100 * rack_share, power[r],
               power_budget[r]);
    printf("  objective sum (L + x)^2 / C = %.6f\n", objective(x));
}

/* The QP of parts 2 and 3: minimise 1/2 x'Px + q'x with P = diag(2 / C_i)
 * and q_i = 2 L_i / C_i (that is sum (L_i + x_i)^2 / C_i minus a constant),
 * subject to sum x = D, 0 <= x <= C - L, and, when `racks` is set,
 * sum_{i in r} w_i x_i <= budget_r and sum_{i in r} x_i <= 0.45 D. */
static void solve_qp(int racks, double *x, double *z)
{
    double P[N * N] = {0}, q[N], A[N], lower[N], upper[N];
    double G[2 * RACKS * N] = {0}, h[2 * RACKS];
    for (int i = 0; i < N; i++) {
        P[i * N + i] = 2 / fleet[i].capacity;
        q[i] = 2 * fleet[i].load / fleet[i].capacity;
        A[i] = 1;
        lower[i] = 0;
        upper[i] = fleet[i].capacity - fleet[i].load;
        G[fleet[i].rack * N + i] = fleet[i].watts;        /* row r: power of rack r */
        G[(RACKS + fleet[i].rack) * N + i] = 1;           /* row 3 + r: traffic of rack r */
    }
    for (int r = 0; r < RACKS; r++) {
        h[r] = power_budget[r];
        h[RACKS + r] = rack_share * demand;
    }
    size_t m_in = racks ? 2 * RACKS : 0;
    cs_qp_workspace *ws;
    CHECK(cs_qp_workspace_create(N, 1, m_in, NULL, &ws));
    cs_qp_problem pb;
    CHECK(cs_qp_problem_init(&pb, sizeof pb));
    pb.n = N;
    pb.m_eq = 1;
    pb.m_in = m_in;
    pb.P = P;
    pb.q = q;
    pb.A = A;
    pb.b = &demand;
    pb.G = racks ? G : NULL;
    pb.h = racks ? h : NULL;
    pb.lower = lower;
    pb.upper = upper;
    double y;
    cs_qp_result res;
    CHECK(cs_qp_result_init(&res, sizeof res));
    res.x = x;
    res.y = &y;
    res.z = racks ? z : NULL;
    /* Tighter than the default 1e-8, so that part 2 can compare the two
     * solvers closely. */
    cs_qp_settings set;
    CHECK(cs_qp_settings_init(&set, sizeof set));
    set.eps_abs = set.eps_rel = 1e-10;
    CHECK(cs_qp_solve(ws, &pb, &set, &res));
    printf("  cs_qp_solve: %d iterations, primal residual %.1e, dual residual %.1e, gap %.1e\n",
           res.iterations, res.primal_residual, res.dual_residual, res.gap);
    cs_qp_workspace_destroy(ws);
}

int main(void)
{
    cs_balance_workspace *ws;
    CHECK(cs_balance_workspace_create(NULL, &ws));
    double load[N], cap[N], xb[N], xq[N], xc[N], z[2 * RACKS];
    for (int i = 0; i < N; i++) {
        load[i] = fleet[i].load;
        cap[i] = fleet[i].capacity;
    }

    /* 1. Water-filling. Total capacity 3400, load 1230, so with D = 1500
     * every node can end at (1230 + 1500) / 3400 = 80.29%: no node is
     * above that level now, so every node is inside its bounds and
     * x_i = 0.8029 C_i - L_i. */
    cs_balance_result br;
    CHECK(cs_balance_result_init(&br, sizeof br));
    CHECK(cs_balance_utilisation(ws, N, load, cap, demand, CS_BALANCE_LEVEL, xb, &br));
    print_split("1. cs_balance_utilisation (water level)", xb);
    double level = (1230.0 + demand) / 3400.0, worst = 0, sum = 0;
    for (int i = 0; i < N; i++) {
        worst = fmax(worst, fabs((load[i] + xb[i]) / cap[i] - level));
        sum += xb[i];
    }
    verdict("every node at 2730 / 3400 = 80.29% utilisation (to 1e-12)", worst < 1e-12);
    verdict("the split adds up to D = 1500 (to 1e-9)", fabs(sum - demand) < 1e-9);

    /* 2. The same problem as a QP. */
    printf("\n2. The same problem as a dense QP\n");
    solve_qp(0, xq, NULL);
    double diff = 0;
    for (int i = 0; i < N; i++)
        diff = fmax(diff, fabs(xq[i] - xb[i]));
    printf("  largest difference from the balance solution: %.2e req/s\n", diff);
    verdict("cs_qp_solve agrees with cs_balance_utilisation (to 1e-6 req/s)", diff < 1e-6);

    /* 3. Rack constraints. The water level puts 0.8029 * 1600 - 500 = 784.7
     * req/s (52% of D) and 706 W in rack 0: over both its limits. What rack
     * 0 cannot take goes to racks 1 and 2, which pushes rack 2 over its
     * 372 W, so the QP must also move traffic from rack 2 to rack 1 and pay
     * for it in evenness.
     * By hand: rack 0 held to 600 W / 0.9 = 666.7 req/s and rack 2 to
     * 372 W / 1.2 = 310 req/s leave 523.3 for rack 1. Inside a rack the
     * nodes are level: u0 = (500 + 666.7) / 1600 = 72.92%,
     * u1 = (230 + 523.3) / 800 = 94.17%, u2 = (500 + 310) / 1000 = 81%.
     * Stationarity, 2 u_rack + lambda + watts_rack * z_power_rack = 0, with
     * rack 1's power not binding (z = 0) gives lambda = -2 u1, so
     * z_power0 = 2 (u1 - u0) / 0.9 = 0.4722 and z_power2 = 2 (u1 - u2) / 1.2
     * = 0.2194: the multipliers the solver must report. */
    printf("\n3. With power budgets and at most 45%% of the service per rack\n");
    solve_qp(1, xc, z);
    print_split("  the constrained split:", xc);
    double traffic[RACKS] = {0}, power[RACKS] = {0}, lo = 0;
    sum = 0;
    for (int i = 0; i < N; i++) {
        traffic[fleet[i].rack] += xc[i];
        power[fleet[i].rack] += fleet[i].watts * xc[i];
        sum += xc[i];
        lo = fmin(lo, fmin(xc[i], cap[i] - load[i] - xc[i]));
    }
    int within = fabs(sum - demand) < 1e-6 && lo > -1e-6;
    for (int r = 0; r < RACKS; r++)
        within &= power[r] <= power_budget[r] + 1e-6 && traffic[r] <= rack_share * demand + 1e-6;
    verdict("sum = D, bounds, power budgets and the 45% cap all hold", within);
    verdict("the constrained objective is no better than the free one",
            objective(xc) >= objective(xb) - 1e-9);
    const double u_hand[RACKS] = {(500 + 2000.0 / 3) / 1600, (230 + 1570.0 / 3) / 800, 0.81};
    double u_err = 0;
    for (int i = 0; i < N; i++)
        u_err = fmax(u_err, fabs((load[i] + xc[i]) / cap[i] - u_hand[fleet[i].rack]));
    verdict("racks level at 72.92%, 94.17%, 81% as by hand (to 1e-6)", u_err < 1e-6);
    const double z_hand[2] = {2 * (u_hand[1] - u_hand[0]) / 0.9, 2 * (u_hand[1] - u_hand[2]) / 1.2};
    verdict("power multipliers 0.4722 and 0.2194 as by hand (to 1e-6)",
            fabs(z[0] - z_hand[0]) < 1e-6 && fabs(z[2] - z_hand[1]) < 1e-6 && z[1] < 1e-6);
    printf("  multipliers (the objective's price of one more unit of the limit):\n");
    for (int r = 0; r < RACKS; r++)
        printf("    rack %d: power %.2e per W, share %.2e per req/s%s\n", r, z[r], z[RACKS + r],
               z[r] > 1e-6 || z[RACKS + r] > 1e-6 ? "   <- binding" : "");

    /* 4. Max-min fair division of 100 GPUs among demands 10, 30, 50, 60
     * (equal weights). By hand: 100 / 4 = 25 each, but the first wants only
     * 10; the other three split 90: 30 each, which the second takes whole;
     * so (10, 30, 30, 30), all 100 used. The crude formula
     * min(d_i, C / K) = (10, 25, 25, 25) leaves 15 GPUs idle. With weights
     * (1, 1, 2, 1), x_i = min(d_i, w_i L) with the level L solving
     * 10 + min(30, L) + min(50, 2 L) + min(60, L) = 100: below L = 25 that
     * is 10 + 4 L, so L = 22.5 and x = (10, 22.5, 45, 22.5). */
    printf("\n4. Max-min fair division of 100 GPUs, demands 10 30 50 60\n");
    const double want[4] = {10, 30, 50, 60}, w[4] = {1, 1, 2, 1};
    const double hand[2][4] = {{10, 30, 30, 30}, {10, 22.5, 45, 22.5}};
    for (int weighted = 0; weighted < 2; weighted++) {
        double share[4], err = 0;
        CHECK(cs_balance_max_min(ws, 4, want, weighted ? w : NULL, 100, share, NULL));
        printf("  %-22s %5.1f %5.1f %5.1f %5.1f\n",
               weighted ? "weights 1 1 2 1:" : "equal weights:", share[0], share[1], share[2],
               share[3]);
        for (int i = 0; i < 4; i++)
            err = fmax(err, fabs(share[i] - hand[weighted][i]));
        verdict(weighted ? "weighted: (10, 22.5, 45, 22.5) as by hand" : "(10, 30, 30, 30) as by hand",
                err < 1e-9);
    }
    printf("  min(d, C / K) would give   10.0  25.0  25.0  25.0 (15 GPUs idle)\n");

    cs_balance_workspace_destroy(ws);
    printf("\n%s\n", failures ? "SOME CHECKS FAILED" : "all checks passed");
    return failures ? 1 : 0;
}
