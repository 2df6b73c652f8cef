"""A job made ready for Azure: a private copy, a compute, MLTable inputs, serialisable settings.

``jobs.create_or_update`` and ``schedules.begin_create_or_update`` (whose
``create_job`` azure-ai-ml submits on every trigger) both send a job the
local backend would have run as written. What Azure needs on top is done
here, on a copy, so the caller's entity is left as it was (azure-ai-ml
itself rewrites a submitted job in place: components, code and data become
ARM ids):

* **compute**: a standalone job without one runs on the client's default
  compute; a pipeline without ``settings.default_compute`` (and no
  ``compute``) gets it as its default compute. Without a client default,
  both run on serverless compute (a pipeline is given
  ``default_compute: serverless``, which Azure requires to say so).
* **data**: Azure AutoML reads MLTable only. A local CSV / Parquet file or
  plain folder given to an AutoML job (or to an AutoML node of a pipeline)
  as ``training_data`` / ``validation_data`` / ``test_data``, and a local
  ``mltable`` pipeline input that is not an MLTable folder, becomes a
  generated MLTable folder that azure-ai-ml uploads. Node inputs bound to
  other nodes or to the pipeline (``${{parent...}}``) are left alone.
* **AutoML node data**: azure-ai-ml 1.35 sends an AutoML node's own data
  ``Input`` as the text of a Python dict; it becomes a pipeline input
  (``<node>_training_data``...) that the node binds to, Azure's sample form.
* **command jobs**: a ``Command`` node becomes its ``CommandJob``, and its local
  ``code`` folder and input paths start at the YAML's folder (azure-ai-ml
  uploads both);
* **settings**: azure-ai-ml 1.35 cannot serialise a standalone job's
  ``StackEnsembleSettings``; the REST object is put in its place.
"""

from __future__ import annotations

import copy
import functools
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from automl_local.backends.azure._mltable import is_local_path, to_mltable_folder

if TYPE_CHECKING:
    from azure.ai.ml.entities import Job

__all__ = ["AUTOML_INPUTS", "apply_default_compute", "copy_entity", "prepare_job", "spec_folder"]

T = TypeVar("T")
AUTOML_INPUTS = ("training_data", "validation_data", "test_data")
SERVERLESS = "serverless"  # azure.ai.ml.constants._common.SERVERLESS_COMPUTE
_COPY_LOCK = threading.Lock()


# ---------------------------------------------------------------------- copy


def _copy_io_dict(original: dict[Any, Any], memo: dict[int, Any]) -> dict[Any, Any]:
    """Deep-copy one of azure-ai-ml's node input/output dicts, items and attributes."""
    duplicate = dict.__new__(type(original))
    memo[id(original)] = duplicate
    for key, value in dict.items(original):
        dict.__setitem__(duplicate, copy.deepcopy(key, memo), copy.deepcopy(value, memo))
    duplicate.__dict__.update(copy.deepcopy(original.__dict__, memo))
    return duplicate


@functools.cache
def _io_dict_types() -> tuple[type, ...]:
    from azure.ai.ml.entities._job.pipeline._io import attr_dict

    found: list[type] = []
    pending: list[type] = [attr_dict.InputsAttrDict, attr_dict.OutputsAttrDict]
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return tuple(found)


def copy_entity(entity: T) -> T:
    """A deep copy of ``entity``, pipeline jobs included.

    ``copy.deepcopy`` fails on a ``PipelineJob`` in azure-ai-ml 1.35: the
    dicts holding node inputs and outputs answer ``getattr(x,
    "__deepcopy__")`` with ``KeyError`` rather than ``AttributeError``. For
    the duration of the copy (under a lock, so concurrent copies do not undo
    each other) ``copy`` is told how to copy those dicts; nothing else about
    deep copying changes.
    """
    dispatch: dict[type, Any] = copy._deepcopy_dispatch  # type: ignore[attr-defined]
    with _COPY_LOCK:
        added = [cls for cls in _io_dict_types() if cls not in dispatch]
        for cls in added:
            dispatch[cls] = _copy_io_dict
        try:
            return copy.deepcopy(entity)
        finally:
            for cls in added:
                dispatch.pop(cls, None)


