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

    python benchmarks/ensembles.py [--seeds 0 1 2]    # about 8 minutes on 2 cores
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
from automl_local.search import ESTIMATORS

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


def run_seed(seed: int, path: str) -> dict[str, float]:
    frame, onehot, y = _load(path)
    rows = np.arange(len(y))
    train, test = train_test_split(rows, test_size=0.2, stratify=y, random_state=seed)
    ytr, yte = y[train], y[test]
    oof, full, bags = [], [], {3: [], 8: []}
    for _name, algorithm, entry, one_hot in MEMBERS:
        X = onehot if one_hot else frame
        Xtr, Xte = X.iloc[train], X.iloc[test]
        fit = _fitter(algorithm, entry, seed)
        p = np.zeros(len(train))
        for tr, va in StratifiedKFold(3, shuffle=True, random_state=seed).split(Xtr, ytr):
            p[va] = fit(Xtr.iloc[tr], ytr[tr]).predict_proba(Xtr.iloc[va])[:, 1]
        oof.append(_two(p))
        full.append(_two(fit(Xtr, ytr).predict_proba(Xte)[:, 1]))
        for k, out in bags.items():
            folds = StratifiedKFold(k, shuffle=True, random_state=seed).split(Xtr, ytr)
            bag = [fit(Xtr.iloc[tr], ytr[tr]).predict_proba(Xte)[:, 1] for tr, _ in folds]
            out.append(_two(np.mean(bag, axis=0)))

    def auc(p: np.ndarray) -> float:
        return float(roc_auc_score(yte, p[:, 1]))

    linear = LogisticRegression(max_iter=1000, random_state=seed).fit(np.hstack(oof), ytr)
    logs = make_meta_learner("LogisticRegression", seed).fit(np.hstack(oof), ytr)
    stacked = np.hstack(full)
    vote = bagged_selection(oof, ytr, "AUC_weighted", None, seed=seed, bagged=False)
    voted = sum(w * full[m] for m, w in zip(vote.members, vote.weights, strict=True))
    return {
        "best member (one refit)": max(auc(p) for p in full),
        "VotingEnsemble (Caruana)": auc(voted / sum(vote.weights)),
        "StackEnsemble, LR over probabilities (before)": auc(linear.predict_proba(stacked)),
        "StackEnsemble, LR over log-probabilities (now)": auc(logs.predict_proba(stacked)),
        "equal-weight ensemble, members refit once": auc(np.mean(full, axis=0)),
        "equal-weight ensemble, members bagged over 3 folds": auc(np.mean(bags[3], axis=0)),
        "equal-weight ensemble, members bagged over 8 folds": auc(np.mean(bags[8], axis=0)),
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
