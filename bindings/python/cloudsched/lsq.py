"""Dense linear least squares: weighted, ridge, rank-revealing, bounded (NNLS),
polynomial and straight-line fits, with regression statistics (C: lsq.h).

Solves min_b sum_i w_i (x_i . b - y_i)^2 + ridge ||b||^2 by factorising X
itself (Householder QR by default; QR with pivoting or SVD for
rank-deficient problems), never through the normal equations.

Matrices may be nested sequences or numpy arrays. A float64 numpy array in C
or Fortran order (or a slice of one with unit stride along one axis) is
passed to C by pointer, with its layout and leading dimension: no copy.
Results are numpy arrays when an array input was a numpy array, else lists.
"""

from __future__ import annotations

import enum
from ctypes import POINTER, byref, c_double, sizeof
from dataclasses import dataclass
from typing import Any, List, Optional, Sequence, Tuple, Union

from . import _arrays, _lib
from ._arrays import Matrix, np
from ._handle import Allocator, Handle, allocator_arg
from ._lib import (POLY_MAX_DEGREE, ROW_MAJOR, Status, cs_lsq_options, cs_lsq_poly,
                   cs_lsq_stats, lib)

__all__ = ["Method", "Stats", "FitResult", "LineFit", "Polynomial", "LeastSquares",
           "fit", "fit_bounded", "nnls", "line", "polyfit"]


class Method(enum.IntEnum):
    """Factorisation used by a fit (``cs_lsq_method``)."""

    QR = 0    #: Householder QR (default); needs full column rank
    TSQR = 1  #: tall-skinny communication-avoiding QR; needs full rank
    COD = 2   #: QR with column pivoting + complete orthogonal decomposition
    SVD = 3   #: singular value decomposition; exact condition number


@dataclass(frozen=True)
class Stats:
    """Statistics of one right-hand side (``cs_lsq_stats``); undefined values are NaN."""

    rank: int       #: effective rank
    n_used: int     #: rows with a positive weight
    dof: float      #: residual degrees of freedom
    rss: float      #: weighted residual sum of squares
    tss: float      #: weighted total sum of squares
    sigma: float    #: residual standard error sqrt(rss / dof)
    r2: float       #: coefficient of determination
    adj_r2: float   #: adjusted R^2
    cond: float     #: condition number estimate of the equilibrated matrix

    @classmethod
    def _from(cls, s: cs_lsq_stats) -> "Stats":
        return cls(s.rank, s.n_used, s.dof, s.rss, s.tss, s.sigma, s.r2, s.adj_r2, s.cond)


@dataclass(frozen=True)
class FitResult:
    """Coefficients (intercept first when fitted), standard errors and statistics.

    With one right-hand side ``coef`` and ``se`` are vectors and ``stats`` one
    Stats; with several, they are p' x nrhs and ``stats`` a list.
    """

    coef: Any
    se: Any
    stats: Union[Stats, List[Stats], None]


def _stats_array(nrhs: int) -> Any:
    arr = (cs_lsq_stats * nrhs)()
    for s in arr:
        lib.cs_lsq_stats_init(byref(s), sizeof(s))
    return arr


def _stats_value(arr: Any, nrhs: int) -> Union[Stats, List[Stats]]:
    return Stats._from(arr[0]) if nrhs == 1 else [Stats._from(s) for s in arr]


class _Out:
    """A p' x nrhs output in the given layout: numpy or ctypes memory."""

    def __init__(self, rows: int, cols: int, layout: int, use_numpy: bool,
                 vector: bool) -> None:
        self.rows, self.cols, self.layout, self.vector = rows, cols, layout, vector
        self.ld = max(cols, 1) if layout == ROW_MAJOR else max(rows, 1)
        if use_numpy:
            order = "C" if layout == ROW_MAJOR else "F"
            self.array: Any = np.empty((rows, cols), dtype=np.float64, order=order)
            self.ptr: Any = self.array.ctypes.data_as(POINTER(c_double))
        else:
            self.array = (c_double * max(rows * cols, 1))()
            self.ptr = self.array

    def value(self) -> Any:
        if np is not None and isinstance(self.array, np.ndarray):
            return self.array[:, 0].copy() if self.vector else self.array
        a, r, c = self.array, self.rows, self.cols
        if self.layout == ROW_MAJOR:
            table = [[a[i * c + j] for j in range(c)] for i in range(r)]
        else:
            table = [[a[i + j * r] for j in range(c)] for i in range(r)]
        return [row[0] for row in table] if self.vector else table


