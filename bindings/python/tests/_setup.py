"""Shared test setup: import path, optional numpy, small reference helpers.

The tests run under `meson test` (which sets PYTHONPATH and CLOUDSCHED_LIBRARY
to the build) or by hand from this directory with python3 -m unittest.
"""

import os
import sys
from fractions import Fraction
from typing import List, Optional, Sequence

HERE = os.path.dirname(os.path.abspath(__file__))
PACKAGE_DIR = os.path.dirname(HERE)
ROOT = os.path.dirname(os.path.dirname(PACKAGE_DIR))
if PACKAGE_DIR not in sys.path:
    sys.path.insert(0, PACKAGE_DIR)

try:
    import numpy  # noqa: F401
    HAVE_NUMPY = True
except ImportError:
    HAVE_NUMPY = False

NUMPY_REASON = "numpy is not installed for this python3"


class Rng:
    """A small deterministic generator (64-bit LCG, Knuth's MMIX constants),
    so the tests' random cases do not depend on the random module's version."""

    def __init__(self, seed: int) -> None:
        self.state = seed & (2**64 - 1)

    def next(self) -> int:
        self.state = (6364136223846793005 * self.state + 1442695040888963407) % 2**64
        return self.state >> 33

    def below(self, n: int) -> int:
        return self.next() % n

    def uniform(self, lo: float, hi: float) -> float:
        return lo + (hi - lo) * (self.next() / 2**31)


def solve_exact(a: List[List[Fraction]], b: List[Fraction]) -> List[Fraction]:
    """Gaussian elimination in exact rational arithmetic (small dense systems)."""
    n = len(a)
    m = [row[:] + [b[i]] for i, row in enumerate(a)]
    for c in range(n):
        piv = next(r for r in range(c, n) if m[r][c] != 0)
        m[c], m[piv] = m[piv], m[c]
        for r in range(n):
            if r != c and m[r][c] != 0:
                f = m[r][c] / m[c][c]
                m[r] = [x - f * y for x, y in zip(m[r], m[c])]
    return [m[i][n] / m[i][i] for i in range(n)]


def least_squares_exact(x: Sequence[Sequence[float]], y: Sequence[float],
                        w: Optional[Sequence[float]] = None,
                        ridge: float = 0.0) -> List[Fraction]:
    """Reference least squares through the normal equations in exact
    arithmetic: (X'WX + ridge I) b = X'Wy. Exact rationals make the normal
    equations as good as any factorisation, so this is an independent check."""
    n, p = len(x), len(x[0])
    X = [[Fraction(v) for v in row] for row in x]
    Y = [Fraction(v) for v in y]
    W = [Fraction(1)] * n if w is None else [Fraction(v) for v in w]
    a = [[sum(W[i] * X[i][j] * X[i][k] for i in range(n)) + (Fraction(ridge) if j == k else 0)
          for k in range(p)] for j in range(p)]
    b = [sum(W[i] * X[i][j] * Y[i] for i in range(n)) for j in range(p)]
    return solve_exact(a, b)
