"""Run a ``command`` node as a local subprocess.

What Azure does on compute, done here on this machine: the code snapshot is
copied into the node's run folder and the command runs there in a shell,
with ``${{inputs.x}}`` / ``${{outputs.y}}`` replaced by local paths (or
literal values), stdout and stderr in ``user_logs/std_log.txt``. The node's
``environment`` is recorded but not built: the command runs with this
Python environment first on ``PATH``, so ``python script.py`` finds the
packages automl-local runs with.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path

from automl_local.pipelines._bindings import render_command
from automl_local.pipelines._context import NodeContext, NodeFailed
from automl_local.processes import spawn_detached, terminate

__all__ = ["run_command_node"]

_POLL_SECONDS = 0.1
_KILL_GRACE_SECONDS = 10.0


def _shell() -> list[str]:
    bash = shutil.which("bash")
    return [bash, "-c"] if bash else ["/bin/sh", "-c"]


def _prepare_outputs(ctx: NodeContext) -> dict[str, str]:
    """A path per output: a folder, or (uri_file) a file path inside a fresh folder."""
    paths: dict[str, str] = {}
    for name, out in ctx.node.outputs.items():
        folder = ctx.node_dir / "outputs" / name
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        paths[name] = str(folder / name) if out.type == "uri_file" else str(folder)
    return paths


def run_command_node(ctx: NodeContext) -> dict[str, str]:
    """Run the node's command; return its output paths, or raise :class:`NodeFailed`."""
    node = ctx.node
    assert node.command is not None
    code_dir = ctx.node_dir / "code"
    if code_dir.exists():
        shutil.rmtree(code_dir)
    if node.code:
        source = Path(node.code)
        if not source.exists():
            raise NodeFailed(f"its code folder {source} does not exist any more.")
        if source.is_dir():
            shutil.copytree(source, code_dir)
        else:
            code_dir.mkdir(parents=True)
            shutil.copy2(source, code_dir / source.name)
    else:
        code_dir.mkdir(parents=True)
    outputs = _prepare_outputs(ctx)
    values = {name: (None if r is None else r.text) for name, r in ctx.inputs.items()}
    command = render_command(node.command, values, outputs, f"node {node.name!r}")
    env = dict(os.environ)
    env.update(ctx.env)
    env.update(node.environment_variables)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env["PYTHONUNBUFFERED"] = "1"
    ctx.log_path.parent.mkdir(parents=True, exist_ok=True)
    header = (
        f"[automl-local] node {node.name} (run {ctx.run_id})\n"
        f"[automl-local] environment {node.environment or '(none)'}: not built; runs in "
        f"{sys.executable}\n[automl-local] cwd {code_dir}\n[automl-local] $ {command}\n"
    )
    # its own session: a cancel stops the command's children too
    proc = spawn_detached([*_shell(), command], log_path=ctx.log_path, cwd=code_dir, env=env,
                          banner=header)  # fmt: skip
    ctx.started(proc.pid)

    def stop() -> None:
        terminate(proc.pid, grace=_KILL_GRACE_SECONDS)

    deadline = time.monotonic() + node.timeout_seconds if node.timeout_seconds else None
    while proc.poll() is None:
        if ctx.should_stop():
            stop()
            raise NodeFailed("canceled", canceled=True)
        if deadline is not None and time.monotonic() > deadline:
            stop()
            raise NodeFailed(f"timed out after {node.timeout_seconds:.0f} s (limits.timeout).")
        time.sleep(_POLL_SECONDS)
    if proc.returncode != 0:
        raise NodeFailed(f"its command exited with code {proc.returncode}.")
    return outputs
