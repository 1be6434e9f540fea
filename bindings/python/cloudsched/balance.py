"""Separable quadratic load balancing, its integer version, utilisation
equalising and weighted max-min fair division (C: balance.h).

The core problem is

    minimise sum_i w_i (x_i - t_i)^2  subject to  sum_i x_i = D,  l <= x <= u,

solved exactly by breakpoint search in O(n) expected time; its solution is
x_i = clamp(t_i + mu / w_i, l_i, u_i) for one multiplier mu. The integer
version returns the exact integer optimum with the same sum.

Every solver runs in a :class:`BalanceWorkspace` (scratch memory reused from
call to call, so a hot loop does not allocate). The module functions
:func:`balance`, :func:`round_balance`, :func:`max_min` and friends create a
temporary workspace per call. Results are numpy arrays when an array input
was a numpy array, else lists. On ``Infeasible`` the exception's ``result``
attribute reports the feasible range (``min_total``, ``max_total``).
"""

from __future__ import annotations

import enum
from ctypes import byref, sizeof
from dataclasses import dataclass
from typing import Any, Callable, List, Optional, Sequence, Tuple

from . import _arrays, _lib
from ._handle import Allocator, Handle, allocator_arg
from ._lib import (BALANCE_INT_MAX, Status, cs_balance_int_problem, cs_balance_problem,
                   cs_balance_result, lib)
from .errors import CloudschedError

__all__ = ["BalanceMode", "BalanceResult", "Balanced", "BalanceWorkspace", "balance",
           "round_balance", "balance_utilisation", "max_min", "max_min_int",
           "BALANCE_INT_MAX"]


class BalanceMode(enum.IntEnum):
    """How the utilisation forms measure "as equal as possible" (``cs_balance_mode``)."""

    #: minimise sum_i ((L_i + x_i) / C_i - rho)^2: every node counts the same
    SQUARED = 0
    #: minimise sum_i (L_i + x_i)^2 / C_i: water-filling to one level
    LEVEL = 1


@dataclass(frozen=True)
class BalanceResult:
    """What a solve reports besides the solution (``cs_balance_result``)."""

    mu: float                    #: the multiplier (water level for max-min)
    objective: float             #: sum_i w_i (x_i - t_i)^2 of the returned x
    objective_continuous: float  #: the same for the continuous optimum
    sum: float                   #: sum_i x_i (compensated)
    min_total: float             #: sum_i l_i: the smallest feasible total
    max_total: float             #: sum_i u_i: the largest feasible total
    num_lower: int               #: elements at their lower bound
    num_upper: int               #: elements at their upper bound
    num_free: int                #: elements strictly inside their bounds
    iterations: int              #: median-of-breakpoints steps
    passes: int                  #: full passes over the input

    @classmethod
    def _from(cls, r: cs_balance_result) -> "BalanceResult":
        return cls(r.mu, r.objective, r.objective_continuous, r.sum, r.min_total,
                   r.max_total, r.num_lower, r.num_upper, r.num_free, r.iterations,
                   r.passes)


@dataclass(frozen=True)
class Balanced:
    """A solution ``x`` (list or numpy array) and its :class:`BalanceResult`."""

    x: Any
    result: BalanceResult


def _length(*vectors: Any) -> Optional[int]:
    for v in vectors:
        if v is not None:
            return len(v)
    return None


