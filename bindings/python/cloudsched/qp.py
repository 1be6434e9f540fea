"""Dense convex quadratic programming (C: qp.h):

    minimise 1/2 x'Px + q'x  subject to  A x = b,  G x <= h,  l <= x <= u,

P symmetric positive semidefinite (only its lower triangle is read), by a
primal-dual interior point method (Mehrotra predictor-corrector on a
homogeneous embedding) that also certifies infeasibility and unboundedness.

Matrices are dense and row-major; a C-ordered float64 numpy array is passed
without a copy (the C API has no leading-dimension argument, so other
layouts are copied). A :class:`QPWorkspace` is made for fixed dimensions and
never allocates while solving; :func:`qp` makes one per call.

Outcomes: a :class:`QPSolution` on success. Otherwise the exception carries
a ``result`` (a QPSolution) with what the solver wrote: ``Infeasible`` a
Farkas certificate in y, z, z_bound; ``Unbounded`` a direction in x;
``NotConverged`` and ``NumericalFailure`` the last iterate and its residuals.
"""

from __future__ import annotations

from ctypes import byref
from dataclasses import dataclass
from typing import Any, Optional, Sequence

from . import _arrays, _lib
from ._handle import Allocator, Handle, allocator_arg
from ._lib import Status, cs_qp_problem, cs_qp_result, cs_qp_settings, lib
from .errors import CloudschedError

__all__ = ["QPSolution", "QPWorkspace", "qp"]


@dataclass(frozen=True)
class QPSolution:
    """Solution, multipliers, objective values and unscaled KKT residuals.

    Sign conventions at a solution: P x + q + A'y + G'z + z_bound = 0, z >= 0,
    z_bound > 0 only at upper bounds and < 0 only at lower bounds.
    """

    x: Any                   #: n values (a direction when unbounded)
    y: Any                   #: m_eq equality multipliers
    z: Any                   #: m_in inequality multipliers (>= 0)
    z_bound: Any             #: n bound multipliers
    objective: float         #: 1/2 x'Px + q'x
    dual_objective: float
    primal_residual: float   #: max violation of the constraints (inf-norm)
    dual_residual: float     #: |P x + q + A'y + G'z + z_bound| (inf-norm)
    gap: float               #: |objective - dual_objective|
    iterations: int
    status: Status           #: OK, or the error it came with


_SETTINGS = ("eps_abs", "eps_rel", "eps_infeasible", "max_iter", "equilibrate_iter",
             "static_reg", "refine_iter")


