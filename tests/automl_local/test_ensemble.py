import numpy as np
import pytest

from automl_local import metrics
from automl_local.ensemble import (
    ENSEMBLE_SCORINGS,
    STACK_SECONDS,
    Candidate,
    bagged_selection,
    choose,
    ensemble_seconds,
    greedy_selection,
    leaderboard_candidates,
    library,
    scorer,
    stack,
    standard_error,
)
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


def _draw(seed, n_val=300, n_test=5000, k=20):
    """k models of one signal, each with its own noise: a small validation split, a big test."""
    rng = np.random.default_rng(seed)
    n = n_val + n_test
    y = rng.integers(0, 2, n)
    signal = y + rng.normal(0, 1.0, n)
    cands = []
    for j in range(k):
        p = 1 / (1 + np.exp(-(signal + rng.normal(0, 0.8 + 0.05 * j, n))))
        cands.append(np.column_stack([1 - p, p]))
    return y[:n_val], y[n_val:], [c[:n_val] for c in cands], [c[n_val:] for c in cands]


def _on_test(result, test_cands, y_test):
    w = np.zeros(len(test_cands))
    w[result.members] = result.weights
    blend = np.tensordot(w / w.sum(), np.stack(test_cands), axes=1)
    return metrics.score("AUC_weighted", y_test, blend)


def test_bagged_selection_overfits_a_small_validation_split_less_than_greedy():
    greedy, bagged = [], []
    for seed in range(8):
        y_val, y_test, val, test = _draw(seed)
        greedy.append(_on_test(greedy_selection(val, y_val, "AUC_weighted"), test, y_test))
        bagged.append(_on_test(bagged_selection(val, y_val, "AUC_weighted"), test, y_test))
    assert np.mean(bagged) > np.mean(greedy)


def test_bagged_selection_weights_members_and_score(candidates):
    y, cands = candidates
    result = bagged_selection(cands * 4, y, "AUC_weighted", max_members=5, seed=1)
    assert 2 <= len(result.members) <= 5 and sum(result.weights) == pytest.approx(1.0, abs=1e-3)
    assert result.score == pytest.approx(metrics.score("AUC_weighted", y, result.oof))
    again = bagged_selection(cands * 4, y, "AUC_weighted", max_members=5, seed=1)
    assert again.members == result.members and again.weights == result.weights


def test_fast_scorer_equals_the_metric_with_ties_and_falls_back_otherwise(candidates):
    y, cands = candidates
    p = cands[0].round(1)  # many ties
    assert scorer("AUC_weighted", y)(p) == pytest.approx(metrics.score("AUC_weighted", y, p))
    w = np.linspace(0.5, 2.0, len(y))
    weighted = scorer("AUC_weighted", y, w)(p)
    assert weighted == pytest.approx(metrics.score("AUC_weighted", y, p, w))
    assert scorer("accuracy", y)(p) == metrics.score("accuracy", y, p)


@pytest.mark.parametrize("k", [3, 10])
def test_fast_scorer_equals_the_multiclass_metric_with_ties_and_an_absent_class(k):
    rng = np.random.default_rng(k)
    y = rng.integers(0, k - 1, 1500)  # the last class never occurs in these rows
    p = rng.dirichlet(np.ones(k), len(y)).round(2)  # many ties
    assert scorer("AUC_weighted", y)(p) == pytest.approx(metrics.score("AUC_weighted", y, p))
    one_class = np.zeros(20, dtype=int)
    assert np.isnan(scorer("AUC_weighted", one_class)(p[:20]))


def test_library_keeps_other_algorithms_beside_the_copies_of_the_best():
    ranked = [f"rf{i}" for i in range(10)] + ["lgbm0", "xgb0", "rf10"]
    groups = ["RF"] * 10 + ["LGBM", "XGB", "RF"]
    assert library(ranked, groups, 6, per_group=4) == ["rf0", "rf1", "rf2", "rf3", "lgbm0", "xgb0"]
    assert library(ranked[:3], groups[:3], 6, per_group=1) == ranked[:3]  # tops up when short


def _cands(y, single_score_shift):
    rng = np.random.default_rng(3)
    p = np.clip(y * 0.4 + rng.normal(0.3, 0.25, len(y)), 0, 1)
    oof = np.column_stack([1 - p, p])
    s = metrics.score("AUC_weighted", y, oof)
    single = Candidate(0, "LightGBM", s + single_score_shift, oof=oof)
    vote = Candidate(1, "VotingEnsemble", s, oof=oof, ensembled_iterations=[0])
    return single, vote


def test_choose_prefers_an_ensemble_within_the_standard_error():
    y = np.random.default_rng(0).integers(0, 2, 500)
    se = standard_error("AUC_weighted", y, _cands(y, 0.0)[0].oof)
    assert 0.003 < se < 0.05
    single, vote = _cands(y, se / 2)  # the single model is ahead, but within the noise
    assert choose([single, vote], y, "AUC_weighted") is vote
    single, vote = _cands(y, 2 * se)  # clearly ahead: the single model wins
    assert choose([single, vote], y, "AUC_weighted") is single


