"""RLS against exact weighted least squares; the Predictor's rules by hand."""

import math
import unittest
from fractions import Fraction

import _setup
import cloudsched as cs

if _setup.HAVE_NUMPY:
    import numpy as np


def samples(seed, n, p):
    rng = _setup.Rng(seed)
    x = [[float(rng.below(11) - 5) for _ in range(p)] for _ in range(n)]
    y = [float(rng.below(41) - 20) for _ in range(n)]
    return x, y


class RecursiveLeastSquares(unittest.TestCase):
    def test_matches_exact_least_squares(self):
        x, y = samples(1, 30, 3)
        with cs.RLS(3) as rls:
            for row, v in zip(x, y):
                rls.update(row, v)
            want = _setup.least_squares_exact(x, y)
            for got, exact in zip(rls.coefficients(), want):
                self.assertAlmostEqual(got, float(exact), delta=1e-10 * (1 + abs(exact)))
            info = rls.info
            self.assertEqual((info.dim, info.samples, info.weight), (3, 30, 30.0))
            b = [float(v) for v in want]
            rss = sum((v - sum(a * c for a, c in zip(row, b))) ** 2 for row, v in zip(x, y))
            self.assertAlmostEqual(info.rss, rss, delta=1e-9 * rss)
            self.assertAlmostEqual(rls.predict([1.0, 2.0, -1.0]),
                                   b[0] + 2 * b[1] - b[2], places=10)

    def test_forgetting_is_exponential_weighting(self):
        # lambda = 1/2 (exact in binary): sample i of n weighs 2^-(n - i);
        # the initial ridge delta decays the same way: delta 2^-n.
        x, y = samples(2, 12, 2)
        lam, delta, n = Fraction(1, 2), Fraction(3), len(x)
        with cs.RLS(2, forgetting=0.5, ridge=3.0) as rls:
            for row, v in zip(x, y):
                rls.update(row, v)
            w = [lam ** (n - 1 - i) for i in range(n)]
            want = _setup.least_squares_exact(x, y, w, ridge=delta * lam ** n)
            for got, exact in zip(rls.coefficients(), want):
                self.assertAlmostEqual(got, float(exact), delta=1e-9 * (1 + abs(exact)))
            self.assertAlmostEqual(rls.info.weight, float(sum(w)), places=12)

    def test_query_ridge(self):
        # argmin ||R b - z||^2 + mu ||b||^2 = (X'X + mu I)^-1 X'y.
        x, y = samples(3, 10, 3)
        with cs.RLS(3) as rls:
            rls.update_block(x, y)
            want = _setup.least_squares_exact(x, y, ridge=5.0)
            for got, exact in zip(rls.coefficients(ridge=5.0), want):
                self.assertAlmostEqual(got, float(exact), delta=1e-10 * (1 + abs(exact)))

    def test_block_equals_samples_and_reset(self):
        x, y = samples(4, 100, 4)
        with cs.RLS(4, block_rows=7) as a, cs.RLS(4) as b:
            a.update_block(x, y)
            for row, v in zip(x, y):
                b.update(row, v)
            for u, v in zip(a.coefficients(), b.coefficients()):
                self.assertAlmostEqual(u, v, delta=1e-10 * (1 + abs(v)))
            a.reset()
            self.assertEqual(a.info.samples, 0)
            with self.assertRaises(cs.Singular):
                a.coefficients()  # no samples, no ridge

    def test_bad_input(self):
        with self.assertRaises(cs.DimensionMismatch):
            cs.RLS(0)
        with self.assertRaises(cs.InvalidArgument):
            cs.RLS(2, forgetting=1.5)
        with cs.RLS(2) as rls:
            with self.assertRaises(cs.InvalidArgument):
                rls.update([1.0, math.nan], 1.0)
            with self.assertRaises(cs.DimensionMismatch):
                rls.update([1.0], 1.0)
            with self.assertRaises(cs.DimensionMismatch):
                rls.update_block([[1.0, 2.0, 3.0]], [1.0])
            with self.assertRaises(cs.InvalidArgument):
                rls.coefficients(ridge=-1.0)
            self.assertEqual(rls.info.samples, 0)

    @unittest.skipUnless(_setup.HAVE_NUMPY, _setup.NUMPY_REASON)
    def test_numpy_block(self):
        x, y = samples(5, 50, 3)
        with cs.RLS(3) as a, cs.RLS(3) as b:
            a.update_block(np.asfortranarray(np.array(x)), np.array(y))
            b.update_block(x, y)
            np.testing.assert_allclose(a.coefficients_array(), b.coefficients(), rtol=1e-12)