def _rhs(y: Any, layout: int, n: int) -> Tuple[Matrix, bool]:
    """The right-hand sides in the layout of X; (matrix, is_vector)."""
    vector = not (_arrays.is_ndarray(y) and y.ndim == 2) and not (
        not _arrays.is_ndarray(y) and len(y) > 0 and hasattr(y[0], "__len__"))
    if vector:
        data, length = _arrays.f64_vector(y, "y")
        _lib.check_dimension("y", length, n)
        return Matrix(layout, data, 1 if layout == ROW_MAJOR else max(n, 1), length, 1), True
    m = _arrays.f64_matrix(y, "y", layout)
    _lib.check_dimension("y rows", m.rows, n)
    return m, False


def _weights(w: Any, n: int) -> Any:
    return None if w is None else _arrays.f64_vector(w, "w", n)[0]


class LeastSquares(Handle):
    """A reusable least-squares workspace for one shape (``cs_lsq``).

    Fits through a workspace never allocate; create one when fitting many
    problems of the same shape.

    Args:
        n: rows of X, >= 1.
        p: columns of X (without the intercept).
        method: factorisation [QR].
        intercept: prepend a column of ones (coefficient 0, not penalised) [False].
        ridge: ridge penalty >= 0 [0].
        rcond: rank threshold in [0, 1), 0 = max(n, p) eps [0].
        nrhs: right-hand sides solved together [1].
        allocator: memory hooks; None = malloc.

    Raises:
        InvalidArgument, DimensionMismatch (n < p' for QR without ridge),
        Overflow, OutOfMemory.
    """

    def __init__(self, n: int, p: int, *, method: Optional[Method] = None,
                 intercept: Optional[bool] = None, ridge: Optional[float] = None,
                 rcond: Optional[float] = None, nrhs: Optional[int] = None,
                 allocator: Optional[Allocator] = None) -> None:
        opts = _options(method, intercept, ridge, rcond, nrhs)
        out = _lib.new_handle()
        lib.cs_lsq_create(_lib.as_count(n, "n"), _lib.as_count(p, "p"), byref(opts),
                          allocator_arg(allocator), byref(out))
        self._adopt(out.value, "cs_lsq_destroy", allocator=allocator)
        self.n, self.p, self.nrhs = n, p, opts.nrhs
        self.intercept = bool(opts.intercept)
        self.num_coef = p + (1 if opts.intercept else 0)

    def _inputs(self, x: Any, y: Any) -> Tuple[Matrix, Matrix, bool]:
        mx = _arrays.f64_matrix(x, "x") if self.p > 0 else Matrix(ROW_MAJOR, None, 1,
                                                                      self.n, 0)
        _lib.check_dimension("x rows", mx.rows, self.n)
        _lib.check_dimension("x columns", mx.cols, self.p)
        my, vector = _rhs(y, mx.layout, self.n)
        _lib.check_dimension("y columns", my.cols, self.nrhs)
        return mx, my, vector

    def fit(self, x: Any, y: Any, w: Any = None, *, se: bool = True) -> FitResult:
        """Fit: coefficients, standard errors (when ``se``) and statistics.

        Raises:
            InvalidArgument (NaN/Inf, negative weight), DimensionMismatch,
            Singular (QR/TSQR on a rank-deficient matrix), NumericalFailure.
        """
        h = self._h()
        mx, my, vector = self._inputs(x, y)
        use_np = _arrays.wants_numpy(x, y, w)
        coef = _Out(self.num_coef, self.nrhs, mx.layout, use_np, vector)
        err = _Out(self.num_coef, self.nrhs, mx.layout, use_np, vector) if se else None
        stats = _stats_array(self.nrhs)
        lib.cs_lsq_fit(h, mx.layout, mx.data, mx.ld, my.data, my.ld, _weights(w, self.n),
                       coef.ptr, coef.ld, err.ptr if err else None, stats)
        return FitResult(coef.value(), err.value() if err else None,
                         _stats_value(stats, self.nrhs))

    def fit_bounded(self, x: Any, y: Any, lower: Optional[Sequence[float]] = None,
                    upper: Optional[Sequence[float]] = None, w: Any = None) -> FitResult:
        """Fit with lower <= b <= upper on every coefficient (BVLS); no standard errors.

        ``lower``/``upper`` have p' entries (intercept first); -inf/+inf allowed.
        """
        h = self._h()
        mx, my, vector = self._inputs(x, y)
        use_np = _arrays.wants_numpy(x, y, w, lower, upper)
        lo = _arrays.optional_f64(lower, "lower", self.num_coef)
        up = _arrays.optional_f64(upper, "upper", self.num_coef)
        coef = _Out(self.num_coef, self.nrhs, mx.layout, use_np, vector)
        stats = _stats_array(self.nrhs)
        lib.cs_lsq_fit_bounded(h, mx.layout, mx.data, mx.ld, my.data, my.ld,
                               _weights(w, self.n), lo, up, coef.ptr, coef.ld, stats)
        return FitResult(coef.value(), None, _stats_value(stats, self.nrhs))

    def fit_nnls(self, x: Any, y: Any, w: Any = None) -> FitResult:
        """Non-negative least squares (every coefficient >= 0; Lawson and Hanson)."""
        h = self._h()
        mx, my, vector = self._inputs(x, y)
        use_np = _arrays.wants_numpy(x, y, w)
        coef = _Out(self.num_coef, self.nrhs, mx.layout, use_np, vector)
        stats = _stats_array(self.nrhs)
        lib.cs_lsq_fit_nnls(h, mx.layout, mx.data, mx.ld, my.data, my.ld,
                            _weights(w, self.n), coef.ptr, coef.ld, stats)
        return FitResult(coef.value(), None, _stats_value(stats, self.nrhs))

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"n={self.n} p={self.p} nrhs={self.nrhs}"
        return f"<LeastSquares {state}>"


