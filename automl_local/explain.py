"""Model explanation: permutation importance of each raw column.

Computed on the raw columns (not the engineered ones), so one number per
column a user knows, whatever encoders and ensemble sit behind the model.
It runs inside the job's budget: on a sample of validation rows, and it stops
when its deadline comes.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd

from automl_local import metrics

__all__ = ["permutation_importance"]


def permutation_importance(
    model: Any,
    X: pd.DataFrame,
    y: np.ndarray,
    w: np.ndarray | None,
    *,
    metric: str,
    deadline: float,
    seed: int = 0,
    max_rows: int = 1000,
) -> list[dict[str, Any]]:
    """Drop of ``metric`` when each column is shuffled, largest first; ``[]`` if no time."""
    if deadline - time.monotonic() < 1:
        return []
    rng = np.random.default_rng(seed)
    rows = rng.choice(len(X), size=min(len(X), max_rows), replace=False)
    X = X.iloc[rows].reset_index(drop=True)
    y = y[rows]
    w = None if w is None else w[rows]
    base = metrics.score(metric, y, model.predict_proba(X), w)
    repeats = 2 if len(X.columns) <= 30 else 1
    out: list[dict[str, Any]] = []
    for col in X.columns:
        if time.monotonic() > deadline:
            break
        drops = []
        for _ in range(repeats):
            shuffled = X.copy()
            shuffled[col] = rng.permutation(shuffled[col].to_numpy())
            drops.append(base - metrics.score(metric, y, model.predict_proba(shuffled), w))
        out.append({"feature": str(col), "importance": float(np.mean(drops))})
    out.sort(key=lambda r: -r["importance"])
    return out
