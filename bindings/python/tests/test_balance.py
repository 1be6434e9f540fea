"""Balance: hand-computed solutions, a bisection reference for the
continuous problem, exhaustive search for the integer ones, bad input."""

import itertools
import math
import unittest

import _setup
import cloudsched as cs

if _setup.HAVE_NUMPY:
    import numpy as np


def bisection(total, w, t, lo, hi):
    """Reference: x_i(mu) = clamp(t_i + mu / w_i, l_i, u_i) is nondecreasing in
    mu; bisect sum_i x_i(mu) = total (200 halvings of a wide bracket)."""
    def x(mu):
        return [min(max(ti + mu / wi, li), ui) for wi, ti, li, ui in zip(w, t, lo, hi)]
    a, b = -1e9, 1e9
    for _ in range(200):
        m = (a + b) / 2
        if sum(x(m)) < total:
            a = m
        else:
            b = m
    return x((a + b) / 2)


class Continuous(unittest.TestCase):
    def test_by_hand(self):
        # Equal weights, no target: equal shares, capped by upper bound 1:
        # x = (1, 4.5, 4.5) for total 10.
        r = cs.balance(10, lower=[0, 0, 0], upper=[1, 100, 100])
        self.assertEqual(r.x, [1.0, 4.5, 4.5])
        self.assertEqual((r.result.num_upper, r.result.num_free, r.result.mu), (1, 2, 4.5))
        self.assertEqual(r.result.objective, 1 + 2 * 4.5 ** 2)
        # Weights (1, 2): x_i = mu / w_i, mu (1 + 1/2) = 3: x = (2, 1).
        r = cs.balance(3, weight=[1, 2])
        self.assertEqual(r.x, [2.0, 1.0])
        # Targets: t = (1, 5), total 8: mu shared equally, x = (2, 6).
        self.assertEqual(cs.balance(8, target=[1, 5]).x, [2.0, 6.0])
        # n from the argument when every array is the default.
        self.assertEqual(cs.balance(6, n=3).x, [2.0, 2.0, 2.0])

    def test_against_bisection(self):
        rng = _setup.Rng(17)
        with cs.BalanceWorkspace() as ws:
            for _ in range(30):
                n = 1 + rng.below(40)
                w = [rng.uniform(0.1, 5) for _ in range(n)]
                t = [rng.uniform(-10, 10) for _ in range(n)]
                lo = [rng.uniform(-20, 0) for _ in range(n)]
                hi = [l + rng.uniform(0, 30) for l in lo]
                total = rng.uniform(sum(lo), sum(hi))
                got = ws.solve(total, w, t, lo, hi)
                want = bisection(total, w, t, lo, hi)
                for g, v in zip(got.x, want):
                    self.assertAlmostEqual(g, v, delta=1e-7)
                self.assertAlmostEqual(got.result.sum, total, delta=1e-9 * (1 + abs(total)))

    def test_infeasible_reports_the_range(self):
        with self.assertRaises(cs.Infeasible) as ctx:
            cs.balance(10, lower=[0, 0], upper=[1, 2])
        self.assertEqual((ctx.exception.result.min_total, ctx.exception.result.max_total),
                         (0.0, 3.0))

    def test_bad_input(self):
        with cs.BalanceWorkspace() as ws:
            for call in (lambda: ws.solve(1, weight=[0, 1]),
                         lambda: ws.solve(1, target=[math.nan, 1]),
                         lambda: ws.solve(1, lower=[2, 0], upper=[1, 5]),
                         lambda: ws.solve(math.inf, n=2),
                         lambda: ws.solve(1)):
                with self.assertRaises(cs.InvalidArgument):
                    call()
            with self.assertRaises(cs.DimensionMismatch):
                ws.solve(1, weight=[1, 1], target=[0])
            ws.reserve(100)


class Integer(unittest.TestCase):
    def brute(self, total, w, t, lo, hi):
        best = None
        for x in itertools.product(*[range(l, u + 1) for l, u in zip(lo, hi)]):
            if sum(x) == total:
                f = sum(wi * (xi - ti) ** 2 for wi, xi, ti in zip(w, x, t))
                if best is None or f < best[0] - 1e-12:
                    best = (f, x)
        return best

    def test_against_exhaustive_search(self):
        rng = _setup.Rng(23)
        with cs.BalanceWorkspace() as ws:
            for _ in range(60):
                n = 1 + rng.below(4)
                w = [float(1 + rng.below(4)) for _ in range(n)]
                t = [rng.below(9) / 2 - 1 for _ in range(n)]
                lo = [rng.below(3) - 1 for _ in range(n)]
                hi = [l + rng.below(5) for l in lo]
                total = sum(lo) + rng.below(sum(hi) - sum(lo) + 1)
                got = ws.solve_int(total, w, t, lo, hi)
                f, _ = self.brute(total, w, t, lo, hi)
                x = got.x
                self.assertEqual(sum(x), total)
                self.assertTrue(all(l <= v <= u for l, v, u in zip(lo, x, hi)))
                self.assertAlmostEqual(got.result.objective, f, places=9)
                self.assertAlmostEqual(sum(wi * (xi - ti) ** 2
                                           for wi, xi, ti in zip(w, x, t)), f, places=9)
                self.assertLessEqual(got.result.objective_continuous,
                                     got.result.objective + 1e-9)

    def test_by_hand(self):
        # 10 over 3 equal elements: 4, 3, 3 (the extra unit to the lowest index).
        self.assertEqual(cs.round_balance(10, n=3).x, [4, 3, 3])
        self.assertEqual(cs.round_balance(7, lower=[0, 0], upper=[2, 10]).x, [2, 5])
        with self.assertRaises(cs.Infeasible):
            cs.round_balance(13, lower=[0, 0], upper=[2, 10])
        with self.assertRaises(cs.InvalidArgument):
            cs.round_balance(1, upper=[cs.BALANCE_INT_MAX + 1])