def _options(method: Optional[Method], intercept: Optional[bool], ridge: Optional[float],
             rcond: Optional[float], nrhs: Optional[int]) -> cs_lsq_options:
    opts = _lib.init_struct(cs_lsq_options)
    if method is not None:
        opts.method = _lib.as_enum(Method, method, "method")
    if intercept is not None:
        opts.intercept = int(bool(intercept))
    if ridge is not None:
        opts.ridge = _lib.as_float(ridge, "ridge")
    if rcond is not None:
        opts.rcond = _lib.as_float(rcond, "rcond")
    if nrhs is not None:
        opts.nrhs = _lib.as_count(nrhs, "nrhs")
    return opts


def fit(x: Any, y: Any, w: Any = None, *, intercept: bool = False,
        method: Optional[Method] = None, ridge: Optional[float] = None,
        rcond: Optional[float] = None, se: bool = True) -> FitResult:
    """One-shot weighted/ridge least squares (``cs_lsq_solve``).

    Args:
        x: n x p matrix (a vector is one column).
        y: n values, or n x nrhs.
        w: n weights >= 0 (0 ignores the row), or None.
        intercept: fit an intercept (coefficient 0).
        method, ridge, rcond: see :class:`LeastSquares`.
        se: compute standard errors.

    Raises:
        InvalidArgument, DimensionMismatch, Singular, NumericalFailure, OutOfMemory.
    """
    mx = _arrays.f64_matrix(x, "x")
    my, vector = _rhs(y, mx.layout, mx.rows)
    opts = _options(method, intercept, ridge, rcond, my.cols)
    ncoef = mx.cols + (1 if opts.intercept else 0)
    use_np = _arrays.wants_numpy(x, y, w)
    coef = _Out(ncoef, my.cols, mx.layout, use_np, vector)
    err = _Out(ncoef, my.cols, mx.layout, use_np, vector) if se else None
    stats = _stats_array(my.cols)
    lib.cs_lsq_solve(mx.rows, mx.cols, byref(opts), mx.layout, mx.data, mx.ld, my.data,
                     my.ld, _weights(w, mx.rows), coef.ptr, coef.ld,
                     err.ptr if err else None, stats, None)
    return FitResult(coef.value(), err.value() if err else None,
                     _stats_value(stats, my.cols))


def _shape(x: Any, y: Any) -> Tuple[int, int, int]:
    mx = _arrays.f64_matrix(x, "x")
    nrhs = y.shape[1] if _arrays.is_ndarray(y) and y.ndim == 2 else (
        len(y[0]) if not _arrays.is_ndarray(y) and len(y) and hasattr(y[0], "__len__")
        else 1)
    return mx.rows, mx.cols, nrhs


def nnls(x: Any, y: Any, w: Any = None, *, intercept: bool = False) -> FitResult:
    """One-shot non-negative least squares (every coefficient >= 0)."""
    n, p, nrhs = _shape(x, y)
    with LeastSquares(n, p, intercept=intercept, nrhs=nrhs) as ws:
        return ws.fit_nnls(x, y, w)