# ---------------------------------------------------------------------- paths


def spec_folder(job: Any) -> Path:
    """Where relative paths of ``job`` start: its YAML's folder, as in ``az ml``.

    azure-ai-ml keeps the current folder as an AutoML job's base path, so
    ``load_job("sub/job.yml")`` with ``path: ./data`` would look for ``./data``
    where Python runs, not beside the YAML; the local backend reads it beside
    the YAML, and so does this adapter.
    """
    source = getattr(job, "_source_path", None)
    if source:
        return Path(str(source)).resolve().parent
    return Path(getattr(job, "_base_path", None) or os.getcwd()).resolve()


def _local_source(path: Any, base: Path) -> Path | None:
    """The local file or folder ``path`` names, or ``None`` for remote data and bindings."""
    text = str(path or "")
    if not text or text.startswith("${{") or not is_local_path(text):
        return None
    source = Path(text).expanduser()
    return source if source.is_absolute() else base / source


# ---------------------------------------------------------------------- preparation


def _is_pipeline(job: Any) -> bool:
    return getattr(job, "type", None) == "pipeline"


def _automl_nodes(job: Any) -> Iterator[Any]:
    for node in (getattr(job, "jobs", None) or {}).values():
        if getattr(node, "type", None) == "automl":
            yield node


def apply_default_compute(job: Any, default: str | None) -> None:
    """The client's default compute where the job names none; else serverless.

    A standalone job without compute runs serverless as it is. A pipeline
    has to say so (``settings.default_compute: serverless``): azure-ai-ml
    refuses to submit one whose nodes have no compute ("Compute not set").
    """
    if _is_pipeline(job):
        if not job.settings.default_compute and not job.compute:
            job.settings.default_compute = default or SERVERLESS
    elif default and not getattr(job, "compute", None):
        job.compute = default


@functools.cache
def _sdk_leaves_stack_settings_unconverted() -> bool:
    """azure-ai-ml 1.35 puts the ``StackEnsembleSettings`` *entity* in the REST body.

    ``ClassificationTrainingSettings._to_rest_object`` forgets to convert it,
    so any job with ``training.stack_ensemble_settings`` fails to serialise
    ("Object of type StackEnsembleSettings is not JSON serializable"). Probe
    for the bug rather than assume it, so a fixed SDK is left alone. (AutoML
    nodes of a pipeline are serialised another way and are not affected.)
    """
    from azure.ai.ml.automl import StackEnsembleSettings
    from azure.ai.ml.entities._job.automl.tabular.classification_job import (
        ClassificationTrainingSettings,
    )

    rest = ClassificationTrainingSettings(
        stack_ensemble_settings=StackEnsembleSettings())._to_rest_object()
    return isinstance(rest.stack_ensemble_settings, StackEnsembleSettings)


def _serialisable_stack_settings(job: Any) -> None:
    training = getattr(job, "training", None)
    settings = getattr(training, "stack_ensemble_settings", None)
    if (training is not None and settings is not None and hasattr(settings, "_to_rest_object")
            and _sdk_leaves_stack_settings_unconverted()):
        training.stack_ensemble_settings = settings._to_rest_object()


def _automl_inputs_to_mltable(job: Any, base: Path, scratch: Path) -> None:
    """Swap an AutoML job's (or node's) local non-MLTable inputs for MLTable folders."""
    from azure.ai.ml import Input

    for field in AUTOML_INPUTS:
        value = getattr(job, field, None)
        if not isinstance(value, Input):
            continue  # unset, or bound to another node / the pipeline
        source = _local_source(value.path, base)
        if source is None:
            continue
        folder = to_mltable_folder(source, scratch / field)
        setattr(job, field, Input(type="mltable", path=str(folder or source.resolve())))


def _free_input_name(job: Any, wanted: str) -> str:
    name, count = wanted, 1
    while name in job.inputs:
        count += 1
        name = f"{wanted}_{count}"
    return name


