"""The engine's view of a pipeline job, parsed from azure-ai-ml's YAML form.

The backend hands over the plain dict that ``PipelineJob._to_dict()`` gives
(the same shape as the pipeline YAML, with each component inlined), so the
engine needs no azure-ai-ml. Parsing checks everything that can be checked
before a node runs, and names the node and field on failure: node types the
local runner cannot run, bindings to inputs, nodes or outputs that do not
exist, required inputs left unbound, and cycles.
"""

from __future__ import annotations

import graphlib
from dataclasses import dataclass, field
from typing import Any

from automl_local.exceptions import ConfigError
from automl_local.pipelines._bindings import Binding, command_references, parse_binding

__all__ = [
    "AUTOML_DATA_INPUTS",
    "DATA_TYPES",
    "LITERAL_TYPES",
    "NODE_TYPES",
    "NodeInput",
    "NodeOutput",
    "NodeSpec",
    "PipelineInput",
    "PipelineSpec",
    "parse_pipeline",
]

NODE_TYPES = ("command", "automl")
LITERAL_TYPES = ("string", "integer", "number", "boolean")
DATA_TYPES = ("uri_file", "uri_folder", "mltable", "mlflow_model", "custom_model", "triton_model")
AUTOML_DATA_INPUTS = ("training_data", "validation_data", "test_data")
BEST_MODEL = "best_model"
_AZURE_ONLY_NODE_TYPES = {
    "sweep": "hyperparameter sweeps",
    "parallel": "parallel (batch) steps",
    "spark": "Spark steps",
    "import": "data import steps",
    "data_transfer": "data transfer steps",
    "pipeline": "nested pipeline components",
}


@dataclass(frozen=True)
class PipelineInput:
    """A pipeline-level input: a literal value, a data path, or (when published) a parameter."""

    name: str
    type: str | None
    value: Any = None
    path: str | None = None

    @property
    def is_data(self) -> bool:
        return self.path is not None or (self.type in DATA_TYPES)

    @property
    def has_value(self) -> bool:
        return self.path is not None or self.value is not None


@dataclass(frozen=True)
class NodeInput:
    """One input of a node: bound to something, a literal, a data path, or unset."""

    name: str
    type: str | None
    binding: Binding | None = None
    value: Any = None
    path: str | None = None
    optional: bool = False

    @property
    def is_set(self) -> bool:
        return self.binding is not None or self.value is not None or self.path is not None


@dataclass(frozen=True)
class NodeOutput:
    name: str
    type: str
    pipeline_output: str | None = None


@dataclass
class NodeSpec:
    """A node as the runner needs it; ``definition`` is what its reuse key hashes."""

    name: str
    type: str
    inputs: dict[str, NodeInput]
    outputs: dict[str, NodeOutput]
    definition: dict[str, Any]
    command: str | None = None
    code: str | None = None
    environment: str | None = None
    #: the environment as given (inline dict, ``azureml:name:version``, curated name...)
    environment_source: Any = None
    environment_variables: dict[str, str] = field(default_factory=dict)
    is_deterministic: bool = True
    timeout_seconds: float | None = None
    display_name: str | None = None

    @property
    def upstream(self) -> set[str]:
        return {
            i.binding.node
            for i in self.inputs.values()
            if i.binding is not None and i.binding.kind == "node_output" and i.binding.node
        }


@dataclass
class PipelineSpec:
    inputs: dict[str, PipelineInput]
    outputs: dict[str, str]
    nodes: dict[str, NodeSpec]
    display_name: str | None = None
    experiment_name: str | None = None
    description: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    force_rerun: bool = False
    continue_on_step_failure: bool = False
    default_compute: str | None = None

    def order(self) -> list[str]:
        """A topological order of the nodes (ties in declaration order)."""
        sorter = graphlib.TopologicalSorter({n: s.upstream for n, s in self.nodes.items()})
        ready_order: list[str] = []
        sorter.prepare()
        position = {n: i for i, n in enumerate(self.nodes)}
        while sorter.is_active():
            ready = sorted(sorter.get_ready(), key=position.__getitem__)
            ready_order.extend(ready)
            sorter.done(*ready)
        return ready_order

    def downstream(self, node: str) -> set[str]:
        """Every node that consumes ``node``'s outputs, directly or not."""
        found: set[str] = set()
        frontier = {node}
        while frontier:
            nxt = {n for n, s in self.nodes.items() if s.upstream & frontier} - found
            found |= nxt
            frontier = nxt
        return found


