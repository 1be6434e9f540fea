"""libcloudsched from Python: scheduling and resource allocation through ctypes.

Objects over the C handles (each closes deterministically with ``close()`` or
a ``with`` block, and safely on garbage collection):

* :class:`Pool` -- nodes, capacities, allocations, fit queries;
* :class:`Scheduler` -- submit / step / complete, placement, backfilling,
  preemption, node failures; :class:`Task` is what is submitted and
  :class:`Decision` what a step returns;
* :class:`Queue` and :class:`Fair` -- policy-ordered queues, fair share, DRF;
* :func:`fit`, :func:`nnls`, :func:`fit_bounded`, :func:`line`,
  :func:`polyfit`, :class:`LeastSquares` -- dense least squares;
* :class:`RLS` -- recursive least squares; :class:`Predictor` -- runtime
  prediction;
* :func:`balance`, :func:`round_balance`, :func:`max_min`,
  :class:`BalanceWorkspace` -- separable quadratic load balancing and fair
  division; :func:`qp`, :class:`QPWorkspace` -- dense convex QP.

Every failed call raises a :class:`CloudschedError` subclass carrying the C
status and its text. numpy is optional: float64 arrays are passed to C
without copying. The shared library is found on first use (see
:func:`load_library`).
"""

from ._handle import Allocator, CountingAllocator
from ._lib import (BACKFILL_CONSERVATIVE, ID_NONE, PARTITION_ANY, library_path,
                   load_library)
from .errors import (AlreadyExists, BufferTooSmall, Busy, ClosedError, CloudschedError,
                     DimensionMismatch, Infeasible, InvalidArgument, InvalidState,
                     NotConverged, NotFound, NumericalFailure, OutOfCapacity, OutOfMemory,
                     Overflow, Singular, Status, Unbounded)
from .balance import (BALANCE_INT_MAX, Balanced, BalanceMode, BalanceResult,
                      BalanceWorkspace, balance, balance_utilisation, max_min, max_min_int,
                      round_balance)
from .fair import Fair
from .lsq import (FitResult, LeastSquares, LineFit, Method, Polynomial, Stats, fit,
                  fit_bounded, line, nnls, polyfit)
from .pool import Allocation, Fit, NodeInfo, NodeState, Pool, Totals
from .predict import (ModelInfo, Prediction, PredictFallback, Predictor, PredictSource,
                      extend_estimate)
from .qp import QPSolution, QPWorkspace, qp
from .queue import Queue, QueuePolicy
from .rls import RLS, RLSInfo
from .sched import (Counts, Decision, DecisionKind, DecisionReason, HeadOfLine, Placement,
                    Scheduler, TaskInfo, TaskState)
from .task import Task, Topology

__version__ = "0.1.0"


def version() -> str:
    """The loaded library's version, "MAJOR.MINOR.PATCH"."""
    from ._lib import lib
    return lib.cs_version().decode()


def status_str(status: int) -> str:
    """The library's description of a status code."""
    from ._lib import lib
    return lib.cs_status_str(int(status)).decode()


def status_name(status: int) -> str:
    """The enumerator name of a status code, e.g. "CS_ERR_NO_FIT"."""
    from ._lib import lib
    return lib.cs_status_name(int(status)).decode()


__all__ = [
    "Allocator", "CountingAllocator", "BACKFILL_CONSERVATIVE", "ID_NONE", "PARTITION_ANY",
    "library_path", "load_library", "version", "status_str", "status_name",
    "AlreadyExists", "BufferTooSmall", "Busy", "ClosedError", "CloudschedError",
    "DimensionMismatch", "Infeasible", "InvalidArgument", "InvalidState", "NotConverged",
    "NotFound", "NumericalFailure", "OutOfCapacity", "OutOfMemory", "Overflow", "Singular",
    "Status", "Unbounded",
    "Fair", "FitResult", "LeastSquares", "LineFit", "Method", "Polynomial", "Stats", "fit",
    "fit_bounded", "line", "nnls", "polyfit",
    "Allocation", "Fit", "NodeInfo", "NodeState", "Pool", "Totals",
    "ModelInfo", "Prediction", "PredictFallback", "Predictor", "PredictSource",
    "extend_estimate", "Queue", "QueuePolicy", "RLS", "RLSInfo",
    "Counts", "Decision", "DecisionKind", "DecisionReason", "HeadOfLine", "Placement",
    "Scheduler", "TaskInfo", "TaskState", "Task", "Topology",
    "BALANCE_INT_MAX", "Balanced", "BalanceMode", "BalanceResult", "BalanceWorkspace",
    "balance", "balance_utilisation", "max_min", "max_min_int", "round_balance",
    "QPSolution", "QPWorkspace", "qp",
]
