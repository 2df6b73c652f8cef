"""What an ensemble gains from its meta-learner's input and from bagged members, on bank marketing.

Issue 10 asks where AutoGluon's last 0.0005 of held-out AUC comes from. Its
leaderboard answers part (see README): its L1 models are each bagged over 8
folds, and an L2 layer stacks them. This benchmark measures both ideas on
fixed members, so the search's own noise is out of the picture: four of the
engine's portfolio models (two LightGBM settings, RandomForest,
ExtremeRandomTrees), their 3-fold out-of-fold predictions on the training
80 %, then held-out AUC on the 20 % test split of each seed.

* **Meta-learner input** (StackEnsemble): a logistic regression over the
  members' probabilities (the named peer, what this project did before) against
  :class:`automl_local.model.LogProbaMeta` (log-probabilities, what it does
  now), beside the VotingEnsemble (Caruana selection) and the best member.
* **Final members**: the equal-weight ensemble of the members, each refit once
  on every row against each bagged over 3 and 8 folds (AutoGluon's way).
* **Boosting rounds**: the VotingEnsemble again, with each LightGBM member's rounds set
  as the re-scoring sets them (``automl_local.search.rescore_trial``: each fold stopped
  early on its held-out rows, the refit at the mean best round times k/(k-1)); and each
  booster of ``BOOSTERS`` alone, refit at its own rounds against the early-stopped count.

    python benchmarks/ensembles.py [--seeds 0 1 2]    # about 12 minutes on 2 cores
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, train_test_split

from automl_local.data import bankmarketing_path
from automl_local.ensemble import bagged_selection, make_meta_learner
from automl_local.search import ESTIMATORS, ROUNDS_CAP, rounds_patience

# (name, algorithm, portfolio entry, one-hot input): the members every variant shares.
MEMBERS = [
    ("LightGBM (defaults)", "LightGBM", 0, False),
    ("LightGBM (slow, subsampled)", "LightGBM", 1, False),
    ("RandomForest", "RandomForest", 0, True),
    ("ExtremeRandomTrees", "ExtremeRandomTrees", 0, True),
]


def _load(path: str) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    frame = pd.read_csv(path)
    y = (frame.pop("y") == "yes").to_numpy().astype(int)
    for column in frame.columns:
        if not pd.api.types.is_numeric_dtype(frame[column]):
            frame[column] = frame[column].astype("category")
    return frame, pd.get_dummies(frame).astype(float), y


def _fitter(algorithm: str, entry: int, seed: int) -> Callable[[Any, np.ndarray], Any]:
    est = ESTIMATORS[algorithm]
    params = est.portfolio(20_000)[entry]
    return lambda X, y: est.build(params, n_jobs=2, seed=seed, n_classes=2).fit(X, y)


def _two(p: np.ndarray) -> np.ndarray:
    return np.column_stack([1 - p, p])


# Boosters on their own, at the trial's rounds and at the rounds early stopping finds:
# (name, algorithm, parameters). GradientBoosting has no portfolio entry; this is a
# typical trial of its search space.
BOOSTERS = [
    *[(f"LightGBM portfolio {i}", "LightGBM", ESTIMATORS["LightGBM"].portfolio(20_000)[i])
      for i in range(2)],
    *[(f"XGBoost portfolio {i}", "XGBoostClassifier",
       ESTIMATORS["XGBoostClassifier"].portfolio(20_000)[i]) for i in range(2)],
    ("GradientBoosting, 300 rounds at 0.1", "GradientBoosting",
     {"max_iter": 300, "learning_rate": 0.1, "max_leaf_nodes": 31, "min_samples_leaf": 20,
      "l2_regularization": 1e-8}),
]  # fmt: skip


Folds = list[tuple[np.ndarray, np.ndarray]]


def _stopped(algorithm: str, params: dict[str, Any], seed: int, Xtr: Any, ytr: np.ndarray,
             Xte: Any, folds: Folds) -> tuple[np.ndarray, np.ndarray]:
    """What the re-scoring does to a booster (``automl_local.search.rescore_trial``): each
    fold stopped early on its held-out rows, the refit at the mean best round times
    k/(k-1). Returns the out-of-fold and the refit's test probabilities."""
    est = ESTIMATORS[algorithm]
    name = est.rounds_param
    assert name is not None
    capped = {**params, name: ROUNDS_CAP * params[name]}
    p, rounds = np.zeros(len(ytr)), []
    for tr, va in folds:
        model = est.build(capped, n_jobs=2, seed=seed, n_classes=2)
        rounds.append(est.fit_early_stopped(
            model, (Xtr.iloc[tr], ytr[tr], None), (Xtr.iloc[va], ytr[va], None), [],
            patience=rounds_patience(params), auc=True))  # fmt: skip
        p[va] = model.predict_proba(Xtr.iloc[va])[:, 1]
    refit = {**params, name: round(np.mean(rounds) * len(folds) / (len(folds) - 1))}
    model = est.fit(est.build(refit, n_jobs=2, seed=seed, n_classes=2), Xtr, ytr, None, [])
    return _two(p), _two(model.predict_proba(Xte)[:, 1])


