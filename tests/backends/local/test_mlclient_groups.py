"""The rest of MLClient's surface on the local client: workspaces, compute, environments,
components, datastores, top-level dispatch, pollers. Azure's entity types and errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from automl_local.backends import LocalPoller, get_client
from automl_local.backends.local._components import resolve_component
from automl_local.backends.local._datastores import resolve_datastore_uri
from azure.ai.ml.entities import (
    AmlCompute,
    AzureBlobDatastore,
    CommandComponent,
    ComputeInstance,
    Environment,
    Model,
    Workspace,
)
from azure.core.exceptions import ResourceNotFoundError

from automl_local.exceptions import ConfigError, NotFoundError


@pytest.fixture
def ml(tmp_path: Path):
    return get_client(
        "local", workspace=tmp_path / "ws", workspace_name="my-ws", resource_group_name="rg"
    )


def test_workspace_entity(ml) -> None:
    ws = ml.workspaces.get(name=ml.workspace_name)
    assert isinstance(ws, Workspace)
    assert (ws.name, ws.location, ws.resource_group) == ("my-ws", "local", "rg")
    assert ws.mlflow_tracking_uri == f"sqlite:///{ml.workspace.root / 'mlflow.db'}"
    assert [w.name for w in ml.workspaces.list()] == ["my-ws"]
    with pytest.raises(ResourceNotFoundError, match=r"workspace 'other'.*workspaces here: my-ws"):
        ml.workspaces.get("other")


def test_named_workspaces_side_by_side(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTOML_LOCAL_WORKSPACE", str(tmp_path / "root"))
    a = get_client("local", workspace_name="a")
    get_client("local", workspace_name="b").workspace  # noqa: B018 - created on first use
    assert sorted(w.name for w in a.workspaces.list()) == ["a", "b"]
    other = a.workspaces.get("b")
    assert other.mlflow_tracking_uri.endswith("/root/workspaces/b/mlflow.db")
    with pytest.raises(ResourceNotFoundError, match=r"workspace 'c'.*workspaces here: a, b"):
        a.workspaces.get("c")


def test_each_workspace_keeps_its_store_after_mlflow_set_tracking_uri(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The notebook's ``mlflow.set_tracking_uri(ws.mlflow_tracking_uri)`` exports
    MLFLOW_TRACKING_URI; a second workspace must still register into its own store."""
    monkeypatch.setenv("AUTOML_LOCAL_WORKSPACE", str(tmp_path / "root"))
    monkeypatch.delenv("AUTOML_LOCAL_TRACKING_URI", raising=False)
    a = get_client("local", workspace_name="a")
    b = get_client("local", workspace_name="b")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", a.workspaces.get("a").mlflow_tracking_uri)
    model_file = tmp_path / "model.txt"
    model_file.write_text("weights")
    b.models.create_or_update(Model(name="only-in-b", path=str(model_file), type="custom_model"))
    from mlflow.tracking import MlflowClient

    b_uri = b.workspaces.get("b").mlflow_tracking_uri
    assert b_uri.endswith("/root/workspaces/b/mlflow.db")
    assert [m.name for m in MlflowClient(b_uri, b_uri).search_registered_models()] == ["only-in-b"]
    a_uri = a.workspaces.get("a").mlflow_tracking_uri
    assert not MlflowClient(a_uri, a_uri).search_registered_models()
    other_store = f"sqlite:///{tmp_path / 'shared.db'}"
    monkeypatch.setenv("AUTOML_LOCAL_TRACKING_URI", other_store)
    assert a.workspaces.get("a").mlflow_tracking_uri == other_store


