"""Runtime (or demand) prediction learned online from completed tasks, with
an error band and explicit fallbacks (C: predict.h).

Per key (tenant, user, application class) and globally, a log-linear model
log(value) ~ b0 + b . features [+ b_e log(user estimate)] is fitted by
square-root RLS. A prediction comes from the first applicable rule: the key's
model, the global model, the mean of the key's last two values (Tsafrir,
Etsion and Feitelson 2007), the user estimate.
"""

from __future__ import annotations

import enum
from ctypes import byref, c_double, c_int
from dataclasses import dataclass
from typing import List, Optional, Sequence

from . import _arrays, _lib
from ._handle import Allocator, Handle, allocator_arg
from ._lib import ID_NONE, cs_predict_model_info, cs_predict_options, lib

__all__ = ["PredictSource", "PredictFallback", "Prediction", "ModelInfo", "Predictor",
           "extend_estimate"]


class PredictSource(enum.IntEnum):
    """Which rule produced a prediction (``cs_predict_source``)."""

    MODEL = 1    #: the key's own model
    GLOBAL = 2   #: the global model over all keys
    HISTORY = 3  #: mean of the key's last two observed values
    USER = 4     #: the user estimate


class PredictFallback(enum.IntEnum):
    """Order of the simple rules once no model applies."""

    HISTORY = 0  #: history first, then the user estimate
    USER = 1     #: user estimate first, then the history


@dataclass(frozen=True)
class Prediction:
    """A prediction: the estimate, the error band's upper bound, and its source."""

    estimate: float
    upper_bound: float
    source: PredictSource


@dataclass(frozen=True)
class ModelInfo:
    """What a model knows (``cs_predict_model_info``)."""

    dim: int            #: coefficients
    samples: int        #: tasks learned from
    ready: bool         #: used for predictions
    band_count: int     #: residuals in the band window
    history_count: int  #: values kept for the history rule (0..2)