def _bind_node_data_to_pipeline_inputs(job: Any, node: Any) -> None:
    """Move an AutoML node's own data ``Input`` to a pipeline input the node binds to.

    azure-ai-ml 1.35 writes an AutoML node's ``training_data`` (and
    validation / test data) with the schema field that accepts a binding
    string first, so an ``Input`` object reaches Azure as the text of a
    Python dict ("{'type': 'mltable', 'path': ...}"). A pipeline input
    bound with ``${{parent.inputs.<node>_<field>}}`` (the form of Azure's
    own samples) is sent, and uploaded, like any other input.
    """
    from azure.ai.ml import Input

    for field in AUTOML_INPUTS:
        value = getattr(node, field, None)
        if not isinstance(value, Input):
            continue
        name = _free_input_name(job, f"{node.name}_{field}")
        dict.__setitem__(job.inputs, name, job._build_input(name, None, value))
        setattr(node, field, "${{parent.inputs." + name + "}}")


def _pipeline_inputs_to_mltable(job: Any, base: Path, scratch: Path) -> None:
    """Swap local ``mltable`` pipeline inputs that are plain files or folders for MLTables."""
    from azure.ai.ml import Input

    for name, pipeline_input in dict(job.inputs or {}).items():
        value = getattr(pipeline_input, "_data", pipeline_input)
        if not isinstance(value, Input) or value.type != "mltable":
            continue
        source = _local_source(value.path, base)
        if source is None:
            continue
        folder = to_mltable_folder(source, scratch / "inputs" / name)
        if folder is not None:
            setattr(job.inputs, name, Input(type="mltable", path=str(folder), mode=value.mode))


def prepare_job(job: Job, *, default_compute: str | None, scratch: Path,
                fill_compute: bool = True) -> Job:
    """Make ``job`` (already a private copy) ready to send; generated files go to ``scratch``.

    ``scratch`` must outlive the upload: azure-ai-ml reads the generated
    MLTable folders while it submits.
    """
    if fill_compute:
        apply_default_compute(job, default_compute)
    base = spec_folder(job)
    if _is_pipeline(job):
        _pipeline_inputs_to_mltable(job, base, scratch)
        for node in _automl_nodes(job):
            _automl_inputs_to_mltable(node, base, scratch / "nodes" / str(node.name))
            _bind_node_data_to_pipeline_inputs(job, node)
    elif getattr(job, "type", None) == "automl":
        _serialisable_stack_settings(job)
        _automl_inputs_to_mltable(job, base, scratch)
    elif getattr(job, "type", None) == "command":
        job = _command_paths_from_spec_folder(job, base)
    return job


def _command_paths_from_spec_folder(job: Any, base: Path) -> Any:
    """The command job with its local ``code`` and input paths starting at the YAML's folder.

    Rewritten on its ``CommandJob`` form, then sent as the ``Command`` node
    azure-ai-ml 1.35 submits (its ``create_or_update`` refuses a ``CommandJob``
    with "Non supported job type"); azure-ai-ml uploads the code folder and
    the local inputs as for any job. ``_to_node`` keeps the environment only on
    the node's component and drops the name and experiment: they are put back.
    """
    from azure.ai.ml import Input
    from azure.ai.ml.entities import CommandJob

    if not isinstance(job, CommandJob):
        job = job._to_job()
    code = job.code
    if isinstance(code, str):
        text = code.removeprefix("azureml:") if code.startswith("azureml:.") else code
        local = _local_source(text, base)
        if local is not None:
            job.code = str(local)
    for value in (job.inputs or {}).values():
        if isinstance(value, Input) and value.path:
            text = str(value.path)
            text = text.removeprefix("azureml:") if text.startswith("azureml:.") else text
            local = _local_source(text, base)
            if local is not None:
                value.path = str(local)
    node = job._to_node()
    node.name, node.experiment_name, node.environment = (
        job.name, job.experiment_name, job.environment)
    return node
