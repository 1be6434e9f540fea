"""Least squares: hand-computed fits, an exact rational reference, NNLS and
bounds by hand, polynomials, numpy memory passed without copies, bad input."""

import math
import unittest

import _setup
import cloudsched as cs
from cloudsched import _arrays
from cloudsched._lib import COL_MAJOR, ROW_MAJOR

if _setup.HAVE_NUMPY:
    import numpy as np

# The textbook example: x = 1..4, y = 6, 5, 7, 10. Means 2.5 and 7,
# Sxx = 5, Sxy = 7: slope 1.4, intercept 3.5; fitted 4.9 6.3 7.7 9.1,
# residuals 1.1 -1.3 -0.7 0.9, RSS 4.2, TSS 14, R^2 0.7, sigma sqrt(2.1).
X4 = [1.0, 2.0, 3.0, 4.0]
Y4 = [6.0, 5.0, 7.0, 10.0]


class HandFits(unittest.TestCase):
    def test_fit_with_intercept(self):
        r = cs.fit(X4, Y4, intercept=True)
        self.assertAlmostEqual(r.coef[0], 3.5, places=12)
        self.assertAlmostEqual(r.coef[1], 1.4, places=12)
        self.assertAlmostEqual(r.stats.rss, 4.2, places=12)
        self.assertAlmostEqual(r.stats.tss, 14.0, places=12)
        self.assertAlmostEqual(r.stats.r2, 0.7, places=12)
        self.assertAlmostEqual(r.stats.sigma, math.sqrt(2.1), places=12)
        self.assertEqual((r.stats.rank, r.stats.n_used, r.stats.dof), (2, 4, 2.0))
        # se(slope) = sigma / sqrt(Sxx); se(intercept) = sigma sqrt(1/n + xbar^2 / Sxx)
        self.assertAlmostEqual(r.se[1], math.sqrt(2.1 / 5), places=12)
        self.assertAlmostEqual(r.se[0], math.sqrt(2.1 * (0.25 + 6.25 / 5)), places=12)
        self.assertIsInstance(r.coef, list)

    def test_line(self):
        f = cs.line(X4, Y4)
        self.assertAlmostEqual(f.slope, 1.4, places=12)
        self.assertAlmostEqual(f.intercept, 3.5, places=12)
        self.assertAlmostEqual(f.se_slope, math.sqrt(2.1 / 5), places=12)
        self.assertAlmostEqual(f(10), 17.5, places=12)
        self.assertAlmostEqual(f.stats.r2, 0.7, places=12)
        with self.assertRaises(cs.Singular):
            cs.line([1, 1, 1], [1, 2, 3])
        with self.assertRaises(cs.DimensionMismatch):
            cs.line([1], [1])
        with self.assertRaises(cs.DimensionMismatch):
            cs.line([1, 2], [1])

    def test_weights_drop_rows(self):
        # Weight 0 on the last two points: the line through (1, 6), (2, 5).
        r = cs.fit(X4, Y4, w=[1, 1, 0, 0], intercept=True)
        self.assertAlmostEqual(r.coef[0], 7.0, places=12)
        self.assertAlmostEqual(r.coef[1], -1.0, places=12)
        self.assertEqual(r.stats.n_used, 2)

    def test_ridge(self):
        # min sum (b - 1)^2 over 4 rows + 4 b^2: 8 (b - 1) + 8 b = 0, b = 1/2.
        r = cs.fit([[1.0]] * 4, [1.0] * 4, ridge=4.0)
        self.assertAlmostEqual(r.coef[0], 0.5, places=12)

    def test_rank_deficient(self):
        x = [[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]]
        y = [2.0, 4.0, 6.0]
        with self.assertRaises(cs.Singular):
            cs.fit(x, y)
        # Minimum-norm solution of b1 + b2 = 2: (1, 1).
        for method in (cs.Method.COD, cs.Method.SVD, "svd"):
            r = cs.fit(x, y, method=method)
            self.assertEqual(r.stats.rank, 1)
            self.assertAlmostEqual(r.coef[0], 1.0, places=12)
            self.assertAlmostEqual(r.coef[1], 1.0, places=12)

    def test_nnls_and_bounds(self):
        eye = [[1.0, 0.0], [0.0, 1.0]]
        r = cs.nnls(eye, [1.0, -1.0])  # unconstrained (1, -1) -> (1, 0)
        self.assertEqual(r.coef, [1.0, 0.0])
        eye3 = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
        r = cs.fit_bounded(eye3, [5.0, -5.0, 0.5], lower=[0, 0, 0], upper=[1, 1, 1])
        self.assertEqual(r.coef, [1.0, 0.0, 0.5])
        r = cs.fit_bounded(eye3, [5.0, -5.0, 0.5], lower=[-math.inf, -2, 0])
        self.assertEqual(r.coef, [5.0, -2.0, 0.5])
        with self.assertRaises(cs.InvalidArgument):
            cs.fit_bounded(eye3, [1, 1, 1], lower=[1, 1, 1], upper=[0, 0, 0])
        with self.assertRaises(cs.DimensionMismatch):
            cs.fit_bounded(eye3, [1, 1, 1], lower=[0, 0])

    def test_polyfit(self):
        xs = [i / 3 for i in range(10)]
        ys = [1 - 2 * x + 3 * x * x for x in xs]
        poly = cs.polyfit(xs, ys, 2)
        for got, want in zip(poly.monomial, [1.0, -2.0, 3.0]):
            self.assertAlmostEqual(got, want, places=10)
        self.assertAlmostEqual(poly(2.5), 1 - 5 + 18.75, places=10)
        self.assertEqual(len(poly([0.0, 1.0])), 2)
        self.assertAlmostEqual(poly([0.0, 1.0])[1], 2.0, places=10)
        self.assertEqual(poly.degree, 2)
        self.assertEqual(len(poly.se_monomial), 3)
        with self.assertRaises(cs.DimensionMismatch):
            cs.polyfit([1, 2], [1, 2], 2)
        with self.assertRaises(cs.InvalidArgument):
            cs.polyfit(xs, ys, 21)

    def test_several_right_hand_sides(self):
        # Columns y1 = 1 + 2x, y2 = -x: coefficients [[1, 0], [2, -1]].
        y = [[1 + 2 * x, -x] for x in X4]
        r = cs.fit(X4, y, intercept=True)
        self.assertEqual(len(r.coef), 2)
        for got, want in zip([v for row in r.coef for v in row], [1, 0, 2, -1]):
            self.assertAlmostEqual(got, want, places=12)
        self.assertEqual(len(r.stats), 2)

    def test_against_exact_reference(self):
        # Random integer data; the reference solves the normal equations in
        # exact rational arithmetic.
        rng = _setup.Rng(11)
        n, p = 25, 4
        x = [[float(rng.below(21) - 10) for _ in range(p)] for _ in range(n)]
        y = [float(rng.below(101) - 50) for _ in range(n)]
        w = [float(rng.below(4)) for _ in range(n)]
        for weights, ridge in ((None, 0.0), (w, 0.0), (w, 2.5)):
            with self.subTest(weights=weights is not None, ridge=ridge):
                want = _setup.least_squares_exact(x, y, weights, ridge)
                r = cs.fit(x, y, weights, ridge=ridge, se=False)
                self.assertIsNone(r.se)
                for got, exact in zip(r.coef, want):
                    self.assertAlmostEqual(got, float(exact), delta=1e-11 * (1 + abs(exact)))

    def test_workspace_reuse(self):
        rng = _setup.Rng(3)
        with cs.LeastSquares(6, 2, intercept=True) as ws:
            self.assertEqual(ws.num_coef, 3)
            for _ in range(3):
                x = [[rng.uniform(-1, 1), rng.uniform(-1, 1)] for _ in range(6)]
                y = [2 + 3 * a - b for a, b in x]
                r = ws.fit(x, y)
                for got, want in zip(r.coef, [2, 3, -1]):
                    self.assertAlmostEqual(got, want, places=11)
                r = ws.fit_nnls(x, y)
                self.assertGreaterEqual(min(r.coef), 0.0)
                r = ws.fit_bounded(x, y, lower=[-10, -10, -10], upper=[10, 10, 10])
                self.assertAlmostEqual(r.coef[2], -1, places=10)
            with self.assertRaises(cs.DimensionMismatch):
                ws.fit([[1.0, 2.0]] * 5, [1.0] * 5)
            with self.assertRaises(cs.DimensionMismatch):
                ws.fit([[1.0, 2.0, 3.0]] * 6, [1.0] * 6)

    def test_bad_input(self):
        with self.assertRaises(cs.InvalidArgument):
            cs.fit([[1.0], [math.nan]], [1.0, 2.0])
        with self.assertRaises(cs.InvalidArgument):
            cs.fit([[1.0], [2.0]], [1.0, 2.0], w=[1.0, -1.0])
        with self.assertRaises(cs.DimensionMismatch):
            cs.fit([[1.0], [2.0]], [1.0, 2.0, 3.0])
        with self.assertRaises(cs.DimensionMismatch):
            cs.fit([[1.0, 2.0], [2.0]], [1.0, 2.0])
        with self.assertRaises(cs.DimensionMismatch):
            cs.fit([[1.0, 2.0]], [1.0])  # QR needs n >= p
        with self.assertRaises(cs.InvalidArgument):
            cs.fit([[1.0]], [1.0], method=7)
        with self.assertRaises(cs.InvalidArgument):
            cs.LeastSquares(3, 1, ridge=-1)
        with self.assertRaises(cs.InvalidArgument):
            cs.fit([["a"], [1.0]], [1.0, 2.0])


