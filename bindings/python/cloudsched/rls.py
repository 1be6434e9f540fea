"""Streaming (recursive) least squares with a forgetting factor, in the
square-root (QR/Givens) form (C: rls.h).

After samples (x_1, y_1) ... (x_n, y_n) the coefficients minimise
sum_i lambda^(n-i) (y_i - x_i . b)^2 + delta lambda^n ||b||^2, updated in
O(p^2) per sample without ever forming the inverse of X'X.
"""

from __future__ import annotations

from ctypes import POINTER, byref, c_double
from dataclasses import dataclass
from typing import Any, Optional, Sequence

from . import _arrays, _lib
from ._arrays import np
from ._handle import Allocator, Handle, allocator_arg
from ._lib import cs_rls_info, cs_rls_options, lib

__all__ = ["RLSInfo", "RLS"]


@dataclass(frozen=True)
class RLSInfo:
    """State summary (``cs_rls_info``)."""

    dim: int        #: coefficients p
    samples: int    #: samples absorbed since creation or the last reset
    weight: float   #: effective sample count sum_i lambda^(n-i)
    rss: float      #: minimum of the weighted objective


class RLS(Handle):
    """A recursive least-squares model with p coefficients (``cs_rls``).

    Args:
        p: coefficients (an intercept is a feature that is always 1), 1..4096.
        forgetting: lambda in (0, 1] [1: ordinary least squares].
        ridge: initial ridge delta >= 0 [0].
        block_rows: rows per LAPACK call in update_block [64].
        allocator: memory hooks; None = malloc.
    """

    def __init__(self, p: int, *, forgetting: Optional[float] = None,
                 ridge: Optional[float] = None, block_rows: Optional[int] = None,
                 allocator: Optional[Allocator] = None) -> None:
        o = _lib.init_struct(cs_rls_options)
        if forgetting is not None:
            o.forgetting = _lib.as_float(forgetting, "forgetting")
        if ridge is not None:
            o.ridge = _lib.as_float(ridge, "ridge")
        if block_rows is not None:
            o.block_rows = _lib.as_count(block_rows, "block_rows")
        out = _lib.new_handle()
        lib.cs_rls_create(_lib.as_count(p, "p"), byref(o), allocator_arg(allocator),
                          byref(out))
        self._adopt(out.value, "cs_rls_destroy", allocator=allocator)
        self.dim = p

    def reset(self) -> None:
        """Forget every sample and return to the initial prior."""
        lib.cs_rls_reset(self._h())

    def update(self, x: Sequence[float], y: float) -> None:
        """Absorb one sample (InvalidArgument for NaN/Inf; the model is unchanged then)."""
        h = self._h()
        xs, _ = _arrays.f64_vector(x, "x", self.dim)
        lib.cs_rls_update(h, xs, _lib.as_float(y, "y"))

    def update_block(self, x: Any, y: Sequence[float]) -> None:
        """Absorb n samples at once (n x p matrix, n values), as n updates would."""
        h = self._h()
        m = _arrays.f64_matrix(x, "x")
        _lib.check_dimension("x columns", m.cols, self.dim)
        ys, _ = _arrays.f64_vector(y, "y", m.rows)
        lib.cs_rls_update_block(h, m.layout, m.rows, m.data, m.ld, ys)

    def coefficients(self, ridge: Optional[float] = None) -> Any:
        """Current coefficients; with ``ridge`` a non-decaying extra ridge mu.

        Returns a list; :meth:`coefficients_array` returns a numpy array.

        Raises:
            Singular: too few samples or collinear features without a ridge.
        """
        h = self._h()
        out = (c_double * self.dim)()
        if ridge is None:
            lib.cs_rls_coefficients(h, out)
        else:
            lib.cs_rls_coefficients_ridge(h, _lib.as_float(ridge, "ridge"), out)
        return list(out)

    def coefficients_array(self, ridge: Optional[float] = None) -> Any:
        """As :meth:`coefficients`, into a new numpy array (requires numpy)."""
        if np is None:
            raise ImportError("numpy is not installed")
        h = self._h()
        out = np.empty(self.dim)
        ptr = out.ctypes.data_as(POINTER(c_double))
        if ridge is None:
            lib.cs_rls_coefficients(h, ptr)
        else:
            lib.cs_rls_coefficients_ridge(h, _lib.as_float(ridge, "ridge"), ptr)
        return out

    def predict(self, x: Sequence[float]) -> float:
        """x . b with the current coefficients."""
        h = self._h()
        xs, _ = _arrays.f64_vector(x, "x", self.dim)
        out = c_double()
        lib.cs_rls_predict(h, xs, byref(out))
        return out.value

    @property
    def info(self) -> RLSInfo:
        """State summary: dimension, samples, effective weight, RSS."""
        i = _lib.init_struct(cs_rls_info)
        lib.cs_rls_get_info(self._h(), byref(i))
        return RLSInfo(i.dim, i.samples, i.weight, i.rss)

    def __repr__(self) -> str:
        if self._closed:
            return "<RLS closed>"
        return f"<RLS p={self.dim} samples={self.info.samples}>"
