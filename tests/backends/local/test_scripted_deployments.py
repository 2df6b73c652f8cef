"""Scoring scripts for real: Azure's managed online endpoint sample, run by azmlinfsrv.

A folder shaped like azureml-examples' ``cli/endpoints/online/managed/sample``
(a pickled scikit-learn model under ``model/``, ``onlinescoring/score.py``
reading ``AZUREML_MODEL_DIR``, ``environment/conda.yaml`` naming ``humanize``,
which automl-local does not depend on) is deployed as blue and green. The
environment is really built from the package index (once: the module shares
one cache) and ``azureml-inference-server-http`` really runs the script.
"""

from __future__ import annotations

import contextlib
import json
import sys
from types import SimpleNamespace
from typing import Any

import httpx
import numpy as np
import pytest
from _clirun import run_cli
from automl_local.backends import get_client
from azure.ai.ml import load_online_deployment
from azure.ai.ml.entities import (
    CodeConfiguration,
    Environment,
    ManagedOnlineDeployment,
    ManagedOnlineEndpoint,
)

from automl_local.exceptions import ConfigError, NotFoundError, ServiceError

pytestmark = pytest.mark.e2e

ENDPOINT = "sample-ep"
SCORE_PY = '''\
import json
import logging
import os

import humanize  # from the deployment's conda file: not installed with automl-local
import joblib
import numpy


def init():
    global model
    # AZUREML_MODEL_DIR is ./azureml-models/$MODEL_NAME/$VERSION, as on Azure.
    model_path = os.path.join(os.getenv("AZUREML_MODEL_DIR"), "model/sklearn_regression_model.pkl")
    model = joblib.load(model_path)
    print("init printed for", os.getenv("COLOR"))
    logging.info("Init complete")


def run(raw_data):
    logging.info("model 1: request received")
    body = json.loads(raw_data)
    if body.get("fail"):
        raise ValueError("asked to fail by the request")
    result = model.predict(numpy.array(body["data"]))
    logging.info("Request processed")
    return {"predictions": result.tolist(), "color": os.getenv("COLOR"),
            "words": humanize.intcomma(1234567)}
'''
FAILING_INIT = '''\
def init():
    print("looking for the model")
    raise RuntimeError("model file sklearn_regression_model.pkl is missing")


def run(raw_data):
    return raw_data
'''
DEPLOYMENT_YAML = """\
$schema: https://azuremlschemas.azureedge.net/latest/managedOnlineDeployment.schema.json
name: {name}
endpoint_name: {endpoint}
model:
  path: ./model/
code_configuration:
  code: ./onlinescoring/
  scoring_script: score.py
environment:
  conda_file: ./environment/conda.yaml
  image: mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04:latest
environment_variables:
  COLOR: {name}
instance_type: Standard_DS3_v2
instance_count: 1
"""
ROWS = [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [10, 9, 8, 7, 6, 5, 4, 3, 2, 1]]


def _versions(*dists: str) -> dict[str, str]:
    from importlib import metadata

    return {d: metadata.version(d) for d in dists}


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory, ep_workspace: Any) -> Any:
    """Azure's sample folder, a workspace with the endpoint; blue/green created by the test."""
    import joblib
    from sklearn.linear_model import Ridge

    root = tmp_path_factory.mktemp("sample")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 10))
    model = Ridge().fit(X, X @ np.arange(10) + 1.0)
    (root / "model").mkdir()
    joblib.dump(model, root / "model" / "sklearn_regression_model.pkl")
    (root / "onlinescoring").mkdir()
    (root / "onlinescoring" / "score.py").write_text(SCORE_PY)
    (root / "broken-init").mkdir()
    (root / "broken-init" / "score.py").write_text(FAILING_INIT)
    (root / "plain").mkdir()  # the sample's script without its extra package
    (root / "plain" / "score.py").write_text(
        SCORE_PY.replace("import humanize", "import sklearn").replace(
            "humanize.intcomma(1234567)", "sklearn.__version__"))
    (root / "environment").mkdir()
    v = _versions("numpy", "scikit-learn", "joblib")
    (root / "environment" / "conda.yaml").write_text(
        "name: model-env\nchannels:\n  - conda-forge\ndependencies:\n"
        f"  - python={sys.version_info.major}.{sys.version_info.minor}\n"
        f"  - numpy={v['numpy']}\n  - pip\n  - scikit-learn={v['scikit-learn']}\n"
        f"  - pip:\n    - joblib=={v['joblib']}\n    - humanize\n"
    )
    for color in ("blue", "green"):
        (root / f"{color}-deployment.yml").write_text(
            DEPLOYMENT_YAML.format(name=color, endpoint=ENDPOINT)
        )
    workspace = ep_workspace("ws-scripted")
    ml = get_client("local", workspace=workspace)
    ml.online_endpoints.begin_create_or_update(ManagedOnlineEndpoint(name=ENDPOINT)).result()
    yield SimpleNamespace(root=root, ml=ml, model=model, workspace=workspace)
    with contextlib.suppress(NotFoundError):
        ml.online_endpoints.begin_delete(ENDPOINT).result()