class Predictor(Handle):
    """An online runtime predictor (``cs_predict``).

    A :class:`~cloudsched.Scheduler` may borrow it (``predictor=``): every
    completion then trains it, and with ``use_predictions`` SJF/HRRN and
    backfilling use its estimates.
    """

    def __init__(self, num_features: Optional[int] = None, *,
                 estimate_feature: Optional[bool] = None,
                 min_samples: Optional[int] = None,
                 forgetting: Optional[float] = None,
                 ridge: Optional[float] = None,
                 quantile: Optional[float] = None,
                 band_window: Optional[int] = None,
                 fallback: Optional[PredictFallback] = None,
                 use_global: Optional[bool] = None,
                 cap_at_estimate: Optional[bool] = None,
                 min_value: Optional[float] = None,
                 allocator: Optional[Allocator] = None) -> None:
        """Create a predictor. ``None`` takes the library default [in brackets].

        Args:
            num_features: caller features per task, 0..64 [0].
            estimate_feature: log(user estimate) is a model feature [True].
            min_samples: tasks a model must see before use; 0 = 2 (dim + 1) [0].
            forgetting: RLS forgetting factor in (0, 1] [1].
            ridge: ridge on the coefficients, >= 0 [1e-3].
            quantile: quantile of the error band, in (0, 1) [0.9].
            band_window: residuals kept per model, 1..256 [64].
            fallback: order of the simple rules [HISTORY].
            use_global: use the global model when the key's is not ready [True].
            cap_at_estimate: never predict above a positive user estimate [True].
            min_value: floor of values before the log, > 0 [1].
            allocator: memory hooks; None = malloc.
        """
        o = _lib.init_struct(cs_predict_options)
        if num_features is not None:
            o.num_features = _lib.as_count(num_features, "num_features")
        if estimate_feature is not None:
            o.estimate_feature = int(bool(estimate_feature))
        if min_samples is not None:
            o.min_samples = _lib.as_count(min_samples, "min_samples")
        if forgetting is not None:
            o.forgetting = _lib.as_float(forgetting, "forgetting")
        if ridge is not None:
            o.ridge = _lib.as_float(ridge, "ridge")
        if quantile is not None:
            o.quantile = _lib.as_float(quantile, "quantile")
        if band_window is not None:
            o.band_window = _lib.as_count(band_window, "band_window")
        if fallback is not None:
            o.fallback = _lib.as_enum(PredictFallback, fallback, "fallback")
        if use_global is not None:
            o.use_global = int(bool(use_global))
        if cap_at_estimate is not None:
            o.cap_at_estimate = int(bool(cap_at_estimate))
        if min_value is not None:
            o.min_value = _lib.as_float(min_value, "min_value")
        out = _lib.new_handle()
        lib.cs_predict_create(byref(o), allocator_arg(allocator), byref(out))
        self._adopt(out.value, "cs_predict_destroy", allocator=allocator)
        self._nf = o.num_features

    @property
    def num_features(self) -> int:
        """Caller features per task."""
        self._h()
        return self._nf

    def _features(self, features: Optional[Sequence[float]]):  # type: ignore[no-untyped-def]
        if features is None:
            return None, 0
        return _arrays.f64_vector(features, "features")

    def observe(self, key: int, actual: float, features: Optional[Sequence[float]] = None,
                user_estimate: float = 0.0) -> None:
        """Learn from a completed task.

        Args:
            key: task group (tenant, user, application class).
            actual: the observed value, >= 0.
            features: the task's features, or None (then only the history learns).
            user_estimate: the user's estimate (> 0), or 0 when unknown.

        Raises:
            InvalidArgument, DimensionMismatch (feature count), OutOfMemory.
        """
        h = self._h()
        f, n = self._features(features)
        lib.cs_predict_observe(h, _lib.as_id(key, "key"), f, n,
                               _lib.as_float(user_estimate, "user_estimate"),
                               _lib.as_float(actual, "actual"))

    def estimate(self, key: int, features: Optional[Sequence[float]] = None,
                 user_estimate: float = 0.0) -> Prediction:
        """Predict the value for a task.

        Raises:
            NotFound: no rule applies (no ready model, no history for the key,
                no user estimate).
            InvalidArgument, DimensionMismatch.
        """
        h = self._h()
        f, n = self._features(features)
        est, upper, source = c_double(), c_double(), c_int()
        lib.cs_predict_estimate(h, _lib.as_id(key, "key"), f, n,
                                _lib.as_float(user_estimate, "user_estimate"),
                                byref(est), byref(upper), byref(source))
        return Prediction(est.value, upper.value, PredictSource(source.value))

    def model_info(self, key: Optional[int] = None) -> ModelInfo:
        """Describe a key's model, or the global model when key is None."""
        info = _lib.init_struct(cs_predict_model_info)
        k = ID_NONE if key is None else _lib.as_id(key, "key")
        lib.cs_predict_get_model_info(self._h(), k, byref(info))
        return ModelInfo(info.dim, info.samples, bool(info.ready), info.band_count,
                         info.history_count)

    def coefficients(self, key: Optional[int] = None) -> List[float]:
        """A model's coefficients (log space: intercept, features, log estimate).

        Raises:
            NotFound: key never observed. InvalidState: no sample with features yet.
        """
        h = self._h()
        k = ID_NONE if key is None else _lib.as_id(key, "key")
        buf, count = _lib.fill_buffer(
            c_double, lambda b, cap, cnt: lib.cs_predict_coefficients(h, k, b, cap, cnt),
            capacity=self._nf + 2)
        return list(buf[:count])

    @property
    def num_keys(self) -> int:
        """Distinct keys observed."""
        return lib.cs_predict_num_keys(self._h())

    def __repr__(self) -> str:
        if self._closed:
            return "<Predictor closed>"
        return f"<Predictor num_features={self._nf} keys={self.num_keys}>"


def extend_estimate(estimate: float, elapsed: float, user_estimate: float = 0.0) -> float:
    """New estimate for a task that outlived its estimate (``cs_predict_extend``):
    doubled until it exceeds ``elapsed``, but not beyond a user estimate that is
    still ahead."""
    out = c_double()
    lib.cs_predict_extend(_lib.as_float(estimate, "estimate"),
                          _lib.as_float(elapsed, "elapsed"),
                          _lib.as_float(user_estimate, "user_estimate"), byref(out))
    return out.value


def source_name(source: int) -> str:
    """The library's name of a source, e.g. "model"."""
    return lib.cs_predict_source_name(int(source)).decode()
