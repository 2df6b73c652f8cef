"""``python -m automl_local.service --endpoint-dir E --host 127.0.0.1 --port N [--workers K]``.

Started by the endpoint process manager. Checks the endpoint folder first (a
bad ``endpoint.json`` is one line on stderr and exit code 2, before any
worker starts), then runs uvicorn with K worker processes; with K > 1
uvicorn's supervisor replaces a worker that dies, and ``kill -HUP <pid>``
replaces them all one by one (each new worker loads the models before the
old one stops). This module and what it imports stay light: the supervisor
process never loads pandas, MLflow or a model.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from automl_local.exceptions import AutoMLError

if TYPE_CHECKING:
    from automl_local.service._config import EndpointConfig

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m automl_local.service",
        description="Serve an automl-local online endpoint (all its deployments) over HTTP.",
    )
    parser.add_argument(
        "--endpoint-dir", required=True, help="Endpoint folder holding endpoint.json."
    )
    parser.add_argument("--host", default="127.0.0.1", help="Address to bind (default 127.0.0.1).")
    parser.add_argument("--port", type=int, required=True, help="Port to listen on.")
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="Worker processes, i.e. the deployments' largest instance_count (default 1).",
    )
    parser.add_argument(
        "--log-level",
        default="warning",
        choices=["critical", "error", "warning", "info", "debug"],
        help="uvicorn's own log level on stderr (default warning).",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # Imported here so `--help` and argument errors stay instant.
    from automl_local.service._config import (
        ENDPOINT_DIR_ENV,
        METRICS_SUBDIR,
        deployment_dir,
        read_endpoint_config,
    )
    from automl_local.service._logging import DeploymentLog

    endpoint_dir = Path(args.endpoint_dir).expanduser().resolve()
    try:
        if not 0 < args.port < 65536:
            raise AutoMLError(f"--port must be 1..65535, got {args.port}.")
        if args.workers < 1:
            raise AutoMLError(f"--workers must be >= 1, got {args.workers}.")
        config = read_endpoint_config(endpoint_dir)
    except AutoMLError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    # Counters of a previous run of this server must not add to this one's.
    shutil.rmtree(endpoint_dir / METRICS_SUBDIR, ignore_errors=True)
    for name in config.deployments:
        log = DeploymentLog(deployment_dir(endpoint_dir, name) / "deployment.log")
        log.line(
            f"server starting on http://{args.host}:{args.port} with {args.workers} worker(s) "
            f"(endpoint '{config.name}')"
        )
        log.close()
    os.environ[ENDPOINT_DIR_ENV] = str(endpoint_dir)
    from automl_local.service._script_children import (
        SCRIPTS_ENV,
        start_children,
        stop_children,
    )

    # Scripted deployments: their azmlinfsrv children start (and init()) before any worker.
    timeout = float(os.environ.get("AUTOML_LOCAL_STARTUP_TIMEOUT", "120"))
    children, scripts = start_children(endpoint_dir, config, timeout)
    os.environ[SCRIPTS_ENV] = json.dumps(scripts)
    try:
        _serve(args, config)
    finally:
        stop_children(children)
    return 0


def _serve(args: argparse.Namespace, config: EndpointConfig) -> None:
    import uvicorn

    options = {
        "factory": True,
        "host": args.host,
        "port": args.port,
        "workers": args.workers,
        "log_level": args.log_level,
        "access_log": False,
        "server_header": False,
        # uvicorn's protocol plus TCP_NODELAY: without it, workers > 1 add ~40 ms per request.
        "http": "automl_local.service._http:NoDelayHTTPProtocol",
    }
    app = "automl_local.service._app:app_from_env"
    if args.workers == 1 and any(d.liveness_probe for d in config.deployments.values()):
        # A worker that fails its liveness probe exits; only the supervisor can replace it,
        # and uvicorn runs one only for workers > 1: run it for the single worker too.
        from uvicorn.supervisors import Multiprocess

        uv_config = uvicorn.Config(app, **options)
        Multiprocess(uv_config, sockets=[uv_config.bind_socket()]).run()
    else:
        uvicorn.run(app, **options)  # type: ignore[arg-type]


if __name__ == "__main__":
    sys.exit(main())
