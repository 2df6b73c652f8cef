"""``outputs/generated_code/``: the best child as a training script anyone can read and run.

``script.py`` needs pandas, scikit-learn, LightGBM/XGBoost (those the model uses) and
MLflow, never automl-local. It reads ``--training_dataset_uri`` (CSV, Parquet or an
MLTable folder), rebuilds the job's featurization (the column types the job decided,
fitted again on the data), builds each member with the child's hyper-parameters,
scores it on the job's validation scheme (same folds or holdout, same seed), fits on
every row and logs the model and the score with MLflow. ``script_run_notebook.ipynb``
runs it locally and shows how to submit it as an Azure command job.

A StackEnsemble's meta-learner was fitted on the job's out-of-fold predictions; the
script does not reproduce that, so for a StackEnsemble best child the code is written
for the best VotingEnsemble or single child instead, and the script's header says so.
"""

from __future__ import annotations

import json
import math
import pprint
import sys
from pathlib import Path
from typing import Any

from automl_local.outputs._codegen_template import SCRIPT_BODY

__all__ = ["CodeSpec", "build_code_spec", "render_estimator", "write_generated_code"]


def render_estimator(est: Any) -> tuple[str, set[str]]:
    """Constructor source of an unfitted estimator (only non-default parameters), and the
    imports it needs. Nested estimators (a calibrated SVM, a pipeline) are rendered too."""
    imports: set[str] = set()

    def value(v: Any) -> str:
        if hasattr(v, "get_params") and not isinstance(v, type):
            return obj(v)
        if isinstance(v, list | tuple):
            inner = ", ".join(value(x) for x in v)
            if isinstance(v, list):
                return f"[{inner}]"
            return f"({inner}{',' if len(v) == 1 else ''})"
        if isinstance(v, float) and not math.isfinite(v):
            return f'float("{v}")'
        return repr(v)

    def obj(e: Any) -> str:
        cls = type(e)
        module = cls.__module__
        public = module.split("._")[0]  # sklearn.linear_model._logistic -> sklearn.linear_model
        top = module.split(".")[0]
        if getattr(sys.modules.get(top), cls.__name__, None) is cls:  # lightgbm, xgboost
            public = top
        imports.add(f"from {public} import {cls.__name__}")
        try:
            defaults = cls().get_params(deep=False)
        except TypeError:
            defaults = {}
        args = []
        for k, v in e.get_params(deep=False).items():
            if k in defaults and _same(defaults[k], v):
                continue
            args.append(f"{k}={value(v)}")
        if cls.__name__ == "Pipeline":
            return f"Pipeline({value(e.steps)})"
        return f"{cls.__name__}({', '.join(args)})"

    return obj(est), imports


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    try:
        return bool(type(a) is type(b) and a == b)
    except Exception:  # arrays, estimators: compare by repr
        return repr(a) == repr(b)


class CodeSpec:
    """What the script needs to know about the job and the child."""

    def __init__(
        self,
        *,
        run_id: str,
        algorithm: str,
        target: str,
        weight_column: str | None,
        positive_label: Any,
        primary_metric: str,
        validation: dict[str, Any],
        test_holdout: dict[str, Any] | None,
        featurizers: dict[str, Any],
        members: list[tuple[str, Any, float]],
        fit_kwargs: dict[str, str],
        requirements: list[str],
        note: str = "",
    ) -> None:
        self.run_id = run_id
        self.algorithm = algorithm
        self.target = target
        self.weight_column = weight_column
        self.positive_label = positive_label
        self.primary_metric = primary_metric
        self.validation = validation
        self.test_holdout = test_holdout
        self.featurizers = featurizers  # family -> fitted Featurizer (its options and plan)
        self.members = members  # (family, unfitted estimator, weight)
        self.fit_kwargs = fit_kwargs  # estimator class name -> how its fit takes extras
        self.requirements = requirements  # of the logged model
        self.note = note


def _featurizer_config(f: Any) -> dict[str, Any]:
    plan = f.plan_
    return {
        "family": f.family,
        "numeric": list(plan.numeric),
        "categorical": list(plan.categorical),
        "datetime": list(plan.datetime),
        "text": list(plan.text),
        "imputers": dict(f.imputers or {}),
        "onehot": bool(f.onehot_),
        "max_text_features": int(f.max_text_features),
    }


def script_source(spec: CodeSpec) -> str:
    """The text of ``script.py``."""
    imports: set[str] = set()
    members = []
    for i, (family, est, weight) in enumerate(spec.members):
        code, needed = render_estimator(est)
        imports |= needed
        fit = spec.fit_kwargs.get(type(est).__name__, "")
        members.append(f"    ({family!r}, {weight!r}, {fit!r}, lambda: {code}),  # member {i}")
    header = (
        f'"""Training code for child run {spec.run_id} ({spec.algorithm}), '
        "written by automl-local.\n"
        "\nStandalone: pandas, numpy, scikit-learn, the learners below and MLflow; run\n"
        "    python script.py --training_dataset_uri <CSV, Parquet or MLTable folder>\n"
        "It rebuilds the job's featurization and model with the same hyper-parameters,\n"
        "reports the validation score on the job's validation scheme, fits on every row and\n"
        "logs the model with MLflow (MLFLOW_TRACKING_URI decides where).\n"
        + (f"\n{spec.note}\n" if spec.note else "")
        + '"""\n'
    )
    config = {
        "target": spec.target,
        "weight_column": spec.weight_column,
        "positive_label": spec.positive_label,
        "primary_metric": spec.primary_metric,
        "validation": spec.validation,
        "test_holdout": spec.test_holdout,
        "featurizers": {k: _featurizer_config(f) for k, f in spec.featurizers.items()},
    }
    constants = (
        "# The job's settings and the featurization it chose (column types, options).\n"
        f"CONFIG = {pprint.pformat(config, width=95, sort_dicts=False)}\n\n"
        "# The logged model's requirements (the versions the job trained with).\n"
        f"REQUIREMENTS = {spec.requirements!r}\n\n"
        "# (family, vote weight, how fit takes extra arguments, the estimator)\n"
        "MEMBERS = [\n" + "\n".join(members) + "\n]\n"
    )
    return (
        header
        + SCRIPT_BODY.replace("# {model imports}", "\n".join(sorted(imports)))
        .replace("# {constants}", constants)
    )


