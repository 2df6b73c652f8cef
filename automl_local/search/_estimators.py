"""The estimator registry: each algorithm declares its search space and how to build it.

Names are Azure's (``ClassificationModels``). An estimator is a small class,
FLAML-style: ``search_space`` suggests hyperparameters on an Optuna trial,
``portfolio`` lists strong defaults tried before the sampler takes over,
``build`` returns an unfitted scikit-learn classifier. Register a new one
with :func:`register`.
"""

from __future__ import annotations

import abc
import re
from typing import Any, ClassVar

import numpy as np

from automl_local.exceptions import ConfigError

__all__ = [
    "ESTIMATORS",
    "Estimator",
    "canonical_algorithm",
    "register",
    "resolve_algorithms",
]

ESTIMATORS: dict[str, Estimator] = {}

Rows = tuple[np.ndarray, np.ndarray, np.ndarray | None]  # X, y, sample weights (or None)


def register(cls: type[Estimator]) -> type[Estimator]:
    ESTIMATORS[cls.name] = cls()
    return cls


def _key(name: str) -> str:
    """Azure's ``camel_to_snake(x).upper()``, minus the underscores."""
    snake = re.sub(r"(?<!^)(?=[A-Z][a-z])|(?<=[a-z0-9])(?=[A-Z])", "_", str(name))
    return snake.upper().replace("_", "")


def canonical_algorithm(name: Any) -> str:
    """``light_gbm`` / ``LightGBM`` / ``ClassificationModels.LIGHT_GBM`` -> ``LightGBM``."""
    raw = getattr(name, "value", name)
    wanted = _key(str(raw))
    for canonical in ESTIMATORS:
        if _key(canonical) == wanted:
            return canonical
    raise ConfigError(
        f"training algorithm {raw!r} is not a classification algorithm. Use Azure's names: "
        f"{', '.join(ESTIMATORS)} (or their snake_case forms, e.g. light_gbm)."
    )


def resolve_algorithms(
    allowed: list[Any] | None, blocked: list[Any] | None, *, n_rows: int, weighted: bool
) -> tuple[list[str], dict[str, str]]:
    """The algorithms the search may use, and why each other one is left out."""
    names = [canonical_algorithm(a) for a in allowed] if allowed else list(ESTIMATORS)
    skipped: dict[str, str] = {}
    for b in blocked or []:
        name = canonical_algorithm(b)
        if name in names:
            names.remove(name)
            skipped[name] = "blocked_training_algorithms"
    usable = []
    for name in names:
        why = ESTIMATORS[name].unusable_reason(n_rows=n_rows, weighted=weighted)
        if why:
            skipped[name] = why
        else:
            usable.append(name)
    if not usable:
        raise ConfigError(
            "no training algorithm is left to try: "
            + "; ".join(f"{k}: {v}" for k, v in skipped.items())
            + ". Remove some names from training.blocked_training_algorithms or widen "
            "training.allowed_training_algorithms."
        )
    return usable, skipped


class Estimator(abc.ABC):
    """One algorithm of the registry."""

    name: ClassVar[str]
    family: ClassVar[str] = "tree"  # which Featurizer family it consumes
    supports_weights: ClassVar[bool] = True
    max_rows: ClassVar[int | None] = None
    # The parameter that counts boosting rounds, for a learner that can stop early on
    # held-out rows (:meth:`fit_early_stopped`): the re-scoring sets it (automl_local.rescore).
    rounds_param: ClassVar[str | None] = None
    # At most this many OpenMP/BLAS threads per fit (None: the job's cores per trial).
    max_threads: ClassVar[int | None] = None

    def unusable_reason(self, *, n_rows: int, weighted: bool) -> str | None:
        if weighted and not self.supports_weights:
            return "does not support weight_column_name"
        if self.max_rows is not None and n_rows > self.max_rows:
            return f"too slow above {self.max_rows:,} rows"
        return None

    def p(self, param: str) -> str:
        """Optuna parameter name, prefixed so that spaces of different algorithms never clash."""
        return f"{self.name}.{param}"

    @abc.abstractmethod
    def search_space(self, trial: Any, n_rows: int) -> dict[str, Any]:
        """Suggest hyperparameters on ``trial`` (an ``optuna.Trial``)."""

    def portfolio(self, n_rows: int) -> list[dict[str, Any]]:
        """Strong defaults, tried before the sampler starts guessing."""
        return []

    @abc.abstractmethod
    def build(self, params: dict[str, Any], *, n_jobs: int, seed: int, n_classes: int) -> Any:
        """An unfitted classifier for ``params``."""

    def fit(
        self, model: Any, X: np.ndarray, y: np.ndarray, w: np.ndarray | None, cat: list[int]
    ) -> Any:
        if w is not None:
            return model.fit(X, y, sample_weight=w)
        return model.fit(X, y)

    def fit_early_stopped(
        self, model: Any, train: Rows, held_out: Rows, cat: list[int], *, patience: int, auc: bool
    ) -> int:
        """Fit ``model`` on ``train`` (X, y, w), stopping once ``held_out`` has not improved
        for ``patience`` rounds (on AUC when ``auc``, else the learner's log loss); return
        the best round count. Only learners with a ``rounds_param`` have one."""
        raise NotImplementedError(f"{self.name} does not stop early")

    def for_inference(self, model: Any) -> Any:
        """Tune a fitted model for serving (one thread: parallelism comes from workers)."""
        if hasattr(model, "n_jobs"):
            model.set_params(n_jobs=1)
        return model


