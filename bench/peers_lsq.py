#!/usr/bin/env python3
"""numpy peer for bench_lsq: numpy.linalg.lstsq against libcloudsched's
cs_lsq_fit on the same matrices, JSON lines in the bench schema on stdout.

    python3 bench/peers_lsq.py [--quick] [--lib path/to/libcloudsched.so]

The matrices are rebuilt with the splitmix64 generator of bench_lsq.c, so
both benches time the same data. numpy gets its natural C-order array;
libcloudsched is called through ctypes on that very array (row-major,
ldx = p: no copy on the caller's side). numpy.linalg.lstsq is an SVD solver
(LAPACK dgelsd), so it is compared with both the default QR fit (case "qr")
and the SVD fit (case "svd").

Skips cleanly (message on stderr, exit status 0) when numpy or the library
is missing. `run()` yields the records for bench/peers.py.
"""
import argparse
import ctypes
import json
import os
import sys
import time

BENCH = "lsq"


def _find_lib(explicit):
    cands = []
    if explicit:
        cands.append(explicit)
    if os.environ.get("CLOUDSCHED_LIB"):
        cands.append(os.environ["CLOUDSCHED_LIB"])
    here = os.path.dirname(os.path.abspath(__file__))
    for build in ("build", "builddir"):
        cands.append(os.path.join(here, "..", build, "src", "libcloudsched.so"))
    for c in cands:
        if c and os.path.exists(c):
            return c
    return None


class _Options(ctypes.Structure):
    # mirrors cs_lsq_options in include/cloudsched/lsq.h
    _fields_ = [("size", ctypes.c_size_t), ("method", ctypes.c_int),
                ("intercept", ctypes.c_int), ("ridge", ctypes.c_double),
                ("rcond", ctypes.c_double), ("nrhs", ctypes.c_size_t)]


CS_LSQ_ROW_MAJOR = 101
CS_LSQ_QR = 0
CS_LSQ_SVD = 3


def _load(path):
    lib = ctypes.CDLL(path)
    vp, sz, dp = ctypes.c_void_p, ctypes.c_size_t, ctypes.POINTER(ctypes.c_double)
    lib.cs_lsq_options_init.argtypes = [ctypes.POINTER(_Options), sz]
    lib.cs_lsq_options_init.restype = ctypes.c_int
    lib.cs_lsq_create.argtypes = [sz, sz, ctypes.POINTER(_Options), vp, ctypes.POINTER(vp)]
    lib.cs_lsq_create.restype = ctypes.c_int
    lib.cs_lsq_fit.argtypes = [vp, ctypes.c_int, dp, sz, dp, sz, dp, dp, sz, dp, vp]
    lib.cs_lsq_fit.restype = ctypes.c_int
    lib.cs_lsq_destroy.argtypes = [vp]
    lib.cs_lsq_destroy.restype = None
    return lib


def _uniform(np, seed, count):
    """splitmix64 stream as in bench_lsq.c: state += gamma, then mix."""
    gamma = np.uint64(0x9E3779B97F4A7C15)
    idx = np.arange(1, count + 1, dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = np.uint64(seed) + idx * gamma
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) * 2.0 ** -53


def make_data(np, n, p):
    """X (n x p) and y exactly as bench_lsq.c's make_data builds them."""
    u = _uniform(np, 12345 + n * 131 + p, n * p + n)
    X = np.ascontiguousarray((2.0 * u[: n * p] - 1.0).reshape(p, n).T)  # C order
    beta = 1.0 - 2.0 * np.arange(p) / p
    y = X @ beta + 0.01 * (2.0 * u[n * p:] - 1.0)
    return X, y


def _median_ns(fn, reps, inner):
    fn()  # warm-up
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter_ns()
        for _ in range(inner):
            fn()
        ts.append((time.perf_counter_ns() - t0) / inner)
    ts.sort()
    m = len(ts)
    return ts[m // 2] if m % 2 else 0.5 * (ts[m // 2 - 1] + ts[m // 2])


def run(quick=False, lib_path=None):
    """Yield one record (dict) per measured case."""
    try:
        import numpy as np
    except ImportError:
        print("peers_lsq: numpy not available, skipping", file=sys.stderr)
        return
    path = _find_lib(lib_path)
    if path is None:
        print("peers_lsq: libcloudsched.so not found (build it or pass --lib), skipping",
              file=sys.stderr)
        return
    lib = _load(path)
    ns = [1000, 10000] if quick else [1000, 10000, 100000, 1000000]
    ps = [4, 16] if quick else [4, 16, 64]
    dp = ctypes.POINTER(ctypes.c_double)
    for n in ns:
        for p in ps:
            X, y = make_data(np, n, p)
            work = n * p * p
            reps = 3 if work > 1e9 else (5 if work > 1e8 else 7)
            inner = max(1, min(500, int(2e7 / (work + 1))))
            t_np = _median_ns(lambda: np.linalg.lstsq(X, y, rcond=None), reps, inner)
            ref = np.linalg.lstsq(X, y, rcond=None)[0]
            for case, method in (("qr", CS_LSQ_QR), ("svd", CS_LSQ_SVD)):
                if case == "svd" and n > 100000:
                    continue
                opts = _Options()
                lib.cs_lsq_options_init(ctypes.byref(opts), ctypes.sizeof(opts))
                opts.method = method
                ws = ctypes.c_void_p()
                st = lib.cs_lsq_create(n, p, ctypes.byref(opts), None, ctypes.byref(ws))
                if st != 0:
                    print(f"peers_lsq: cs_lsq_create failed ({st})", file=sys.stderr)
                    return
                coef = np.zeros(p)
                xp, yp, cp = (X.ctypes.data_as(dp), y.ctypes.data_as(dp),
                              coef.ctypes.data_as(dp))

                def ours():
                    s = lib.cs_lsq_fit(ws, CS_LSQ_ROW_MAJOR, xp, p, yp, 1, None, cp, 1,
                                       None, None)
                    if s != 0:
                        raise RuntimeError(f"cs_lsq_fit failed ({s})")

                t_ours = _median_ns(ours, reps, inner)
                lib.cs_lsq_destroy(ws)
                err = float(np.max(np.abs(coef - ref) / np.abs(ref)))
                yield {"bench": BENCH, "case": case, "n": n, "p": p,
                       "ns_per_op": round(t_ours, 1), "ops": reps * inner,
                       "baseline": "numpy_lstsq", "baseline_ns_per_op": round(t_np, 1),
                       "ratio": round(t_np / t_ours, 4), "layout": "row",
                       "max_rel_err": err}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (CI)")
    ap.add_argument("--lib", help="path to libcloudsched.so")
    args = ap.parse_args(argv)
    for rec in run(args.quick, args.lib):
        print(json.dumps(rec), flush=True)
        print(f"{rec['case']:4} n={rec['n']:<8} p={rec['p']:<3} ours "
              f"{rec['ns_per_op'] / 1e3:10.1f} us  numpy {rec['baseline_ns_per_op'] / 1e3:10.1f}"
              f" us  ratio {rec['ratio']:.2f}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
