"""Run an AutoML node of a pipeline as a standalone AutoML job.

The node becomes a ``ClassificationJob`` (azure-ai-ml's own loader, with
``training_data`` pointing at the upstream node's output folder) and goes
through ``client.jobs.create_or_update``: the same checks, the same engine,
the same MLflow runs and the same ``best_model`` output as any AutoML job.
Its job record gets ``parent`` (the pipeline), which hides it from
``jobs.list()`` and lists it under ``jobs.list(parent_job_name=...)``.
"""

from __future__ import annotations

import io
import json
import time
from typing import Any

from automl_local.exceptions import AutoMLError
from automl_local.pipelines import AUTOML_DATA_INPUTS, NodeContext, NodeFailed

__all__ = ["AutoMLNodeExecutor"]

_TERMINAL = ("Completed", "Failed", "Canceled")
_POLL_SECONDS = 0.5


class AutoMLNodeExecutor:
    """``executors["automl"]`` of the pipeline runner."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def _job(self, ctx: NodeContext) -> Any:
        import yaml
        from azure.ai.ml import load_job

        body = dict(ctx.node.definition["settings"])
        for key in AUTOML_DATA_INPUTS:
            given = ctx.inputs.get(key)
            if given is not None:
                body[key] = {"type": "mltable", "path": given.text}
        body["experiment_name"] = ctx.experiment_name
        try:
            job = load_job(source=io.StringIO(yaml.safe_dump(body)))
        except Exception as exc:
            raise NodeFailed(f"its AutoML settings could not be read: {exc}") from None
        job.name = ctx.run_id
        job.tags = {**(job.tags or {}), "azureml.pipeline": ctx.pipeline_name,
                    "azureml.nodeid": ctx.node.name}  # fmt: skip
        return job

    def __call__(self, ctx: NodeContext) -> dict[str, str]:
        jobs = self.client.jobs
        name = ctx.run_id
        ctx.log(f"[automl-local] node {ctx.node.name}: AutoML job {name}")
        try:
            jobs.create_or_update(self._job(ctx), experiment_name=ctx.experiment_name)
        except AutoMLError as exc:
            raise NodeFailed(f"its AutoML job was refused: {exc}") from None
        self.client.workspace.catalogue.update(
            "job", name, {"parent": ctx.pipeline_name, "node": ctx.node.name}
        )
        ctx.started(child_job=name)
        events = self.client.workspace.job_dir(name) / "events.jsonl"
        offset = 0
        while True:
            offset = self._copy_events(ctx, events, offset)
            status = jobs.get(name).status
            if status in _TERMINAL:
                self._copy_events(ctx, events, offset)
                break
            if ctx.should_stop():
                jobs.begin_cancel(name).result()
                raise NodeFailed("canceled", canceled=True)
            time.sleep(_POLL_SECONDS)
        if status != "Completed":
            record = self.client.workspace.catalogue.get("job", name) or {}
            raise NodeFailed(
                f"its AutoML job {name} ended {status}: {record.get('error') or 'see its log'}"
            )
        return {"best_model": str(jobs.output_path(name, "best_model"))}

    @staticmethod
    def _copy_events(ctx: NodeContext, path: Any, offset: int) -> int:
        """AutoML progress lines into the node log, so ``std_log.txt`` tells the story."""
        if not path.exists():
            return offset
        with open(path, encoding="utf-8") as fh:
            fh.seek(offset)
            chunk = fh.read()
        end = chunk.rfind("\n") + 1
        for line in chunk[:end].splitlines():
            if not line.strip():
                continue
            event = json.loads(line)
            kind = event.get("event")
            if kind == "trial":
                ctx.log(f"trial {event.get('trial')} {event.get('algorithm')}: "
                        f"{event.get('score', event.get('status'))}")  # fmt: skip
            elif kind in ("phase", "status"):
                detail = event.get("phase") or event.get("status")
                error = f" ({event['error']})" if event.get("error") else ""
                ctx.log(f"[{kind}] {detail}{error}")
        return offset + len(chunk[:end].encode("utf-8"))