@register
class LightGBM(Estimator):
    name = "LightGBM"
    rounds_param = "n_estimators"

    def search_space(self, trial: Any, n_rows: int) -> dict[str, Any]:
        p = self.p
        return {
            "n_estimators": trial.suggest_int(p("n_estimators"), 20, 2000, log=True),
            "learning_rate": trial.suggest_float(p("learning_rate"), 0.005, 0.3, log=True),
            "num_leaves": trial.suggest_int(p("num_leaves"), 4, 256, log=True),
            "min_child_samples": trial.suggest_int(p("min_child_samples"), 2, 200, log=True),
            "colsample_bytree": trial.suggest_float(p("colsample_bytree"), 0.3, 1.0),
            "subsample": trial.suggest_float(p("subsample"), 0.5, 1.0),
            "reg_alpha": trial.suggest_float(p("reg_alpha"), 1e-8, 10.0, log=True),
            "reg_lambda": trial.suggest_float(p("reg_lambda"), 1e-8, 10.0, log=True),
        }

    def portfolio(self, n_rows: int) -> list[dict[str, Any]]:
        # LightGBM's defaults first (a score in seconds), then slower, stronger settings
        # that do well on mid-sized tables (small learning rate, column/row subsampling).
        return [
            {"n_estimators": 100, "learning_rate": 0.1, "num_leaves": 31,
             "min_child_samples": 20, "colsample_bytree": 1.0, "subsample": 1.0,
             "reg_alpha": 1e-8, "reg_lambda": 1e-8},
            {"n_estimators": 600, "learning_rate": 0.03, "num_leaves": 24,
             "min_child_samples": 30, "colsample_bytree": 0.6, "subsample": 0.8,
             "reg_alpha": 1e-3, "reg_lambda": 1.0},
            {"n_estimators": 900, "learning_rate": 0.02, "num_leaves": 48,
             "min_child_samples": 60, "colsample_bytree": 0.45, "subsample": 0.8,
             "reg_alpha": 0.1, "reg_lambda": 5.0},
        ]  # fmt: skip

    def build(self, params: dict[str, Any], *, n_jobs: int, seed: int, n_classes: int) -> Any:
        from lightgbm import LGBMClassifier

        return LGBMClassifier(
            **params, subsample_freq=1, n_jobs=n_jobs, random_state=seed, verbose=-1
        )

    def fit(
        self, model: Any, X: np.ndarray, y: np.ndarray, w: np.ndarray | None, cat: list[int]
    ) -> Any:
        return model.fit(X, y, sample_weight=w, categorical_feature=cat or "auto")

    def fit_early_stopped(
        self, model: Any, train: Rows, held_out: Rows, cat: list[int], *, patience: int, auc: bool
    ) -> int:
        import inspect

        import lightgbm

        (X, y, w), (Xv, yv, wv) = train, held_out
        # LightGBM 4.7 renamed eval_set (deprecated) to eval_X / eval_y.
        held = ({"eval_X": (Xv,), "eval_y": (yv,)}
                if "eval_X" in inspect.signature(type(model).fit).parameters
                else {"eval_set": [(Xv, yv)]})  # fmt: skip
        model.fit(
            X, y, sample_weight=w, categorical_feature=cat or "auto", **held,
            eval_sample_weight=None if wv is None else [wv],
            eval_metric="auc" if auc else None,
            callbacks=[lightgbm.early_stopping(patience, verbose=False)],
        )  # fmt: skip
        return int(model.best_iteration_ or model.n_estimators)

    def for_inference(self, model: Any) -> Any:
        from automl_local.model import BoosterClassifier

        return BoosterClassifier.from_estimator(model)


