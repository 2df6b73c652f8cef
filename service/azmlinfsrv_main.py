"""Azure's inference server (``azmlinfsrv``) bound to 127.0.0.1, with the script's logging shown.

This file runs in a deployment's own built environment, with that
environment's Python (it imports only the standard library and
``azureml_inference_server_http``; never automl-local, which is not
installed there). It is ``azmlinfsrv`` with two differences:

* ``azmlinfsrv`` always binds ``0.0.0.0`` (its ``DEFAULT_HOST``, with no
  option to change it); servers here bind loopback only, so the constant is
  set to ``127.0.0.1`` before the server reads it.
* ``azmlinfsrv`` leaves the root logger unconfigured, so ``logging.info(...)``
  in a scoring script is dropped (``print`` is kept: the server turns it into
  ``azmlinfsrv.print`` lines). The root logger gets one stdout handler at INFO
  in the server's own line format, so the script's log lines reach the
  deployment log, unless the code folder brings its own ``logging.json``
  (which ``azmlinfsrv`` loads, as on Azure).

Usage: ``python azmlinfsrv_main.py --entry_script score.py --model_dir DIR --port N``.
"""

import logging
import os
import sys

_FORMAT = "%(asctime)s %(levelname).1s [%(process)d] %(name)s - %(message)s"


class _ScriptRecordsOnly(logging.Filter):
    """Keep the script's records; the server's own loggers have their handlers already."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.name.startswith(("gunicorn", "azmlinfsrv"))


def _log_script_records(entry_script: str) -> None:
    folder = os.path.dirname(os.path.abspath(entry_script))
    if os.path.isfile(os.path.join(folder, "logging.json")):
        return
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter(_FORMAT))
    handler.addFilter(_ScriptRecordsOnly())
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)


def main() -> None:
    import azureml_inference_server_http.constants as constants

    constants.DEFAULT_HOST = "127.0.0.1"
    args = sys.argv[1:]
    if "--entry_script" in args:
        _log_script_records(args[args.index("--entry_script") + 1])
    from azureml_inference_server_http import amlserver

    amlserver.run()


if __name__ == "__main__":
    main()
