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

and one addition to the document it serves: ``ServiceInput`` lists as
``required`` the parameters of a decorated ``run()`` that have no default.
``azmlinfsrv`` answers 400 ("A value is not provided for the 'Inputs'
parameter.") when one is missing, as on Azure, but inference-schema's
document does not say so; now it does. The list comes from the server's own
input parser, so document and answer cannot disagree.

Usage: ``python azmlinfsrv_main.py --entry_script score.py --model_dir DIR --port N``.
"""

import inspect
import logging
import os
import sys
from typing import Any

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


def _require_parameters_without_default(swagger: Any, user_script: Any) -> None:
    """Add ``required`` to each ``ServiceInput`` of ``swagger`` (azmlinfsrv's ``Swagger``)."""
    from azureml_inference_server_http.server.input_parsers import ObjectInput

    parser = getattr(user_script, "input_parser", None)
    if not isinstance(parser, ObjectInput):  # undecorated or @rawhttp: the body goes as it is
        return
    needed = [p.name for p in parser.parameters if p.default is inspect.Parameter.empty]
    for document in swagger.swagger_jsons.values():
        schemas = document.get("definitions") or document.get("components", {}).get("schemas")
        service_input = (schemas or {}).get("ServiceInput")
        if not isinstance(service_input, dict) or "required" in service_input:
            continue  # a user's own swagger file says what it says
        properties = service_input.get("properties") or {}
        required = [name for name in needed if name in properties]
        if required:
            service_input["required"] = required


def _document_required_parameters(amlserver: Any) -> None:
    """Hook the addition in once the server's configuration is merged.

    ``azureml_inference_server_http.server`` reads its configuration from the
    environment when first imported, and ``amlserver.run`` sets that
    environment from the arguments (``merge_configuration``): the server
    modules are imported only after it, as ``azmlinfsrv`` itself does. A
    server version without these names serves its document unchanged (said
    once in the log), never fails to start because of this addition.
    """
    merge = getattr(amlserver, "merge_configuration", None)
    if merge is None:
        _skipped("azmlinfsrv has no amlserver.merge_configuration")
        return

    def merge_then_hook(args: Any) -> None:
        merge(args)
        try:
            from azureml_inference_server_http.server import swagger as swagger_module

            built = swagger_module.Swagger.__init__
        except (ImportError, AttributeError) as exc:
            _skipped(str(exc))
            return

        def init(self: Any, app_root: str, server_root: str, user_script: Any) -> None:
            built(self, app_root, server_root, user_script)
            try:
                _require_parameters_without_default(self, user_script)
            except (ImportError, AttributeError, TypeError) as exc:
                _skipped(str(exc))

        swagger_module.Swagger.__init__ = init  # type: ignore[method-assign]

    amlserver.merge_configuration = merge_then_hook


def _skipped(why: str) -> None:
    print(f"automl-local: the document's ServiceInput is served without 'required' ({why})",
          file=sys.stderr, flush=True)  # fmt: skip


def main() -> None:
    import azureml_inference_server_http.constants as constants

    constants.DEFAULT_HOST = "127.0.0.1"
    args = sys.argv[1:]
    if "--entry_script" in args:
        _log_script_records(args[args.index("--entry_script") + 1])
    from azureml_inference_server_http import amlserver

    _document_required_parameters(amlserver)
    amlserver.run()


if __name__ == "__main__":
    main()