@register
class XGBoostClassifier(Estimator):
    name = "XGBoostClassifier"
    rounds_param = "n_estimators"

    def search_space(self, trial: Any, n_rows: int) -> dict[str, Any]:
        p = self.p
        return {
            "n_estimators": trial.suggest_int(p("n_estimators"), 20, 1500, log=True),
            "learning_rate": trial.suggest_float(p("learning_rate"), 0.005, 0.3, log=True),
            "max_depth": trial.suggest_int(p("max_depth"), 2, 10),
            "min_child_weight": trial.suggest_float(p("min_child_weight"), 0.01, 20.0, log=True),
            "subsample": trial.suggest_float(p("subsample"), 0.5, 1.0),
            "colsample_bytree": trial.suggest_float(p("colsample_bytree"), 0.3, 1.0),
            "reg_alpha": trial.suggest_float(p("reg_alpha"), 1e-8, 10.0, log=True),
            "reg_lambda": trial.suggest_float(p("reg_lambda"), 1e-3, 10.0, log=True),
        }

    def portfolio(self, n_rows: int) -> list[dict[str, Any]]:
        return [
            {"n_estimators": 400, "learning_rate": 0.05, "max_depth": 5, "min_child_weight": 1.0,
             "subsample": 0.8, "colsample_bytree": 0.7, "reg_alpha": 1e-8, "reg_lambda": 1.0},
            {"n_estimators": 800, "learning_rate": 0.025, "max_depth": 6, "min_child_weight": 3.0,
             "subsample": 0.8, "colsample_bytree": 0.5, "reg_alpha": 0.01, "reg_lambda": 3.0},
        ]  # fmt: skip

    def build(self, params: dict[str, Any], *, n_jobs: int, seed: int, n_classes: int) -> Any:
        from xgboost import XGBClassifier

        return XGBClassifier(
            **params, tree_method="hist", n_jobs=n_jobs, random_state=seed, verbosity=0
        )

    def fit_early_stopped(
        self, model: Any, train: Rows, held_out: Rows, cat: list[int], *, patience: int, auc: bool
    ) -> int:
        (X, y, w), (Xv, yv, wv) = train, held_out
        # predict_proba then uses the best round (XGBoost's rule after early stopping).
        model.set_params(early_stopping_rounds=patience, eval_metric="auc" if auc else None)
        model.fit(X, y, sample_weight=w, eval_set=[(Xv, yv)],
                  sample_weight_eval_set=None if wv is None else [wv], verbose=False)  # fmt: skip
        return int(model.best_iteration) + 1

    def for_inference(self, model: Any) -> Any:
        from automl_local.model import BoosterClassifier

        return BoosterClassifier.from_estimator(model)


@register
class LogisticRegression(Estimator):
    name = "LogisticRegression"
    family = "linear"

    def search_space(self, trial: Any, n_rows: int) -> dict[str, Any]:
        return {"C": trial.suggest_float(self.p("C"), 1e-4, 100.0, log=True)}

    def portfolio(self, n_rows: int) -> list[dict[str, Any]]:
        return [{"C": 1.0}]

    def build(self, params: dict[str, Any], *, n_jobs: int, seed: int, n_classes: int) -> Any:
        from sklearn.linear_model import LogisticRegression as LR

        return LR(**params, max_iter=500, random_state=seed)


@register
class RandomForest(Estimator):
    name = "RandomForest"

    def search_space(self, trial: Any, n_rows: int) -> dict[str, Any]:
        p = self.p
        return {
            "n_estimators": trial.suggest_int(p("n_estimators"), 50, 400, log=True),
            "max_features": trial.suggest_float(p("max_features"), 0.1, 1.0),
            "min_samples_leaf": trial.suggest_int(p("min_samples_leaf"), 1, 30, log=True),
            "criterion": trial.suggest_categorical(p("criterion"), ["gini", "entropy"]),
        }

    def portfolio(self, n_rows: int) -> list[dict[str, Any]]:
        return [
            {"n_estimators": 150, "max_features": 0.5, "min_samples_leaf": 3, "criterion": "gini"}
        ]

    def _cls(self) -> Any:
        from sklearn.ensemble import RandomForestClassifier

        return RandomForestClassifier

    def build(self, params: dict[str, Any], *, n_jobs: int, seed: int, n_classes: int) -> Any:
        return self._cls()(**params, n_jobs=n_jobs, random_state=seed)


