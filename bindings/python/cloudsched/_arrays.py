"""Conversion of Python sequences and numpy arrays to C arrays.

numpy is optional. A numpy array of the right dtype whose memory the C API
can describe (contiguous vectors; matrices in C or Fortran order, or slices
of them, through the layout and leading-dimension arguments) is passed by
pointer, without a copy. Anything else is copied into a ctypes array.

Every helper returns an object that keeps the memory alive: hold it until
the C call returns.
"""

from __future__ import annotations

from ctypes import POINTER, c_double, c_int64, c_uint32, c_uint64
from typing import Any, List, NamedTuple, Optional, Sequence, Tuple

from . import _lib
from ._lib import COL_MAJOR, ROW_MAJOR, Status, raise_status

try:  # numpy is optional
    import numpy as np
except ImportError:  # pragma: no cover - exercised where numpy is absent
    np = None  # type: ignore[assignment]

HAVE_NUMPY = np is not None


def is_ndarray(x: Any) -> bool:
    """True for a numpy array (False when numpy is not installed)."""
    return np is not None and isinstance(x, np.ndarray)


def _vector_length(x: Any, what: str) -> int:
    try:
        return len(x)
    except TypeError:
        raise_status(Status.ERR_INVALID, None, f"{what} must be a sequence")
    raise AssertionError  # unreachable


def f64_vector(x: Any, what: str, n: Optional[int] = None) -> Tuple[Any, int]:
    """A double vector: ``(pointer-compatible object, length)``.

    A 1-D contiguous float64 numpy array is passed as is. ``n``, when given,
    is the required length (DimensionMismatch otherwise).
    """
    if is_ndarray(x):
        if x.ndim != 1:
            raise_status(Status.ERR_DIMENSION, None, f"{what} must be one-dimensional")
        if x.dtype != np.float64 or not x.flags.c_contiguous:
            x = np.ascontiguousarray(x, dtype=np.float64)
        length = x.shape[0]
        if n is not None:
            _lib.check_dimension(what, length, n)
        return x.ctypes.data_as(POINTER(c_double)), length
    length = _vector_length(x, what)
    if n is not None:
        _lib.check_dimension(what, length, n)
    try:
        return (c_double * length)(*x), length
    except TypeError:
        raise_status(Status.ERR_INVALID, None, f"{what} must hold numbers")
    raise AssertionError  # unreachable


def i64_vector(x: Any, what: str, n: Optional[int] = None) -> Tuple[Any, int]:
    """An int64 vector (range-checked; an int64 numpy array is passed as is)."""
    if is_ndarray(x):
        if x.ndim != 1:
            raise_status(Status.ERR_DIMENSION, None, f"{what} must be one-dimensional")
        if x.dtype != np.int64 or not x.flags.c_contiguous:
            if x.dtype.kind not in "iub":
                raise_status(Status.ERR_INVALID, None, f"{what} must hold integers")
            x = np.ascontiguousarray(x, dtype=np.int64)
        length = x.shape[0]
        if n is not None:
            _lib.check_dimension(what, length, n)
        return x.ctypes.data_as(POINTER(c_int64)), length
    length = _vector_length(x, what)
    if n is not None:
        _lib.check_dimension(what, length, n)
    return (c_int64 * length)(*[_lib.as_i64(v, what) for v in x]), length


def u64_vector(x: Any, what: str) -> Tuple[Any, int]:
    """A uint64 id vector (each a valid id)."""
    length = _vector_length(x, what)
    return (c_uint64 * length)(*[_lib.as_id(v, what) for v in x]), length


def u32_vector(x: Any, what: str) -> Tuple[Any, int]:
    """A uint32 vector."""
    length = _vector_length(x, what)
    return (c_uint32 * length)(*[_lib.as_u32(v, what) for v in x]), length


def optional_f64(x: Any, what: str, n: Optional[int] = None) -> Any:
    """f64_vector's pointer, or None (NULL) for None."""
    return None if x is None else f64_vector(x, what, n)[0]