def _boosters(seed: int, frame: pd.DataFrame, y: np.ndarray, train: np.ndarray,
              test: np.ndarray) -> dict[str, float]:
    """Each of ``BOOSTERS`` refit at its own rounds and at the early-stopped count."""
    codes = frame.apply(lambda c: c.cat.codes if c.dtype == "category" else c)
    ytr, yte = y[train], y[test]
    out = {}
    for name, algorithm, params in BOOSTERS:
        est = ESTIMATORS[algorithm]
        X = frame if algorithm == "LightGBM" else codes  # XGBoost, sklearn: ordinal codes
        Xtr, Xte = X.iloc[train], X.iloc[test]
        folds = list(StratifiedKFold(3, shuffle=True, random_state=seed).split(Xtr, ytr))
        plain = est.fit(est.build(params, n_jobs=2, seed=seed, n_classes=2), Xtr, ytr, None, [])
        out[f"{name}, its own {params[est.rounds_param or '']} rounds"] = float(
            roc_auc_score(yte, plain.predict_proba(Xte)[:, 1]))
        _, stopped = _stopped(algorithm, params, seed, Xtr, ytr, Xte, folds)
        out[f"{name}, rounds by early stopping"] = float(roc_auc_score(yte, stopped[:, 1]))
    return out


def run_seed(seed: int, path: str) -> dict[str, float]:
    frame, onehot, y = _load(path)
    rows = np.arange(len(y))
    train, test = train_test_split(rows, test_size=0.2, stratify=y, random_state=seed)
    ytr, yte = y[train], y[test]
    oof, full, bags = [], [], {3: [], 8: []}
    stopped_oof, stopped_full = [], []
    for _name, algorithm, entry, one_hot in MEMBERS:
        X = onehot if one_hot else frame
        Xtr, Xte = X.iloc[train], X.iloc[test]
        fit = _fitter(algorithm, entry, seed)
        p = np.zeros(len(train))
        folds = list(StratifiedKFold(3, shuffle=True, random_state=seed).split(Xtr, ytr))
        for tr, va in folds:
            p[va] = fit(Xtr.iloc[tr], ytr[tr]).predict_proba(Xtr.iloc[va])[:, 1]
        oof.append(_two(p))
        full.append(_two(fit(Xtr, ytr).predict_proba(Xte)[:, 1]))
        if ESTIMATORS[algorithm].rounds_param:
            params = ESTIMATORS[algorithm].portfolio(20_000)[entry]
            o, f = _stopped(algorithm, params, seed, Xtr, ytr, Xte, folds)
            stopped_oof.append(o)
            stopped_full.append(f)
        else:
            stopped_oof.append(oof[-1])
            stopped_full.append(full[-1])
        for k, out in bags.items():
            folds = StratifiedKFold(k, shuffle=True, random_state=seed).split(Xtr, ytr)
            bag = [fit(Xtr.iloc[tr], ytr[tr]).predict_proba(Xte)[:, 1] for tr, _ in folds]
            out.append(_two(np.mean(bag, axis=0)))

    def auc(p: np.ndarray) -> float:
        return float(roc_auc_score(yte, p[:, 1]))

    linear = LogisticRegression(max_iter=1000, random_state=seed).fit(np.hstack(oof), ytr)
    logs = make_meta_learner("LogisticRegression", seed).fit(np.hstack(oof), ytr)
    stacked = np.hstack(full)

    def voted(oof: list[np.ndarray], full: list[np.ndarray]) -> float:
        vote = bagged_selection(oof, ytr, "AUC_weighted", None, seed=seed, bagged=False)
        p = sum(w * full[m] for m, w in zip(vote.members, vote.weights, strict=True))
        return auc(p / sum(vote.weights))

    return {
        "best member (one refit)": max(auc(p) for p in full),
        "VotingEnsemble (Caruana)": voted(oof, full),
        "VotingEnsemble, boosters' rounds by early stopping (now)": voted(
            stopped_oof, stopped_full),
        "best member, boosters' rounds by early stopping": max(auc(p) for p in stopped_full),
        "StackEnsemble, LR over probabilities (before)": auc(linear.predict_proba(stacked)),
        "StackEnsemble, LR over log-probabilities (now)": auc(logs.predict_proba(stacked)),
        "equal-weight ensemble, members refit once": auc(np.mean(full, axis=0)),
        "equal-weight ensemble, members bagged over 3 folds": auc(np.mean(bags[3], axis=0)),
        "equal-weight ensemble, members bagged over 8 folds": auc(np.mean(bags[8], axis=0)),
        **_boosters(seed, frame, y, train, test),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--data", default=None, help="the bank-marketing CSV (default: found)")
    args = parser.parse_args()
    path = args.data or str(bankmarketing_path())
    results = {seed: run_seed(seed, path) for seed in args.seeds}
    names = list(next(iter(results.values())))
    seeds = " | ".join(f"seed {s}" for s in args.seeds)
    print(f"| variant (held-out AUC) | {seeds} | mean |")
    print("|---|" + "---:|" * (len(args.seeds) + 1))
    for name in names:
        values = [results[s][name] for s in args.seeds]
        cells = " | ".join(f"{v:.5f}" for v in values)
        print(f"| {name} | {cells} | {statistics.fmean(values):.5f} |")


if __name__ == "__main__":
    main()