class BalanceWorkspace(Handle):
    """Scratch memory for the balance solvers (``cs_balance_workspace``).

    Not thread-safe: one workspace per thread. A call of size n allocates
    only when the workspace never held size n (see :meth:`reserve`).
    """

    def __init__(self, allocator: Optional[Allocator] = None) -> None:
        out = _lib.new_handle()
        lib.cs_balance_workspace_create(allocator_arg(allocator), byref(out))
        self._adopt(out.value, "cs_balance_workspace_destroy", allocator=allocator)

    def reserve(self, n: int) -> None:
        """Allocate scratch for problems of up to n elements (then calls do not allocate)."""
        lib.cs_balance_workspace_reserve(self._h(), _lib.as_count(n, "n"))

    def _run(self, call: Callable[[Any], None], out: _arrays.Output) -> Balanced:
        res = _lib.init_struct(cs_balance_result)
        try:
            call(byref(res))
        except CloudschedError as e:
            if e.status == Status.ERR_INFEASIBLE:
                e.result = BalanceResult._from(res)  # type: ignore[attr-defined]
            raise
        return Balanced(out.value(), BalanceResult._from(res))

    def solve(self, total: float, weight: Optional[Sequence[float]] = None,
              target: Optional[Sequence[float]] = None,
              lower: Optional[Sequence[float]] = None,
              upper: Optional[Sequence[float]] = None, n: Optional[int] = None) -> Balanced:
        """min sum w_i (x_i - t_i)^2, sum x = total, lower <= x <= upper.

        Arrays default to w = 1, t = 0, no bounds (-inf/+inf allowed); ``n``
        is needed only when every array is None.

        Raises:
            Infeasible: total outside [sum lower, sum upper] (``e.result``
                holds the range).
            InvalidArgument: bad weights, NaN, lower > upper.
            NumericalFailure, OutOfMemory.
        """
        h = self._h()
        size = _length(weight, target, lower, upper) if n is None else n
        if size is None:
            _lib.raise_status(Status.ERR_INVALID, None, "give n or at least one array")
        prob = _lib.init_struct(cs_balance_problem)
        prob.n = size
        keep = []
        for name, v in (("weight", weight), ("target", target), ("lower", lower),
                        ("upper", upper)):
            if v is not None:
                ptr, _ = _arrays.f64_vector(v, name, size)
                keep.append(ptr)
                setattr(prob, name, ptr)
        prob.total = _lib.as_float(total, "total")
        out = _arrays.Output((size,), _arrays.wants_numpy(weight, target, lower, upper))
        return self._run(lambda r: lib.cs_balance_solve(h, byref(prob), out.ptr, r), out)

    def solve_int(self, total: int, weight: Optional[Sequence[float]] = None,
                  target: Optional[Sequence[float]] = None,
                  lower: Optional[Sequence[int]] = None,
                  upper: Optional[Sequence[int]] = None,
                  n: Optional[int] = None) -> Balanced:
        """The integer problem: x integer, same bounds, sum exactly ``total``, least
        sum w_i (x_i - t_i)^2 (ties to lower indices). Values up to 2^53.

        Raises:
            Infeasible, InvalidArgument, Overflow, NumericalFailure, OutOfMemory.
        """
        h = self._h()
        size = _length(weight, target, lower, upper) if n is None else n
        if size is None:
            _lib.raise_status(Status.ERR_INVALID, None, "give n or at least one array")
        prob = _lib.init_struct(cs_balance_int_problem)
        prob.n = size
        keep = []
        for name, v in (("weight", weight), ("target", target)):
            if v is not None:
                ptr, _ = _arrays.f64_vector(v, name, size)
                keep.append(ptr)
                setattr(prob, name, ptr)
        for name, v in (("lower", lower), ("upper", upper)):
            if v is not None:
                ptr, _ = _arrays.i64_vector(v, name, size)
                keep.append(ptr)
                setattr(prob, name, ptr)
        prob.total = _lib.as_i64(total, "total")
        out = _arrays.Output((size,), _arrays.wants_numpy(weight, target, lower, upper),
                             integer=True)
        return self._run(lambda r: lib.cs_balance_solve_int(h, byref(prob), out.ptr, r),
                         out)

    def utilisation(self, load: Sequence[float], capacity: Sequence[float],
                    demand: float, mode: BalanceMode = BalanceMode.SQUARED) -> Balanced:
        """Spread ``demand`` over nodes with loads and capacities so that
        utilisations (L_i + x_i) / C_i are as equal as possible, x_i >= 0,
        L_i + x_i <= C_i.

        Raises:
            Infeasible: demand exceeds the total free capacity.
        """
        h = self._h()
        ld, n = _arrays.f64_vector(load, "load")
        cap, _ = _arrays.f64_vector(capacity, "capacity", n)
        m = _lib.as_enum(BalanceMode, mode, "mode")
        out = _arrays.Output((n,), _arrays.wants_numpy(load, capacity))
        d = _lib.as_float(demand, "demand")
        return self._run(lambda r: lib.cs_balance_utilisation(h, n, ld, cap, d, m,
                                                               out.ptr, r), out)

    def utilisation_int(self, load: Sequence[int], capacity: Sequence[int], demand: int,
                        mode: BalanceMode = BalanceMode.SQUARED) -> Balanced:
        """Integer version of :meth:`utilisation`: integers summing exactly to demand."""
        h = self._h()
        ld, n = _arrays.i64_vector(load, "load")
        cap, _ = _arrays.i64_vector(capacity, "capacity", n)
        m = _lib.as_enum(BalanceMode, mode, "mode")
        out = _arrays.Output((n,), _arrays.wants_numpy(load, capacity), integer=True)
        d = _lib.as_i64(demand, "demand")
        return self._run(lambda r: lib.cs_balance_utilisation_int(h, n, ld, cap, d, m,
                                                                   out.ptr, r), out)

    def multi(self, load: Any, capacity: Any, unit: Sequence[float], units: float,
              dim_weight: Optional[Sequence[float]] = None,
              mode: BalanceMode = BalanceMode.SQUARED) -> Balanced:
        """Place ``units`` copies of a multi-resource unit demand on n nodes
        (loads and capacities n x p), utilisations as equal as possible jointly.
        Returns units per node."""
        h = self._h()
        ld, n, p = _arrays.f64_rows(load, "load")
        cap, _, _ = _arrays.f64_rows(capacity, "capacity", n, p)
        u, _ = _arrays.f64_vector(unit, "unit", p)
        dw = _arrays.optional_f64(dim_weight, "dim_weight", p)
        m = _lib.as_enum(BalanceMode, mode, "mode")
        out = _arrays.Output((n,), _arrays.wants_numpy(load, capacity, unit))
        k = _lib.as_float(units, "units")
        return self._run(lambda r: lib.cs_balance_multi(h, n, p, ld, cap, u, dw, k, m,
                                                        out.ptr, r), out)

    def multi_int(self, load: Any, capacity: Any, unit: Sequence[int], units: int,
                  dim_weight: Optional[Sequence[float]] = None,
                  mode: BalanceMode = BalanceMode.SQUARED) -> Balanced:
        """Integer version of :meth:`multi`: whole units, every dimension within capacity."""
        h = self._h()
        ld, n, p = _arrays.i64_rows(load, "load")
        cap, _, _ = _arrays.i64_rows(capacity, "capacity", n, p)
        u, _ = _arrays.i64_vector(unit, "unit", p)
        dw = _arrays.optional_f64(dim_weight, "dim_weight", p)
        m = _lib.as_enum(BalanceMode, mode, "mode")
        out = _arrays.Output((n,), _arrays.wants_numpy(load, capacity, unit), integer=True)
        k = _lib.as_i64(units, "units")
        return self._run(lambda r: lib.cs_balance_multi_int(h, n, p, ld, cap, u, dw, k, m,
                                                            out.ptr, r), out)

    def per_dimension(self, load: Any, capacity: Any, demand: Sequence[float],
                      mode: BalanceMode = BalanceMode.SQUARED
                      ) -> Tuple[Any, List[BalanceResult]]:
        """Balance each dimension on its own; returns (n x p amounts, p results)."""
        h = self._h()
        ld, n, p = _arrays.f64_rows(load, "load")
        cap, _, _ = _arrays.f64_rows(capacity, "capacity", n, p)
        d, _ = _arrays.f64_vector(demand, "demand", p)
        m = _lib.as_enum(BalanceMode, mode, "mode")
        out = _arrays.Output((n, p), _arrays.wants_numpy(load, capacity, demand))
        results = (cs_balance_result * p)()
        for r in results:
            lib.cs_balance_result_init(byref(r), sizeof(r))
        try:
            lib.cs_balance_per_dimension(h, n, p, ld, cap, d, m, out.ptr, results)
        except CloudschedError as e:
            if e.status == Status.ERR_INFEASIBLE:
                e.result = [BalanceResult._from(r) for r in results]  # type: ignore
            raise
        return out.value(), [BalanceResult._from(r) for r in results]

    def max_min(self, demand: Sequence[float], capacity: float,
                weight: Optional[Sequence[float]] = None) -> Balanced:
        """Weighted max-min fair division: x_i = min(d_i, w_i * level) with
        sum x = min(capacity, sum d) (progressive filling).

        Example: capacity 10, demands 2, 4, 10 -> 2, 4, 4.
        """
        h = self._h()
        d, n = _arrays.f64_vector(demand, "demand")
        w = _arrays.optional_f64(weight, "weight", n)
        out = _arrays.Output((n,), _arrays.wants_numpy(demand, weight))
        c = _lib.as_float(capacity, "capacity")
        return self._run(lambda r: lib.cs_balance_max_min(h, n, d, w, c, out.ptr, r), out)

    def max_min_int(self, demand: Sequence[int], capacity: int,
                    weight: Optional[Sequence[float]] = None) -> Balanced:
        """Whole-unit weighted max-min division (Sainte-Lague divisor method)."""
        h = self._h()
        d, n = _arrays.i64_vector(demand, "demand")
        w = _arrays.optional_f64(weight, "weight", n)
        out = _arrays.Output((n,), _arrays.wants_numpy(demand, weight), integer=True)
        c = _lib.as_i64(capacity, "capacity")
        return self._run(lambda r: lib.cs_balance_max_min_int(h, n, d, w, c, out.ptr, r),
                         out)

    def __repr__(self) -> str:
        return "<BalanceWorkspace closed>" if self._closed else "<BalanceWorkspace>"


