"""XGBoost members compiled for serving: the booster's trees walked with numpy, same floats.

Why: ``Booster.inplace_predict`` costs ~0.3 ms for one row of an 800-tree
model (measured in-process on 2 cores), where walking the same trees with numpy
takes ~0.06 ms: the served case pays XGBoost's fixed cost per call, not the
walk. :class:`CompiledXGBoost` reads the trees out of the booster's own binary
model (UBJSON, so every threshold and leaf value is the float32 XGBoost stores,
not a decimal round trip), walks them all at once with ``_compile._leaves`` and
redoes XGBoost's arithmetic step by step:

- input cast to float32; a node sends ``x < split_condition`` (strict) left and
  missing values to its default child, so ``_leaves``' ``x <= t`` gets the next
  float32 below each split condition;
- the margin starts at the base margin XGBoost itself derives from
  ``base_score`` (read back from XGBoost, not recomputed: the formula changes
  between versions) and adds the trees' leaf values in float32, tree by tree;
- binary:logistic is ``1 / (expf(min(-m, 88.7)) + 1 + 1e-16)`` in float32,
  multi:softprob is ``expf(m - max) / float(sum in double)``, with ``expf``
  from the C math library XGBoost itself links (numpy's float32 ``exp`` is a
  different implementation and can differ in the last bit).

Anything else (dart, other objectives, categorical splits, vector leaves) is
not compiled, and :func:`_compile.compile_members` still uses a compiled
member only when its answers are identical to the booster's.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import json
from collections.abc import Callable
from typing import Any

import numpy as np
from automl_local.service._compile import _columns, _leaves, _self_loops, _Walked

__all__ = ["CompiledXGBoost"]

_OBJECTIVES = ("binary:logistic", "multi:softprob")
_NO_PARENT = 2147483647  # XGBoost's parent id of a root
_NUMBERS = {b"i": ">i1", b"U": ">u1", b"I": ">i2", b"l": ">i4", b"L": ">i8", b"d": ">f4",
            b"D": ">f8"}  # fmt: skip


class _UBJSON:
    """A reader of the UBJSON XGBoost writes (``save_raw("ubj")``), typed arrays as numpy.

    Why not ``save_raw("json")``: JSON gives floats as decimal text; UBJSON
    gives XGBoost's float32 bits, so nothing depends on decimal rounding.
    """

    def __init__(self, data: bytes) -> None:
        self.data = memoryview(data)
        self.pos = 0

    def _marker(self) -> bytes:
        marker = self.data[self.pos:self.pos + 1].tobytes()
        self.pos += 1
        return marker

    def _number(self, marker: bytes) -> int | float:
        dtype = np.dtype(_NUMBERS[marker])
        value = np.frombuffer(self.data, dtype, 1, self.pos)[0].item()
        self.pos += dtype.itemsize
        return value  # type: ignore[no-any-return]

    def _text(self) -> str:
        size = int(self._number(self._marker()))
        text = self.data[self.pos:self.pos + size].tobytes().decode()
        self.pos += size
        return text

    def value(self, marker: bytes | None = None) -> Any:
        marker = self._marker() if marker is None else marker
        if marker in _NUMBERS:
            return self._number(marker)
        if marker == b"S":
            return self._text()
        if marker in (b"T", b"F", b"Z"):
            return {b"T": True, b"F": False, b"Z": None}[marker]
        if marker == b"{":
            obj = {}
            while self.data[self.pos:self.pos + 1] != b"}":
                key = self._text()
                obj[key] = self.value()
            self.pos += 1
            return obj
        if marker == b"[":
            return self._array()
        raise ValueError(f"UBJSON marker {marker!r} at byte {self.pos - 1} is not supported")

    def _array(self) -> Any:
        kind = None
        if self.data[self.pos:self.pos + 1] == b"$":
            self.pos += 1
            kind = self._marker()
        if self.data[self.pos:self.pos + 1] != b"#":
            items = []
            while self.data[self.pos:self.pos + 1] != b"]":
                items.append(self.value())
            self.pos += 1
            return items
        self.pos += 1
        count = int(self._number(self._marker()))
        if kind in _NUMBERS:
            dtype = np.dtype(_NUMBERS[kind])
            array = np.frombuffer(self.data, dtype, count, self.pos)
            array = array.astype(dtype.newbyteorder("="))  # native byte order
            self.pos += count * dtype.itemsize
            return array
        return [self.value(kind) for _ in range(count)]


@functools.cache
def _expf() -> Callable[[float], float] | None:
    """The C library's ``expf`` (the one XGBoost calls), or None where it cannot be found."""
    libm: ctypes.CDLL | None
    try:
        libm = ctypes.CDLL("libm.so.6")  # glibc; find_library would run ldconfig
    except OSError:
        name = ctypes.util.find_library("m")
        try:
            libm = ctypes.CDLL(name) if name else None
        except OSError:
            libm = None
    expf = getattr(libm, "expf", None)
    if expf is None:
        return None
    expf.restype = ctypes.c_float
    expf.argtypes = [ctypes.c_float]
    return expf  # type: ignore[no-any-return]


def _base_margin(booster: Any) -> np.ndarray:
    """The margin XGBoost starts every row at, one per class, asked of XGBoost itself.

    The first round's trees with every leaf set to 0 predict exactly that margin.
    """
    import xgboost

    model = json.loads(bytes(booster[0:1].save_raw("json")))
    for tree in model["learner"]["gradient_booster"]["model"]["trees"]:
        tree["split_conditions"] = [0.0 if child == -1 else value for child, value in zip(
            tree["left_children"], tree["split_conditions"], strict=True)]  # fmt: skip
    zeroed = xgboost.Booster({"nthread": 1}, model_file=bytearray(json.dumps(model).encode()))
    width = int(booster.num_features())
    margin = zeroed.inplace_predict(np.zeros((1, width), np.float32), predict_type="margin")
    return np.asarray(margin, np.float32).reshape(-1)


