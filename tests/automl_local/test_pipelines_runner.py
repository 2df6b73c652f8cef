"""The engine's DAG runner with real command-node subprocesses: order, reuse, failure, cancel."""

from __future__ import annotations

import copy
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from automl_local.pipelines import (
    PipelineRunner,
    content_digest,
    parse_pipeline,
    run_command_node,
    snapshot_folder,
)
from automl_local.workspace import Workspace


def _node(command: str, declared_in: dict[str, str], declared_out: dict[str, str],
          **given: Any) -> dict[str, Any]:  # fmt: skip
    """A command node dict; ``given`` holds node-level fields (inputs=, outputs=, limits=)."""
    return {
        "type": "command",
        "component": {
            "command": command,
            "environment": "azureml:AzureML-sklearn-1.5:1",  # curated: this interpreter
            "inputs": {k: {"type": t} for k, t in declared_in.items()},
            "outputs": {k: {"type": t} for k, t in declared_out.items()},
            "type": "command",
            **given.pop("component_extra", {}),
        },
        **given,
    }


def two_nodes(raw: Path, code: Path) -> dict[str, Any]:
    """prep copies the raw file (+ a code file); report counts lines into a pipeline output."""
    return {
        "type": "pipeline",
        "inputs": {"raw": {"type": "uri_file", "path": str(raw)}, "tag": "one"},
        "outputs": {"report": {"type": "uri_file"}},
        "jobs": {
            "prep": _node(
                "cat ${{inputs.raw}} helper.txt > ${{outputs.clean}}/data.txt && "
                "echo tag=${{inputs.tag}} >> ${{outputs.clean}}/data.txt && echo ws=$WS_MARK",
                {"raw": "uri_file", "tag": "string"},
                {"clean": "uri_folder"},
                component_extra={"code": str(code)},
                inputs={
                    "raw": {"path": "${{parent.inputs.raw}}"},
                    "tag": {"path": "${{parent.inputs.tag}}"},
                },
            ),
            "report": _node(
                "wc -l < ${{inputs.data}}/data.txt > ${{outputs.lines}}",
                {"data": "uri_folder"},
                {"lines": "uri_file"},
                inputs={"data": {"path": "${{parent.jobs.prep.outputs.clean}}"}},
                outputs={"lines": "${{parent.outputs.report}}"},
            ),
        },
    }


@pytest.fixture()
def ws(tmp_path: Path) -> Workspace:
    return Workspace(tmp_path / "ws")


@pytest.fixture()
def files(tmp_path: Path) -> tuple[Path, Path]:
    raw = tmp_path / "raw.txt"
    raw.write_text("a\nb\n")
    code = tmp_path / "src"
    code.mkdir()
    (code / "helper.txt").write_text("helper\n")
    return raw, code


def run(ws: Workspace, name: str, data: dict[str, Any], **kwargs: Any) -> PipelineRunner:
    ws.catalogue.put("job", name, {"name": name, "type": "pipeline", "status": "Running"})
    runner = PipelineRunner(
        ws, name, parse_pipeline(data), {"command": run_command_node},
        env={"WS_MARK": "set-by-runner"}, **kwargs,
    )  # fmt: skip
    runner.status, runner.error = runner.run()  # type: ignore[attr-defined]
    return runner


def test_runs_in_order_and_reuses_unchanged_steps(ws: Workspace, files: tuple[Path, Path]) -> None:
    raw, code = files
    first = run(ws, "p1", two_nodes(raw, code))
    assert first.status == "Completed", first.nodes  # type: ignore[attr-defined]
    lines = Path(first.nodes["report"]["outputs"]["lines"])
    assert lines.read_text().strip() == "4"  # a, b, helper, tag=one
    log = Path(first.nodes["prep"]["log"]).read_text()
    assert "ws=set-by-runner" in log and "curated Azure environment" in log
    assert first.nodes["prep"]["started_at"] <= first.nodes["report"]["started_at"]

    second = run(ws, "p2", two_nodes(raw, code))
    assert [second.nodes[n]["reused"] for n in ("prep", "report")] == [True, True]
    assert second.nodes["prep"]["reused_from"] == "p1_prep"
    assert second.nodes["report"]["outputs"] == first.nodes["report"]["outputs"]

    # a changed input re-runs its node and everything downstream
    raw.write_text("a\nb\nc\n")
    third = run(ws, "p3", two_nodes(raw, code))
    assert [third.nodes[n].get("reused") for n in ("prep", "report")] == [False, False]
    assert Path(third.nodes["report"]["outputs"]["lines"]).read_text().strip() == "5"


