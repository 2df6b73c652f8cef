"""The body of the generated ``script.py`` (see ``_codegen``): plain code, no project import.

Kept as one string so the script reads top to bottom like hand-written code; the two
placeholders are the model imports and the job's constants.
"""

from __future__ import annotations

__all__ = ["SCRIPT_BODY"]

SCRIPT_BODY = r'''
import argparse
import os
import warnings

import numpy as np
import pandas as pd
from sklearn import metrics as skm
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin
from sklearn.model_selection import KFold, StratifiedKFold, train_test_split

# {model imports}

# {constants}

# ----------------------------------------------------------------------------- data


def read_dataset(uri):
    """A CSV or Parquet file, or an MLTable folder (its first path)."""
    if os.path.isdir(uri):
        import yaml

        with open(os.path.join(uri, "MLTable")) as f:
            spec = yaml.safe_load(f)
        first = spec["paths"][0]
        path = first.get("file") or first.get("pattern") or first.get("folder")
        return read_dataset(os.path.join(uri, path))
    if uri.lower().endswith((".parquet", ".pq")):
        return pd.read_parquet(uri)
    return pd.read_csv(uri, sep=None if uri.lower().endswith(".txt") else ",")


def encode_labels(y_raw, positive_label):
    """Classes sorted as the job sorted them; a binary job's positive class comes second."""
    classes = sorted(pd.unique(y_raw), key=lambda v: (str(type(v)), v))
    if positive_label is not None and len(classes) == 2:
        match = [c for c in classes if str(c) == str(positive_label)][0]
        classes = [c for c in classes if c != match] + [match]
    index = {c: i for i, c in enumerate(classes)}
    return np.array([index[v] for v in y_raw], dtype=np.int64), classes


def holdout(size, y, seed):
    idx = np.arange(len(y))
    stratify = y if np.bincount(y).min() >= 2 else None
    tr, ev = train_test_split(idx, test_size=size, random_state=seed, stratify=stratify)
    return np.sort(tr), np.sort(ev)


def validation_splits(y, validation):
    if validation["kind"] == "holdout":
        return [holdout(validation["size"], y, validation["seed"])]
    n, seed = validation["folds"], validation["seed"]
    if np.bincount(y).min() >= n:
        cv = StratifiedKFold(n_splits=n, shuffle=True, random_state=seed)
        return list(cv.split(np.zeros(len(y)), y))
    return list(KFold(n_splits=n, shuffle=True, random_state=seed).split(np.zeros(len(y))))


# ---------------------------------------------------------------------- featurization


class Featurizer(TransformerMixin, BaseEstimator):
    """Raw columns -> a float matrix, as the AutoML job featurized them.

    tree family: numbers as they are (missing left to the learner), categories as
    codes in order of frequency; linear family: median / most-frequent imputation,
    standard scaling and one-hot encoding of the 100 most frequent levels.
    """

    def __init__(self, config):
        self.config = config

    def fit(self, X, y=None):
        c = self.config
        linear = c["family"] == "linear"
        self.fill_, self.scale_, self.levels_, self.cat_fill_, self.text_ = {}, {}, {}, {}, {}
        for col in c["numeric"]:
            x = to_numeric(X[col])
            strategy = c["imputers"].get(col, "median" if linear else None)
            if strategy is not None:  # a gap at scoring time is imputed too
                self.fill_[col] = fill_value(x, strategy)
            if linear:
                xf = np.where(np.isnan(x), self.fill_.get(col, 0.0), x)
                self.scale_[col] = (float(xf.mean()), float(xf.std()) or 1.0)
        for col in c["categorical"]:
            s = X[col].astype(object).where(X[col].notna(), None)
            counts = s.dropna().value_counts()
            if c["onehot"] and len(counts) > 100:
                counts = counts.iloc[:100]
            self.levels_[col] = {v: i for i, v in enumerate(counts.index)}
            strategy = c["imputers"].get(col, "most_frequent" if linear else None)
            if strategy is not None and s.isna().any() and len(counts):
                self.cat_fill_[col] = counts.index[0]
        for col in c["text"]:
            from sklearn.feature_extraction.text import TfidfVectorizer

            vec = TfidfVectorizer(max_features=c["max_text_features"], min_df=2)
            self.text_[col] = vec.fit(X[col].fillna("").astype(str))
        return self

    def categorical_indices(self):
        c = self.config
        return [] if c["onehot"] else [len(c["numeric"]) + i for i in range(len(c["categorical"]))]

    def transform(self, X):
        c = self.config
        blocks = []
        for col in c["numeric"]:
            x = to_numeric(X[col])
            if col in self.fill_:
                x = np.where(np.isnan(x), self.fill_[col], x)
            if col in self.scale_:
                mean, std = self.scale_[col]
                x = (x - mean) / std
            blocks.append(x[:, None])
        for col in c["categorical"]:
            values = X[col]
            if col in self.cat_fill_:
                values = values.where(values.notna(), self.cat_fill_[col])
            levels = self.levels_[col]
            codes = pd.Categorical(values.astype(object), categories=list(levels)).codes
            codes = codes.astype(np.float64)
            if c["onehot"]:
                block = np.zeros((len(codes), len(levels)))
                ok = codes >= 0
                block[np.nonzero(ok)[0], codes[ok].astype(int)] = 1.0
                blocks.append(block)
            else:
                blocks.append(np.where(codes < 0, np.nan, codes)[:, None])
        for col in c["datetime"]:
            d = pd.to_datetime(X[col], errors="coerce")
            parts = [d.dt.year, d.dt.month, d.dt.day, d.dt.dayofweek, d.dt.hour]
            parts = [p.to_numpy(np.float64, na_value=np.nan) for p in parts]
            blocks.append(np.column_stack(parts))
        for col, vec in self.text_.items():
            blocks.append(vec.transform(X[col].fillna("").astype(str)).toarray())
        return np.hstack(blocks) if len(blocks) > 1 else blocks[0]


def to_numeric(s):
    return pd.to_numeric(s, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


def fill_value(x, strategy):
    finite = x[~np.isnan(x)]
    if not len(finite):
        return 0.0
    if strategy == "mean":
        return float(finite.mean())
    if strategy == "median":
        return float(np.median(finite))
    values, counts = np.unique(finite, return_counts=True)
    return float(values[counts.argmax()])


# ----------------------------------------------------------------------------- model


def fit_member(estimator, fit_mode, X, y, w, categorical):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if fit_mode == "lightgbm":
            return estimator.fit(X, y, sample_weight=w, categorical_feature=categorical or "auto")
        if w is None:
            return estimator.fit(X, y)
        if fit_mode == "multinomialnb":
            return estimator.fit(X, y, multinomialnb__sample_weight=w)
        return estimator.fit(X, y, sample_weight=w)


def member_proba(model, X, n_classes):
    p = model.predict_proba(X)
    if p.shape[1] != n_classes:  # a fold missed a class
        full = np.zeros((len(X), n_classes))
        full[:, np.asarray(model.classes_, dtype=int)] = p
        p = full
    return p


class TrainedModel(ClassifierMixin, BaseEstimator):
    """The featurizers and the fitted members; probabilities are the weighted vote."""

    def __init__(self, featurizers, members, weights, classes):
        self.featurizers = featurizers
        self.members = members
        self.weights = weights
        self.classes = classes

    @property
    def classes_(self):
        return np.asarray(self.classes, dtype=object)

    def predict_proba(self, X):
        X = X if isinstance(X, pd.DataFrame) else pd.DataFrame(X)
        matrices = {f: self.featurizers[f].transform(X) for f, _ in self.members}
        probas = [m.predict_proba(matrices[f]) for f, m in self.members]
        w = np.asarray(self.weights, dtype=float)
        return np.tensordot(w / w.sum(), np.stack(probas), axes=1)

    def predict(self, X):
        return self.classes_[self.predict_proba(X).argmax(axis=1)]


def score(metric, y, proba, w=None):
    """The job's primary metric (Azure's definitions)."""
    k = proba.shape[1]
    onehot = np.eye(k)[y]
    if metric in ("AUC_weighted", "average_precision_score_weighted"):
        fn = skm.roc_auc_score if metric == "AUC_weighted" else skm.average_precision_score
        if metric == "AUC_weighted" and k == 2:
            return float(fn(y, proba[:, 1], sample_weight=w))
        per, support = [], []
        for c in range(k):
            if 0 < onehot[:, c].sum() < len(y):
                per.append(fn(onehot[:, c], proba[:, c], sample_weight=w))
                support.append(onehot[:, c].sum())
        return float(np.average(per, weights=support))
    pred = proba.argmax(axis=1)
    if metric == "accuracy":
        return float(skm.accuracy_score(y, pred, sample_weight=w))
    if metric == "precision_score_weighted":
        return float(skm.precision_score(y, pred, average="weighted", sample_weight=w,
                                         zero_division=0))
    recall = skm.recall_score(y, pred, average="macro", sample_weight=w, zero_division=0)
    return max(0.0, (recall - 1.0 / k) / (1.0 - 1.0 / k))  # norm_macro_recall


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--training_dataset_uri", required=True)
    parser.add_argument("--no_mlflow", action="store_true", help="skip logging with MLflow")
    args = parser.parse_args()

    data = read_dataset(args.training_dataset_uri)
    target, weight_column = CONFIG["target"], CONFIG["weight_column"]
    y, classes = encode_labels(data[target], CONFIG["positive_label"])
    if CONFIG["test_holdout"]:
        tr, _ = holdout(CONFIG["test_holdout"]["size"], y, CONFIG["test_holdout"]["seed"])
        data, y = data.iloc[tr].reset_index(drop=True), y[tr]
    w = data[weight_column].to_numpy(dtype=float) if weight_column else None
    X = data.drop(columns=[c for c in (target, weight_column) if c])

    featurizers = {f: Featurizer(cfg).fit(X) for f, cfg in CONFIG["featurizers"].items()}
    matrices = {f: fz.transform(X) for f, fz in featurizers.items()}
    n_classes = len(classes)

    # Validation: the job's scheme, out-of-fold probabilities pooled into one score.
    splits = validation_splits(y, CONFIG["validation"])
    evaluated = np.concatenate([ev for _, ev in splits])
    oof = np.zeros((len(evaluated), n_classes))
    weights = np.asarray([weight for _, weight, _, _ in MEMBERS], dtype=float)
    for family, weight, fit_mode, build in MEMBERS:
        M, cat = matrices[family], featurizers[family].categorical_indices()
        offset = 0
        for tr, ev in splits:
            model = fit_member(build(), fit_mode, M[tr], y[tr], None if w is None else w[tr], cat)
            oof[offset : offset + len(ev)] += weight / weights.sum() * member_proba(
                model, M[ev], n_classes
            )
            offset += len(ev)
    metric = CONFIG["primary_metric"]
    value = score(metric, y[evaluated], oof, None if w is None else w[evaluated])
    print(f"validation {metric}: {value:.6f}")

    fitted = [
        (family, fit_member(build(), fit_mode, matrices[family], y, w,
                            featurizers[family].categorical_indices()))
        for family, _, fit_mode, build in MEMBERS
    ]
    model = TrainedModel(featurizers, fitted, list(weights), classes)
    if args.no_mlflow:
        return
    import mlflow
    import mlflow.sklearn

    with mlflow.start_run():
        mlflow.log_metric(metric, value)
        mlflow.sklearn.log_model(model, name="model", serialization_format="cloudpickle",
                                 input_example=X.head(1), pip_requirements=REQUIREMENTS)
    print("logged the model with MLflow")


if __name__ == "__main__":
    main()
'''
