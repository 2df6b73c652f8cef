"""Pipeline jobs on this machine: parse, check and run a DAG of command and AutoML nodes.

    from automl_local.pipelines import parse_pipeline, PipelineRunner, run_command_node
    spec = parse_pipeline(pipeline_job_dict)           # PipelineJob._to_dict() form
    runner = PipelineRunner(ws, "my_run", spec, {"command": run_command_node, "automl": ...})
    status, error = runner.run()

No azure-ai-ml here: the backend turns entities into the dict, supplies the
AutoML node executor (a standalone AutoML job through the client), and
resolves data asset references. Step reuse is keyed by content
(:mod:`automl_local.pipelines._hashing`).
"""

from __future__ import annotations

from automl_local.pipelines._bindings import Binding, parse_binding, render_command
from automl_local.pipelines._command import run_command_node
from automl_local.pipelines._context import NodeContext, NodeExecutor, NodeFailed, ResolvedInput
from automl_local.pipelines._hashing import content_digest, reuse_key, snapshot_folder
from automl_local.pipelines._runner import (
    STEP_KIND,
    PipelineRunner,
    node_run_id,
)
from automl_local.pipelines._spec import (
    AUTOML_DATA_INPUTS,
    DATA_TYPES,
    LITERAL_TYPES,
    NODE_TYPES,
    NodeInput,
    NodeOutput,
    NodeSpec,
    PipelineInput,
    PipelineSpec,
    parse_pipeline,
)

__all__ = [
    "AUTOML_DATA_INPUTS",
    "DATA_TYPES",
    "LITERAL_TYPES",
    "NODE_TYPES",
    "STEP_KIND",
    "Binding",
    "NodeContext",
    "NodeExecutor",
    "NodeFailed",
    "NodeInput",
    "NodeOutput",
    "NodeSpec",
    "PipelineInput",
    "PipelineRunner",
    "PipelineSpec",
    "ResolvedInput",
    "content_digest",
    "node_run_id",
    "parse_binding",
    "parse_pipeline",
    "render_command",
    "reuse_key",
    "run_command_node",
    "snapshot_folder",
]