def test_changed_code_or_literal_reruns_and_downstream_follows(
    ws: Workspace, files: tuple[Path, Path]
) -> None:
    raw, code = files
    run(ws, "base", two_nodes(raw, code))
    data = two_nodes(raw, code)
    data["inputs"]["tag"] = "two"
    changed = run(ws, "literal", data)
    assert changed.nodes["prep"]["reused"] is False and changed.nodes["report"]["reused"] is False

    # only the downstream definition changes: upstream reused, downstream runs
    data = two_nodes(raw, code)
    data["jobs"]["report"]["component"]["command"] += " && echo changed"
    partial = run(ws, "partial", data)
    assert partial.nodes["prep"]["reused"] is True and partial.nodes["report"]["reused"] is False

    # force_rerun runs everything
    data = two_nodes(raw, code)
    data["settings"] = {"force_rerun": True}
    forced = run(ws, "forced", data)
    assert not any(forced.nodes[n]["reused"] for n in ("prep", "report"))


def _fail_graph(continue_on_failure: bool) -> dict[str, Any]:
    return {
        "type": "pipeline",
        "settings": {"continue_on_step_failure": continue_on_failure},
        "jobs": {
            "bad": _node("echo about to fail && exit 3", {}, {"o": "uri_folder"}),
            "slow": _node("sleep 3 && echo slept > ${{outputs.o}}/x", {}, {"o": "uri_folder"}),
            "after": _node(
                "ls ${{inputs.x}}",
                {"x": "uri_folder"},
                {},
                inputs={"x": {"path": "${{parent.jobs.bad.outputs.o}}"}},
            ),
        },
    }


def test_a_failed_node_stops_the_pipeline_by_default(ws: Workspace) -> None:
    started = time.monotonic()
    runner = run(ws, "stop", _fail_graph(False), max_parallel=2)
    assert runner.status == "Failed"  # type: ignore[attr-defined]
    assert "node 'bad' failed: its command exited with code 3" in runner.error  # type: ignore[attr-defined]
    assert "about to fail" in runner.nodes["bad"]["log_tail"]
    assert runner.nodes["slow"]["status"] == "Canceled"
    assert runner.nodes["after"]["status"] == "NotStarted"
    assert "upstream node 'bad' did not complete" in runner.nodes["after"]["error"]
    assert time.monotonic() - started < 3.0  # the sleeping node was stopped, not awaited


def test_continue_on_step_failure_lets_independent_nodes_finish(ws: Workspace) -> None:
    runner = run(ws, "go-on", _fail_graph(True), max_parallel=2)
    assert runner.status == "Failed"  # type: ignore[attr-defined]
    assert runner.nodes["slow"]["status"] == "Completed"
    assert runner.nodes["after"]["status"] == "NotStarted"


def test_cancel_stops_a_running_node(ws: Workspace) -> None:
    data = {"type": "pipeline", "jobs": {"nap": _node("sleep 30", {}, {})}}
    stop = threading.Event()
    threading.Timer(1.0, stop.set).start()
    started = time.monotonic()
    runner = run(ws, "cancel", data, should_stop=stop.is_set)
    assert runner.status == "Canceled"  # type: ignore[attr-defined]
    assert runner.nodes["nap"]["status"] == "Canceled"
    assert time.monotonic() - started < 10


def test_node_timeout_and_missing_pipeline_input(ws: Workspace) -> None:
    data = {"type": "pipeline", "jobs": {"nap": {**_node("sleep 20", {}, {}),
                                                 "limits": {"timeout": 1}}}}  # fmt: skip
    runner = run(ws, "timeout", data)
    assert "timed out after 1 s (limits.timeout)" in runner.nodes["nap"]["error"]

    data = {
        "type": "pipeline",
        "inputs": {"n": {"type": "integer"}},
        "jobs": {"echo": _node("echo ${{inputs.x}}", {"x": "integer"}, {},
                               inputs={"x": {"path": "${{parent.inputs.n}}"}})},
    }  # fmt: skip
    runner = run(ws, "unset", data)
    assert "bound to pipeline input 'n', which has no value" in runner.nodes["echo"]["error"]


def test_snapshots_are_content_addressed(tmp_path: Path) -> None:
    src = tmp_path / "code"
    (src / "__pycache__").mkdir(parents=True)
    (src / "a.py").write_text("print(1)\n")
    (src / "__pycache__" / "a.cpython-311.pyc").write_bytes(b"junk")
    store = tmp_path / "store"
    first, digest = snapshot_folder(src, store)
    assert first == store / digest and (first / "a.py").exists()
    assert not (first / "__pycache__").exists()
    (src / "__pycache__" / "b.pyc").write_bytes(b"more junk")  # caches do not change the digest
    assert snapshot_folder(src, store) == (first, digest)
    (src / "a.py").write_text("print(2)\n")
    second, other = snapshot_folder(src, store)
    assert other != digest and second != first and content_digest(second) == other
    assert copy.deepcopy(digest) == content_digest(first)