class Matrix(NamedTuple):
    """A matrix as the C API takes it."""

    layout: int      #: ROW_MAJOR or COL_MAJOR
    data: Any        #: pointer-compatible object owning or referencing the memory
    ld: int          #: leading dimension
    rows: int
    cols: int


def f64_matrix(x: Any, what: str, layout: Optional[int] = None) -> Matrix:
    """A double matrix, without a copy when it is a suitable numpy array.

    A 1-D input is one column (n x 1). ``layout`` forces a layout (the
    matrix is copied into it when its memory has the other one).
    """
    if is_ndarray(x):
        if x.ndim == 1:
            x = x.reshape(-1, 1)
        if x.ndim != 2:
            raise_status(Status.ERR_DIMENSION, None, f"{what} must be two-dimensional")
        if x.dtype != np.float64:
            x = np.ascontiguousarray(x, dtype=np.float64)
        rows, cols = x.shape
        s0, s1 = x.strides
        item = 8
        # Row-major with a leading dimension: unit stride along a row (or one
        # column), a positive row stride that is a whole number of doubles.
        row_ok = ((cols == 1 or s1 == item) and (rows == 1 or (s0 > 0 and s0 % item == 0
                                                               and s0 // item >= cols)))
        col_ok = ((rows == 1 or s0 == item) and (cols == 1 or (s1 > 0 and s1 % item == 0
                                                               and s1 // item >= rows)))
        if layout in (None, ROW_MAJOR) and row_ok:
            ld = cols if rows == 1 else max(s0 // item, cols)
            return Matrix(ROW_MAJOR, x.ctypes.data_as(POINTER(c_double)), max(ld, 1),
                          rows, cols)
        if layout in (None, COL_MAJOR) and col_ok:
            ld = rows if cols == 1 else max(s1 // item, rows)
            return Matrix(COL_MAJOR, x.ctypes.data_as(POINTER(c_double)), max(ld, 1),
                          rows, cols)
        if layout == COL_MAJOR:
            x = np.asfortranarray(x)
            return Matrix(COL_MAJOR, x.ctypes.data_as(POINTER(c_double)), max(rows, 1),
                          rows, cols)
        x = np.ascontiguousarray(x)
        return Matrix(ROW_MAJOR, x.ctypes.data_as(POINTER(c_double)), max(cols, 1),
                      rows, cols)
    rows = _vector_length(x, what)
    table: List[Sequence[float]] = []
    cols = -1
    for i, row in enumerate(x):
        if isinstance(row, (int, float)) or not hasattr(row, "__len__"):
            row = (row,)
        if cols < 0:
            cols = len(row)
        elif len(row) != cols:
            raise_status(Status.ERR_DIMENSION, None,
                         f"{what}: row {i} has {len(row)} entries, row 0 has {cols}")
        table.append(row)
    cols = max(cols, 0)
    try:
        if layout == COL_MAJOR:
            flat = [float(table[i][j]) for j in range(cols) for i in range(rows)]
            return Matrix(COL_MAJOR, (c_double * (rows * cols))(*flat), max(rows, 1),
                          rows, cols)
        flat = [float(v) for row in table for v in row]
    except (TypeError, ValueError):
        raise_status(Status.ERR_INVALID, None, f"{what} must hold numbers")
    return Matrix(ROW_MAJOR, (c_double * (rows * cols))(*flat), max(cols, 1), rows, cols)


class Output:
    """An output array of doubles (or int64 with ``integer``) in C order:
    numpy memory when numpy results are wanted, else a ctypes array whose
    value() is a (nested) list."""

    def __init__(self, shape: Tuple[int, ...], use_numpy: bool,
                 integer: bool = False) -> None:
        self.shape = shape
        count = 1
        for s in shape:
            count *= s
        ctype = c_int64 if integer else c_double
        if use_numpy and np is not None:
            self.array: Any = np.empty(shape, dtype=np.int64 if integer else np.float64)
            self.ptr: Any = self.array.ctypes.data_as(POINTER(ctype))
        else:
            self.array = (ctype * max(count, 1))()
            self.ptr = self.array

    def value(self) -> Any:
        """The result: the numpy array, or a (nested) list in C order."""
        if np is not None and isinstance(self.array, np.ndarray):
            return self.array
        flat = list(self.array)
        if len(self.shape) == 1:
            return flat[: self.shape[0]]
        rows, cols = self.shape
        return [flat[i * cols:(i + 1) * cols] for i in range(rows)]


def f64_rows(x: Any, what: str, rows: Optional[int] = None,
             cols: Optional[int] = None) -> Tuple[Any, int, int]:
    """A dense row-major double matrix for APIs without a leading dimension:
    a C-contiguous float64 numpy array is passed as is, anything else is
    copied. Returns ``(pointer, rows, cols)``."""
    if is_ndarray(x) and x.ndim == 2:
        if x.dtype != np.float64 or not x.flags.c_contiguous:
            x = np.ascontiguousarray(x, dtype=np.float64)
        m = Matrix(ROW_MAJOR, x.ctypes.data_as(POINTER(c_double)), x.shape[1], x.shape[0],
                   x.shape[1])
    else:
        m = f64_matrix(x, what, ROW_MAJOR)  # a dense copy: ld == cols
    if rows is not None:
        _lib.check_dimension(f"{what} rows", m.rows, rows)
    if cols is not None:
        _lib.check_dimension(f"{what} columns", m.cols, cols)
    return m.data, m.rows, m.cols


def i64_rows(x: Any, what: str, rows: Optional[int] = None,
             cols: Optional[int] = None) -> Tuple[Any, int, int]:
    """A dense row-major int64 matrix (range-checked), numpy int64 passed as is."""
    if is_ndarray(x):
        if x.ndim != 2:
            raise_status(Status.ERR_DIMENSION, None, f"{what} must be two-dimensional")
        if x.dtype.kind not in "iub":
            raise_status(Status.ERR_INVALID, None, f"{what} must hold integers")
        if x.dtype != np.int64 or not x.flags.c_contiguous:
            x = np.ascontiguousarray(x, dtype=np.int64)
        r, c = x.shape
        data: Any = x.ctypes.data_as(POINTER(c_int64))
    else:
        table = [list(row) for row in x]
        r = len(table)
        c = len(table[0]) if r else 0
        for i, row in enumerate(table):
            if len(row) != c:
                raise_status(Status.ERR_DIMENSION, None,
                             f"{what}: row {i} has {len(row)} entries, row 0 has {c}")
        data = (c_int64 * max(r * c, 1))(*[_lib.as_i64(v, what) for row in table
                                           for v in row])
    if rows is not None:
        _lib.check_dimension(f"{what} rows", r, rows)
    if cols is not None:
        _lib.check_dimension(f"{what} columns", c, cols)
    return data, r, c


def wants_numpy(*inputs: Any) -> bool:
    """Results are numpy arrays when any array input was one."""
    return any(is_ndarray(x) for x in inputs)


def labels_array(labels: Any, what: str) -> Tuple[Any, int, List[bytes]]:
    """A cs_label array from a mapping or (key, value) pairs; value None = key present.

    Returns ``(array or None, count, keepalive)``; the bytes in keepalive back
    the C strings and must live as long as the array is used.
    """
    if labels is None:
        return None, 0, []
    items = list(labels.items()) if hasattr(labels, "items") else list(labels)
    arr = (_lib.cs_label * len(items))()
    keep: List[bytes] = []
    for i, item in enumerate(items):
        try:
            key, value = item
        except (TypeError, ValueError):
            raise_status(Status.ERR_INVALID, None, f"{what} must map keys to values")
        k = _lib.encode(key, f"{what} key")
        keep.append(k)
        arr[i].key = k
        if value is not None:
            v = _lib.encode(value, f"{what} value")
            keep.append(v)
            arr[i].value = v
    return (arr if items else None), len(items), keep

