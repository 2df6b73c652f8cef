"""The engine's own job settings: plain data, no azure-ai-ml.

The local backend converts an azure-ai-ml ``ClassificationJob`` into a
:class:`JobSettings` (``backends/local/_convert.py``); the engine and the job
runner process only ever see this form, stored as ``spec.json`` in the job's
folder, so a job can be resumed or audited without azure-ai-ml installed.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from automl_local.exceptions import ConfigError

__all__ = [
    "PRIMARY_METRICS",
    "FeaturizationSettings",
    "JobSettings",
    "LimitSettings",
    "TrainingSettings",
    "normalize_metric",
]

# Azure's classification primary metrics (wire value -> our canonical name).
PRIMARY_METRICS: dict[str, str] = {
    "accuracy": "accuracy",
    "auc_weighted": "AUC_weighted",
    "norm_macro_recall": "norm_macro_recall",
    "average_precision_score_weighted": "average_precision_score_weighted",
    "precision_score_weighted": "precision_score_weighted",
}


def _snake(name: str) -> str:
    out: list[str] = []
    for i, ch in enumerate(name):
        if (
            ch.isupper()
            and i
            and (name[i - 1].islower() or (i + 1 < len(name) and name[i + 1].islower()))
            and name[i - 1] != "_"
        ):
            out.append("_")
        out.append(ch.lower())
    return "".join(out)


def normalize_metric(value: str) -> str:
    """Accept Azure's spellings (``AUC_weighted``, ``AUCWeighted``, ``auc_weighted``)."""
    key = _snake(str(value)).replace("a_u_c", "auc")
    if key not in PRIMARY_METRICS:
        raise ConfigError(
            f"primary_metric {value!r} is not a classification metric. "
            f"Use one of: {', '.join(PRIMARY_METRICS.values())}."
        )
    return PRIMARY_METRICS[key]


@dataclass
class LimitSettings:
    """``limits:`` of the job. ``None`` means Azure's service default."""

    timeout_minutes: float | None = None
    max_trials: int | None = None
    trial_timeout_minutes: float | None = None
    exit_score: float | None = None
    enable_early_termination: bool = True
    max_concurrent_trials: int = 1
    max_cores_per_trial: int | None = None


@dataclass
class TrainingSettings:
    """``training:`` of the job, with algorithm names already in Azure's CamelCase."""

    allowed_training_algorithms: list[str] | None = None
    blocked_training_algorithms: list[str] | None = None
    enable_vote_ensemble: bool = True
    enable_stack_ensemble: bool = True
    enable_model_explainability: bool = True
    stack_meta_learner_type: str | None = None
    stack_meta_learner_train_percentage: float | None = None
    # Only algorithms with an ONNX converter; the best child gets outputs/model.onnx.
    enable_onnx_compatible_models: bool = False


@dataclass
class FeaturizationSettings:
    """``featurization:``; ``imputer`` maps a column to an imputation strategy."""

    mode: str = "auto"
    imputer: dict[str, str] = field(default_factory=dict)
    blocked_transformers: list[str] = field(default_factory=list)
    column_name_and_types: dict[str, str] = field(default_factory=dict)


@dataclass
class JobSettings:
    """Everything the engine needs to run one AutoML classification job."""

    name: str
    target_column_name: str
    training_data: str
    experiment_name: str = "Default"
    display_name: str | None = None
    validation_data: str | None = None
    validation_data_size: float | None = None
    test_data: str | None = None
    test_data_size: float | None = None
    n_cross_validations: int | str | None = None
    cv_split_column_names: list[str] | None = None
    weight_column_name: str | None = None
    positive_label: Any = None
    primary_metric: str = "AUC_weighted"
    limits: LimitSettings = field(default_factory=LimitSettings)
    training: TrainingSettings = field(default_factory=TrainingSettings)
    featurization: FeaturizationSettings = field(default_factory=FeaturizationSettings)
    seed: int = 0
    tags: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.primary_metric = normalize_metric(self.primary_metric)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> JobSettings:
        data = dict(data)
        data["limits"] = LimitSettings(**data.get("limits") or {})
        data["training"] = TrainingSettings(**data.get("training") or {})
        data["featurization"] = FeaturizationSettings(**data.get("featurization") or {})
        return cls(**data)
