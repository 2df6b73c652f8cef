"""Consume the bank-marketing online endpoint: POST two rows, print the answer.

The classic Azure ML consume script, standard library only, so it runs
unchanged against a local endpoint (http://127.0.0.1:PORT/score) or an Azure
one (https://<endpoint>.<region>.inference.ml.azure.com/score).

Scoring URI and key, first found wins:
  --scoring-uri / --key, or $SCORING_URI / $ENDPOINT_KEY;
  --endpoint-name: read both through the automl-local client
  (``--backend local|azure``, ``--workspace``).

    python consume.py --endpoint-name bankmarketing-endpoint
    SCORING_URI=http://127.0.0.1:PORT/score ENDPOINT_KEY=... python consume.py
"""

from __future__ import annotations

import argparse
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent


def credentials_from_client(endpoint: str, backend: str, workspace: str | None) -> tuple[str, str]:
    """Scoring URI and primary key as azure-ai-ml gives them (needs automl-local installed)."""
    from automl_local import get_client

    options = {"workspace": workspace} if backend == "local" and workspace else {}
    ml = get_client(backend, **options)
    keys = ml.online_endpoints.get_keys(endpoint)
    key = getattr(keys, "primary_key", None) or keys.access_token
    return ml.online_endpoints.get(endpoint).scoring_uri, key


def score(scoring_uri: str, key: str, body: bytes, deployment: str | None = None) -> str:
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {key}"}
    if deployment:
        headers["azureml-model-deployment"] = deployment  # pin one deployment
    request = urllib.request.Request(scoring_uri, body, headers)
    host = urllib.parse.urlparse(scoring_uri).hostname
    # A proxy from the environment must not intercept a loopback endpoint.
    handlers = [urllib.request.ProxyHandler({})] if host in ("127.0.0.1", "localhost") else []
    with urllib.request.build_opener(*handlers).open(request, timeout=60) as response:
        return response.read().decode("utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scoring-uri", default=os.environ.get("SCORING_URI"))
    parser.add_argument("--key", default=os.environ.get("ENDPOINT_KEY"))
    parser.add_argument("--endpoint-name", help="Read URI and key through the client.")
    parser.add_argument("--backend", default=os.environ.get("AUTOML_BACKEND", "local"))
    parser.add_argument("--workspace", help="Local workspace folder (default ./.automl).")
    parser.add_argument("--deployment-name", help="Send to this deployment only.")
    parser.add_argument("--request-file", type=Path, default=HERE / "sample-request.json")
    args = parser.parse_args(argv)

    uri, key = args.scoring_uri, args.key
    if args.endpoint_name and not (uri and key):
        uri, key = credentials_from_client(args.endpoint_name, args.backend, args.workspace)
    if not uri or not key:
        parser.error("give --endpoint-name, or --scoring-uri and --key "
                     "(or $SCORING_URI and $ENDPOINT_KEY)")
    body = args.request_file.read_bytes()
    try:
        print(score(uri, key, body, args.deployment_name))
    except urllib.error.HTTPError as error:
        print(f"The request failed with status code: {error.code}", file=sys.stderr)
        print(error.read().decode("utf-8", "ignore"), file=sys.stderr)
        return 1
    except urllib.error.URLError as error:
        print(f"Could not reach {uri}: {error.reason}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
