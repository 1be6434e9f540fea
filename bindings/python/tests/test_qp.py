"""Dense QP: closed forms, an exact active-set enumeration reference,
certificates of infeasibility and unboundedness, bad input."""

import itertools
import math
import unittest
from fractions import Fraction

import _setup
import cloudsched as cs

if _setup.HAVE_NUMPY:
    import numpy as np


def enumerate_active_sets(P, q, A, b, G, h):
    """Reference for strictly convex QPs (P positive definite): try every set
    of active inequalities, solve its KKT system exactly in rationals, keep
    the one that is primal feasible with z >= 0. Returns x or None."""
    n, me = len(q), len(A)
    Fr = Fraction
    for k in range(0, min(len(G), n - me) + 1):
        for S in itertools.combinations(range(len(G)), k):
            rows = [list(map(Fr, r)) for r in A] + [list(map(Fr, G[i])) for i in S]
            m = len(rows)
            K = [[Fr(P[i][j]) for j in range(n)] + [rows[r][i] for r in range(m)]
                 for i in range(n)]
            K += [rows[r] + [Fr(0)] * m for r in range(m)]
            rhs = [-Fr(v) for v in q] + [Fr(v) for v in b] + [Fr(h[i]) for i in S]
            try:
                sol = _setup.solve_exact(K, rhs)
            except StopIteration:  # singular: dependent active rows
                continue
            x, z = sol[:n], sol[n + me:]
            if any(v < 0 for v in z):
                continue
            if all(sum(Fr(g) * xi for g, xi in zip(G[i], x)) <= h[i] for i in range(len(G))):
                return [float(v) for v in x]
    return None


class ClosedForms(unittest.TestCase):
    def test_projection_onto_a_halfplane(self):
        # min (x1 - 1)^2 + (x2 - 2.5)^2 = 1/2 x'(2I)x - (2, 5)x + const, with
        # -x1 + 2 x2 <= 2 active: project (1, 2.5) onto -x1 + 2 x2 = 2 along
        # a = (-1, 2): t = (4 - 2) / 5 = 0.4, x = (1.4, 1.7), z = 0.8,
        # objective 1.96 + 2.89 - 2.8 - 8.5 = -6.45.
        G = [[1, 2], [-1, 2], [-1, -2], [1, -2], [-1, 0], [0, -1]]
        r = cs.qp(P=[[2, 0], [0, 2]], q=[-2, -5], G=G, h=[6, 2, 2, 6, 0, 0])
        self.assertEqual(r.status, cs.Status.OK)
        self.assertAlmostEqual(r.x[0], 1.4, delta=1e-7)
        self.assertAlmostEqual(r.x[1], 1.7, delta=1e-7)
        self.assertAlmostEqual(r.z[1], 0.8, delta=1e-7)
        self.assertAlmostEqual(r.objective, -6.45, delta=1e-7)
        self.assertLess(max(r.primal_residual, r.dual_residual), 1e-7)
        self.assertEqual(len(r.y), 0)

    def test_box(self):
        # P = I, q = -c: x = clamp(c, l, u); z_bound > 0 at upper, < 0 at lower.
        c, lo, hi = [3.0, -2.0, 0.5], [0.0, 0.0, 0.0], [1.0, 1.0, 1.0]
        r = cs.qp(P=[[1, 0, 0], [0, 1, 0], [0, 0, 1]], q=[-v for v in c], lower=lo, upper=hi)
        for got, want in zip(r.x, [1.0, 0.0, 0.5]):
            self.assertAlmostEqual(got, want, delta=1e-7)
        self.assertGreater(r.z_bound[0], 0)
        self.assertLess(r.z_bound[1], 0)

    def test_equality(self):
        # min x1^2 + x2^2 s.t. x1 + x2 = 2: x = (1, 1), y = -2 (P x + A'y = 0).
        with cs.QPWorkspace(2, m_eq=1) as ws:
            r = ws.solve(P=[[2, 0], [0, 2]], A=[[1, 1]], b=[2])
            self.assertAlmostEqual(r.x[0], 1.0, delta=1e-7)
            self.assertAlmostEqual(r.y[0], -2.0, delta=1e-6)
            r = ws.solve(P=[[2, 0], [0, 2]], A=[[1, 1]], b=[4])  # reuse
            self.assertAlmostEqual(r.x[1], 2.0, delta=1e-7)

    def test_linear_program(self):
        # min -x1 - x2 s.t. x1 + 2 x2 <= 4, 3 x1 + x2 <= 6, x >= 0:
        # vertex (1.6, 1.2), objective -2.8.
        r = cs.qp(q=[-1, -1], G=[[1, 2], [3, 1]], h=[4, 6], lower=[0, 0])
        self.assertAlmostEqual(r.x[0], 1.6, delta=1e-6)
        self.assertAlmostEqual(r.x[1], 1.2, delta=1e-6)
        self.assertAlmostEqual(r.objective, -2.8, delta=1e-6)


