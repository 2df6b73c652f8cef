"""``python -m automl_local.service.control_plane --workspace W --port N``: the control plane.

Started in the background by ``automl-local server start`` (and by
publishing a pipeline or creating a schedule). One process: uvicorn serves
the API while a thread fires due schedules.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m automl_local.service.control_plane",
        description="Serve an automl-local workspace's published pipelines and schedules.",
    )
    parser.add_argument("--workspace", required=True, help="The workspace folder.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--missed-runs", choices=["run_once", "skip"], default="run_once")
    parser.add_argument("--tick-seconds", type=float, default=1.0)
    parser.add_argument(
        "--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"]
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    workspace = Path(args.workspace).expanduser().resolve()
    if not workspace.is_dir():
        print(f"error: workspace {workspace} does not exist.", file=sys.stderr)
        return 2
    import uvicorn
    from automl_local.service.control_plane._app import create_app

    logging.basicConfig(
        level=getattr(logging, args.log_level.upper()),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # azure-ai-ml announces each experimental class it loads; not news for a server log
    logging.getLogger("azure.ai.ml._utils._experimental").setLevel(logging.ERROR)
    app = create_app(workspace, missed_runs=args.missed_runs, tick_seconds=args.tick_seconds)
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level)
    return 0


if __name__ == "__main__":
    sys.exit(main())