class QPWorkspace(Handle):
    """Workspace for QPs with n variables, m_eq equalities, m_in inequalities.

    Args:
        n: variables, >= 1.
        m_eq: equality constraints [0].
        m_in: inequality constraints [0] (bounds need no room).
        allocator: memory hooks; None = malloc.
    """

    def __init__(self, n: int, m_eq: int = 0, m_in: int = 0,
                 allocator: Optional[Allocator] = None) -> None:
        out = _lib.new_handle()
        lib.cs_qp_workspace_create(_lib.as_count(n, "n"), _lib.as_count(m_eq, "m_eq"),
                                   _lib.as_count(m_in, "m_in"), allocator_arg(allocator),
                                   byref(out))
        self._adopt(out.value, "cs_qp_workspace_destroy", allocator=allocator)
        self.n, self.m_eq, self.m_in = n, m_eq, m_in

    def solve(self, P: Any = None, q: Optional[Sequence[float]] = None, A: Any = None,
              b: Optional[Sequence[float]] = None, G: Any = None,
              h: Optional[Sequence[float]] = None, lower: Optional[Sequence[float]] = None,
              upper: Optional[Sequence[float]] = None, **settings: Any) -> QPSolution:
        """Solve one problem of the workspace's dimensions.

        Args:
            P: n x n PSD matrix (lower triangle read), or None (a linear program).
            q: n, or None (0).
            A, b: m_eq x n and m_eq.
            G, h: m_in x n and m_in.
            lower, upper: bounds (-inf/+inf allowed), or None.
            settings: eps_abs, eps_rel, eps_infeasible (1e-8), max_iter (100),
                equilibrate_iter (10), static_reg (1e-8), refine_iter (8).

        Raises:
            Infeasible, Unbounded, NotConverged, NumericalFailure (with
            ``e.result``); InvalidArgument; DimensionMismatch.
        """
        hd = self._h()
        n, me, mi = self.n, self.m_eq, self.m_in
        prob = _lib.init_struct(cs_qp_problem)
        prob.n, prob.m_eq, prob.m_in = n, me, mi
        keep = []

        def matrix(name: str, value: Any, rows: int) -> None:
            if value is not None:
                ptr, _, _ = _arrays.f64_rows(value, name, rows, n)
                keep.append(ptr)
                setattr(prob, name, ptr)

        def vector(name: str, value: Any, length: int) -> None:
            if value is not None:
                ptr, _ = _arrays.f64_vector(value, name, length)
                keep.append(ptr)
                setattr(prob, name, ptr)

        matrix("P", P, n)
        vector("q", q, n)
        matrix("A", A, me)
        vector("b", b, me)
        matrix("G", G, mi)
        vector("h", h, mi)
        vector("lower", lower, n)
        vector("upper", upper, n)
        st = _lib.init_struct(cs_qp_settings)
        for key, value in settings.items():
            if key not in _SETTINGS:
                raise TypeError(f"unknown QP setting {key!r}; known: {', '.join(_SETTINGS)}")
            kind = type(getattr(st, key))
            setattr(st, key, _lib.as_int(value, key) if kind is int
                    else _lib.as_float(value, key))
        use_np = _arrays.wants_numpy(P, q, A, b, G, h, lower, upper)
        outs = [_arrays.Output((k,), use_np) for k in (n, me, mi, n)]
        res = _lib.init_struct(cs_qp_result)
        res.x, res.y, res.z, res.z_bound = (o.ptr for o in outs)
        status = Status.OK
        try:
            lib.cs_qp_solve(hd, byref(prob), byref(st), byref(res))
        except CloudschedError as e:
            if e.status in (Status.ERR_INFEASIBLE, Status.ERR_UNBOUNDED,
                            Status.ERR_NOT_CONVERGED, Status.ERR_NUMERIC):
                e.result = self._solution(res, outs, Status(e.status))  # type: ignore
            raise
        return self._solution(res, outs, status)

    @staticmethod
    def _solution(res: cs_qp_result, outs: Sequence[_arrays.Output],
                  status: Status) -> QPSolution:
        x, y, z, zb = (o.value() for o in outs)
        return QPSolution(x, y, z, zb, res.objective, res.dual_objective,
                          res.primal_residual, res.dual_residual, res.gap, res.iterations,
                          status)

    def __repr__(self) -> str:
        if self._closed:
            return "<QPWorkspace closed>"
        return f"<QPWorkspace n={self.n} m_eq={self.m_eq} m_in={self.m_in}>"


def _rows(m: Any) -> int:
    return 0 if m is None else len(m)


def qp(P: Any = None, q: Optional[Sequence[float]] = None, A: Any = None,
       b: Optional[Sequence[float]] = None, G: Any = None,
       h: Optional[Sequence[float]] = None, lower: Optional[Sequence[float]] = None,
       upper: Optional[Sequence[float]] = None, n: Optional[int] = None,
       **settings: Any) -> QPSolution:
    """Solve one dense convex QP (see :meth:`QPWorkspace.solve`); the
    dimensions come from the arrays (``n`` only when P, q and the bounds are
    all None)."""
    if n is None:
        for v in (q, lower, upper):
            if v is not None:
                n = len(v)
                break
        else:
            for m in (P, A, G):
                if m is not None:
                    n = len(m[0]) if len(m) else 0
                    break
    if n is None:
        _lib.raise_status(Status.ERR_INVALID, None, "cannot tell n: give n or q")
    with QPWorkspace(n, _rows(A), _rows(G)) as ws:
        return ws.solve(P, q, A, b, G, h, lower, upper, **settings)
