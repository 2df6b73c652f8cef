"""Run a parsed pipeline: nodes in dependency order, in parallel where they can be.

State lives in the workspace catalogue so any shell (and ``job stream``) can
follow it: the pipeline job record (kind ``job``) carries a ``nodes`` map of
per-node status, timing, reuse and outputs; every finished node is indexed
under its reuse key (kind ``pipeline_step``) for later runs. Events go to
``jobs/<name>/events.jsonl``.

Failure policy, as Azure's ``settings.continue_on_step_failure``: when false
(the default), the first failed node cancels the nodes still running and
starts no new ones; when true, independent branches keep going and only the
failed node's downstream nodes are skipped. Either way the pipeline ends
Failed.
"""

from __future__ import annotations

import graphlib
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

from automl_local.exceptions import AutoMLError
from automl_local.pipelines._context import NodeContext, NodeExecutor, NodeFailed, ResolvedInput
from automl_local.pipelines._hashing import content_digest, reuse_key
from automl_local.pipelines._spec import DATA_TYPES, NodeSpec, PipelineSpec
from automl_local.processes import tail
from automl_local.workspace import Workspace

__all__ = ["STEP_KIND", "NodeState", "PipelineRunner", "node_run_id"]

logger = logging.getLogger(__name__)

STEP_KIND = "pipeline_step"
TERMINAL = ("Completed", "Failed", "Canceled")
TAIL = 20  # lines of a failed node's log kept in its state
NodeState = dict[str, Any]


def node_run_id(pipeline: str, node: str) -> str:
    """A node's run id: a valid job name, unique per pipeline run."""
    return f"{pipeline}_{node}"


def _is_url(text: str) -> bool:
    return text.startswith(("http://", "https://"))


