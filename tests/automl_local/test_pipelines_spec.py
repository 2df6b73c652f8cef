"""The engine's pipeline parser and command-line placeholders (no azure-ai-ml, no processes)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from automl_local.exceptions import ConfigError
from automl_local.pipelines import parse_binding, parse_pipeline, render_command

COMPONENT = {
    "command": "python prep.py --raw ${{inputs.raw}} --out ${{outputs.train}}",
    "code": "/somewhere/src",
    "environment": "azureml:AzureML-sklearn-1.5@latest",
    "inputs": {"raw": {"type": "uri_file"}, "frac": {"type": "number", "default": "1.0"}},
    "outputs": {"train": {"type": "mltable"}},
    "type": "command",
}

# The shape PipelineJob._to_dict() gives for Azure's bank-marketing sample.
BANK = {
    "type": "pipeline",
    "experiment_name": "pipeline-with-automl",
    "settings": {"default_compute": "azureml:cpu-cluster", "continue_on_step_failure": True},
    "inputs": {"raw": {"type": "uri_file", "path": "azureml:./data/raw.csv"}, "name": "bank"},
    "outputs": {"model_id": {"type": "uri_folder"}},
    "jobs": {
        "prep": {
            "type": "command",
            "component": COMPONENT,
            "inputs": {"raw": {"path": "${{parent.inputs.raw}}"}},
        },
        "train": {
            "type": "automl",
            "task": "classification",
            "primary_metric": "accuracy",
            "target_column_name": "y",
            "training_data": "${{parent.jobs.prep.outputs.train}}",
            "limits": {"max_trials": 2},
            "outputs": {"best_model": {"type": "mlflow_model"}},
        },
        "register": {
            "type": "command",
            "component": {
                "command": "python register.py --model ${{inputs.model}} --name ${{inputs.name}} "
                "--out ${{outputs.id}}",
                "inputs": {"model": {"type": "uri_folder"}, "name": {"type": "string"}},
                "outputs": {"id": {"type": "uri_folder"}},
                "type": "command",
            },
            "inputs": {
                "model": {"path": "${{parent.jobs.train.outputs.best_model}}"},
                "name": {"path": "${{parent.inputs.name}}"},
            },
            "outputs": {"id": "${{parent.outputs.model_id}}"},
        },
    },
}


def bank() -> dict[str, Any]:
    return copy.deepcopy(BANK)


def test_parses_the_bank_marketing_shape() -> None:
    spec = parse_pipeline(bank())
    assert spec.order() == ["prep", "train", "register"]
    assert spec.continue_on_step_failure is True and spec.force_rerun is False
    assert spec.inputs["raw"].path == "./data/raw.csv"  # azure-ai-ml's azureml:./ prefix removed
    assert spec.inputs["name"].value == "bank"
    train = spec.nodes["train"]
    assert train.type == "automl" and train.upstream == {"prep"}
    assert set(train.outputs) == {"best_model"}
    assert spec.nodes["register"].outputs["id"].pipeline_output == "model_id"
    assert spec.nodes["prep"].inputs["frac"].value == "1.0"  # the component default
    assert spec.downstream("prep") == {"train", "register"}


def test_a_cycle_is_named() -> None:
    data = bank()
    data["jobs"]["prep"]["inputs"]["raw"] = {"path": "${{parent.jobs.register.outputs.id}}"}
    with pytest.raises(ConfigError, match=r"cycle: (prep|train|register) -> .* A node cannot"):
        parse_pipeline(data)


def test_a_missing_required_input_binding_is_named() -> None:
    data = bank()
    del data["jobs"]["prep"]["inputs"]["raw"]
    with pytest.raises(ConfigError, match=r"node 'prep' input 'raw' is required but not bound"):
        parse_pipeline(data)


@pytest.mark.parametrize(
    ("node_type", "message"),
    [
        ("spark", r"node 'prep' has type 'spark' \(Spark steps are not emulated\)"),
        ("sweep", r"type 'sweep' \(hyperparameter sweeps are not emulated\)"),
        ("banana", r"node 'prep' has type 'banana'; the local backend runs command and automl"),
    ],
)
def test_an_unknown_node_type_is_named(node_type: str, message: str) -> None:
    data = bank()
    data["jobs"]["prep"]["type"] = node_type
    with pytest.raises(ConfigError, match=message):
        parse_pipeline(data)


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("register", "inputs", "name"), {"path": "${{parent.inputs.nope}}"},
         r"bound to \$\{\{parent.inputs.nope\}\}, but the pipeline has no input 'nope'"),
        (("register", "inputs", "model"), {"path": "${{parent.jobs.ghost.outputs.x}}"},
         r"the pipeline has no node 'ghost'. Nodes: prep, train, register"),
        (("register", "inputs", "model"), {"path": "${{parent.jobs.prep.outputs.nope}}"},
         r"node 'prep' has no output 'nope'. Its outputs: train"),
        (("register", "inputs", "model"), {"path": "model_${{parent.inputs.name}}"},
         r"is not a single binding"),
        (("register", "outputs", "id"), "${{parent.outputs.missing}}",
         r"the pipeline declares no output 'missing'"),
        (("prep", "inputs", "extra"), 3, r"sets input 'extra', which its component does not"),
    ],
)  # fmt: skip
def test_bad_bindings_are_named(path: tuple[str, str, str], value: Any, message: str) -> None:
    data = bank()
    node, section, key = path
    data["jobs"][node].setdefault(section, {})[key] = value
    with pytest.raises(ConfigError, match=message):
        parse_pipeline(data)


def test_unresolved_components_and_other_tasks_are_refused_clearly() -> None:
    data = bank()
    data["jobs"]["prep"]["component"] = "azureml:prep:1"  # the backend inlines it first
    with pytest.raises(ConfigError, match=r"component 'azureml:prep:1', which was not resolved"):
        parse_pipeline(data)
    data = bank()
    data["jobs"]["train"]["task"] = "regression"
    with pytest.raises(ConfigError, match=r"automl regression node.*task: classification"):
        parse_pipeline(data)


def test_a_command_placeholder_must_be_declared() -> None:
    data = bank()
    data["jobs"]["prep"]["component"] = {
        **COMPONENT,
        "command": "python prep.py ${{inputs.rwa}} ${{outputs.train}}",
    }
    with pytest.raises(ConfigError, match=r"uses \$\{\{inputs.rwa\}\} but the component"):
        parse_pipeline(data)


def test_no_jobs_is_an_error() -> None:
    with pytest.raises(ConfigError, match="the pipeline has no jobs"):
        parse_pipeline({"type": "pipeline", "jobs": {}})


def test_bindings_parse() -> None:
    b = parse_binding("${{parent.jobs.prep.outputs.train}}", "x")
    assert b is not None and (b.kind, b.node, b.name) == ("node_output", "prep", "train")
    assert str(b) == "${{parent.jobs.prep.outputs.train}}"
    assert parse_binding("plain value", "x") is None
    with pytest.raises(ConfigError, match="not understood"):
        parse_binding("${{parent.something}}", "x")


def test_render_command_quotes_values_and_drops_empty_optional_segments() -> None:
    command = "run ${{inputs.a}} $[[--opt ${{inputs.b}}]] --out ${{outputs.o}}"
    got = render_command(command, {"a": "with space", "b": None}, {"o": "/tmp/o"}, "node 'n'")
    assert got == "run 'with space'  --out /tmp/o"
    got = render_command(command, {"a": "x", "b": "3"}, {"o": "/tmp/o"}, "node 'n'")
    assert got == "run x --opt 3 --out /tmp/o"
    with pytest.raises(ConfigError, match=r"optional input 'b' has no value.*\$\[\[--b"):
        render_command("run ${{inputs.b}}", {"b": None}, {}, "node 'n'")
    with pytest.raises(ConfigError, match="declares no input 'zz'"):
        render_command("run ${{inputs.zz}}", {}, {}, "node 'n'")
