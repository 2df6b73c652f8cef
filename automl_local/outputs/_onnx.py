"""``enable_onnx_compatible_models``: the search keeps to algorithms that convert, and the
best model, featurization included, becomes one ONNX graph (``outputs/model.onnx``).

The graph takes the raw columns, one input each (numeric columns as ``double [N, 1]``,
categorical ones as ``string [N, 1]``, a missing category as ``""``), and gives
``label`` (string ``[N]``) and ``probabilities`` (float ``[N, K]``), so onnxruntime
scores what the MLflow model scores. The project's featurizer is written as plain
ONNX operators (imputation, scaling, ``CategoryMapper`` codes, one-hot by
``Equal``); each member is converted by skl2onnx (scikit-learn) or onnxmltools
(LightGBM and XGBoost boosters); ensembles are a weighted sum or the stack's
converted meta-learner.

Left out, as on Azure where a model has no converter: scikit-learn's trees
(RandomForest, ExtremeRandomTrees, DecisionTree, GradientBoosting). They route
missing values in a way skl2onnx's tree converter does not write, so their ONNX
scores would differ from the model's wherever a value is missing. KNN too: with
distance weights, a row that is also a training row (every validation row, once the
model is refitted on all rows) gets weight 1/0, which the ONNX operator resolves
differently.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from automl_local.exceptions import ConfigError
from automl_local.model import LOG_PROBA_FLOOR, LogProbaMeta

__all__ = ["ONNX_ALGORITHMS", "onnx_inputs", "restrict_to_onnx", "to_onnx"]

ONNX_ALGORITHMS = (
    "LightGBM",
    "XGBoostClassifier",
    "LogisticRegression",
    "SGD",
    "LinearSVM",
    "SVM",
    "BernoulliNaiveBayes",
    "MultinomialNaiveBayes",
)
_OPSET = 15  # the highest onnxmltools' converters write
_ML_OPSET = 3
_NOT_CONVERTIBLE = "no ONNX converter (enable_onnx_compatible_models)"


def restrict_to_onnx(
    algorithms: list[str], skipped: dict[str, str], non_numeric: list[str]
) -> tuple[list[str], dict[str, str]]:
    """The allowed algorithms that convert to ONNX; a clear error if none is left.

    ``non_numeric`` are the text and datetime columns: their featurization has no
    ONNX form here, so the job is refused before it starts.
    """
    if non_numeric:
        raise ConfigError(
            "training.enable_onnx_compatible_models: true cannot export the text or datetime "
            f"column(s) {', '.join(map(repr, non_numeric))} to ONNX. Drop them, declare them "
            "Categorical or Ignore in featurization.column_name_and_types, or turn ONNX off."
        )
    kept = [a for a in algorithms if a in ONNX_ALGORITHMS]
    left_out = {a: _NOT_CONVERTIBLE for a in algorithms if a not in ONNX_ALGORITHMS}
    if not kept:
        raise ConfigError(
            "training.enable_onnx_compatible_models: true leaves no algorithm to try: "
            f"{', '.join(algorithms)} have no ONNX converter. Allow one of "
            f"{', '.join(ONNX_ALGORITHMS)} in training.allowed_training_algorithms, or set "
            "enable_onnx_compatible_models: false."
        )
    return kept, {**skipped, **left_out}


def onnx_inputs(model: Any, X: Any) -> dict[str, np.ndarray]:
    """The ONNX graph's feed for a raw DataFrame ``X`` (one ``[N, 1]`` array per column)."""
    numeric, categorical = _columns(model)
    feed: dict[str, np.ndarray] = {}
    for col in numeric:
        values = np.asarray(X[col].to_numpy(dtype=np.float64, na_value=np.nan))
        feed[col] = values.reshape(-1, 1)
    for col in categorical:
        values = X[col].astype(object).where(X[col].notna(), "")
        feed[col] = np.asarray([str(v) for v in values], dtype=object).reshape(-1, 1)
    return feed