def _cli(sample: Any, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    return run_cli(sample.workspace, capsys, *argv)


def _deploy_blue_green(sample: Any) -> None:
    ml = sample.ml
    if {d.name for d in ml.online_deployments.list(ENDPOINT)} >= {"blue", "green"}:
        return
    for color in ("blue", "green"):
        deployment = load_online_deployment(str(sample.root / f"{color}-deployment.yml"))
        assert ml.online_deployments.begin_create_or_update(deployment).result().name == color
    endpoint = ml.online_endpoints.get(ENDPOINT)
    endpoint.traffic = {"blue": 90, "green": 10}
    ml.online_endpoints.begin_create_or_update(endpoint).result()


def test_azure_sample_blue_green_runs_the_script(
    sample: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    _deploy_blue_green(sample)
    ml = sample.ml
    assert ml.online_endpoints.get(ENDPOINT).traffic == {"blue": 90, "green": 10}
    request = sample.root / "sample-request.json"
    request.write_text(json.dumps({"data": ROWS}))
    expected = sample.model.predict(np.array(ROWS))
    for color in ("blue", "green"):
        answer = json.loads(
            ml.online_endpoints.invoke(ENDPOINT, request_file=str(request), deployment_name=color)
        )
        assert answer["color"] == color and answer["words"] == "1,234,567"
        np.testing.assert_allclose(answer["predictions"], expected)
    code, out, err = _cli(sample, capsys, "online-endpoint", "invoke", "--name", ENDPOINT,
                          "--deployment-name", "green", "--request-file", str(request))
    assert code == 0, err
    assert json.loads(json.loads(out) if out.strip().startswith('"') else out)["color"] == "green"
    code, logs, err = _cli(sample, capsys, "online-deployment", "get-logs", "--name", "green",
                           "--endpoint-name", ENDPOINT)
    assert code == 0, err
    assert "adding azureml-inference-server-http" in logs
    assert "init printed for green" in logs and "Init complete" in logs
    assert "model 1: request received" in logs and "Request processed" in logs
    entity = ml.online_deployments.get("blue", ENDPOINT)
    assert entity.provisioning_state == "Succeeded"
    assert entity.code_configuration.scoring_script == "score.py"


def test_run_exception_is_azures_500_and_the_server_stays_up(sample: Any) -> None:
    _deploy_blue_green(sample)
    ml = sample.ml
    uri = ml.online_endpoints.get(ENDPOINT).scoring_uri
    key = ml.online_endpoints.get_keys(ENDPOINT).primary_key
    headers = {"Authorization": f"Bearer {key}", "azureml-model-deployment": "blue"}
    failed = httpx.post(uri, json={"data": ROWS, "fail": True}, headers=headers, timeout=30)
    assert failed.status_code == 500
    assert failed.json() == {
        "message": "An unexpected error occurred in scoring script. Check the logs for more info."
    }
    assert failed.headers["x-ms-run-function-failed"] == "True"
    assert failed.headers["azureml-model-deployment"] == "blue"
    again = httpx.post(uri, json={"data": ROWS}, headers=headers, timeout=30)
    assert again.status_code == 200 and again.json()["color"] == "blue"
    logs = ml.online_deployments.get_logs("blue", ENDPOINT, 200)
    assert "ValueError: asked to fail by the request" in logs
    swagger = httpx.get(uri.replace("/score", "/swagger.json"), headers=headers, timeout=30)
    assert swagger.status_code == 200 and swagger.json()["info"]["title"] == "ML service"


def test_init_failure_fails_the_deployment_and_keeps_the_endpoint(sample: Any) -> None:
    _deploy_blue_green(sample)
    ml = sample.ml
    red = load_online_deployment(str(sample.root / "blue-deployment.yml"))
    red.name = "red"
    red.code_configuration = CodeConfiguration(code="./broken-init", scoring_script="score.py")
    with pytest.raises(ServiceError, match=(
        r"deployment 'red' of endpoint 'sample-ep' failed to start; the endpoint keeps serving "
        r"its previous deployments\. .*exited with code 3 \(RuntimeError: model file "
        r"sklearn_regression_model.pkl is missing\)"
    )) as failure:
        ml.online_deployments.begin_create_or_update(red).result()
    assert "\n" not in str(failure.value)
    assert ml.online_deployments.get("red", ENDPOINT).provisioning_state == "Failed"
    logs = ml.online_deployments.get_logs("red", ENDPOINT, 300)
    assert "looking for the model" in logs and "Traceback (most recent call last)" in logs
    assert 'raise RuntimeError("model file sklearn_regression_model.pkl is missing")' in logs
    request = sample.root / "sample-request.json"
    request.write_text(json.dumps({"data": ROWS}))
    answer = ml.online_endpoints.invoke(ENDPOINT, request_file=str(request),
                                        deployment_name="blue")
    assert json.loads(answer)["color"] == "blue"
    ml.online_deployments.begin_delete("red", ENDPOINT).result()


def test_a_curated_environment_gets_a_stand_in_with_the_server(sample: Any) -> None:
    """AzureML-sklearn-...: the server plus this machine's scikit-learn (never our own env)."""
    from importlib import metadata

    ml = sample.ml
    plain = CodeConfiguration(code="./plain", scoring_script="score.py")
    curated = _spec(sample, environment="AzureML-sklearn-1.5-ubuntu22.04-py39-cpu:1",
                    code_configuration=plain)
    curated.name = "curated"
    ml.online_deployments.begin_create_or_update(curated).result()
    try:
        request = sample.root / "sample-request.json"
        request.write_text(json.dumps({"data": ROWS}))
        answer = json.loads(ml.online_endpoints.invoke(
            ENDPOINT, request_file=str(request), deployment_name="curated"))
        assert answer["words"] == metadata.version("scikit-learn")
        logs = ml.online_deployments.get_logs("curated", ENDPOINT, 400)
        assert "is a curated Azure image (or none was given): a local stand-in is built with " \
               "azureml-inference-server-http~=1.5.1" in logs
        assert "Init complete" in logs
    finally:
        ml.online_deployments.begin_delete("curated", ENDPOINT).result()


def _spec(sample: Any, **changes: Any) -> ManagedOnlineDeployment:
    base = load_online_deployment(str(sample.root / "blue-deployment.yml"))
    base.name = "bad"
    for field, value in changes.items():
        setattr(base, field, value)
    return base


@pytest.mark.parametrize(
    ("changes", "error", "match"),
    [
        ({"code_configuration": CodeConfiguration(code="./nowhere", scoring_script="score.py")},
         ConfigError, r"code_configuration.code './nowhere' is not a folder"),
        ({"code_configuration": CodeConfiguration(code="./onlinescoring",
                                                  scoring_script="scoring.py")},
         ConfigError, r"scoring_script 'scoring.py' is not a file in the code folder .*"
                      r"\(Python files there: score.py\)"),
        ({"environment": "azureml:no-such-env:1"}, NotFoundError, r"no-such-env"),
        ({"environment": Environment(conda_file={"dependencies": 5})}, ConfigError,
         r"dependencies"),
    ],
    ids=["no-code-folder", "wrong-script", "unknown-env", "broken-conda"],
)
def test_bad_specs_are_refused_and_leave_nothing(
    sample: Any, changes: dict[str, Any], error: type[Exception], match: str
) -> None:
    ml = sample.ml
    with pytest.raises(error, match=match):
        ml.online_deployments.begin_create_or_update(_spec(sample, **changes)).result()
    assert "bad" not in {d.name for d in ml.online_deployments.list(ENDPOINT)}


def test_an_environment_that_cannot_be_built_leaves_nothing(sample: Any) -> None:
    ml = sample.ml
    broken = Environment(conda_file={"dependencies": [
        "pip", {"pip": ["automl-local-no-such-package-xyz==0.0.1"]}]})
    with pytest.raises(Exception, match=r"automl-local-no-such-package-xyz"):
        ml.online_deployments.begin_create_or_update(_spec(sample, environment=broken)).result()
    assert "bad" not in {d.name for d in ml.online_deployments.list(ENDPOINT)}


def test_a_child_that_dies_later_is_reported_not_hung_on(sample: Any) -> None:
    """Last in the module: it kills blue's azmlinfsrv, then brings it back with a restart."""
    import re
    import time

    import psutil

    _deploy_blue_green(sample)
    ml = sample.ml
    logs = ml.online_deployments.get_logs("blue", ENDPOINT, 500)
    pid = int(re.findall(r"azmlinfsrv of deployment 'blue' is ready \(pid (\d+)\)", logs)[-1])
    server = psutil.Process(pid)
    for proc in [*server.children(recursive=True), server]:  # gunicorn's master and worker
        proc.kill()
    psutil.wait_procs([server], timeout=10)
    uri = ml.online_endpoints.get(ENDPOINT).scoring_uri
    key = ml.online_endpoints.get_keys(ENDPOINT).primary_key
    headers = {"Authorization": f"Bearer {key}", "azureml-model-deployment": "blue"}
    started = time.monotonic()
    down = httpx.post(uri, json={"data": ROWS}, headers=headers, timeout=30)
    assert down.status_code == 503 and time.monotonic() - started < 5
    assert f"its azmlinfsrv process (pid {pid}) has exited" in down.json()["message"]
    green = httpx.post(uri, json={"data": ROWS}, timeout=30,
                       headers={**headers, "azureml-model-deployment": "green"})
    assert green.status_code == 200  # the other deployment and the endpoint stay up
    deadline = time.monotonic() + 10
    while "exited with code" not in ml.online_deployments.get_logs("blue", ENDPOINT, 50):
        assert time.monotonic() < deadline, "the child's exit was not logged"
        time.sleep(0.1)
    assert ml.online_deployments.get("blue", ENDPOINT).provisioning_state == "Failed"
    ml.online_endpoints.begin_restart(ENDPOINT).result()
    back = httpx.post(uri, json={"data": ROWS}, headers=headers, timeout=30)
    assert back.status_code == 200 and back.json()["color"] == "blue"
    assert ml.online_deployments.get("blue", ENDPOINT).provisioning_state == "Succeeded"