@register
class ExtremeRandomTrees(RandomForest):
    name = "ExtremeRandomTrees"

    def _cls(self) -> Any:
        from sklearn.ensemble import ExtraTreesClassifier

        return ExtraTreesClassifier


@register
class GradientBoosting(Estimator):
    """scikit-learn's histogram gradient boosting (fast GradientBoosting on large data)."""

    name = "GradientBoosting"
    rounds_param = "max_iter"
    # Its OpenMP regions are small, one per tree node, so a second thread gains little and
    # anything else on the machine stalls them (measured on bank marketing, 435 rounds: 1.7 s
    # on two idle cores, 2.0 s on one; beside one busy process 4.8 s on two, 2.2 s on one).
    max_threads = 1

    def search_space(self, trial: Any, n_rows: int) -> dict[str, Any]:
        p = self.p
        return {
            "max_iter": trial.suggest_int(p("max_iter"), 50, 1000, log=True),
            "learning_rate": trial.suggest_float(p("learning_rate"), 0.01, 0.3, log=True),
            "max_leaf_nodes": trial.suggest_int(p("max_leaf_nodes"), 8, 128, log=True),
            "min_samples_leaf": trial.suggest_int(p("min_samples_leaf"), 5, 100, log=True),
            "l2_regularization": trial.suggest_float(p("l2_regularization"), 1e-8, 10.0, log=True),
        }

    def portfolio(self, n_rows: int) -> list[dict[str, Any]]:
        return []

    def build(self, params: dict[str, Any], *, n_jobs: int, seed: int, n_classes: int) -> Any:
        from sklearn.ensemble import HistGradientBoostingClassifier

        return HistGradientBoostingClassifier(**params, early_stopping=False, random_state=seed)

    def fit_early_stopped(
        self, model: Any, train: Rows, held_out: Rows, cat: list[int], *, patience: int, auc: bool
    ) -> int:
        (X, y, w), (Xv, yv, wv) = train, held_out
        # It stops on the held-out loss, which it tracks round by round for free; its own
        # AUC scorer re-predicts every row at every round, which made a re-scoring 12 times
        # the trial's fit (measured on bank marketing: 15.3 s against 4.2 s for 3 folds).
        model.set_params(early_stopping=True, n_iter_no_change=patience, scoring="loss")
        model.fit(X, y, sample_weight=w, X_val=Xv, y_val=yv, sample_weight_val=wv)
        if auc:  # the best round by AUC, from the predictions of each round in turn
            return _best_auc_round(model, Xv, yv, wv, patience)
        # It keeps the rounds past the best (unlike LightGBM and XGBoost): count back.
        stopped = model.n_iter_ < model.max_iter
        return max(1, int(model.n_iter_) - (patience if stopped else 0))