# ------------------------------------------------------------------ parsing


def parse_pipeline(data: dict[str, Any]) -> PipelineSpec:
    """Parse and check a pipeline job dict (``PipelineJob._to_dict()`` form)."""
    if not isinstance(data, dict):
        raise ConfigError(f"a pipeline job must be a mapping, got {type(data).__name__}.")
    kind = data.get("type", "pipeline")
    if kind != "pipeline":
        raise ConfigError(f"expected a job of type pipeline, got type {kind!r}.")
    jobs = data.get("jobs") or {}
    if not isinstance(jobs, dict) or not jobs:
        raise ConfigError(
            "the pipeline has no jobs: add at least one node under `jobs:` (a command or "
            "automl node)."
        )
    settings = data.get("settings") or {}
    inputs = {
        str(name): _pipeline_input(str(name), value)
        for name, value in (data.get("inputs") or {}).items()
    }
    outputs = {
        str(name): _output_type(value, default="uri_folder")
        for name, value in (data.get("outputs") or {}).items()
    }
    nodes = {str(name): _node(str(name), body) for name, body in jobs.items()}
    spec = PipelineSpec(
        inputs=inputs,
        outputs=outputs,
        nodes=nodes,
        display_name=data.get("display_name"),
        experiment_name=data.get("experiment_name"),
        description=data.get("description"),
        tags={str(k): str(v) for k, v in (data.get("tags") or {}).items()},
        force_rerun=_flag(settings.get("force_rerun")),
        continue_on_step_failure=_flag(settings.get("continue_on_step_failure")),
        default_compute=settings.get("default_compute"),
    )
    _check_bindings(spec)
    _check_acyclic(spec)
    return spec