def test_compute_lifecycle(ml) -> None:
    with pytest.raises(ResourceNotFoundError, match=r"compute 'cpu-cluster'.*computes here: none"):
        ml.compute.get("cpu-cluster")
    cluster = AmlCompute(name="cpu-cluster", size="STANDARD_DS3_V2", max_instances=4)
    got = ml.begin_create_or_update(cluster).result()
    assert isinstance(got, AmlCompute) and got.max_instances == 4
    assert got.provisioning_state == "Succeeded"
    ml.compute.begin_create_or_update(ComputeInstance(name="ci-1", size="Standard_DS3_v2")).wait()
    assert isinstance(ml.compute.get("azureml:ci-1"), ComputeInstance)
    assert sorted(c.name for c in ml.compute.list()) == ["ci-1", "cpu-cluster"]
    assert [c.name for c in ml.compute.list(compute_type="AmlCompute")] == ["cpu-cluster"]
    ml.compute.begin_stop("ci-1").result()
    assert ml.compute.get("ci-1").state == "Stopped"
    (size,) = ml.compute.list_sizes()
    assert size.name == "local" and size.v_cp_us >= 1
    ml.compute.begin_delete("cpu-cluster").result()
    with pytest.raises(ResourceNotFoundError, match=r"computes here: ci-1"):
        ml.compute.get("cpu-cluster")
    with pytest.raises(ResourceNotFoundError):
        ml.compute.begin_delete("nope")
    with pytest.raises(ConfigError, match="max_instances must be at least 1"):
        ml.compute.begin_create_or_update(AmlCompute(name="z", max_instances=0))


def test_environment_versions_latest_and_archive(ml, tmp_path: Path) -> None:
    conda = tmp_path / "conda.yml"
    conda.write_text("dependencies:\n  - pip\n  - pip:\n    - inflection\n")
    first = ml.create_or_update(Environment(name="train-env", conda_file=str(conda)))
    assert isinstance(first, Environment) and first.version == "1"
    same = ml.environments.create_or_update(Environment(name="train-env", conda_file=str(conda)))
    assert same.version == "1"  # unchanged content keeps the latest version, as Azure does
    conda.write_text("dependencies:\n  - pip:\n    - humanize\n")
    second = ml.environments.create_or_update(Environment(name="train-env", conda_file=str(conda)))
    assert second.version == "2"
    assert ml.environments.get("train-env", label="latest").version == "2"
    assert ml.environments.get("train-env", version="1").conda_file["dependencies"][1] == {
        "pip": ["inflection"]
    }
    ml.environments.archive("train-env", version="2")
    assert ml.environments.get("train-env", label="latest").version == "1"
    assert [e.version for e in ml.environments.list("train-env")] == ["1"]
    ml.environments.restore("train-env", version="2")
    assert [e.name for e in ml.environments.list()] == ["train-env"]
    with pytest.raises(ResourceNotFoundError, match=r"train-env:7 was not found.*versions: 1, 2"):
        ml.environments.get("train-env", version="7")
    with pytest.raises(ResourceNotFoundError, match=r"'nope' was not found.*train-env"):
        ml.environments.get("nope", label="latest")
    with pytest.raises(ConfigError, match="Must provide either version or label"):
        ml.environments.get("train-env")


def test_curated_environment_and_bad_conda(ml, tmp_path: Path) -> None:
    curated = ml.environments.get("AzureML-sklearn-1.5", version="1")
    assert "automl-local's own" in curated.description
    with pytest.raises(ConfigError, match="reserved"):
        ml.environments.create_or_update(Environment(name="AzureML-mine", image="x"))
    with pytest.raises(ConfigError, match=r"dependency \{'nope': 1\} is neither a package"):
        ml.environments.create_or_update(
            Environment(name="b", conda_file={"dependencies": [{"nope": 1}]})
        )
    # a conda file path is parsed by azure-ai-ml's own loader, which names the line too
    broken = tmp_path / "broken.yml"
    broken.write_text("dependencies:\n  - numpy\n   - pip:\n")
    from azure.ai.ml.exceptions import ValidationException

    with pytest.raises(ValidationException, match=r"line 3"):
        Environment(name="b", conda_file=str(broken))


def _component(code: Path) -> CommandComponent:
    (code / "prep.py").write_text("print('prep')\n")
    return CommandComponent(
        name="prep",
        command="python prep.py --x ${{inputs.x}}",
        code=str(code),
        environment="azureml:AzureML-sklearn-1.5:1",
        inputs={"x": {"type": "uri_file"}},
        outputs={"out": {"type": "uri_folder"}},
    )