_SUBMIT_CELL = """\
from azure.ai.ml import Input, MLClient, command
from azure.ai.ml.entities import Environment
from azure.identity import DefaultAzureCredential

ml_client = MLClient.from_config(DefaultAzureCredential())
job = command(
    code=".",
    command="python script.py --training_dataset_uri ${{inputs.training_data}}",
    inputs={"training_data": Input(type="uri_file", path=training_dataset_uri)},
    environment=Environment(
        image="mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:latest",
        conda_file="../conda_env_v_1_0_0.yml",  # the child's environment, beside this folder
    ),
    display_name="RUN_ID-generated-code",
)
returned = ml_client.jobs.create_or_update(job)
ml_client.jobs.stream(returned.name)"""


def notebook_source(run_id: str) -> str:
    """``script_run_notebook.ipynb``: run the script here, or submit it as a command job."""

    def cell(kind: str, text: str) -> dict[str, Any]:
        c: dict[str, Any] = {"cell_type": kind, "metadata": {}, "source": text.splitlines(True)}
        if kind == "code":
            c |= {"execution_count": None, "outputs": []}
        return c

    intro = (
        f"# Training code of child run `{run_id}`\n\n`script.py` rebuilds this child's "
        "featurization and model; run it here, or submit it as an Azure ML command job."
    )
    cells = [
        cell("markdown", intro),
        cell("code", "training_dataset_uri = './train.csv'  # a CSV, Parquet or MLTable folder"),
        cell("code", "!python script.py --training_dataset_uri {training_dataset_uri}"),
        cell("markdown", "## As a command job (azure-ai-ml)"),
        cell("code", _SUBMIT_CELL.replace("RUN_ID", run_id)),
    ]
    kernel = {"name": "python3", "display_name": "Python 3", "language": "python"}
    notebook = {
        "cells": cells,
        "metadata": {"kernelspec": kernel},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    return json.dumps(notebook, indent=1)


def write_generated_code(spec: CodeSpec, out: Path) -> list[Path]:
    """Write ``script.py`` and ``script_run_notebook.ipynb`` into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    script = out / "script.py"
    script.write_text(script_source(spec))
    notebook = out / "script_run_notebook.ipynb"
    notebook.write_text(notebook_source(spec.run_id))
    return [script, notebook]


_FIT_MODES = {"LGBMClassifier": "lightgbm", "Pipeline": "multinomialnb"}


def build_code_spec(
    *,
    run_id: str,
    algorithm: str,
    members: list[tuple[str, dict[str, Any]]],
    weights: list[float],
    settings: Any,
    data: Any,
    featurizers: dict[str, Any],
    n_jobs: int,
    requirements: list[str],
    note: str = "",
) -> CodeSpec:
    """A :class:`CodeSpec` from the job's settings, prepared data and a child's members."""
    from automl_local.search import ESTIMATORS

    s = settings
    notes = [note] if note else []
    if len(data.splits) > 1 and not s.cv_split_column_names:
        validation: dict[str, Any] = {"kind": "cv", "folds": len(data.splits), "seed": s.seed}
    elif len(data.splits) == 1 and not s.validation_data and not s.cv_split_column_names:
        size = float(s.validation_data_size or 0.1)
        validation = {"kind": "holdout", "size": size, "seed": s.seed}
    else:
        validation = {"kind": "cv", "folds": 5, "seed": s.seed}
        notes.append(
            "The job validated on validation_data or cv_split_column_names; this script "
            "reads only the training data, so it reports a 5-fold cross-validated score."
        )
    test = None
    if s.test_data_size and not s.test_data:
        test = {"size": float(s.test_data_size), "seed": s.seed + 1}
    built = []
    for (name, params), weight in zip(members, weights, strict=True):
        est = ESTIMATORS[name]
        model = est.build(params, n_jobs=n_jobs, seed=s.seed, n_classes=len(data.classes))
        built.append((est.family, model, float(weight)))
    used = {family for family, _, _ in built}
    return CodeSpec(
        run_id=run_id,
        algorithm=algorithm,
        target=s.target_column_name,
        weight_column=s.weight_column_name,
        positive_label=s.positive_label,
        primary_metric=s.primary_metric,
        validation=validation,
        test_holdout=test,
        featurizers={f: z for f, z in featurizers.items() if f in used},
        members=built,
        fit_kwargs=_FIT_MODES,
        requirements=requirements,
        note="\n".join(notes),
    )