def _flag(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return bool(value)


def _strip_local_prefix(path: str) -> str:
    """azure-ai-ml dumps local paths as ``azureml:./x``; data assets keep ``azureml:name:v``."""
    if path.startswith("azureml:") and path[len("azureml:") :].startswith(("./", "../", "/")):
        return path[len("azureml:") :]
    return path


def _pipeline_input(name: str, value: Any) -> PipelineInput:
    where = f"pipeline input {name!r}"
    if isinstance(value, dict):
        kind = value.get("type")
        if "path" in value and value["path"] is not None:
            if parse_binding(value["path"], where) is not None:
                raise ConfigError(f"{where} cannot itself be a binding.")
            return PipelineInput(
                name, kind or "uri_folder", path=_strip_local_prefix(str(value["path"]))
            )
        literal = value.get("value", value.get("default"))
        return PipelineInput(name, kind, value=literal)
    if parse_binding(value, where) is not None:
        raise ConfigError(f"{where} cannot itself be a binding.")
    return PipelineInput(name, _literal_type(value), value=value)


def _literal_type(value: Any) -> str | None:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return None


def _output_type(value: Any, default: str) -> str:
    if isinstance(value, dict):
        return str(value.get("type") or value.get("job_output_type") or default)
    return default


def _node(name: str, body: Any) -> NodeSpec:
    if not isinstance(body, dict):
        raise ConfigError(f"node {name!r} must be a mapping, got {type(body).__name__}.")
    kind = str(body.get("type") or "")
    if kind not in NODE_TYPES:
        what = _AZURE_ONLY_NODE_TYPES.get(kind)
        detail = f" ({what} are not emulated)" if what else ""
        raise ConfigError(
            f"node {name!r} has type {kind!r}{detail}; the local backend runs "
            f"{' and '.join(NODE_TYPES)} nodes. Change the node, or run the pipeline with "
            "--backend azure."
        )
    if kind == "automl":
        return _automl_node(name, body)
    return _command_node(name, body)


def _command_node(name: str, body: dict[str, Any]) -> NodeSpec:
    component = body.get("component")
    if isinstance(component, str):  # the backend inlines registered components before this
        raise ConfigError(
            f"node {name!r} uses the registered component {component!r}, which was not "
            "resolved. Submit the pipeline through the client (it resolves azureml:name:version "
            "and name@latest), or define the component inline."
        )
    component = dict(component or {})
    command = component.get("command") or body.get("command")
    if not command:
        raise ConfigError(f"node {name!r} has no command: set `command:` in its component.")
    declared_in = component.get("inputs") or {}
    declared_out = component.get("outputs") or {}
    given_in = body.get("inputs") or {}
    given_out = body.get("outputs") or {}
    for key in given_in:
        if key not in declared_in:
            raise ConfigError(
                f"node {name!r} sets input {key!r}, which its component does not declare. "
                f"Declared inputs: {', '.join(sorted(declared_in)) or 'none'}."
            )
    inputs: dict[str, NodeInput] = {}
    for key, decl in declared_in.items():
        decl = decl if isinstance(decl, dict) else {"type": decl}
        where = f"node {name!r} input {key!r}"
        inputs[str(key)] = _node_input(str(key), decl, given_in.get(key), where)
    outputs: dict[str, NodeOutput] = {}
    for key in given_out:
        if key not in declared_out:
            raise ConfigError(
                f"node {name!r} sets output {key!r}, which its component does not declare. "
                f"Declared outputs: {', '.join(sorted(declared_out)) or 'none'}."
            )
    for key, decl in declared_out.items():
        decl_type = _output_type(decl, default="uri_folder")
        outputs[str(key)] = _node_output(name, str(key), decl_type, given_out.get(key))
    refs = command_references(str(command), f"node {name!r}")
    for kind, ref in sorted(refs):
        table = inputs if kind == "inputs" else outputs
        if ref not in table:
            raise ConfigError(
                f"node {name!r}: the command uses ${{{{{kind}.{ref}}}}} but the component "
                f"declares no {kind[:-1]} {ref!r}. Declared: {', '.join(sorted(table)) or 'none'}."
            )
    env_vars = {
        **{str(k): str(v) for k, v in (component.get("environment_variables") or {}).items()},
        **{str(k): str(v) for k, v in (body.get("environment_variables") or {}).items()},
    }
    environment = body.get("environment") or component.get("environment")
    limits = body.get("limits") or {}
    timeout = limits.get("timeout") if isinstance(limits, dict) else None
    definition = {
        "type": "command",
        "command": command,
        "code": component.get("code"),
        "environment": environment,
        "environment_variables": env_vars,
        "inputs": {k: {"type": v.type, "optional": v.optional} for k, v in inputs.items()},
        "outputs": {k: v.type for k, v in outputs.items()},
    }
    return NodeSpec(
        name=name,
        type="command",
        inputs=inputs,
        outputs=outputs,
        definition=definition,
        command=str(command),
        code=component.get("code"),
        environment=_env_label(environment),
        environment_source=environment,
        environment_variables=env_vars,
        is_deterministic=_flag(component.get("is_deterministic", True)),
        timeout_seconds=float(timeout) if timeout else None,
        display_name=body.get("display_name") or component.get("display_name"),
    )


def _env_label(environment: Any) -> str | None:
    if environment is None:
        return None
    if isinstance(environment, dict):
        return str(environment.get("image") or environment.get("name") or "inline environment")
    return str(environment)


def _node_input(key: str, decl: dict[str, Any], given: Any, where: str) -> NodeInput:
    declared_type = decl.get("type")
    optional = _flag(decl.get("optional"))
    default = decl.get("default")
    if isinstance(given, dict):
        raw = given.get("path", given.get("value", given.get("default")))
        given_type = given.get("type") or declared_type
    else:
        raw, given_type = given, declared_type
    binding = parse_binding(raw, where)
    if binding is not None:
        if binding.kind == "parent_output":
            raise ConfigError(f"{where}: an input cannot read a pipeline output ({raw}).")
        return NodeInput(key, given_type, binding=binding, optional=optional)
    if raw is None:
        return NodeInput(key, declared_type, value=default, optional=optional)
    if given_type in DATA_TYPES:
        return NodeInput(key, given_type, path=_strip_local_prefix(str(raw)), optional=optional)
    return NodeInput(key, given_type, value=raw, optional=optional)


def _node_output(node: str, key: str, decl_type: str, given: Any) -> NodeOutput:
    where = f"node {node!r} output {key!r}"
    if isinstance(given, dict):
        raw = given.get("path", given.get("value"))
        decl_type = str(given.get("type") or given.get("job_output_type") or decl_type)
        if decl_type == "literal":
            decl_type = "uri_folder"
    else:
        raw = given
    binding = parse_binding(raw, where)
    if binding is not None and binding.kind != "parent_output":
        raise ConfigError(
            f"{where}: an output can only be published as a pipeline output "
            f"(${{{{parent.outputs.<name>}}}}), got {raw}."
        )
    if raw is not None and binding is None:
        raise ConfigError(
            f"{where}: output paths are chosen by the local runner; remove `path: {raw}` or bind "
            "the output to a pipeline output with ${{parent.outputs.<name>}}."
        )
    return NodeOutput(key, decl_type, binding.name if binding else None)


def _automl_node(name: str, body: dict[str, Any]) -> NodeSpec:
    task = str(body.get("task") or "")
    if task.lower() != "classification":
        raise ConfigError(
            f"node {name!r} is an automl {task or '(no task)'} node; the local backend runs "
            "AutoML classification (task: classification). Run other tasks with --backend azure."
        )
    inputs: dict[str, NodeInput] = {}
    for key in AUTOML_DATA_INPUTS:
        given = body.get(key)
        if given is None:
            continue
        inputs[key] = _node_input(key, {"type": "mltable"}, given, f"node {name!r} {key}")
    if "training_data" not in inputs:
        raise ConfigError(
            f"node {name!r}: training_data is required; bind it, e.g. "
            "training_data: ${{parent.jobs.<prep node>.outputs.<name>}}."
        )
    outputs = {BEST_MODEL: NodeOutput(BEST_MODEL, "mlflow_model")}
    for key, given in (body.get("outputs") or {}).items():
        if key != BEST_MODEL:
            raise ConfigError(
                f"node {name!r}: an automl node has one output, {BEST_MODEL!r}; got {key!r}."
            )
        outputs[key] = _node_output(name, key, "mlflow_model", given)
    settings = {
        k: v
        for k, v in body.items()
        if k not in (*AUTOML_DATA_INPUTS, "outputs", "name", "display_name", "experiment_name")
    }
    return NodeSpec(
        name=name,
        type="automl",
        inputs=inputs,
        outputs=outputs,
        definition={"type": "automl", "settings": settings},
        display_name=body.get("display_name"),
    )


def _check_bindings(spec: PipelineSpec) -> None:
    for node in spec.nodes.values():
        for inp in node.inputs.values():
            where = f"node {node.name!r} input {inp.name!r}"
            b = inp.binding
            if b is None:
                if not inp.is_set and not inp.optional:
                    raise ConfigError(
                        f"{where} is required but not bound. Set jobs.{node.name}.inputs."
                        f"{inp.name} to a value, a path, or a binding such as "
                        "${{parent.inputs.<name>}}."
                    )
                continue
            if b.kind == "parent_input" and b.name not in spec.inputs:
                raise ConfigError(
                    f"{where} is bound to {b}, but the pipeline has no input {b.name!r}. "
                    f"Pipeline inputs: {', '.join(sorted(spec.inputs)) or 'none'}."
                )
            if b.kind == "node_output":
                if b.node == node.name:
                    raise ConfigError(f"{where} is bound to the node's own output ({b}).")
                source = spec.nodes.get(str(b.node))
                if source is None:
                    raise ConfigError(
                        f"{where} is bound to {b}, but the pipeline has no node {b.node!r}. "
                        f"Nodes: {', '.join(spec.nodes)}."
                    )
                if b.name not in source.outputs:
                    raise ConfigError(
                        f"{where} is bound to {b}, but node {b.node!r} has no output {b.name!r}. "
                        f"Its outputs: {', '.join(sorted(source.outputs)) or 'none'}."
                    )
        for out in node.outputs.values():
            if out.pipeline_output and out.pipeline_output not in spec.outputs:
                raise ConfigError(
                    f"node {node.name!r} output {out.name!r} is bound to "
                    f"${{{{parent.outputs.{out.pipeline_output}}}}}, but the pipeline declares no "
                    f"output {out.pipeline_output!r}. Add it under `outputs:`."
                )


def _check_acyclic(spec: PipelineSpec) -> None:
    sorter = graphlib.TopologicalSorter({n: s.upstream for n, s in spec.nodes.items()})
    try:
        sorter.prepare()
    except graphlib.CycleError as exc:
        cycle = list(reversed(exc.args[1]))
        raise ConfigError(
            f"the pipeline has a cycle: {' -> '.join(cycle)}. A node cannot consume its own "
            "output, directly or through other nodes; remove one of these bindings."
        ) from None