class PipelineRunner:
    """One pipeline run in this process.

    ``executors`` maps a node type to the callable that runs it;
    ``resolve_data`` turns a data path from the spec (relative, a data asset
    reference) into a local path or URL; ``emit`` receives events.
    """

    def __init__(
        self,
        workspace: Workspace,
        name: str,
        spec: PipelineSpec,
        executors: dict[str, NodeExecutor],
        *,
        resolve_data: Callable[[str], str] = lambda p: p,
        emit: Callable[[dict[str, Any]], None] = lambda e: None,
        should_stop: Callable[[], bool] = lambda: False,
        max_parallel: int = 2,
        env: dict[str, str] | None = None,
    ) -> None:
        self.ws = workspace
        self.name = name
        self.spec = spec
        self.executors = executors
        self.resolve_data = resolve_data
        self.emit = emit
        self.should_stop = should_stop
        self.max_parallel = max(1, max_parallel)
        self.env = dict(env or {})
        self._lock = threading.Lock()
        self._failed = threading.Event()
        self._digests: dict[str, str] = {}
        self.nodes: dict[str, NodeState] = {
            n: {
                "name": n,
                "type": s.type,
                "display_name": s.display_name or n,
                "status": "NotStarted",
                "run_id": node_run_id(name, n),
                "environment": s.environment,
            }
            for n, s in spec.nodes.items()
        }

    # ------------------------------------------------------------------ state

    def _save(self) -> None:
        self.ws.catalogue.update("job", self.name, {"nodes": self.nodes})

    def _set(self, node: str, **changes: Any) -> None:
        with self._lock:
            self.nodes[node].update(changes)
            self._save()
        if "status" in changes:
            event = {"event": "node", "node": node, **changes}
            event.pop("outputs", None)
            self.emit(event)

    def _stop_requested(self) -> bool:
        return self.should_stop() or (
            self._failed.is_set() and not self.spec.continue_on_step_failure
        )

    # ------------------------------------------------------------------ run

    def run(self) -> tuple[str, str]:
        """Run every node; return the pipeline's final (status, error)."""
        with self._lock:
            self._save()
        sorter = graphlib.TopologicalSorter({n: s.upstream for n, s in self.spec.nodes.items()})
        sorter.prepare()
        order = {n: i for i, n in enumerate(self.spec.nodes)}
        running: dict[Future[None], str] = {}
        with ThreadPoolExecutor(self.max_parallel, thread_name_prefix="node") as pool:
            while sorter.is_active():
                for node in sorted(sorter.get_ready(), key=order.__getitem__):
                    reason = self._why_not_start(node)
                    if reason:
                        self._set(node, **reason)
                        sorter.done(node)
                        continue
                    self._set(node, status="Queued")
                    running[pool.submit(self._run_node, node)] = node
                if not running:
                    continue
                finished, _ = wait(list(running), return_when=FIRST_COMPLETED)
                for future in finished:
                    sorter.done(running.pop(future))
                    future.result()  # _run_node records its own failures; this re-raises bugs
        return self._final()

    def _why_not_start(self, node: str) -> dict[str, Any] | None:
        if self.should_stop():
            return {"status": "Canceled", "error": "the pipeline was canceled before it started"}
        blocked = [
            u
            for u in sorted(self.spec.nodes[node].upstream)
            if self.nodes[u]["status"] != "Completed"
        ]
        if blocked:
            return {
                "status": "NotStarted",
                "error": f"skipped: upstream node {blocked[0]!r} did not complete",
            }
        if self._failed.is_set() and not self.spec.continue_on_step_failure:
            return {
                "status": "NotStarted",
                "error": "skipped: another node failed (continue_on_step_failure is false)",
            }
        return None

    def _final(self) -> tuple[str, str]:
        failed = [n for n, s in self.nodes.items() if s["status"] == "Failed"]
        if failed:
            first = self.nodes[failed[0]]
            return "Failed", f"node {failed[0]!r} failed: {first.get('error', '')}"
        if self.should_stop() or any(s["status"] != "Completed" for s in self.nodes.values()):
            return "Canceled", "canceled by request"
        return "Completed", ""

    # ------------------------------------------------------------------ one node

    def _run_node(self, name: str) -> None:
        spec = self.spec.nodes[name]
        state = self.nodes[name]
        node_dir = self.ws.job_dir(self.name) / "nodes" / name
        log_path = node_dir / "user_logs" / "std_log.txt"
        try:
            inputs = self._resolve_inputs(spec)
            key = reuse_key(
                spec.definition,
                {k: (v.fingerprint if v else "<unset>") for k, v in inputs.items()},
            )
            if self._try_reuse(name, spec, key):
                return
            self._set(name, status="Running", started_at=time.time(), log=str(log_path),
                      reuse_key=key)  # fmt: skip
            ctx = NodeContext(
                pipeline_name=self.name,
                experiment_name=self.spec.experiment_name or "Default",
                node=spec,
                run_id=state["run_id"],
                node_dir=node_dir,
                log_path=log_path,
                inputs=inputs,
                env={
                    **self.env,
                    "AZUREML_RUN_ID": state["run_id"],
                    "AZUREML_ROOT_RUN_ID": self.name,
                },
                should_stop=self._stop_requested,
                on_start=lambda pid, child: self._set(name, pid=pid, child_job=child),
            )
            executor = self.executors.get(spec.type)
            if executor is None:
                raise NodeFailed(f"no executor for node type {spec.type!r}.")
            outputs = executor(ctx)
        except NodeFailed as exc:
            status = "Canceled" if exc.canceled else "Failed"
            self._end(name, status, str(exc), log_path)
            return
        except AutoMLError as exc:
            self._end(name, "Failed", str(exc), log_path)
            return
        except Exception as exc:  # a bug in an executor: keep the traceback in the runner log
            logger.exception("node %s crashed", name)
            self._end(name, "Failed", f"internal error: {type(exc).__name__}: {exc}", log_path)
            return
        self._set(name, status="Completed", ended_at=time.time(), outputs=outputs, pid=None,
                  source_run=state["run_id"], reused=False)  # fmt: skip
        self.ws.catalogue.put(STEP_KIND, key, {
            "key": key, "pipeline": self.name, "node": name, "run_id": state["run_id"],
            "outputs": outputs, "completed_at": time.time(), "type": spec.type,
            "child_job": self.nodes[name].get("child_job"),
        })  # fmt: skip

    def _end(self, name: str, status: str, error: str, log_path: Path) -> None:
        if status == "Failed":
            self._failed.set()
        self._set(name, status=status, error=error, ended_at=time.time(), pid=None,
                  log_tail=tail(log_path, TAIL) if status == "Failed" else "")  # fmt: skip

    def _try_reuse(self, name: str, spec: NodeSpec, key: str) -> bool:
        if self.spec.force_rerun or not spec.is_deterministic:
            return False
        hit = self.ws.catalogue.get(STEP_KIND, key)
        if not hit or not all(Path(p).exists() for p in (hit.get("outputs") or {}).values()):
            return False
        now = time.time()
        self._set(name, status="Completed", reused=True, reused_from=hit["run_id"],
                  reused_pipeline=hit["pipeline"], source_run=hit["run_id"],
                  outputs=hit["outputs"], started_at=now, ended_at=now, reuse_key=key,
                  child_job=hit.get("child_job"))  # fmt: skip
        return True

    # ------------------------------------------------------------------ inputs

    def _digest(self, path: str) -> str:
        if path not in self._digests:
            self._digests[path] = "url:" + path if _is_url(path) else content_digest(path)
        return self._digests[path]

    def _data(self, path: str, type_: str | None) -> ResolvedInput:
        local = self.resolve_data(path)
        if not _is_url(local) and not Path(local).exists():
            raise NodeFailed(f"input data {path!r} was not found (resolved to {local}).")
        return ResolvedInput(local, local, type_, "data:" + self._digest(local), True)

    def _resolve_inputs(self, spec: NodeSpec) -> dict[str, ResolvedInput | None]:
        out: dict[str, ResolvedInput | None] = {}
        for name, inp in spec.inputs.items():
            b = inp.binding
            if b is None:
                if inp.path is not None:
                    out[name] = self._data(inp.path, inp.type)
                elif inp.value is not None:
                    out[name] = _literal(inp.value, inp.type)
                else:
                    out[name] = None
                continue
            if b.kind == "parent_input":
                pin = self.spec.inputs[b.name]
                if pin.path is not None:
                    out[name] = self._data(pin.path, pin.type or inp.type)
                elif pin.value is not None:
                    if (inp.type in DATA_TYPES) and isinstance(pin.value, str):
                        out[name] = self._data(pin.value, inp.type)
                    else:
                        out[name] = _literal(pin.value, pin.type or inp.type)
                elif inp.optional:
                    out[name] = None
                else:
                    raise NodeFailed(
                        f"input {name!r} is bound to pipeline input {b.name!r}, which has no "
                        "value. Give it a value (or a parameter when the pipeline is invoked)."
                    )
                continue
            upstream = self.nodes[str(b.node)]
            path = (upstream.get("outputs") or {}).get(b.name)
            if path is None:
                raise NodeFailed(f"upstream node {b.node!r} has no output {b.name!r} recorded.")
            fingerprint = f"run:{upstream.get('source_run')}:{b.name}"
            out[name] = ResolvedInput(path, path, inp.type, fingerprint, True)
        return out


def _literal(value: Any, type_: str | None) -> ResolvedInput:
    text = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return ResolvedInput(text, value, type_, f"literal:{type_}:{text}", False)
