"""The engine's own job settings: plain data, no azure-ai-ml.

The local backend converts an azure-ai-ml ``ClassificationJob`` into a
:class:`JobSettings` (``backends/local/_convert.py``); the engine and the job
runner process only ever see this form, stored as ``spec.json`` in the job's
folder, so a job can be resumed or audited without azure-ai-ml installed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from automl_local.exceptions import ConfigError
from automl_local.metrics import DEFAULT_PRIMARY_METRIC, normalize_metric

__all__ = [
    "FeaturizationSettings",
    "JobSettings",
    "LimitSettings",
    "TrainingSettings",
]

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

    def check(self) -> None:
        """Refuse a limit no job could honour, naming it and what it must be."""
        checks: list[tuple[str, Any, Callable[[Any], bool], str]] = [
            (
                "timeout_minutes",
                self.timeout_minutes,
                lambda v: v > 0,
                "a positive number of minutes",
            ),
            ("max_trials", self.max_trials, lambda v: int(v) == v and v >= 1, "an integer >= 1"),
            (
                "trial_timeout_minutes",
                self.trial_timeout_minutes,
                lambda v: v > 0,
                "a positive number",
            ),
            (
                "max_concurrent_trials",
                self.max_concurrent_trials,
                lambda v: int(v) == v and v >= 1,
                "an integer >= 1",
            ),
            (
                "max_cores_per_trial",
                self.max_cores_per_trial,
                lambda v: v == -1 or v >= 1,
                "-1 (all cores) or an integer >= 1",
            ),
        ]
        for name, value, ok, expected in checks:
            if value is not None and not ok(value):
                raise ConfigError(f"limits.{name} must be {expected}; got {value!r}.")


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
    # Keyword arguments of the meta-learner (the SDK spells it stack_meta_learner_k_wargs).
    stack_meta_learner_kwargs: dict[str, Any] | None = None
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
    primary_metric: str = DEFAULT_PRIMARY_METRIC
    limits: LimitSettings = field(default_factory=LimitSettings)
    training: TrainingSettings = field(default_factory=TrainingSettings)
    featurization: FeaturizationSettings = field(default_factory=FeaturizationSettings)
    seed: int = 0
    tags: dict[str, str] = field(default_factory=dict)
    # Where the trials run: the job's compute name (as on Azure) and the Ray cluster it is
    # bound to locally (``search.bound_ray_address``); no address: local worker processes.
    compute: str | None = None
    ray_address: str | None = None

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