def fit_bounded(x: Any, y: Any, lower: Optional[Sequence[float]] = None,
                upper: Optional[Sequence[float]] = None, w: Any = None, *,
                intercept: bool = False, ridge: Optional[float] = None) -> FitResult:
    """One-shot bounded least squares: lower <= b <= upper (p' entries each)."""
    n, p, nrhs = _shape(x, y)
    with LeastSquares(n, p, intercept=intercept, ridge=ridge, nrhs=nrhs) as ws:
        return ws.fit_bounded(x, y, lower, upper, w)


@dataclass(frozen=True)
class LineFit:
    """A straight line y = slope * x + intercept, with standard errors."""

    intercept: float
    slope: float
    se_intercept: float
    se_slope: float
    stats: Stats

    def __call__(self, x: float) -> float:
        return self.intercept + self.slope * x


def line(x: Sequence[float], y: Sequence[float], w: Any = None) -> LineFit:
    """Weighted straight-line fit (closed form on centred data, ``cs_lsq_line``).

    Raises:
        DimensionMismatch: fewer than two points with positive weight.
        Singular: all those x are equal.
    """
    xs, n = _arrays.f64_vector(x, "x")
    ys, _ = _arrays.f64_vector(y, "y", n)
    coef, se = (c_double * 2)(), (c_double * 2)()
    stats = _stats_array(1)
    lib.cs_lsq_line(n, xs, ys, _weights(w, n), coef, se, stats)
    return LineFit(coef[0], coef[1], se[0], se[1], Stats._from(stats[0]))


class Polynomial:
    """A fitted polynomial (``cs_lsq_poly``); call it to evaluate.

    Attributes:
        degree: d.
        center, scale: the fit's variable is t = (x - center) / scale.
        coef: the d + 1 coefficients in t (well conditioned: used to evaluate).
        monomial: the same polynomial in powers of x (for reporting).
        se_monomial: standard errors of the monomial coefficients.
        stats: fit statistics.
    """

    def __init__(self, poly: cs_lsq_poly, se_monomial: List[float], stats: Stats) -> None:
        self._poly = poly
        self.degree = poly.degree
        self.center = poly.center
        self.scale = poly.scale
        self.coef = list(poly.coef[: poly.degree + 1])
        self.monomial = list(poly.monomial[: poly.degree + 1])
        self.se_monomial = se_monomial
        self.stats = stats

    def __call__(self, x: Any) -> Any:
        """Evaluate at a number, a sequence (-> list) or a numpy array (-> array)."""
        scalar = isinstance(x, (int, float))
        xs, n = _arrays.f64_vector([x] if scalar else x, "x")
        if _arrays.is_ndarray(x):
            out = np.empty(n)
            lib.cs_lsq_poly_eval(byref(self._poly), n, xs,
                                 out.ctypes.data_as(POINTER(c_double)))
            return out
        res = (c_double * max(n, 1))()
        lib.cs_lsq_poly_eval(byref(self._poly), n, xs, res)
        return res[0] if scalar else list(res[:n])

    def __repr__(self) -> str:
        terms = " + ".join(f"{c:.6g} x^{k}" for k, c in enumerate(self.monomial))
        return f"<Polynomial degree={self.degree}: {terms}>"


def polyfit(x: Sequence[float], y: Sequence[float], degree: int,
            w: Any = None) -> Polynomial:
    """Weighted polynomial fit by QR in a centred, scaled basis (``cs_lsq_polyfit``).

    Accurate on severely ill-conditioned data (NIST Filip, Wampler).

    Raises:
        InvalidArgument (degree > 20, NaN), DimensionMismatch (n <= degree),
        Singular (too few distinct x), OutOfMemory.
    """
    d = _lib.as_count(degree, "degree")
    if not 0 <= d <= POLY_MAX_DEGREE:
        _lib.raise_status(Status.ERR_INVALID, None, f"degree {d} is outside 0..20")
    xs, n = _arrays.f64_vector(x, "x")
    ys, _ = _arrays.f64_vector(y, "y", n)
    poly = _lib.init_struct(cs_lsq_poly)
    se = (c_double * (d + 1))()
    stats = _stats_array(1)
    lib.cs_lsq_polyfit(n, xs, ys, _weights(w, n), d, byref(poly), se, stats, None)
    return Polynomial(poly, list(se), Stats._from(stats[0]))

