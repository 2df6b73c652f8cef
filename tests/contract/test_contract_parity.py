"""Parity: one AutoML YAML means the same job locally and on Azure.

The local side is the engine's own reading of the job
(``backends.local._convert.settings_from_job`` -> ``JobSettings``); the Azure
side is the request body azure-ai-ml actually sends (recorded by the fake
transport through ``AzureClient``). Every setting the local engine honours
must agree. A ``JobSettings`` field this test does not map fails the test, so
a new honoured setting cannot skip the comparison.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import isodate
import pytest
from contract_data import FIXTURES

from automl_local.settings import JobSettings

REPO = Path(__file__).resolve().parents[2]
YAMLS = [FIXTURES / "bank-like" / "automl-job.yml",
         FIXTURES / "bank-like" / "automl-job-variant.yml"]
if (REPO / "examples" / "bankmarketing" / "automl-job.yml").is_file():
    YAMLS.append(REPO / "examples" / "bankmarketing" / "automl-job.yml")

# Azure's wire values of ClassificationPrimaryMetrics -> the names in YAML and MLflow.
WIRE_METRICS = {
    "AUCWeighted": "AUC_weighted",
    "Accuracy": "accuracy",
    "NormMacroRecall": "norm_macro_recall",
    "AveragePrecisionScoreWeighted": "average_precision_score_weighted",
    "PrecisionScoreWeighted": "precision_score_weighted",
}
# What Azure does when a limit is not sent (reference: "Exit criteria" of how-to-configure-auto-
# train); only documented defaults are filled in, so an unconfirmed one still shows up as None.
SERVICE_DEFAULTS = {"max_concurrent_trials": 1}
# JobSettings fields that are not settings of the spec (identity, data location, local seed).
NOT_COMPARED = {"name", "training_data", "validation_data", "test_data", "seed",
                # where the trials run, not how they train: the compute's name and its local
                # Ray binding (the fixtures name no compute)
                "compute", "ray_address"}


def _minutes(duration: str | None) -> float | None:
    return None if duration is None else isodate.parse_duration(duration).total_seconds() / 60


def azure_view(properties: dict[str, Any], job_name: str) -> dict[str, Any]:
    """The honoured settings as Azure receives them (the PUT .../jobs/<name> body).

    azure-ai-ml fills ``displayName`` with the job name when the spec has none;
    that is read back as "no display name", which is what the local side keeps.
    """
    task = properties["taskDetails"]
    limits = task.get("limitSettings") or {}
    training = task.get("trainingSettings") or {}
    stack = training.get("stackEnsembleSettings") or {}
    feat = task.get("featurizationSettings") or {}
    n_cv = task.get("nCrossValidations")
    imputer = {field: step["parameters"]["strategy"]
               for step in (feat.get("transformerParams") or {}).get("Imputer", [])
               for field in step["fields"]}
    return {
        "target_column_name": task["targetColumnName"],
        "experiment_name": properties.get("experimentName"),
        "display_name": None if properties.get("displayName") == job_name
        else properties.get("displayName"),
        "tags": properties.get("tags") or {},
        "primary_metric": WIRE_METRICS[task["primaryMetric"]],
        "positive_label": task.get("positiveLabel"),
        "n_cross_validations": None if n_cv is None else (
            "auto" if n_cv["mode"] == "Auto" else n_cv["value"]),
        "validation_data_size": task.get("validationDataSize"),
        "test_data_size": task.get("testDataSize"),
        "weight_column_name": task.get("weightColumnName"),
        "cv_split_column_names": task.get("cvSplitColumnNames"),
        "limits": {
            "timeout_minutes": _minutes(limits.get("timeout")),
            "trial_timeout_minutes": _minutes(limits.get("trialTimeout")),
            "max_trials": limits.get("maxTrials"),
            "exit_score": limits.get("exitScore"),
            "enable_early_termination": limits.get("enableEarlyTermination"),
            "max_concurrent_trials": limits.get(
                "maxConcurrentTrials", SERVICE_DEFAULTS["max_concurrent_trials"]),
            "max_cores_per_trial": limits.get("maxCoresPerTrial"),
        },
        "training": {
            "allowed_training_algorithms": training.get("allowedTrainingAlgorithms"),
            "blocked_training_algorithms": training.get("blockedTrainingAlgorithms"),
            "enable_vote_ensemble": training.get("enableVoteEnsemble"),
            "enable_stack_ensemble": training.get("enableStackEnsemble"),
            "enable_model_explainability": training.get("enableModelExplainability"),
            "enable_onnx_compatible_models": training.get("enableOnnxCompatibleModels", False),
            "stack_meta_learner_type": stack.get("stackMetaLearnerType"),
            "stack_meta_learner_train_percentage": stack.get("stackMetaLearnerTrainPercentage"),
            "stack_meta_learner_kwargs": stack.get("stackMetaLearnerKWargs"),
        },
        "featurization": {
            "mode": feat.get("mode", "auto").lower(),
            "imputer": imputer,
            "blocked_transformers": feat.get("blockedTransformers") or [],
            "column_name_and_types": feat.get("columnNameAndTypes") or {},
        },
    }


def local_view(settings: JobSettings) -> dict[str, Any]:
    """The same settings as the local engine will run them."""
    data = settings.to_dict()
    for key in NOT_COMPARED:
        data.pop(key)
    return data


def _submit_to_fake_azure(yaml_path: Path, fake: Any) -> tuple[dict[str, Any], str]:
    from automl_local.backends import get_client
    from automl_local.backends.azure.testing import FakeCredential
    from azure.ai.ml import load_job

    client = get_client("azure", subscription_id=fake.sub, resource_group_name=fake.rg,
                        workspace_name=fake.ws, credential=FakeCredential(),
                        transport=fake.transport, show_progress=False)
    job = client.jobs.create_or_update(load_job(yaml_path))
    put = fake.transport.one("PUT", rf"/jobs/{job.name}$")
    return put.json()["properties"], str(job.name)


@pytest.mark.parametrize("yaml_path", YAMLS, ids=lambda p: str(p.relative_to(REPO)))
def test_local_and_azure_read_the_yaml_alike(yaml_path: Path, fake_azure: Any) -> None:
    from automl_local.backends.local._convert import settings_from_job
    from azure.ai.ml import load_job

    warnings: list[str] = []
    settings = settings_from_job(
        load_job(yaml_path), name="parity", base_dir=yaml_path.parent,
        resolve_path=lambda path, base: str(Path(base or ".") / path), warnings=warnings,
    )
    local = local_view(settings)
    azure = azure_view(*_submit_to_fake_azure(yaml_path, fake_azure))

    compared = set(azure) | {f"{k}.{s}" for k, v in azure.items() if isinstance(v, dict)
                             for s in v}
    honoured = {f.name for f in dataclasses.fields(JobSettings)} - NOT_COMPARED
    assert honoured <= set(azure), f"settings with no Azure mapping: {honoured - set(azure)}"
    for key, value in local.items():
        if isinstance(value, dict) and key in ("limits", "training", "featurization"):
            unmapped = set(value) - set(azure[key])
            assert not unmapped, f"{key} settings with no Azure mapping: {unmapped}"
    assert compared
    assert local == azure
    # Only fields with no local meaning may be set aside (e.g. the example's compute).
    assert all("is Azure-only and ignored locally" in w for w in warnings), warnings


def test_azure_view_reads_a_service_default_as_missing(fake_azure: Any) -> None:
    """A YAML without limits sends no limit values: Azure applies its own defaults."""
    minimal = FIXTURES / "bank-like" / "automl-job-minimal.yml"
    azure = azure_view(*_submit_to_fake_azure(minimal, fake_azure))
    assert azure["primary_metric"] == "AUC_weighted"  # the YAML path's default metric
    assert azure["limits"]["max_trials"] is None and azure["limits"]["timeout_minutes"] is None


def test_the_stack_meta_learner_kwargs_reach_the_meta_learner() -> None:
    """Python only: the SDK's YAML loader cannot build them (it passes stack_meta_learner_kwargs
    to a constructor that takes stack_meta_learner_k_wargs and raises TypeError)."""
    from automl_local.backends.local._convert import job_from_settings, settings_from_job
    from azure.ai.ml import Input, automl
    from azure.ai.ml.automl import StackEnsembleSettings

    from automl_local.ensemble import make_meta_learner

    job = automl.classification(
        training_data=Input(type="mltable", path="./train"), target_column_name="y",
        primary_metric="AUC_weighted",
    )  # fmt: skip
    job.set_training(stack_ensemble_settings=StackEnsembleSettings(
        stack_meta_learner_type="LogisticRegression", stack_meta_learner_k_wargs={"C": 0.25}))
    settings = settings_from_job(job, name="kw", base_dir=Path("."),
                                 resolve_path=lambda path, base: str(path), warnings=[])
    t = settings.training
    assert t.stack_meta_learner_kwargs == {"C": 0.25}
    meta = make_meta_learner(t.stack_meta_learner_type, 0, t.stack_meta_learner_kwargs)
    assert meta.learner.C == 0.25
    back = job_from_settings(settings).training.stack_ensemble_settings
    assert back.stack_meta_learner_k_wargs == {"C": 0.25}
    assert str(back.stack_meta_learner_type).endswith("LogisticRegression")


def test_a_meta_learner_that_cannot_be_built_is_refused_at_submission() -> None:
    from automl_local.backends.local._convert import settings_from_job
    from azure.ai.ml import Input, automl
    from azure.ai.ml.automl import StackEnsembleSettings

    from automl_local.exceptions import ConfigError

    job = automl.classification(
        training_data=Input(type="mltable", path="./train"), target_column_name="y")
    job.set_training(stack_ensemble_settings=StackEnsembleSettings(
        stack_meta_learner_type="LogisticRegression", stack_meta_learner_k_wargs={"Cee": 1}))
    with pytest.raises(ConfigError, match=r"stack_meta_learner_kwargs \{'Cee': 1\} do not fit"):
        settings_from_job(job, name="kw", base_dir=Path("."),
                          resolve_path=lambda path, base: str(path), warnings=[])
