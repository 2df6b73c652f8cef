"""azure-ai-ml AutoML entities -> the engine's :class:`JobSettings`.

Every field of a classification job is either honoured, or refused with a
message, or (when it only means something on Azure's compute) accepted with a
warning that says it is ignored here. Nothing is dropped silently.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

from automl_local.backends.local._compute import SERVERLESS, _bare_name

from automl_local.ensemble import make_meta_learner
from automl_local.exceptions import ConfigError
from automl_local.metrics import PYTHON_DEFAULT_PRIMARY_METRIC, normalize_metric
from automl_local.search import bound_ray_address, canonical_algorithm, compute_variable
from automl_local.settings import (
    FeaturizationSettings,
    JobSettings,
    LimitSettings,
    TrainingSettings,
)

__all__ = ["AZURE_ONLY_FIELDS", "job_from_settings", "settings_from_job"]

# Fields that configure Azure's compute or service: accepted, ignored locally, with a warning.
AZURE_ONLY_FIELDS = {
    "resources": "runs on this machine",
    "queue_settings": "no queue locally",
    "environment_id": "uses this Python environment",
    "limits.max_nodes": "one machine",
    "training.training_mode": "always non-distributed",
    "training.ensemble_model_download_timeout": "models are local files",
    "log_verbosity": "see --verbose",
}


def _input_path(value: Any, field: str, base_dir: Path | None, resolve: Any) -> str | None:
    if value is None:
        return None
    path = getattr(value, "path", None) if not isinstance(value, str | Path) else str(value)
    kind = getattr(value, "type", "mltable")
    if kind not in (None, "mltable", "uri_file", "uri_folder"):
        raise ConfigError(f"{field} has type {kind!r}; use an mltable input (type: mltable).")
    if not path:
        raise ConfigError(f"{field} has no path. Give `path:` an MLTable folder or a data asset.")
    return str(resolve(str(path), base_dir))


def _enum_value(v: Any) -> Any:
    return getattr(v, "value", v)


def settings_from_job(
    job: Any,
    *,
    name: str,
    base_dir: Path | None,
    resolve_path: Any,
    warnings: list[str],
    seed: int = 0,
    compute_bound: Callable[[str], tuple[int | None, str]] | None = None,
) -> JobSettings:
    """Translate an azure-ai-ml ``ClassificationJob`` (from Python or ``load_job``).

    ``compute_bound`` resolves the job's ``compute`` (unknown names raise) to
    the concurrency it allows; without it, ``compute`` is warned about as ignored.
    """
    from azure.ai.ml.entities._job.automl.tabular.classification_job import ClassificationJob

    if not isinstance(job, ClassificationJob):
        task = getattr(job, "task_type", None) or type(job).__name__
        raise ConfigError(
            f"this job is a {_enum_value(task)!s} job; automl-local runs AutoML classification "
            "jobs (task: classification) and pipeline jobs locally. Use --backend azure for "
            "other tasks."
        )
    compute = _bare_name(str(job.compute)) if job.compute else None
    ray_address = None if compute in (None, *SERVERLESS) else bound_ray_address(compute)
    max_nodes: int | None = None
    if compute_bound is not None and job.compute:
        max_nodes, compute_note = compute_bound(str(job.compute))  # unknown names raise
        if ray_address:
            compute_note = f"compute {compute}: trials run on the Ray cluster at {ray_address}" + (
                f", at most {max_nodes} concurrent trial(s)" if max_nodes else ""
            )
        warnings.append(compute_note)
    elif compute and not ray_address:
        warnings.append(
            f"compute={compute} is Azure-only and ignored locally (runs on this machine; "
            f"bind it to a Ray cluster with {compute_variable(compute)}=host:port)."
        )
    for field_name, note in AZURE_ONLY_FIELDS.items():
        if field_name == "compute" and compute_bound is not None:
            continue
        head, _, attr = field_name.partition(".")
        holder = job if not attr else getattr(job, head, None)
        value = getattr(holder, attr or head, None) if holder is not None else None
        if value not in (None, "", {}, []) and _enum_value(value) not in ("Info", "info"):
            warnings.append(
                f"{field_name}={_enum_value(value)!s} is Azure-only and ignored locally ({note})."
            )

    training = job.training
    if training is not None and getattr(training, "enable_dnn_training", None):
        raise ConfigError(
                "training.enable_dnn_training: true is not supported locally (no deep-learning "
                "models are emulated); remove it, or run with --backend azure."
            )
    feat = job.featurization
    if feat is not None and getattr(feat, "enable_dnn_featurization", None):
        raise ConfigError(
            "featurization.enable_dnn_featurization: true is not supported locally; "
            "remove it, or run with --backend azure."
        )
    if feat is not None and getattr(feat, "dataset_language", None):
        warnings.append(
            "featurization.dataset_language is ignored locally (text is tokenised "
            "by whitespace for TF-IDF)."
        )

    lim = job.limits
    limits = LimitSettings()
    if lim is not None:
        limits = LimitSettings(
            timeout_minutes=lim.timeout_minutes,
            max_trials=lim.max_trials,
            trial_timeout_minutes=lim.trial_timeout_minutes,
            exit_score=lim.exit_score,
            enable_early_termination=True
            if lim.enable_early_termination is None
            else bool(lim.enable_early_termination),
            max_concurrent_trials=lim.max_concurrent_trials or 1,
            max_cores_per_trial=lim.max_cores_per_trial,
        )
    if max_nodes is not None and limits.max_concurrent_trials > max_nodes:
        limits = dataclasses.replace(limits, max_concurrent_trials=max_nodes)
    train_settings = TrainingSettings()
    if training is not None:
        stack = training.stack_ensemble_settings
        train_settings = TrainingSettings(
            allowed_training_algorithms=[
                canonical_algorithm(a) for a in training.allowed_training_algorithms
            ]
            if training.allowed_training_algorithms
            else None,
            blocked_training_algorithms=[
                canonical_algorithm(a) for a in training.blocked_training_algorithms
            ]
            if training.blocked_training_algorithms
            else None,
            enable_vote_ensemble=True
            if training.enable_vote_ensemble is None
            else bool(training.enable_vote_ensemble),
            enable_stack_ensemble=True
            if training.enable_stack_ensemble is None
            else bool(training.enable_stack_ensemble),
            enable_model_explainability=True
            if training.enable_model_explainability is None
            else bool(training.enable_model_explainability),
            stack_meta_learner_type=None
            if stack is None or _enum_value(stack.stack_meta_learner_type) in (None, "None")
            else str(_enum_value(stack.stack_meta_learner_type)),
            stack_meta_learner_train_percentage=None
            if stack is None
            else stack.stack_meta_learner_train_percentage,
            stack_meta_learner_kwargs=None
            if stack is None or not stack.stack_meta_learner_k_wargs
            else dict(stack.stack_meta_learner_k_wargs),
            enable_onnx_compatible_models=bool(training.enable_onnx_compatible_models),
        )
    if train_settings.enable_stack_ensemble:  # a bad meta-learner fails now, not at the end
        make_meta_learner(
            train_settings.stack_meta_learner_type, 0, train_settings.stack_meta_learner_kwargs
        )
    featurization = FeaturizationSettings()
    if feat is not None:
        imputer: dict[str, str] = {}
        params = feat.transformer_params or {}
        for key, transformers in params.items():
            if str(key).lower() != "imputer":
                raise ConfigError(
                    f"featurization.transformer_params.{key} is not supported locally "
                    "(only imputer is); remove it, or run with --backend azure."
                )
            for t in transformers or []:
                strategy = (t.parameters or {}).get("strategy")
                extra = set(t.parameters or {}) - {"strategy"}
                if extra:
                    raise ConfigError(
                        f"featurization.transformer_params.imputer parameters "
                        f"{sorted(extra)} are not supported; only strategy is."
                    )
                for col in t.fields or []:
                    imputer[col] = str(strategy)
        featurization = FeaturizationSettings(
            mode=str(feat.mode or "auto").lower(),
            imputer=imputer,
            blocked_transformers=[str(_enum_value(b)) for b in (feat.blocked_transformers or [])],
            column_name_and_types=dict(feat.column_name_and_types or {}),
        )
    n_cv = job.n_cross_validations
    n_cv = _enum_value(n_cv)
    if isinstance(n_cv, str) and n_cv.lower() == "auto":
        n_cv = "auto"
    metric = _enum_value(job.primary_metric)
    training_data = _input_path(job.training_data, "training_data", base_dir, resolve_path)
    if training_data is None:
        raise ConfigError(
            "training_data is missing. Give the job an mltable input "
            "(training_data: {type: mltable, path: ./train})."
        )
    return JobSettings(
        name=name,
        experiment_name=job.experiment_name or "Default",
        display_name=job.display_name,
        target_column_name=job.target_column_name,
        training_data=training_data,
        validation_data=_input_path(
            job.validation_data, "validation_data", base_dir, resolve_path
        ),
        test_data=_input_path(job.test_data, "test_data", base_dir, resolve_path),
        validation_data_size=job.validation_data_size,
        test_data_size=job.test_data_size,
        n_cross_validations=n_cv,
        cv_split_column_names=list(job.cv_split_column_names)
        if job.cv_split_column_names
        else None,
        weight_column_name=job.weight_column_name,
        positive_label=job.positive_label,
        primary_metric=normalize_metric(metric) if metric else PYTHON_DEFAULT_PRIMARY_METRIC,
        limits=limits,
        training=train_settings,
        featurization=featurization,
        seed=seed,
        tags={str(k): str(v) for k, v in (job.tags or {}).items()},
        compute=compute,
        ray_address=ray_address,
    )


def job_from_settings(s: JobSettings) -> Any:
    """The azure-ai-ml entity for stored settings, so ``jobs.get`` returns Azure's type."""
    from azure.ai.ml import Input, automl
    from azure.ai.ml.automl import ColumnTransformer, StackEnsembleSettings

    def _in(path: str | None) -> Any:
        return None if path is None else Input(type="mltable", path=path)

    job = automl.classification(
        training_data=_in(s.training_data),
        target_column_name=s.target_column_name,
        primary_metric=s.primary_metric,
        validation_data=_in(s.validation_data),
        validation_data_size=s.validation_data_size,
        n_cross_validations=s.n_cross_validations,
        cv_split_column_names=s.cv_split_column_names,
        weight_column_name=s.weight_column_name,
        test_data=_in(s.test_data),
        test_data_size=s.test_data_size,
        enable_model_explainability=s.training.enable_model_explainability,
        experiment_name=s.experiment_name,
        display_name=s.display_name,
        tags=s.tags,
        positive_label=s.positive_label,
    )
    lim = s.limits
    job.set_limits(
        timeout_minutes=lim.timeout_minutes,
        max_trials=lim.max_trials,
        trial_timeout_minutes=lim.trial_timeout_minutes,
        exit_score=lim.exit_score,
        enable_early_termination=lim.enable_early_termination,
        max_concurrent_trials=lim.max_concurrent_trials,
        max_cores_per_trial=lim.max_cores_per_trial,
    )
    t = s.training
    job.set_training(
        allowed_training_algorithms=t.allowed_training_algorithms,
        blocked_training_algorithms=t.blocked_training_algorithms,
        enable_vote_ensemble=t.enable_vote_ensemble,
        enable_stack_ensemble=t.enable_stack_ensemble,
        enable_model_explainability=t.enable_model_explainability,
        enable_onnx_compatible_models=t.enable_onnx_compatible_models,
    )
    stacked = (t.stack_meta_learner_type, t.stack_meta_learner_train_percentage,
               t.stack_meta_learner_kwargs)  # fmt: skip
    if any(v is not None for v in stacked):
        job.training.stack_ensemble_settings = StackEnsembleSettings(
            stack_meta_learner_type=cast(Any, t.stack_meta_learner_type),  # the enum's value
            stack_meta_learner_train_percentage=0.2  # the SDK's default
            if t.stack_meta_learner_train_percentage is None
            else t.stack_meta_learner_train_percentage,
            stack_meta_learner_k_wargs=t.stack_meta_learner_kwargs,
        )
    f = s.featurization
    job.set_featurization(
        mode=f.mode,
        blocked_transformers=f.blocked_transformers or None,
        column_name_and_types=f.column_name_and_types or None,
        transformer_params={
            "imputer": [
                ColumnTransformer(fields=[c], parameters={"strategy": v})
                for c, v in f.imputer.items()
            ]
        }
        if f.imputer
        else None,
    )
    if s.compute:
        job.compute = s.compute
    return job
