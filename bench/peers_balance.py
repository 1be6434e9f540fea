#!/usr/bin/env python3
"""Python peers for the balance and qp benches: cvxopt.solvers.qp and scipy
on the same problems as libcloudsched, in the same process and run.

Prints one JSON object per line (the bench schema of ../shared/DESIGN.md):
ns_per_op is libcloudsched, baseline_ns_per_op the peer, ratio = peer / ours,
plus the objective difference and, for the QPs, both KKT residuals computed
here with numpy from the returned solutions (not from either solver's own
report). Human-readable notes go to stderr. A peer whose package is missing
is skipped with a note; so is everything when libcloudsched.so is not found.

Usage: peers_balance.py [--quick] [--lib path/to/libcloudsched.so]
The lead's bench/peers.py calls main(argv).
"""
import ctypes as C
import json
import os
import sys
import time

try:
    import numpy as np
except ImportError:  # pragma: no cover - numpy is required for everything here
    np = None


# ---- the library through ctypes: one place for every layout and signature ----

class BalanceProblem(C.Structure):
    _fields_ = [("size", C.c_size_t), ("n", C.c_size_t),
                ("weight", C.POINTER(C.c_double)), ("target", C.POINTER(C.c_double)),
                ("lower", C.POINTER(C.c_double)), ("upper", C.POINTER(C.c_double)),
                ("total", C.c_double)]


class BalanceResult(C.Structure):
    _fields_ = [("size", C.c_size_t), ("mu", C.c_double), ("objective", C.c_double),
                ("objective_continuous", C.c_double), ("sum", C.c_double),
                ("min_total", C.c_double), ("max_total", C.c_double),
                ("num_lower", C.c_size_t), ("num_upper", C.c_size_t),
                ("num_free", C.c_size_t), ("iterations", C.c_size_t), ("passes", C.c_size_t)]


class QpProblem(C.Structure):
    _fields_ = [("size", C.c_size_t), ("n", C.c_size_t), ("m_eq", C.c_size_t),
                ("m_in", C.c_size_t)] + [
                   (name, C.POINTER(C.c_double))
                   for name in ("P", "q", "A", "b", "G", "h", "lower", "upper")]


class QpSettings(C.Structure):
    _fields_ = [("size", C.c_size_t), ("eps_abs", C.c_double), ("eps_rel", C.c_double),
                ("eps_infeasible", C.c_double), ("max_iter", C.c_int),
                ("equilibrate_iter", C.c_int), ("static_reg", C.c_double),
                ("refine_iter", C.c_int)]


class QpResult(C.Structure):
    _fields_ = [("size", C.c_size_t), ("x", C.POINTER(C.c_double)),
                ("y", C.POINTER(C.c_double)), ("z", C.POINTER(C.c_double)),
                ("z_bound", C.POINTER(C.c_double)), ("objective", C.c_double),
                ("dual_objective", C.c_double), ("primal_residual", C.c_double),
                ("dual_residual", C.c_double), ("gap", C.c_double), ("iterations", C.c_int)]


def load_library(path):
    lib = C.CDLL(path)
    vp, sz = C.c_void_p, C.c_size_t
    sig = {
        "cs_balance_workspace_create": ([vp, C.POINTER(vp)], C.c_int),
        "cs_balance_workspace_destroy": ([vp], None),
        "cs_balance_workspace_reserve": ([vp, sz], C.c_int),
        "cs_balance_problem_init": ([C.POINTER(BalanceProblem), sz], C.c_int),
        "cs_balance_result_init": ([C.POINTER(BalanceResult), sz], C.c_int),
        "cs_balance_solve": ([vp, C.POINTER(BalanceProblem), C.POINTER(C.c_double),
                              C.POINTER(BalanceResult)], C.c_int),
        "cs_qp_workspace_create": ([sz, sz, sz, vp, C.POINTER(vp)], C.c_int),
        "cs_qp_workspace_destroy": ([vp], None),
        "cs_qp_problem_init": ([C.POINTER(QpProblem), sz], C.c_int),
        "cs_qp_settings_init": ([C.POINTER(QpSettings), sz], C.c_int),
        "cs_qp_result_init": ([C.POINTER(QpResult), sz], C.c_int),
        "cs_qp_solve": ([vp, C.POINTER(QpProblem), C.POINTER(QpSettings),
                         C.POINTER(QpResult)], C.c_int),
    }
    for name, (argtypes, restype) in sig.items():
        fn = getattr(lib, name)
        fn.argtypes = argtypes
        fn.restype = restype
    return lib


