"""Lifetime of C handles: close(), context manager, garbage collection, borrowing.

Some handles borrow others: a Scheduler uses its Pool (and Predictor), a Queue
its Fair handle, and the C library requires the lender to outlive the
borrower. The bindings make that hold whatever the caller does:

* a borrower keeps a Python reference to each lender, so plain reference
  counting can never free a lender first;
* each lender counts its open borrowers; ``close()`` on a lender that still
  has borrowers makes the Python object unusable at once but defers the C
  destroy until the last borrower is destroyed. This also covers garbage
  collection of reference cycles, where finalizers run in arbitrary order.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from typing import Any, Callable, Dict, Optional, Sequence

from ._lib import ALLOC_FN, FREE_FN, REALLOC_FN, closed_error, cs_allocator, lib

__all__ = ["Allocator", "CountingAllocator"]


class Handle:
    """Base of every object that owns a C handle."""

    # Class-level defaults so that __del__ is safe when __init__ failed early.
    _ptr: Optional[int] = None
    _closed: bool = True
    _borrowers: int = 0
    _lenders: Sequence["Handle"] = ()
    _destroy: Optional[Callable[[int], None]] = None
    _allocator: Optional["Allocator"] = None

    def _adopt(self, ptr: int, destroy_name: str, lenders: Sequence["Handle"] = (),
               allocator: Optional["Allocator"] = None) -> None:
        """Take ownership of a freshly created C handle."""
        self._destroy = getattr(lib, destroy_name)
        self._allocator = allocator  # its callbacks must outlive the C handle
        self._lenders = tuple(lenders)
        for lender in self._lenders:
            lender._borrowers += 1
        self._ptr = ptr
        self._closed = False

    def _h(self) -> int:
        """The C handle; raises ClosedError after close()."""
        if self._closed:
            raise closed_error(type(self).__name__)
        return self._ptr  # type: ignore[return-value]

    @property
    def closed(self) -> bool:
        """True once close() was called."""
        return self._closed

    def close(self) -> None:
        """Release the C handle. Idempotent: closing twice is a no-op.

        If another object still borrows this one (a Scheduler its Pool, a
        Queue its Fair), the C handle is destroyed when the last borrower is;
        this object is unusable from now on either way.
        """
        self._closed = True
        self._release_if_unused()

    def _release_if_unused(self) -> None:
        if not self._closed or self._borrowers > 0 or self._ptr is None:
            return
        ptr, self._ptr = self._ptr, None
        if self._destroy is not None:
            self._destroy(ptr)
        lenders, self._lenders = self._lenders, ()
        for lender in lenders:
            lender._borrowers -= 1
            lender._release_if_unused()

    def __enter__(self):  # type: ignore[no-untyped-def]
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # interpreter shutdown: nothing sensible to do
            pass


def _libc() -> ctypes.CDLL:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else ctypes.CDLL(None)
    except OSError:  # pragma: no cover - Windows
        libc = ctypes.cdll.msvcrt
    libc.malloc.restype = ctypes.c_void_p
    libc.malloc.argtypes = [ctypes.c_size_t]
    libc.realloc.restype = ctypes.c_void_p
    libc.realloc.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    libc.free.restype = None
    libc.free.argtypes = [ctypes.c_void_p]
    return libc


class Allocator:
    """Memory hooks given to a handle at creation (the C ``cs_allocator``).

    The default implementation forwards to the C library's malloc, realloc
    and free. Subclass and override :meth:`alloc`, :meth:`realloc` and
    :meth:`free` (addresses are ints; return 0 for failure) to account for or
    restrict the memory a handle uses. The handle keeps the allocator alive
    as long as it needs it. Calls go through Python, so they are slow: use an
    allocator for measurement and testing, not in hot loops.
    """

    _libc: Optional[ctypes.CDLL] = None

    def __init__(self) -> None:
        if Allocator._libc is None:
            Allocator._libc = _libc()
        self._cfuncs = (ALLOC_FN(self._alloc_cb), REALLOC_FN(self._realloc_cb),
                        FREE_FN(self._free_cb))
        self._struct = cs_allocator(self._cfuncs[0], self._cfuncs[1], self._cfuncs[2], None)

    def alloc(self, size: int) -> int:
        """Allocate size bytes; return the address, or 0 on failure."""
        return self._libc.malloc(size) or 0  # type: ignore[union-attr]

    def realloc(self, ptr: int, size: int) -> int:
        """Resize a block; return the new address, or 0 (ptr stays valid)."""
        return self._libc.realloc(ptr, size) or 0  # type: ignore[union-attr]

    def free(self, ptr: int) -> None:
        """Free a block (ptr may be 0)."""
        self._libc.free(ptr)  # type: ignore[union-attr]

    # ctypes callbacks: never let a Python exception cross into C.
    def _alloc_cb(self, ctx: Any, size: int) -> Optional[int]:
        try:
            return self.alloc(size) or None
        except Exception:
            return None

    def _realloc_cb(self, ctx: Any, ptr: int, size: int) -> Optional[int]:
        try:
            return self.realloc(ptr, size) or None
        except Exception:
            return None

    def _free_cb(self, ctx: Any, ptr: Optional[int]) -> None:
        try:
            self.free(ptr or 0)
        except Exception:
            pass

    def _as_struct(self) -> Any:
        return ctypes.byref(self._struct)


class CountingAllocator(Allocator):
    """An Allocator that counts requests and bytes, and can fail on purpose.

    Attributes:
        requests: alloc and realloc calls so far.
        in_use: bytes currently allocated.
        peak: the largest in_use seen.
        fail_at: when set, the request with this 1-based number fails (returns
            NULL), as the C tests' failing allocator does; every later request
            succeeds. ``fail_after`` makes every request after that many fail.
    """

    def __init__(self, fail_at: Optional[int] = None,
                 fail_after: Optional[int] = None) -> None:
        super().__init__()
        self.fail_at = fail_at
        self.fail_after = fail_after
        self.requests = 0
        self.in_use = 0
        self.peak = 0
        self._sizes: Dict[int, int] = {}

    def _fails(self) -> bool:
        self.requests += 1
        if self.fail_at is not None and self.requests == self.fail_at:
            return True
        return self.fail_after is not None and self.requests > self.fail_after

    def alloc(self, size: int) -> int:
        if self._fails():
            return 0
        p = super().alloc(size)
        if p:
            self._sizes[p] = size
            self.in_use += size
            self.peak = max(self.peak, self.in_use)
        return p

    def realloc(self, ptr: int, size: int) -> int:
        if self._fails():
            return 0
        p = super().realloc(ptr, size)
        if p:
            self.in_use += size - self._sizes.pop(ptr, 0)
            self._sizes[p] = size
            self.peak = max(self.peak, self.in_use)
        return p

    def free(self, ptr: int) -> None:
        if ptr:
            self.in_use -= self._sizes.pop(ptr, 0)
        super().free(ptr)


def allocator_arg(allocator: Optional[Allocator]) -> Any:
    """The argument for a ``const cs_allocator *`` parameter (None = malloc)."""
    return None if allocator is None else allocator._as_struct()