def _best_auc_round(
    model: Any, X: np.ndarray, y: np.ndarray, w: np.ndarray | None, patience: int
) -> int:
    """The round LightGBM's AUC early stopping would keep: the best by binary AUC on ``X``
    until ``patience`` rounds bring no better one. AUC is looked at every ``patience // 10``
    rounds: it moves slowly, and scoring every round costs more than the fit."""
    from sklearn.metrics import roc_auc_score

    step = max(1, patience // 10)
    best, best_round = -np.inf, 1
    for i, raw in enumerate(model.staged_decision_function(X), start=1):
        if i - best_round > patience:
            break
        if i % step and i != model.n_iter_:
            continue
        score = roc_auc_score(y, raw, sample_weight=w)
        if score > best:
            best, best_round = score, i
    return best_round


@register
class DecisionTree(Estimator):
    name = "DecisionTree"

    def search_space(self, trial: Any, n_rows: int) -> dict[str, Any]:
        p = self.p
        return {
            "max_depth": trial.suggest_int(p("max_depth"), 2, 20),
            "min_samples_leaf": trial.suggest_int(p("min_samples_leaf"), 1, 100, log=True),
            "criterion": trial.suggest_categorical(p("criterion"), ["gini", "entropy"]),
        }

    def build(self, params: dict[str, Any], *, n_jobs: int, seed: int, n_classes: int) -> Any:
        from sklearn.tree import DecisionTreeClassifier

        return DecisionTreeClassifier(**params, random_state=seed)


@register
class SGD(Estimator):
    name = "SGD"
    family = "linear"

    def search_space(self, trial: Any, n_rows: int) -> dict[str, Any]:
        p = self.p
        return {
            "alpha": trial.suggest_float(p("alpha"), 1e-6, 1e-1, log=True),
            "loss": trial.suggest_categorical(p("loss"), ["log_loss", "modified_huber"]),
            "penalty": trial.suggest_categorical(p("penalty"), ["l2", "l1", "elasticnet"]),
        }

    def build(self, params: dict[str, Any], *, n_jobs: int, seed: int, n_classes: int) -> Any:
        from sklearn.linear_model import SGDClassifier

        return SGDClassifier(**params, max_iter=1000, tol=1e-4, random_state=seed)


@register
class KNN(Estimator):
    name = "KNN"
    family = "linear"
    supports_weights = False
    max_rows = 100_000

    def search_space(self, trial: Any, n_rows: int) -> dict[str, Any]:
        p = self.p
        return {
            "n_neighbors": trial.suggest_int(p("n_neighbors"), 3, 100, log=True),
            "weights": trial.suggest_categorical(p("weights"), ["uniform", "distance"]),
        }

    def build(self, params: dict[str, Any], *, n_jobs: int, seed: int, n_classes: int) -> Any:
        from sklearn.neighbors import KNeighborsClassifier

        return KNeighborsClassifier(**params, n_jobs=n_jobs)


@register
class LinearSVM(Estimator):
    """A linear SVM, calibrated (3-fold sigmoid) so that it has probabilities."""

    name = "LinearSVM"
    family = "linear"

    def search_space(self, trial: Any, n_rows: int) -> dict[str, Any]:
        return {"C": trial.suggest_float(self.p("C"), 1e-4, 10.0, log=True)}

    def build(self, params: dict[str, Any], *, n_jobs: int, seed: int, n_classes: int) -> Any:
        from sklearn.calibration import CalibratedClassifierCV
        from sklearn.svm import LinearSVC

        return CalibratedClassifierCV(LinearSVC(**params, random_state=seed), cv=3)


@register
class SVM(Estimator):
    name = "SVM"
    family = "linear"
    max_rows = 10_000

    def search_space(self, trial: Any, n_rows: int) -> dict[str, Any]:
        p = self.p
        return {
            "C": trial.suggest_float(p("C"), 1e-2, 100.0, log=True),
            "gamma": trial.suggest_categorical(p("gamma"), ["scale", "auto"]),
        }

    def build(self, params: dict[str, Any], *, n_jobs: int, seed: int, n_classes: int) -> Any:
        from sklearn.svm import SVC

        return SVC(**params, probability=True, random_state=seed)


@register
class BernoulliNaiveBayes(Estimator):
    name = "BernoulliNaiveBayes"
    family = "linear"

    def search_space(self, trial: Any, n_rows: int) -> dict[str, Any]:
        return {"alpha": trial.suggest_float(self.p("alpha"), 1e-3, 10.0, log=True)}

    def build(self, params: dict[str, Any], *, n_jobs: int, seed: int, n_classes: int) -> Any:
        from sklearn.naive_bayes import BernoulliNB

        return BernoulliNB(**params)


@register
class MultinomialNaiveBayes(Estimator):
    """Multinomial NB on min-max scaled features (it needs non-negative inputs)."""

    name = "MultinomialNaiveBayes"
    family = "linear"

    def search_space(self, trial: Any, n_rows: int) -> dict[str, Any]:
        return {"alpha": trial.suggest_float(self.p("alpha"), 1e-3, 10.0, log=True)}

    def build(self, params: dict[str, Any], *, n_jobs: int, seed: int, n_classes: int) -> Any:
        from sklearn.naive_bayes import MultinomialNB
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import MinMaxScaler

        return make_pipeline(MinMaxScaler(clip=True), MultinomialNB(**params))

    def fit(
        self, model: Any, X: np.ndarray, y: np.ndarray, w: np.ndarray | None, cat: list[int]
    ) -> Any:
        if w is not None:
            return model.fit(X, y, multinomialnb__sample_weight=w)
        return model.fit(X, y)