def _columns(model: Any) -> tuple[list[str], list[str]]:
    numeric: list[str] = []
    categorical: list[str] = []
    for f in model.featurizers.values():
        numeric += [c for c in f.plan_.numeric if c not in numeric]
        categorical += [c for c in f.plan_.categorical if c not in categorical]
    return numeric, categorical


class _Graph:
    """Nodes and initializers of the graph being built, with unique tensor names."""

    def __init__(self) -> None:
        self.nodes: list[Any] = []
        self.inits: list[Any] = []
        self.count = 0
        self.opsets: dict[str, int] = {"": _OPSET, "ai.onnx.ml": _ML_OPSET}

    def name(self, hint: str) -> str:
        self.count += 1
        return f"__automl_{hint}_{self.count}"  # never a column's name

    def const(self, value: Any, hint: str = "c", dtype: Any = None) -> str:
        from onnx import numpy_helper

        name = self.name(hint)
        self.inits.append(numpy_helper.from_array(np.asarray(value, dtype=dtype), name))
        return name

    def op(self, op_type: str, inputs: list[str], hint: str = "t", **attrs: Any) -> str:
        from onnx import helper

        out = self.name(hint)
        domain = attrs.pop("domain", "")
        self.nodes.append(helper.make_node(op_type, inputs, [out], domain=domain, **attrs))
        return out

    def include(self, sub: Any, feed: str, prefix: str) -> str:
        """Add a converted model's graph, fed by tensor ``feed``; return its probabilities."""
        from onnx import compose

        sub = compose.add_prefix(sub, prefix)
        g = sub.graph
        self.nodes.append(_identity(feed, g.input[0].name))
        self.nodes += list(g.node)
        self.inits += list(g.initializer)
        for imp in sub.opset_import:
            self.opsets[imp.domain] = max(self.opsets.get(imp.domain, 0), imp.version)
        outputs = [o.name for o in g.output]
        return next((o for o in outputs if o.endswith("probabilities")), outputs[-1])


def _identity(src: str, dst: str) -> Any:
    from onnx import helper

    return helper.make_node("Identity", [src], [dst])


def _featurize(g: _Graph, f: Any) -> str:
    """Float ``[N, F]`` features of one family, as :meth:`Featurizer.transform` makes them."""
    plan = f.plan_
    if plan.datetime or plan.text:
        raise ConfigError(
            f"ONNX export: columns {plan.datetime + plan.text} are datetime or text, which "
            "have no ONNX featurization here."
        )
    blocks: list[str] = []
    for col in plan.numeric:
        x = col
        if col in f.num_fill_:
            nan = g.op("IsNaN", [x])
            x = g.op("Where", [nan, g.const([[f.num_fill_[col]]], dtype=np.float64), x])
        if col in f.num_scale_:
            mean, std = f.num_scale_[col]
            x = g.op("Sub", [x, g.const([[mean]], dtype=np.float64)])
            x = g.op("Div", [x, g.const([[std]], dtype=np.float64)])
        blocks.append(g.op("Cast", [x], to=1))  # float
    for col in plan.categorical:
        levels = f.levels_[col]
        cats = [str(v) for v in levels]
        codes = list(levels.values())
        fill = f.cat_fill_.get(col)
        if fill is not None and "" not in cats:  # a missing value ("") takes the fill's code
            cats.append("")
            codes.append(levels[fill])
        code = g.op(
            "CategoryMapper", [col], domain="ai.onnx.ml",
            cats_strings=cats, cats_int64s=codes, default_int64=-1,
        )  # fmt: skip
        if f.onehot_:
            eq = g.op("Equal", [code, g.const([list(range(len(levels)))], dtype=np.int64)])
            blocks.append(g.op("Cast", [eq], to=1))
        else:
            as_float = g.op("Cast", [code], to=1)
            unseen = g.op("Equal", [code, g.const([[-1]], dtype=np.int64)])
            nan = g.const([[np.nan]], dtype=np.float32)
            blocks.append(g.op("Where", [unseen, nan, as_float]))
    if len(blocks) == 1:
        return blocks[0]
    return g.op("Concat", blocks, axis=1)