class AgainstEnumeration(unittest.TestCase):
    def test_random_strictly_convex(self):
        rng = _setup.Rng(31)
        feasible = infeasible = 0
        for _ in range(25):
            n, mi = 3, 4
            M = [[rng.below(5) - 2 for _ in range(n)] for _ in range(n)]
            P = [[sum(M[k][i] * M[k][j] for k in range(n)) + (1 if i == j else 0)
                  for j in range(n)] for i in range(n)]
            q = [rng.below(11) - 5 for _ in range(n)]
            G = [[rng.below(5) - 2 for _ in range(n)] for _ in range(mi)]
            h = [rng.below(7) - 3 for _ in range(mi)]
            A, b = ([[1, 1, 1]], [1]) if rng.below(2) else ([], [])
            want = enumerate_active_sets(P, q, A, b, G, h)
            if want is None:
                # No optimum of a strictly convex QP: it is infeasible.
                with self.assertRaises(cs.Infeasible) as ctx:
                    cs.qp(P=P, q=q, A=A or None, b=b or None, G=G, h=h)
                self.assertIsNotNone(ctx.exception.result.z)
                infeasible += 1
                continue
            r = cs.qp(P=P, q=q, A=A or None, b=b or None, G=G, h=h)
            for got, exact in zip(r.x, want):
                self.assertAlmostEqual(got, exact, delta=1e-6 * (1 + abs(exact)))
            feasible += 1
        self.assertGreater(feasible, 5)
        self.assertGreater(infeasible, 0)


class Certificates(unittest.TestCase):
    def test_infeasible(self):
        # x <= 0 and -x <= -1: a Farkas certificate z >= 0 with G'z = 0 and
        # h'z < 0 (normalised to -1): z = (1, 1).
        with self.assertRaises(cs.Infeasible) as ctx:
            cs.qp(P=[[1]], q=[0], G=[[1], [-1]], h=[0, -1])
        z = ctx.exception.result.z
        self.assertAlmostEqual(z[0], z[1], delta=1e-6)
        self.assertAlmostEqual(0 * z[0] - 1 * z[1], -1.0, delta=1e-6)
        self.assertEqual(ctx.exception.result.status, cs.Status.ERR_INFEASIBLE)

    def test_unbounded(self):
        # min x with x <= 5: direction d = -1 (q'd = -1).
        with self.assertRaises(cs.Unbounded) as ctx:
            cs.qp(q=[1.0], upper=[5.0])
        self.assertAlmostEqual(ctx.exception.result.x[0], -1.0, delta=1e-6)

    def test_iteration_limit(self):
        G = [[1, 2], [-1, 2], [-1, -2], [1, -2]]
        with self.assertRaises(cs.NotConverged) as ctx:
            cs.qp(P=[[2, 0], [0, 2]], q=[-2, -5], G=G, h=[6, 2, 2, 6], max_iter=1)
        self.assertEqual(ctx.exception.result.iterations, 1)
        self.assertEqual(len(ctx.exception.result.x), 2)


class BadInput(unittest.TestCase):
    def test_errors(self):
        with self.assertRaises(cs.InvalidArgument):
            cs.QPWorkspace(0)
        with cs.QPWorkspace(2, m_in=1) as ws:
            with self.assertRaises(cs.DimensionMismatch):
                ws.solve(P=[[1, 0, 0], [0, 1, 0], [0, 0, 1]])
            with self.assertRaises(cs.DimensionMismatch):
                ws.solve(q=[1, 1], G=[[1, 1], [1, 1]], h=[1, 1])
            with self.assertRaises(cs.InvalidArgument):
                ws.solve(q=[math.nan, 1], G=[[1, 1]], h=[1])
            with self.assertRaises(cs.InvalidArgument):
                ws.solve(q=[1, 1], G=[[1, 1]], h=[1], lower=[1, 1], upper=[0, 0])
            with self.assertRaises(cs.InvalidArgument):
                ws.solve(q=[1, 1], G=[[1, 1]], h=[1], eps_abs=-1)
            with self.assertRaises(TypeError):
                ws.solve(q=[1, 1], G=[[1, 1]], h=[1], tolerance=1)
        with self.assertRaises(cs.InvalidArgument):
            cs.qp()

    @unittest.skipUnless(_setup.HAVE_NUMPY, _setup.NUMPY_REASON)
    def test_numpy(self):
        P = np.array([[2.0, 0.0], [0.0, 2.0]])
        r = cs.qp(P=P, q=np.array([-2.0, -5.0]), G=np.array([[-1.0, 2.0]]), h=np.array([2.0]))
        self.assertIsInstance(r.x, np.ndarray)
        np.testing.assert_allclose(r.x, [1.4, 1.7], atol=1e-7)
        r2 = cs.qp(P=np.asfortranarray(P), q=[-2.0, -5.0], G=[[-1.0, 2.0]], h=[2.0])
        np.testing.assert_allclose(r2.x, r.x, atol=1e-9)


if __name__ == "__main__":
    unittest.main()