@unittest.skipUnless(_setup.HAVE_NUMPY, _setup.NUMPY_REASON)
class Numpy(unittest.TestCase):
    def test_no_copy_layouts(self):
        a = np.arange(24.0).reshape(6, 4)
        m = _arrays.f64_matrix(a, "a")
        self.assertEqual((m.layout, m.ld, m.rows, m.cols), (ROW_MAJOR, 4, 6, 4))
        f = np.asfortranarray(a)
        m = _arrays.f64_matrix(f, "f")
        self.assertEqual((m.layout, m.ld), (COL_MAJOR, 6))
        sl = a[::2]  # every other row: row-major, leading dimension 8
        m = _arrays.f64_matrix(sl, "sl")
        self.assertEqual((m.layout, m.ld, m.rows), (ROW_MAJOR, 8, 3))
        cols = a[:, 1:3]  # a column block: row-major, leading dimension 4
        m = _arrays.f64_matrix(cols, "cols")
        self.assertEqual((m.layout, m.ld, m.cols), (ROW_MAJOR, 4, 2))
        fb = f[1:5, :]  # a row block of a Fortran array: col-major, ld 6
        m = _arrays.f64_matrix(fb, "fb")
        self.assertEqual((m.layout, m.ld, m.rows), (COL_MAJOR, 6, 4))
        for arr in (a, f, sl, cols, fb):
            m = _arrays.f64_matrix(arr, "x")
            addr = np.ctypeslib.as_array(m.data, shape=(1,)).ctypes.data
            self.assertEqual(addr, arr.ctypes.data)  # the caller's memory itself
        v = np.arange(5.0)
        ptr, n = _arrays.f64_vector(v, "v")
        self.assertEqual(np.ctypeslib.as_array(ptr, shape=(1,)).ctypes.data, v.ctypes.data)

    def test_results_agree_across_layouts(self):
        rng = np.random.default_rng(5)
        big = rng.standard_normal((40, 6))
        y = big @ np.array([1.0, -2.0, 0.5, 3.0, 0.0, 1.5]) + 0.01 * rng.standard_normal(40)
        ref = cs.fit(big.tolist(), y.tolist(), intercept=True)
        for x in (big, np.asfortranarray(big), np.ascontiguousarray(big[:, :])):
            r = cs.fit(x, y, intercept=True)
            self.assertIsInstance(r.coef, np.ndarray)
            np.testing.assert_allclose(r.coef, ref.coef, rtol=1e-12, atol=1e-12)
            np.testing.assert_allclose(r.se, ref.se, rtol=1e-10)
        # A strided view (every other row) equals the copied sub-problem.
        sub = cs.fit(big[::2], y[::2])
        np.testing.assert_allclose(sub.coef, cs.fit(big[::2].copy(), y[::2].copy()).coef,
                                   rtol=1e-13)
        # Several right-hand sides, Fortran order: same as column by column.
        Y = np.asfortranarray(np.column_stack([y, 2 * y]))
        r = cs.fit(np.asfortranarray(big), Y)
        self.assertEqual(r.coef.shape, (6, 2))
        np.testing.assert_allclose(r.coef[:, 1], 2 * r.coef[:, 0], rtol=1e-12)

    def test_against_numpy_lstsq(self):
        rng = np.random.default_rng(9)
        x = rng.standard_normal((200, 5))
        y = rng.standard_normal(200)
        want = np.linalg.lstsq(x, y, rcond=None)[0]
        np.testing.assert_allclose(cs.fit(x, y).coef, want, rtol=1e-10, atol=1e-12)
        with cs.LeastSquares(200, 5) as ws:
            np.testing.assert_allclose(ws.fit(x, y).coef, want, rtol=1e-10, atol=1e-12)

    def test_polynomial_on_arrays(self):
        xs = np.linspace(-1, 1, 21)
        poly = cs.polyfit(xs, xs ** 3, 3)
        out = poly(np.array([0.5, 2.0]))
        self.assertIsInstance(out, np.ndarray)
        np.testing.assert_allclose(out, [0.125, 8.0], rtol=1e-10)

    def test_int_arrays_are_converted(self):
        r = cs.fit(np.array([[1], [2], [3]]), np.array([2, 4, 6]))
        self.assertAlmostEqual(float(r.coef[0]), 2.0, places=12)


if __name__ == "__main__":
    unittest.main()