class CompiledXGBoost(_Walked):
    """``predict_proba`` of an XGBoost ``BoosterClassifier`` member, all trees walked at once."""

    walk_cells = 4096  # XGBoost's own walk is faster from ~5 rows of 800 trees

    def __init__(self, member: Any, learner: dict[str, Any]) -> None:
        self.model = member
        self._objective = str(learner["objective"]["name"])
        self.n_features_in_ = int(learner["learner_model_param"]["num_feature"])
        gbtree = learner["gradient_booster"]["model"]
        trees = gbtree["trees"]
        group = np.asarray(gbtree["tree_info"], np.intp)
        self.n_trees = len(trees)
        sizes = [len(t["left_children"]) for t in trees]
        offsets = np.cumsum([0, *sizes[:-1]])
        shift = np.repeat(offsets, sizes)
        left = np.concatenate([t["left_children"] for t in trees]).astype(np.intp)
        right = np.concatenate([t["right_children"] for t in trees]).astype(np.intp)
        leaf = left == -1
        self._left, self._right = _self_loops(left + shift, right + shift, leaf)
        self._roots = offsets.astype(np.intp)
        feature = np.where(leaf, 0, np.concatenate([t["split_indices"] for t in trees]))
        default_left = np.concatenate([t["default_left"] for t in trees]).astype(bool)
        self._column = _columns(feature.astype(np.intp), default_left, self.n_features_in_)
        condition = np.concatenate([t["split_conditions"] for t in trees]).astype(np.float32)
        # x < c  <=>  x <= (the float32 just below c), for float32 x
        self._threshold = np.nextafter(condition, np.float32(-np.inf)).astype(np.float64)
        self._value = condition  # a leaf's split_condition holds its value
        parents = np.concatenate([t["parents"] for t in trees]).astype(np.int64)
        self._depth = self._deepest(np.where(parents == _NO_PARENT, -1, parents + shift))
        self._groups = [np.flatnonzero(group == k) for k in range(int(group.max()) + 1)]
        self._base = _base_margin(member.booster)

    @staticmethod
    def _deepest(parent: np.ndarray) -> int:
        """The depth of the deepest node (roots have parent -1 and depth 0)."""
        depth = np.zeros(len(parent), np.intp)
        has_parent = parent >= 0
        while True:
            deeper = np.where(has_parent, depth[np.maximum(parent, 0)] + 1, 0)
            if np.array_equal(deeper, depth):
                return int(depth.max())
            depth = deeper

    @classmethod
    def from_member(cls, member: Any) -> CompiledXGBoost | None:
        """The compiled member, or None when its model is outside what is reproduced exactly.

        The member is read by its state (models are pickled by value, so its
        class is not this project's class object): ``library`` "xgboost" and a
        ``booster``.
        """
        booster: Any = getattr(member, "booster", None)
        if getattr(member, "library", None) != "xgboost" or not hasattr(booster, "save_raw"):
            return None
        if _expf() is None or booster.num_boosted_rounds() == 0:
            return None
        learner = _UBJSON(bytes(booster.save_raw("ubj"))).value()["learner"]
        params = learner["learner_model_param"]
        if (learner["objective"]["name"] not in _OBJECTIVES
                or learner["gradient_booster"]["name"] != "gbtree"
                or int(params.get("num_target", 1)) != 1):  # fmt: skip
            return None
        for tree in learner["gradient_booster"]["model"]["trees"]:
            if np.any(tree["split_type"]) or int(tree["tree_param"]["size_leaf_vector"]) > 1:
                return None  # categorical splits, vector leaves
        return cls(member, learner)

    def _margins(self, X: np.ndarray) -> np.ndarray:
        node = _leaves(X, self._roots, self._column, self._threshold, self._left, self._right,
                       self._depth)  # fmt: skip
        values = self._value[node]  # (rows, trees) float32
        margins = np.empty((len(X), len(self._groups)), np.float32)
        for k, trees in enumerate(self._groups):
            start = np.full((len(X), 1), self._base[k], np.float32)
            # float32, tree after tree, as XGBoost adds them
            margins[:, k] = np.cumsum(np.hstack([start, values[:, trees]]), axis=1,
                                      dtype=np.float32)[:, -1]  # fmt: skip
        return margins

    @staticmethod
    def _exp(x: np.ndarray) -> np.ndarray:
        expf = _expf()  # looked up per call (cached), so the member stays picklable
        assert expf is not None  # from_member checked
        return np.array([expf(v) for v in x.ravel().tolist()], np.float32).reshape(x.shape)

    def walk_proba(self, X: np.ndarray) -> np.ndarray:
        X = X.astype(np.float32).astype(np.float64)  # XGBoost reads float32
        margins = self._margins(X)
        if self._objective == "binary:logistic":
            e = self._exp(np.minimum(-margins[:, 0], np.float32(88.7)))
            p = (np.float32(1.0) / (e + np.float32(1.0) + np.float32(1e-16))).astype(np.float64)
            return np.column_stack([1.0 - p, p])  # as BoosterClassifier
        e = self._exp(margins - margins.max(axis=1, keepdims=True))
        total = np.cumsum(e.astype(np.float64), axis=1)[:, -1]  # a double sum, class by class
        return np.asarray(e / total.astype(np.float32)[:, None], np.float64)