def test_components_store_code_and_resolve(ml, tmp_path: Path) -> None:
    code = tmp_path / "src"
    code.mkdir()
    first = ml.create_or_update(_component(code))
    assert isinstance(first, CommandComponent) and first.version == "1"
    (code / "prep.py").write_text("print('changed')\n")
    second = ml.components.create_or_update(_component(code))
    assert second.version == "2"
    snap = ml.workspace.root / "components" / "prep" / "1" / "code" / "prep.py"
    assert snap.read_text() == "print('prep')\n"  # the snapshot, not the user's folder
    assert resolve_component(ml, "azureml:prep:1").version == "1"
    assert resolve_component(ml, "azureml:prep@latest").version == "2"
    assert resolve_component(ml, "prep").version == "2"
    got = ml.components.get("prep", version="1")
    assert got.command.startswith("python prep.py") and "x" in got.inputs
    assert Path(got.code) == snap.parent or str(got.code).endswith("code")
    assert [c.version for c in ml.components.list("prep")] == ["1", "2"]
    with pytest.raises(ResourceNotFoundError, match=r"component 'prep:9'.*prep:1, prep:2"):
        resolve_component(ml, "azureml:prep:9")
    with pytest.raises(ResourceNotFoundError, match=r"component 'train'.*components here: prep"):
        ml.components.get("train", label="latest")


def test_datastores_and_uris(ml) -> None:
    default = ml.datastores.get_default()
    assert isinstance(default, AzureBlobDatastore) and default.name == "workspaceblobstore"
    assert [d.name for d in ml.datastores.list()] == ["workspaceblobstore"]
    with pytest.raises(ResourceNotFoundError, match=r"datastore 'other'.*workspaceblobstore"):
        ml.datastores.get("other")
    root = ml.workspace.root / "datastores" / "workspaceblobstore"
    path = resolve_datastore_uri(ml, "azureml://datastores/workspaceblobstore/paths/a/b.csv")
    assert path == (root / "a" / "b.csv").resolve()
    long = (
        "azureml://subscriptions/s/resourcegroups/rg/workspaces/w/datastores/"
        "workspaceblobstore/paths/a/b.csv"
    )
    assert resolve_datastore_uri(ml, long) == path
    with pytest.raises(ConfigError, match="outside"):
        resolve_datastore_uri(ml, "azureml://datastores/workspaceblobstore/paths/../../x")
    with pytest.raises(ResourceNotFoundError):
        resolve_datastore_uri(ml, "azureml://datastores/nope/paths/x")
    # a job input naming a datastore path reads the file in the workspace
    from automl_local.backends.local._data import resolve_input_path

    path.parent.mkdir(parents=True)
    path.write_text("x,y\n1,2\n")
    assert resolve_input_path(ml, long) == str(path)
    mine = ml.create_or_update(
        AzureBlobDatastore(name="raw", account_name="acct", container_name="data")
    )
    assert mine.account_name == "acct" and (ml.workspace.root / "datastores" / "raw").is_dir()


def test_dispatch_refuses_unknown_entities(ml) -> None:
    with pytest.raises(ConfigError, match="create_or_update got a Workspace"):
        ml.create_or_update(Workspace(name="w"))
    with pytest.raises(ConfigError, match="a local workspace is a folder"):
        ml.begin_create_or_update(Workspace(name="w"))


def test_poller_raises_from_result_and_wait_and_never_swallows_ctrl_c() -> None:
    def fail() -> None:
        raise NotFoundError("schedule 'nope' was not found")

    poller = LocalPoller(fail)
    assert poller.done() and poller.status() == "Failed"
    with pytest.raises(NotFoundError, match="nope"):
        poller.wait()
    with pytest.raises(NotFoundError, match="nope"):
        poller.result()

    def interrupted() -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        LocalPoller(interrupted)
    seen: list[object] = []
    ok = LocalPoller(lambda: 3)
    ok.add_done_callback(seen.append)
    assert ok.result() == 3 and ok.status() == "Succeeded" and seen == [ok]
