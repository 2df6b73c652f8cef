"""The served model keeps only the boosters; their probabilities must match the estimators'."""

import numpy as np
import pytest

from automl_local.model import BoosterClassifier


@pytest.mark.parametrize("classes", [2, 3])
def test_booster_probabilities_match_the_sklearn_wrappers(classes):
    from lightgbm import LGBMClassifier
    from xgboost import XGBClassifier

    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 4))
    y = np.digitize(X[:, 0] + rng.normal(scale=0.3, size=300), [-0.5, 0.5][: classes - 1])
    for model in (
        LGBMClassifier(n_estimators=20, verbose=-1).fit(X, y),
        XGBClassifier(n_estimators=20).fit(X, y),
    ):
        fast = BoosterClassifier.from_estimator(model)
        np.testing.assert_allclose(
            fast.predict_proba(X[:7]), model.predict_proba(X[:7]), rtol=1e-5
        )
        assert fast.predict_proba(X[:1]).shape == (1, classes)


def test_default_experiment_writes_artifacts_inside_the_workspace(tmp_path, monkeypatch):
    from mlflow.tracking import MlflowClient

    from automl_local.tracking import Tracker

    monkeypatch.chdir(tmp_path)  # MLflow's own default would be ./mlruns here
    ws = tmp_path / "ws"
    ws.mkdir()
    tracker = Tracker(f"sqlite:///{ws / 'mlflow.db'}", ws / "mlartifacts", "Default")
    tracker.start_parent("job_a", tags={}, params={"a": 1})
    tracker.close()
    run = MlflowClient(f"sqlite:///{ws / 'mlflow.db'}").get_run("job_a")
    assert run.info.artifact_uri.startswith((ws / "mlartifacts").as_uri())
    assert not (tmp_path / "mlruns").exists()