def balance(total: float, weight: Optional[Sequence[float]] = None,
            target: Optional[Sequence[float]] = None,
            lower: Optional[Sequence[float]] = None,
            upper: Optional[Sequence[float]] = None, n: Optional[int] = None) -> Balanced:
    """One-shot :meth:`BalanceWorkspace.solve` (continuous quadratic knapsack)."""
    with BalanceWorkspace() as ws:
        return ws.solve(total, weight, target, lower, upper, n)


def round_balance(total: int, weight: Optional[Sequence[float]] = None,
                  target: Optional[Sequence[float]] = None,
                  lower: Optional[Sequence[int]] = None,
                  upper: Optional[Sequence[int]] = None,
                  n: Optional[int] = None) -> Balanced:
    """One-shot :meth:`BalanceWorkspace.solve_int`: the exact integer optimum
    (keeps the total and the bounds; not a mere rounding)."""
    with BalanceWorkspace() as ws:
        return ws.solve_int(total, weight, target, lower, upper, n)


def balance_utilisation(load: Sequence[float], capacity: Sequence[float], demand: float,
                        mode: BalanceMode = BalanceMode.SQUARED) -> Balanced:
    """One-shot :meth:`BalanceWorkspace.utilisation`."""
    with BalanceWorkspace() as ws:
        return ws.utilisation(load, capacity, demand, mode)


def max_min(demand: Sequence[float], capacity: float,
            weight: Optional[Sequence[float]] = None) -> Balanced:
    """One-shot :meth:`BalanceWorkspace.max_min` (weighted max-min fair shares)."""
    with BalanceWorkspace() as ws:
        return ws.max_min(demand, capacity, weight)


def max_min_int(demand: Sequence[int], capacity: int,
                weight: Optional[Sequence[float]] = None) -> Balanced:
    """One-shot :meth:`BalanceWorkspace.max_min_int` (whole units)."""
    with BalanceWorkspace() as ws:
        return ws.max_min_int(demand, capacity, weight)