def dptr(a):
    return a.ctypes.data_as(C.POINTER(C.c_double)) if a is not None else None


def check(status, what):
    if status != 0:
        raise RuntimeError("%s returned status %d" % (what, status))


def median_time(fn, reps):
    """Median wall time of fn() over reps calls, and fn's last result."""
    times, out = [], None
    for _ in range(reps):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    times.sort()
    return times[len(times) // 2], out


def emit(record):
    print(json.dumps(record))
    sys.stdout.flush()


# ---- balance ------------------------------------------------------------------

def balance_problem(n, seed):
    rng = np.random.default_rng(seed)
    w = np.exp(rng.uniform(np.log(1e-2), np.log(1e2), n))
    t = rng.uniform(0, 100, n)
    lo = np.where(rng.uniform(size=n) < 0.3, t, 0.0)
    up = lo + rng.uniform(0, 200, n)
    total = lo.sum() + 0.4 * (up.sum() - lo.sum())
    return w, t, lo, up, total


def balance_objective(w, t, x):
    return float(np.sum(w * (x - t) ** 2))


def bench_balance(lib, n, reps):
    w, t, lo, up, total = balance_problem(n, 1000 + n)
    ws = C.c_void_p()
    check(lib.cs_balance_workspace_create(None, C.byref(ws)), "workspace")
    check(lib.cs_balance_workspace_reserve(ws, n), "reserve")
    p = BalanceProblem()
    lib.cs_balance_problem_init(C.byref(p), C.sizeof(p))
    p.n, p.weight, p.target, p.lower, p.upper, p.total = n, dptr(w), dptr(t), dptr(lo), dptr(up), total
    r = BalanceResult()
    lib.cs_balance_result_init(C.byref(r), C.sizeof(r))
    x = np.empty(n)
    ours, _ = median_time(lambda: check(lib.cs_balance_solve(ws, C.byref(p), dptr(x), C.byref(r)),
                                        "cs_balance_solve"), reps)
    lib.cs_balance_workspace_destroy(ws)
    f_ours = balance_objective(w, t, x)
    base = {"bench": "balance", "case": "exact", "n": n, "p": 1, "ns_per_op": ours * 1e9, "ops": 1}

    try:
        import cvxopt
        from cvxopt import solvers, spmatrix, matrix
    except ImportError:
        print("peers_balance: cvxopt not installed, skipping the cvxopt peer", file=sys.stderr)
    else:
        solvers.options.update({"show_progress": False, "abstol": 1e-10, "reltol": 1e-10,
                                "feastol": 1e-10, "maxiters": 200})
        idx = list(range(n))
        P = spmatrix(list(2 * w), idx, idx)
        q = matrix(-2 * w * t)
        G = spmatrix([-1.0] * n + [1.0] * n, list(range(2 * n)), idx + idx)
        h = matrix(np.concatenate([-lo, up]))
        A = spmatrix([1.0] * n, [0] * n, idx)
        b = matrix([total])
        creps = 3 if n <= 10000 else 1
        peer, sol = median_time(lambda: solvers.qp(P, q, G, h, A, b), creps)
        xc = np.array(sol["x"]).ravel()
        f_c = balance_objective(w, t, xc)
        rec = dict(base, baseline="cvxopt", baseline_ns_per_op=peer * 1e9, ratio=peer / ours,
                   objective_rel_diff=(f_c - f_ours) / max(abs(f_ours), 1e-300),
                   max_abs_x_diff=float(np.max(np.abs(xc - x))), peer_status=sol["status"])
        emit(rec)
        print("balance n=%d: ours %.3f ms, cvxopt %.1f ms (%.0fx), objective %.12g vs %.12g"
              % (n, ours * 1e3, peer * 1e3, peer / ours, f_ours, f_c), file=sys.stderr)

    try:
        from scipy.optimize import brentq
    except ImportError:
        print("peers_balance: scipy not installed, skipping the scipy peer", file=sys.stderr)
    else:
        # scipy has no QP solver; the fair scipy approach to this problem is
        # root finding on the multiplier, with numpy evaluating g(mu).
        def g(mu):
            return np.clip(t + mu / w, lo, up).sum() - total
        a_bp, b_bp = w * (lo - t), w * (up - t)

        def solve_scipy():
            mu = brentq(g, a_bp.min(), b_bp.max(), xtol=1e-14, rtol=4 * np.finfo(float).eps,
                        maxiter=500)
            return np.clip(t + mu / w, lo, up)
        peer, xs = median_time(solve_scipy, 5)
        f_s = balance_objective(w, t, xs)
        emit(dict(base, baseline="scipy_brentq", baseline_ns_per_op=peer * 1e9,
                  ratio=peer / ours, objective_rel_diff=(f_s - f_ours) / max(abs(f_ours), 1e-300),
                  max_abs_x_diff=float(np.max(np.abs(xs - x)))))
        print("balance n=%d: scipy brentq %.2f ms (%.1fx), objective %.12g"
              % (n, peer * 1e3, peer / ours, f_s), file=sys.stderr)


# ---- dense QP ---------------------------------------------------------------------

def qp_problem(n, seed):
    """The structure of bench_qp.c: P = R R'/n + 0.01 I, p = n inequalities,
    n / 10 equalities, a box, all feasible around a random x0."""
    rng = np.random.default_rng(seed)
    me, mi = n // 10, n
    R = rng.standard_normal((n, n))
    P = R @ R.T / n + 0.01 * np.eye(n)
    x0 = rng.standard_normal(n)
    q = rng.standard_normal(n)
    lo = x0 - 1 - rng.uniform(size=n)
    up = x0 + 1 + rng.uniform(size=n)
    A = rng.standard_normal((me, n))
    b = A @ x0
    G = rng.standard_normal((mi, n))
    h = G @ x0 + rng.uniform(size=mi)
    return P, q, A, b, G, h, lo, up


def kkt_residual(P, q, A, b, G, h, lo, up, x, y, z, zb):
    """Relative KKT residual computed here: max of primal infeasibility and
    stationarity, each relative to the size of its terms."""
    pres = max(np.max(np.abs(A @ x - b), initial=0.0), np.max(G @ x - h, initial=0.0),
               np.max(lo - x), np.max(x - up), 0.0)
    pscale = max(np.max(np.abs(A @ x), initial=0.0), np.max(np.abs(b), initial=0.0),
                 np.max(np.abs(G @ x)), np.max(np.abs(h)), np.max(np.abs(x)), 1.0)
    terms = [P @ x, q, A.T @ y, G.T @ z, zb]
    dres = np.max(np.abs(sum(terms)))
    dscale = max(max(np.max(np.abs(v)) for v in terms), 1.0)
    return max(pres / pscale, dres / dscale)


def bench_qp(lib, n, reps):
    P, q, A, b, G, h, lo, up = qp_problem(n, 2000 + n)
    me, mi = A.shape[0], G.shape[0]
    ws = C.c_void_p()
    check(lib.cs_qp_workspace_create(n, me, mi, None, C.byref(ws)), "workspace")
    arrs = [np.ascontiguousarray(a) for a in (P, q, A, b, G, h, lo, up)]
    p = QpProblem()
    lib.cs_qp_problem_init(C.byref(p), C.sizeof(p))
    p.n, p.m_eq, p.m_in = n, me, mi
    for name, a in zip(("P", "q", "A", "b", "G", "h", "lower", "upper"), arrs):
        setattr(p, name, dptr(a))
    x, y, z, zb = np.empty(n), np.empty(max(me, 1)), np.empty(mi), np.empty(n)
    r = QpResult()
    lib.cs_qp_result_init(C.byref(r), C.sizeof(r))
    r.x, r.y, r.z, r.z_bound = dptr(x), dptr(y), dptr(z), dptr(zb)
    ours, _ = median_time(lambda: check(lib.cs_qp_solve(ws, C.byref(p), None, C.byref(r)),
                                        "cs_qp_solve"), reps)
    lib.cs_qp_workspace_destroy(ws)
    f_ours = 0.5 * x @ P @ x + q @ x
    k_ours = kkt_residual(P, q, A, b, G, h, lo, up, x, y[:me], z, zb)
    base = {"bench": "qp", "case": "dense", "n": n, "p": mi, "ns_per_op": ours * 1e9, "ops": 1,
            "kkt_residual": k_ours}

    try:
        from cvxopt import solvers, matrix
    except ImportError:
        print("peers_balance: cvxopt not installed, skipping the cvxopt QP peer", file=sys.stderr)
    else:
        # the same accuracy as ours: cvxopt's tolerances at 1e-8
        solvers.options.update({"show_progress": False, "abstol": 1e-8, "reltol": 1e-8,
                                "feastol": 1e-8, "maxiters": 200})
        Gc = np.vstack([G, -np.eye(n), np.eye(n)])
        hc = np.concatenate([h, -lo, up])
        args = (matrix(P), matrix(q), matrix(Gc), matrix(hc), matrix(A), matrix(b))
        peer, sol = median_time(lambda: solvers.qp(*args), max(1, reps // 2))
        xc = np.array(sol["x"]).ravel()
        yc = np.array(sol["y"]).ravel()
        zc = np.array(sol["z"]).ravel()
        zbc = zc[mi + n:] - zc[mi:mi + n]
        k_c = kkt_residual(P, q, A, b, G, h, lo, up, xc, yc, zc[:mi], zbc)
        f_c = 0.5 * xc @ P @ xc + q @ xc
        emit(dict(base, baseline="cvxopt", baseline_ns_per_op=peer * 1e9, ratio=peer / ours,
                  baseline_kkt_residual=k_c,
                  objective_rel_diff=(f_c - f_ours) / max(abs(f_ours), 1e-300),
                  peer_status=sol["status"]))
        print("qp n=%d: ours %.2f ms (KKT %.1e), cvxopt %.2f ms (KKT %.1e, %s), %.1fx,"
              " objective %.12g vs %.12g" % (n, ours * 1e3, k_ours, peer * 1e3, k_c,
                                             sol["status"], peer / ours, f_ours, f_c),
              file=sys.stderr)

    if n <= 100:
        try:
            from scipy.optimize import minimize, LinearConstraint, Bounds
        except ImportError:
            print("peers_balance: scipy not installed, skipping the scipy QP peer", file=sys.stderr)
        else:
            cons = [LinearConstraint(A, b, b), LinearConstraint(G, -np.inf, h)]

            def solve_scipy():
                return minimize(lambda v: 0.5 * v @ P @ v + q @ v, np.clip(np.zeros(n), lo, up),
                                jac=lambda v: P @ v + q, hess=lambda v: P,
                                method="trust-constr", constraints=cons, bounds=Bounds(lo, up),
                                options={"gtol": 1e-8, "xtol": 1e-12, "maxiter": 5000})
            peer, sol = median_time(solve_scipy, 1)
            f_s = float(sol.fun)
            emit(dict(base, baseline="scipy_trust_constr", baseline_ns_per_op=peer * 1e9,
                      ratio=peer / ours,
                      objective_rel_diff=(f_s - f_ours) / max(abs(f_ours), 1e-300)))
            print("qp n=%d: scipy trust-constr %.1f ms (%.0fx), objective %.12g"
                  % (n, peer * 1e3, peer / ours, f_s), file=sys.stderr)


def default_library():
    here = os.path.dirname(os.path.abspath(__file__))
    for cand in (os.path.join(here, "..", "build", "src", "libcloudsched.so"),
                 os.path.join(here, "..", "src", "libcloudsched.so"),
                 os.path.join(os.getcwd(), "src", "libcloudsched.so")):
        if os.path.exists(cand):
            return cand
    return None


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    quick = "--quick" in argv
    path = None
    if "--lib" in argv:
        path = argv[argv.index("--lib") + 1]
    path = path or os.environ.get("CLOUDSCHED_LIB") or default_library()
    if np is None:
        print("peers_balance: numpy not installed, skipping", file=sys.stderr)
        return 0
    if path is None or not os.path.exists(path):
        print("peers_balance: libcloudsched.so not found (pass --lib), skipping", file=sys.stderr)
        return 0
    lib = load_library(path)
    for n in ([1000, 10000] if quick else [1000, 10000, 100000]):
        bench_balance(lib, n, 21 if n <= 10000 else 5)
    for n in ([50, 100] if quick else [50, 100, 200, 500]):
        bench_qp(lib, n, 7 if n <= 200 else 3)
    return 0


if __name__ == "__main__":
    sys.exit(main())
