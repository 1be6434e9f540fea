"""Exceptions: one class per ``cs_status``, all derived from :class:`CloudschedError`.

Every call into the C library that returns a status other than ``CS_OK`` raises
the class that matches the status (see :data:`STATUS_CLASSES`). Where a Python
built-in exception means the same thing, the class derives from it too, so
``except ValueError`` catches :class:`InvalidArgument` and
:class:`DimensionMismatch`, ``except LookupError`` catches :class:`NotFound`
(an empty queue's ``pop()`` included), ``except MemoryError`` catches
:class:`OutOfMemory` and ``except OverflowError`` catches :class:`Overflow`.
"""

from __future__ import annotations

import enum
from typing import Dict, Optional, Type

__all__ = [
    "Status", "CloudschedError", "InvalidArgument", "OutOfMemory", "NotFound",
    "AlreadyExists", "OutOfCapacity", "Overflow", "Infeasible", "Singular",
    "NotConverged", "InvalidState", "DimensionMismatch", "BufferTooSmall",
    "Unbounded", "NumericalFailure", "Busy", "ClosedError", "STATUS_CLASSES",
    "error_for",
]


class Status(enum.IntEnum):
    """The C library's ``cs_status`` values (part of its ABI)."""

    OK = 0
    ERR_INVALID = -1
    ERR_NOMEM = -2
    ERR_NOT_FOUND = -3
    ERR_EXISTS = -4
    ERR_NO_FIT = -5
    ERR_OVERFLOW = -6
    ERR_INFEASIBLE = -7
    ERR_SINGULAR = -8
    ERR_NOT_CONVERGED = -9
    ERR_STATE = -10
    ERR_DIMENSION = -11
    ERR_BUFFER_TOO_SMALL = -12
    ERR_UNBOUNDED = -13
    ERR_NUMERIC = -14
    ERR_BUSY = -15


class CloudschedError(Exception):
    """A libcloudsched call failed.

    Attributes:
        status: the :class:`Status` (or the raw integer for an unknown code).
        name: the C enumerator name, e.g. ``"CS_ERR_NO_FIT"``.
        text: the library's description (``cs_status_str``).
        function: the C function that failed, or ``None`` for errors detected
            by the bindings before calling C (wrong array length, closed handle).
    """

    status: int = Status.ERR_INVALID  # class default, overridden per instance

    def __init__(self, status: int, text: str, name: str = "",
                 function: Optional[str] = None, detail: Optional[str] = None) -> None:
        try:
            self.status = Status(status)
        except ValueError:
            self.status = status
        self.name = name
        self.text = text
        self.function = function
        self.detail = detail
        where = f"{function}: " if function else ""
        extra = f" ({detail})" if detail else ""
        tag = f" [{name}]" if name else ""
        super().__init__(f"{where}{text}{extra}{tag}")


class InvalidArgument(CloudschedError, ValueError):
    """CS_ERR_INVALID: NULL, NaN, Inf, negative or out-of-range value, time going backwards."""


class OutOfMemory(CloudschedError, MemoryError):
    """CS_ERR_NOMEM: the allocator failed; nothing changed."""


class NotFound(CloudschedError, LookupError):
    """CS_ERR_NOT_FOUND: unknown id (node, allocation, task, tenant, key) or empty queue."""


class AlreadyExists(CloudschedError):
    """CS_ERR_EXISTS: the id is already in use."""


class OutOfCapacity(CloudschedError):
    """CS_ERR_NO_FIT: not enough free capacity for the demand."""


class Overflow(CloudschedError, OverflowError):
    """CS_ERR_OVERFLOW: an integer quantity would overflow int64_t or size_t."""


class Infeasible(CloudschedError):
    """CS_ERR_INFEASIBLE: the constraints admit no solution."""


class Singular(CloudschedError):
    """CS_ERR_SINGULAR: singular or rank-deficient system where full rank is required."""


class NotConverged(CloudschedError):
    """CS_ERR_NOT_CONVERGED: an iterative method reached its iteration limit."""


class InvalidState(CloudschedError):
    """CS_ERR_STATE: the call is not allowed in the object's current state."""


class DimensionMismatch(CloudschedError, ValueError):
    """CS_ERR_DIMENSION: array sizes or dimensions do not match."""


class BufferTooSmall(CloudschedError):
    """CS_ERR_BUFFER_TOO_SMALL: handled inside the bindings by growing the buffer."""


class Unbounded(CloudschedError):
    """CS_ERR_UNBOUNDED: the objective is unbounded below (dual infeasible)."""


class NumericalFailure(CloudschedError, ArithmeticError):
    """CS_ERR_NUMERIC: numerical breakdown (a factorisation failed)."""


class Busy(CloudschedError):
    """CS_ERR_BUSY: the object is in use (a node with allocations, a tenant with tasks)."""


class ClosedError(InvalidState):
    """The Python object was closed: its C handle may no longer be used."""


STATUS_CLASSES: Dict[int, Type[CloudschedError]] = {
    Status.ERR_INVALID: InvalidArgument,
    Status.ERR_NOMEM: OutOfMemory,
    Status.ERR_NOT_FOUND: NotFound,
    Status.ERR_EXISTS: AlreadyExists,
    Status.ERR_NO_FIT: OutOfCapacity,
    Status.ERR_OVERFLOW: Overflow,
    Status.ERR_INFEASIBLE: Infeasible,
    Status.ERR_SINGULAR: Singular,
    Status.ERR_NOT_CONVERGED: NotConverged,
    Status.ERR_STATE: InvalidState,
    Status.ERR_DIMENSION: DimensionMismatch,
    Status.ERR_BUFFER_TOO_SMALL: BufferTooSmall,
    Status.ERR_UNBOUNDED: Unbounded,
    Status.ERR_NUMERIC: NumericalFailure,
    Status.ERR_BUSY: Busy,
}


def error_for(status: int, text: str, name: str = "", function: Optional[str] = None,
              detail: Optional[str] = None) -> CloudschedError:
    """The exception instance for a status (CloudschedError itself for unknown codes)."""
    cls = STATUS_CLASSES.get(status, CloudschedError)
    return cls(status, text, name, function, detail)