def _convert(estimator: Any, n_features: int) -> Any:
    """One fitted member (or meta-learner) as an ONNX model with input ``x [N, n_features]``."""
    library = getattr(estimator, "library", None)
    booster = getattr(estimator, "booster", estimator)
    module = type(booster).__module__.split(".")[0]
    if library == "lightgbm" or module == "lightgbm":
        import onnxmltools
        from onnxmltools.convert.common.data_types import FloatTensorType

        types = [("x", FloatTensorType([None, n_features]))]
        return onnxmltools.convert_lightgbm(
            booster, initial_types=types, zipmap=False, target_opset=_OPSET
        )
    if library == "xgboost" or module == "xgboost":
        import onnxmltools
        from onnxmltools.convert.common.data_types import FloatTensorType

        types = [("x", FloatTensorType([None, n_features]))]
        return onnxmltools.convert_xgboost(booster, initial_types=types, target_opset=_OPSET)
    from skl2onnx import to_onnx as skl_to_onnx
    from skl2onnx.common.data_types import FloatTensorType as SklFloat

    return skl_to_onnx(
        estimator,
        initial_types=[("x", SklFloat([None, n_features]))],
        options={id(estimator): {"zipmap": False}},
        target_opset={"": _OPSET, "ai.onnx.ml": _ML_OPSET},
    )


def to_onnx(model: Any, *, name: str = "automl_local") -> Any:
    """The whole fitted ``AutoMLModel`` (featurizers, members, ensemble) as one ONNX model."""
    from onnx import TensorProto, checker, helper

    g = _Graph()
    numeric, categorical = _columns(model)
    features = {family: _featurize(g, f) for family, f in model.featurizers.items()}
    widths = {family: len(f.feature_names_out_) for family, f in model.featurizers.items()}
    probas = [
        g.include(_convert(est, widths[family]), features[family], f"m{i}_")
        for i, (family, est) in enumerate(model.members)
    ]
    if model.meta is not None:
        stacked = g.op("Concat", probas, axis=1) if len(probas) > 1 else probas[0]
        n_in = len(probas) * len(model.classes)
        meta = model.meta
        if isinstance(meta, LogProbaMeta):  # the meta-learner reads log-probabilities
            low = g.const(LOG_PROBA_FLOOR, dtype=np.float32)
            stacked = g.op("Log", [g.op("Clip", [stacked, low, g.const(1.0, dtype=np.float32)])])
            meta = meta.learner_
        proba = g.include(_convert(meta, n_in), stacked, "meta_")
    elif len(probas) == 1:
        proba = probas[0]
    else:
        weights = np.asarray(model.weights or [1.0] * len(probas), dtype=np.float32)
        weights = weights / weights.sum()
        parts = [
            g.op("Mul", [p, g.const(w, dtype=np.float32)])
            for p, w in zip(probas, weights, strict=True)
        ]
        proba = g.op("Sum", parts)
    g.nodes.append(_identity(proba, "probabilities"))
    top = g.op("ArgMax", ["probabilities"], axis=1, keepdims=0)
    classes = np.asarray([str(c) for c in model.classes], dtype=object)
    g.nodes.append(helper.make_node("Gather", [g.const(classes), top], ["label"], axis=0))
    inputs = [helper.make_tensor_value_info(c, TensorProto.DOUBLE, [None, 1]) for c in numeric]
    inputs += [helper.make_tensor_value_info(c, TensorProto.STRING, [None, 1])
               for c in categorical]  # fmt: skip
    outputs = [
        helper.make_tensor_value_info("label", TensorProto.STRING, [None]),
        helper.make_tensor_value_info(
            "probabilities", TensorProto.FLOAT, [None, len(model.classes)]
        ),
    ]
    graph = helper.make_graph(g.nodes, name, inputs, outputs, initializer=g.inits)
    onnx_model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid(d, v) for d, v in g.opsets.items()],
        producer_name="automl-local",
    )
    onnx_model.ir_version = 8
    checker.check_model(onnx_model)
    return onnx_model
