import numpy as np
import pytest

from automl_local import metrics
from automl_local.ensemble import greedy_selection, stack
from automl_local.exceptions import ConfigError


@pytest.fixture
def candidates():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 400)
    out = []
    for noise in (0.6, 0.7, 0.8):  # three noisy but independent views of the label
        p = np.clip(y * 0.5 + rng.normal(0.25, noise / 2, 400), 0.01, 0.99)
        out.append(np.column_stack([1 - p, p]))
    return y, out


def test_greedy_selection_is_never_worse_than_the_best_member(candidates):
    y, cands = candidates
    best_single = max(metrics.score("AUC_weighted", y, c) for c in cands)
    result = greedy_selection(cands, y, "AUC_weighted")
    assert result.score >= best_single
    assert len(result.members) >= 2  # independent errors: averaging helps
    assert result.score == pytest.approx(metrics.score("AUC_weighted", y, result.oof))


def test_stack_scores_out_of_fold(candidates):
    y, cands = candidates
    result = stack(cands, y, "AUC_weighted")
    assert result.meta is not None and 0.5 < result.score <= 1.0


def test_unknown_meta_learner(candidates):
    y, cands = candidates
    with pytest.raises(ConfigError, match="stack_meta_learner_type 'ElasticNet' is not supported"):
        stack(cands, y, "AUC_weighted", meta_learner="ElasticNet")