class PredictorRules(unittest.TestCase):
    def test_history_and_user_rules(self):
        with cs.Predictor(estimate_feature=False) as p:
            # Unknown key, no estimate: no rule applies.
            with self.assertRaises(cs.NotFound):
                p.estimate(1)
            # The user estimate alone.
            self.assertEqual(p.estimate(1, user_estimate=50.0),
                             cs.Prediction(50.0, 50.0, cs.PredictSource.USER))
            p.observe(1, 100.0)
            p.observe(1, 200.0)
            # History: mean of the last two (150), upper bound the larger (200).
            self.assertEqual(p.estimate(1), cs.Prediction(150.0, 200.0,
                                                          cs.PredictSource.HISTORY))
            # Capped at a positive user estimate.
            self.assertEqual(p.estimate(1, user_estimate=120.0).estimate, 120.0)
            info = p.model_info(1)
            self.assertEqual((info.history_count, info.samples, info.ready), (2, 2, False))
            self.assertEqual(p.num_keys, 1)
            with self.assertRaises(cs.NotFound):
                p.model_info(2)

    def test_model_learns_log_linear(self):
        # value = exp(1 + 2 f): log-linear with coefficients (1, 2). Ridge 0:
        # the fit is exact. Model dimension 2, ready after 2 (2 + 1) = 6.
        with cs.Predictor(num_features=1, estimate_feature=False, ridge=0.0) as p:
            for i in range(6):
                f = i / 5
                p.observe(3, math.exp(1 + 2 * f), features=[f])
            info = p.model_info(3)
            self.assertEqual((info.dim, info.samples, info.ready), (2, 6, True))
            b = p.coefficients(3)
            self.assertAlmostEqual(b[0], 1.0, places=9)
            self.assertAlmostEqual(b[1], 2.0, places=9)
            e = p.estimate(3, features=[0.5])
            self.assertEqual(e.source, cs.PredictSource.MODEL)
            self.assertAlmostEqual(e.estimate, math.exp(2.0), delta=1e-8)
            self.assertGreaterEqual(e.upper_bound, e.estimate)
            # A new key uses the global model, which saw the same samples.
            g = p.estimate(4, features=[0.5])
            self.assertEqual(g.source, cs.PredictSource.GLOBAL)
            self.assertAlmostEqual(g.estimate, math.exp(2.0), delta=1e-8)
            self.assertEqual(p.model_info().samples, 6)
            self.assertEqual(len(p.coefficients()), 2)
            with self.assertRaises(cs.DimensionMismatch):
                p.observe(3, 1.0, features=[1.0, 2.0])
            with self.assertRaises(cs.DimensionMismatch):
                p.estimate(3, features=[1.0, 2.0])

    def test_coefficients_before_any_features(self):
        with cs.Predictor(num_features=1) as p:
            p.observe(1, 10.0)  # no features: the model has nothing yet
            with self.assertRaises(cs.InvalidState):
                p.coefficients(1)
            with self.assertRaises(cs.NotFound):
                p.coefficients(2)

    def test_extend(self):
        # Doubling 10 -> 20 -> 40 exceeds 35.
        self.assertEqual(cs.extend_estimate(10, 35), 40.0)
        # The user estimate 30 is already exceeded: doubling alone.
        self.assertEqual(cs.extend_estimate(10, 35, 30), 40.0)
        # 20 would pass the user estimate 18, still ahead of 15: 18.
        self.assertEqual(cs.extend_estimate(10, 15, 18), 18.0)
        self.assertEqual(cs.extend_estimate(10, 5), 10.0)
        with self.assertRaises(cs.InvalidArgument):
            cs.extend_estimate(0, 5)
        with self.assertRaises(cs.InvalidArgument):
            cs.extend_estimate(10, -1)

    def test_bad_input(self):
        with self.assertRaises(cs.InvalidArgument):
            cs.Predictor(quantile=1.0)
        with self.assertRaises(cs.InvalidArgument):
            cs.Predictor(num_features=65)
        with self.assertRaises(cs.InvalidArgument):
            cs.Predictor(band_window=0)
        with cs.Predictor() as p:
            with self.assertRaises(cs.InvalidArgument):
                p.observe(1, -1.0)
            with self.assertRaises(cs.InvalidArgument):
                p.observe(1, math.nan)
            with self.assertRaises(cs.InvalidArgument):
                p.observe(1, 5.0, user_estimate=-1.0)
            with self.assertRaises(cs.InvalidArgument):
                p.estimate(1, user_estimate=math.inf)
            self.assertEqual(p.num_keys, 0)
        from cloudsched import predict
        self.assertEqual(predict.source_name(cs.PredictSource.MODEL), "model")


if __name__ == "__main__":
    unittest.main()