def test_a_rescored_trial_outside_the_library_is_listed_once_with_its_predictions() -> None:
    oof = np.full((4, 2), 0.5)
    singles = [Candidate(0, "LightGBM", 0.95, oof=oof)]
    pool = [Candidate(0, "LightGBM", 0.94, oof=oof), Candidate(9, "LinearSVM", 0.93, oof=oof)]
    vote = [Candidate(10, "VotingEnsemble", 0.95, oof=oof, ensembled_iterations=[0, 9])]
    rest = [Candidate(9, "LinearSVM", 0.92), Candidate(3, "SGD", float("nan"), "Failed")]
    listed, others = leaderboard_candidates(singles, pool, vote, rest)
    assert [c.number for c in listed] == [0, 9, 10] and listed[1].oof is oof
    assert [c.number for c in others] == [3]


def test_the_ensembles_time_is_the_least_of_several_timings(monkeypatch) -> None:
    import time

    import automl_local.ensemble as ensemble

    calls = []

    def scorer(metric, y, w=None):
        def score(oof):
            calls.append(1)
            if len(calls) == 1:
                time.sleep(0.05)  # one call preempted on busy cores
            return 0.5

        return score

    monkeypatch.setattr(ensemble, "scorer", scorer)
    seconds = ensemble_seconds(np.zeros((4, 2)), np.array([0, 1, 0, 1]), "AUC_weighted")
    assert len(calls) == 5
    assert STACK_SECONDS <= seconds < STACK_SECONDS + ENSEMBLE_SCORINGS * 0.01  # not 125 s


def _confident_members(seed, n=4000):
    """Three members with independent errors, each sure of itself: probabilities in the tails."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    out = []
    for _ in range(3):
        logit = 4.0 * (2 * y - 1) + rng.normal(0, 4.0, n)
        p = 1 / (1 + np.exp(-logit))
        out.append(np.column_stack([1 - p, p]))
    return y, out


def test_the_stack_blends_log_probabilities_not_probabilities():
    """Independent members add in log-odds; a blend linear in p cannot see into the tails."""
    from sklearn.linear_model import LogisticRegression

    from automl_local.ensemble import make_meta_learner
    from automl_local.model import LogProbaMeta

    y, cands = _confident_members(0)
    test_y, test_cands = _confident_members(1)
    meta = make_meta_learner("LogisticRegression", 0).fit(np.hstack(cands), y)
    assert isinstance(meta, LogProbaMeta)
    ours = metrics.score("AUC_weighted", test_y, meta.predict_proba(np.hstack(test_cands)))
    raw = LogisticRegression(max_iter=1000).fit(np.hstack(cands), y)
    linear = metrics.score("AUC_weighted", test_y, raw.predict_proba(np.hstack(test_cands)))
    assert ours > linear + 0.002, (ours, linear)
    zeros = np.hstack([np.column_stack([np.ones(3), np.zeros(3)])] * 3)  # members sure of "0"
    assert np.isfinite(meta.predict_proba(zeros)).all()


def test_a_meta_learner_keyword_it_does_not_take_is_refused():
    from automl_local.ensemble import make_meta_learner

    with pytest.raises(
        ConfigError,
        match=r"stack_meta_learner_kwargs \{'bogus': 1\} do not fit "
        r"LogisticRegression: .*bogus.* Use that estimator's own parameter names",
    ):
        make_meta_learner("LogisticRegression", 0, {"bogus": 1})
    assert make_meta_learner("LightGBMClassifier", 0, {"num_leaves": 4}).learner.num_leaves == 4
    with pytest.raises(
        ConfigError,
        match=r"\{'num_leafs': 4\} do not fit LightGBMClassifier: "
        r"LGBMClassifier takes no keyword num_leafs",
    ):
        make_meta_learner("LightGBMClassifier", 0, {"num_leafs": 4})  # LightGBM would drop it


def test_the_stack_ensemble_is_built_with_the_meta_learner_kwargs(candidates):
    from automl_local.ensemble import build_ensembles

    y, cands = candidates
    singles = [Candidate(i, "LightGBM", 0.0, members=[("LightGBM", {"i": i})], oof=p)
               for i, p in enumerate(cands)]  # fmt: skip
    built = list(build_ensembles(singles, y, "AUC_weighted", None, vote=False, stacked=True,
                                 meta_learner="LogisticRegression", seed=0,
                                 meta_kwargs={"C": 0.125}, first_number=9))  # fmt: skip
    assert [c.algorithm for c in built] == ["StackEnsemble"]
    assert built[0].meta.learner_.C == 0.125