class FairDivision(unittest.TestCase):
    def test_max_min_by_hand(self):
        # The header's example: capacity 10, demands 2, 4, 10 -> 2, 4, 4.
        r = cs.max_min([2, 4, 10], 10)
        self.assertEqual(r.x, [2.0, 4.0, 4.0])
        self.assertEqual(r.result.mu, 4.0)
        # Weights 1 and 3, capacity 8: level L with L + 3L = 8: (2, 6).
        self.assertEqual(cs.max_min([10, 10], 8, weight=[1, 3]).x, [2.0, 6.0])
        # Enough for everyone: every demand met.
        self.assertEqual(cs.max_min([1, 2], 100).x, [1.0, 2.0])

    def test_max_min_int(self):
        # Sainte-Lague with equal weights: 7 units over three demands of 5:
        # 3, 2, 2 (the odd unit to the lowest index).
        self.assertEqual(cs.max_min_int([5, 5, 5], 7).x, [3, 2, 2])
        self.assertEqual(cs.max_min_int([1, 9], 6).x, [1, 5])
        rng = _setup.Rng(5)
        for _ in range(40):
            n = 1 + rng.below(3)
            d = [rng.below(6) for _ in range(n)]
            w = [float(1 + rng.below(3)) for _ in range(n)]
            c = rng.below(12)
            got = cs.max_min_int(d, c, weight=w).x
            # Exhaustive: sum x = min(c, sum d), 0 <= x <= d, min sum x^2 / w.
            target = min(c, sum(d))
            best = min(sum(xi * xi / wi for xi, wi in zip(x, w))
                       for x in itertools.product(*[range(v + 1) for v in d])
                       if sum(x) == target)
            self.assertEqual(sum(got), target)
            self.assertAlmostEqual(sum(xi * xi / wi for xi, wi in zip(got, w)), best,
                                   places=9)


class Utilisation(unittest.TestCase):
    def test_by_hand(self):
        # Loads (2, 0), capacities (10, 10), demand 4: rho = 6 / 20 = 0.3,
        # targets rho C - L = (1, 3): x = (1, 3), both nodes at 30%.
        r = cs.balance_utilisation([2, 0], [10, 10], 4)
        self.assertAlmostEqual(r.x[0], 1.0, places=12)
        self.assertAlmostEqual(r.x[1], 3.0, places=12)
        with cs.BalanceWorkspace() as ws:
            self.assertEqual(ws.utilisation_int([0, 0, 0], [10, 10, 10], 10).x, [4, 3, 3])
            self.assertEqual(ws.utilisation_int([6, 0], [10, 10], 6, mode="level").x, [0, 6])
            with self.assertRaises(cs.Infeasible):
                ws.utilisation([9, 9], [10, 10], 3)
            # Two equal empty nodes, four units of (1, 1): two each.
            m = ws.multi([[0, 0], [0, 0]], [[10, 10], [10, 10]], [1, 1], 4)
            self.assertAlmostEqual(m.x[0], 2.0, places=12)
            # Loads (0, 0) and (4, 0), capacities 10, four units of (1, 1):
            # rho = (0.4, 0.2). Objective sum_r sum_i ((L_ir + x_i) / 10 - rho_r)^2
            # for x = (4, 0): 0 + 0.08; (3, 1): 0.02 + 0.02; (2, 2): 0.08 + 0.
            self.assertEqual(ws.multi_int([[0, 0], [4, 0]], [[10, 10], [10, 10]], [1, 1],
                                          4).x, [3, 1])
            x, results = ws.per_dimension([[0, 2], [0, 0]], [[10, 10], [10, 10]], [4, 2])
            # Dimension 0: 2 each; dimension 1: rho = 4 / 20, targets (0, 2).
            self.assertEqual(len(results), 2)
            self.assertAlmostEqual(x[0][0], 2.0, places=12)
            self.assertAlmostEqual(x[1][1], 2.0, places=12)
            with self.assertRaises(cs.DimensionMismatch):
                ws.multi([[0, 0]], [[1, 1], [1, 1]], [1, 1], 1)
            with self.assertRaises(cs.InvalidArgument):
                ws.utilisation([0], [10], 1, mode=5)

    @unittest.skipUnless(_setup.HAVE_NUMPY, _setup.NUMPY_REASON)
    def test_numpy(self):
        load = np.array([2.0, 0.0])
        r = cs.balance_utilisation(load, np.array([10.0, 10.0]), 4)
        self.assertIsInstance(r.x, np.ndarray)
        np.testing.assert_allclose(r.x, [1.0, 3.0])
        r = cs.round_balance(10, upper=np.array([5, 5, 5], dtype=np.int64))
        self.assertEqual(r.x.dtype, np.int64)
        self.assertEqual(r.x.tolist(), [4, 3, 3])
        with cs.BalanceWorkspace() as ws:
            m = ws.multi(np.zeros((2, 2)), np.asfortranarray(np.full((2, 2), 10.0)),
                         np.ones(2), 4)  # a Fortran array is copied to row order
            np.testing.assert_allclose(m.x, [2.0, 2.0])


if __name__ == "__main__":
    unittest.main()
