"""Serving-time speed-ups of a loaded model's members, proven equal before they are used.

Why: a one-row prediction of scikit-learn's HistGradientBoostingClassifier
calls one Cython predictor per tree (159 trees in the bank-marketing
VotingEnsemble: ~0.75 ms of its ~1.6 ms). :class:`CompiledHistGradientBoosting`
walks all trees of a class at once with numpy (one step per tree level) and
adds the leaf values in the same order as scikit-learn (``np.cumsum`` is
sequential), so its probabilities are the same floats, not merely close.

:func:`compile_members` swaps such members of an AutoML model (anything with
a ``members`` list of ``(family, estimator)``) in the server's in-memory copy
only, and only after checking on the model's own example row (and that row
with each feature missing) that the answers are identical; otherwise the
member is left as it is. Categorical splits are not compiled.

Random forests and extra-trees (scikit-learn's ``predict_proba`` calls one
tree at a time: 150 trees cost ~7 ms a row) get the same treatment in
:class:`CompiledForest`: the trees' node arrays are stacked, walked together,
and the per-tree probabilities summed in tree order, as scikit-learn sums them.
XGBoost members (``BoosterClassifier`` with library "xgboost") get
``_compile_xgb.CompiledXGBoost``, which redoes XGBoost's float32 arithmetic.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["CompiledForest", "CompiledHistGradientBoosting", "compile_members"]
# CompiledXGBoost lives in service/_compile_xgb.py (it needs _leaves from here).


def _columns(feature: np.ndarray, missing_left: np.ndarray, width: int) -> np.ndarray:
    """Each node's column in :func:`_leaves`'s doubled row: the copy its missing values want."""
    return np.where(missing_left, feature, feature + width).astype(np.intp)


def _self_loops(left: np.ndarray, right: np.ndarray, leaf: np.ndarray) -> tuple[np.ndarray, ...]:
    """Children with each leaf pointing to itself, so a finished row stays put (no leaf test)."""
    own = np.arange(len(leaf))
    return (np.where(leaf, own, left).astype(np.intp), np.where(leaf, own, right).astype(np.intp))


def _leaves(X: np.ndarray, roots: np.ndarray, column: np.ndarray, threshold: np.ndarray,
            left: np.ndarray, right: np.ndarray, depth: int) -> np.ndarray:
    """The leaf each row reaches in each of the stacked trees: one numpy step per tree level.

    ``depth`` is the deepest leaf's depth (the root's is 0): that many steps.

    ``x <= threshold`` goes left. Missing values cost no extra step: each row is
    laid out twice, NaN as -inf (goes left at any threshold) then NaN as is
    (compares false: goes right), and each node reads the copy that sends its
    missing values where they belong (``column``, from :func:`_columns`).
    Leaves are their own children (:func:`_self_loops`), so a row that has
    reached one stays there while deeper trees finish. One row (the served
    case) skips the per-row offsets.
    """
    both = np.hstack([np.where(np.isnan(X), -np.inf, X), X])
    if len(X) == 1:
        flat, node = both[0], roots
        for _ in range(depth):
            node = np.where(flat[column[node]] <= threshold[node], left[node], right[node])
        return node[None, :]
    offsets = (np.arange(len(X)) * both.shape[1])[:, None]
    flat, node = both.ravel(), np.broadcast_to(roots, (len(X), len(roots)))
    for _ in range(depth):
        node = np.where(flat[offsets + column[node]] <= threshold[node], left[node], right[node])
    return node


class _Walked:
    """What the compiled members share: the numpy walk for a few rows, the original for more.

    Why the limit: the walk saves the library's cost per call (the served case
    is one row), but numpy steps over (rows x trees) arrays cost more per row
    than the libraries' compiled loops, so beyond ``walk_cells`` rows x trees
    the original answers (crossovers measured on 2 cores: XGBoost ~5 rows of
    800 trees, HistGradientBoosting ~100 rows of 160 trees, a forest ~150 rows
    of 150 trees). Both give the same floats; :func:`compile_members` checks
    ``walk_proba`` itself.
    """

    model: Any
    n_features_in_: int
    n_trees: int
    walk_cells = 16384

    def predict_proba(self, X: Any) -> np.ndarray:
        X = np.asarray(X)
        if (X.ndim != 2 or X.shape[1] != self.n_features_in_ or X.dtype.kind not in "fiub"
                or len(X) * self.n_trees > self.walk_cells):  # fmt: skip
            return np.asarray(self.model.predict_proba(X))  # (and the library says what is wrong)
        return self.walk_proba(X)

    def walk_proba(self, X: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class CompiledHistGradientBoosting(_Walked):
    """``predict_proba`` of a fitted HistGradientBoostingClassifier, all trees walked at once."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.classes_ = model.classes_
        self.n_features_in_ = int(model.n_features_in_)
        self._baseline = np.asarray(model._baseline_prediction, dtype=np.float64).reshape(-1)
        self._classes = [self._stack([it[k] for it in model._predictors], self.n_features_in_)
                         for k in range(int(model.n_trees_per_iteration_))]  # fmt: skip
        self.n_trees = sum(len(it) for it in model._predictors)

    @staticmethod
    def _stack(predictors: list[Any], width: int) -> dict[str, np.ndarray]:
        nodes = [p.nodes for p in predictors]
        offsets = np.cumsum([0] + [len(n) for n in nodes[:-1]])
        flat = np.concatenate(nodes)
        shift = np.repeat(offsets, [len(n) for n in nodes])
        leaf = flat["is_leaf"].astype(bool)
        left, right = _self_loops(flat["left"] + shift, flat["right"] + shift, leaf)
        return {
            "roots": offsets.astype(np.intp),
            "column": _columns(flat["feature_idx"].astype(np.intp),
                               flat["missing_go_to_left"].astype(bool), width),
            "threshold": flat["num_threshold"].astype(np.float64),
            "left": left,
            "right": right,
            "value": flat["value"].astype(np.float64),
            "depth": np.asarray(int(flat["depth"].max())),  # root at 0: steps to the deepest leaf
        }

    @staticmethod
    def compilable(model: Any) -> bool:
        """Plain numeric splits, raw (unbinned) input, no built-in preprocessing."""
        try:
            predictors = model._predictors
            return (
                getattr(model, "_preprocessor", None) is None
                and not any(p.nodes["is_categorical"].any() for it in predictors for p in it)
                and hasattr(model, "_loss")
            )
        except (AttributeError, TypeError, ValueError):
            return False

    def _raw(self, X: np.ndarray) -> np.ndarray:
        raw = np.empty((len(X), len(self._classes)), dtype=np.float64)
        for k, tree in enumerate(self._classes):
            node = _leaves(X, tree["roots"], tree["column"], tree["threshold"], tree["left"],
                           tree["right"], int(tree["depth"]))  # fmt: skip
            leaves = tree["value"][node]
            start = np.full((len(X), 1), self._baseline[k])
            raw[:, k] = np.cumsum(np.hstack([start, leaves]), axis=1)[:, -1]  # sequential sum
        return raw

    def walk_proba(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(self.model._loss.predict_proba(self._raw(np.asarray(X, np.float64))))

    def predict(self, X: Any) -> np.ndarray:
        return np.asarray(self.classes_)[self.predict_proba(X).argmax(axis=1)]


class CompiledForest(_Walked):
    """``predict_proba`` of a fitted single-output RandomForest / ExtraTrees classifier."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.classes_ = model.classes_
        self.n_features_in_ = int(model.n_features_in_)
        trees = [e.tree_ for e in model.estimators_]
        self.n_trees = len(trees)
        sizes = [t.node_count for t in trees]
        offsets = np.cumsum([0, *sizes[:-1]])
        shift = np.repeat(offsets, sizes)
        left = np.concatenate([t.children_left for t in trees])
        right = np.concatenate([t.children_right for t in trees])
        leaf = left == -1
        self._left, self._right = _self_loops(left + shift, right + shift, leaf)
        self._roots = offsets.astype(np.intp)
        feature = np.where(leaf, 0, np.concatenate([t.feature for t in trees])).astype(np.intp)
        missing_left = np.concatenate([np.asarray(t.missing_go_to_left, bool) for t in trees])
        self._column = _columns(feature, missing_left, self.n_features_in_)
        self._threshold = np.concatenate([t.threshold for t in trees]).astype(np.float64)
        n_classes = int(model.n_classes_)
        self._value = np.concatenate([t.value[:, 0, :n_classes] for t in trees])
        self._depth = max(int(t.max_depth) for t in trees)  # root to deepest leaf, in steps

    @staticmethod
    def compilable(model: Any) -> bool:
        """One output, and trees that keep which way missing values go (scikit-learn >= 1.3)."""
        try:
            return int(model.n_outputs_) == 1 and all(
                hasattr(e.tree_, "missing_go_to_left") for e in model.estimators_)
        except (AttributeError, TypeError, ValueError):
            return False

    def walk_proba(self, X: np.ndarray) -> np.ndarray:
        X = X.astype(np.float32).astype(np.float64)  # trees compare float32 inputs
        node = _leaves(X, self._roots, self._column, self._threshold, self._left, self._right,
                       self._depth)  # fmt: skip
        per_tree = self._value[node]  # (rows, trees, classes)
        total = np.cumsum(per_tree, axis=1)[:, -1, :]  # summed in tree order, as scikit-learn
        return np.asarray(total / len(self._roots))

    def predict(self, X: Any) -> np.ndarray:
        return np.asarray(self.classes_)[self.predict_proba(X).argmax(axis=1)]


def _compiled(member: Any) -> tuple[Any, str] | None:
    """The fast stand-in of ``member`` and its description, if it has one."""
    from automl_local.service._compile_xgb import CompiledXGBoost
    from sklearn.ensemble import (
        ExtraTreesClassifier,
        HistGradientBoostingClassifier,
        RandomForestClassifier,
    )

    xgb = CompiledXGBoost.from_member(member)
    if xgb is not None:
        return xgb, f"(xgboost, {xgb.n_trees} trees)"
    kind = type(member)
    if kind is HistGradientBoostingClassifier and CompiledHistGradientBoosting.compilable(member):
        return CompiledHistGradientBoosting(member), f"({member.n_iter_} trees)"
    if kind in (RandomForestClassifier, ExtraTreesClassifier) and CompiledForest.compilable(
            member):
        return CompiledForest(member), f"({len(member.estimators_)} trees)"
    return None


def _probe_rows(features: np.ndarray) -> np.ndarray:
    """The example's feature row, then that row with each feature missing in turn."""
    row = features[:1]
    variants = np.repeat(row, row.shape[1] + 1, axis=0)
    variants[np.arange(1, row.shape[1] + 1), np.arange(row.shape[1])] = np.nan
    return variants


def compile_members(estimator: Any, example: Any) -> list[str]:
    """Swap compilable members of ``estimator`` for equal fast ones; their descriptions.

    ``example`` is one input row (a DataFrame) of the model; each member's walk
    is checked on its own featurized version of it (and that row with each
    feature missing), all rows at once and each row alone (the served case).
    """
    members = getattr(estimator, "members", None)
    featurizers = getattr(estimator, "featurizers", None)
    if not isinstance(members, list) or not isinstance(featurizers, dict):
        return []
    done = []
    for i, (family, member) in enumerate(members):
        try:
            compiled = _compiled(member)
            if compiled is None:
                continue
            fast, trees = compiled
            rows = _probe_rows(np.asarray(featurizers[family].transform(example), np.float64))
            same = all(np.array_equal(fast.walk_proba(some), member.predict_proba(some))
                       for some in [rows, *(rows[i:i + 1] for i in range(len(rows)))])
        except Exception:  # an unexpected model shape: keep the original member
            continue
        if same:
            members[i] = (family, fast)
            done.append(f"member {i} {type(member).__name__} {trees}")
    return done
