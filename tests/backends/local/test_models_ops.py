"""``client.models`` on a local workspace: register, version, resolve, list, download.

Real MLflow models, the real MLflow registry (SQLite in the workspace) and
the real catalogue; no server is started here.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from automl_local.backends import get_client
from automl_local.backends.local._models import parse_model_reference
from azure.ai.ml.constants import ListViewType
from azure.ai.ml.entities import Model

from automl_local.exceptions import AlreadyExistsError, ConfigError, NotFoundError


@pytest.fixture(scope="module")
def ml(ep_workspace):
    return get_client("local", workspace=ep_workspace("ws-models"))


@pytest.fixture(scope="module")
def registered(ml, ep_model_dirs: dict[str, Path]) -> list[Model]:
    """bankmodel versions 1 and 2 (auto-incremented) from the same source folder."""
    first = ml.models.create_or_update(
        Model(name="bankmodel", path=str(ep_model_dirs["blue"]), type="mlflow_model",
              description="first", tags={"team": "risk"})
    )
    second = ml.models.create_or_update(
        Model(name="bankmodel", path=str(ep_model_dirs["blue"]), type="mlflow_model")
    )
    return [first, second]


def test_versions_auto_increment_and_files_are_a_snapshot(ml, registered, tmp_path) -> None:
    first, second = registered
    assert (first.version, second.version) == ("1", "2")
    assert isinstance(first, Model)
    assert first.type == "mlflow_model" and first.tags == {"team": "risk"}
    assert first.description == "first"
    path = Path(first.path)
    assert path.is_relative_to(ml.workspace.root) and (path / "MLmodel").is_file()
    assert path.name == "blue-model"  # the source folder's name, as Azure keeps it
    assert "sklearn" in first.flavors and "python_function" in first.flavors


def test_registration_is_mirrored_in_the_mlflow_registry(ml, registered) -> None:
    from mlflow import MlflowClient

    uri = ml.workspace.tracking_uri
    versions = MlflowClient(tracking_uri=uri, registry_uri=uri).search_model_versions(
        "name='bankmodel'"
    )
    assert sorted(int(v.version) for v in versions) == [1, 2]
    assert {v.source for v in versions} == {m.path for m in registered}
    assert registered[1].properties["mlflow.version"] == "2"


def test_get_by_version_label_and_latest(ml, registered) -> None:
    assert ml.models.get("bankmodel", version="1").version == "1"
    assert ml.models.get("bankmodel", label="latest").version == "2"
    assert ml.models.get("bankmodel").version == "2"
    with pytest.raises(ConfigError, match="Cannot specify both version and label"):
        ml.models.get("bankmodel", version="1", label="latest")


def test_unknown_model_or_version_names_the_fix(ml, registered) -> None:
    with pytest.raises(NotFoundError, match=r"model 'bankmodel:9' was not found.*versions of "
                                            r"'bankmodel': 1, 2.*automl-local model create"):
        ml.models.get("bankmodel", version="9")
    with pytest.raises(NotFoundError, match="model 'nosuchmodel' was not found"):
        ml.models.get("nosuchmodel")


def test_list_latest_of_each_and_all_versions(ml, registered, ep_model_dirs) -> None:
    ml.models.create_or_update(Model(name="other", path=str(ep_model_dirs["green"])))
    latest = {m.name: m.version for m in ml.models.list()}
    assert latest == {"bankmodel": "2", "other": "1"}
    assert [m.version for m in ml.models.list(name="bankmodel")] == ["1", "2"]


def test_archive_hides_from_list_but_stays_gettable(ml, ep_model_dirs) -> None:
    ml.models.create_or_update(Model(name="oldmodel", path=str(ep_model_dirs["green"]),
                                     type="mlflow_model"))
    ml.models.archive("oldmodel")
    assert "oldmodel" not in {m.name for m in ml.models.list()}
    archived = ml.models.list(list_view_type=ListViewType.ARCHIVED_ONLY)
    assert [m.name for m in archived] == ["oldmodel"]
    assert ml.models.get("oldmodel", "1").name == "oldmodel"


def test_explicit_version_is_immutable(ml, registered, ep_model_dirs) -> None:
    created = ml.models.create_or_update(
        Model(name="pinned", version="7", path=str(ep_model_dirs["blue"]), type="mlflow_model")
    )
    assert created.version == "7"
    with pytest.raises(AlreadyExistsError, match=r"pinned:7 already exists.*Omit the version"):
        ml.models.create_or_update(
            Model(name="pinned", version="7", path=str(ep_model_dirs["blue"]))
        )
    assert ml.models.create_or_update(
        Model(name="pinned", path=str(ep_model_dirs["blue"]), type="mlflow_model")
    ).version == "8"


def test_download_lays_files_out_like_azure(ml, registered, tmp_path) -> None:
    ml.models.download("bankmodel", "1", download_path=tmp_path)
    assert (tmp_path / "bankmodel" / "blue-model" / "MLmodel").is_file()


def test_job_best_model_uri_resolves_to_the_job_output_folder(ml, ep_model_dirs) -> None:
    best = ml.workspace.job_dir("quick_job_42") / "outputs" / "best_model"
    shutil.copytree(ep_model_dirs["blue"], best)
    for uri in ("azureml://jobs/quick_job_42/outputs/best_model",
                "azureml://jobs/quick_job_42/outputs/artifacts/outputs/mlflow-model/"):
        model = ml.models.create_or_update(Model(name="from-job", path=uri, type="mlflow_model"))
        assert model.job_name == "quick_job_42"
        assert (Path(model.path) / "MLmodel").is_file()
    with pytest.raises(NotFoundError, match=r"job 'no_such_job' has no best model.*"
                                            r"automl-local job show --name no_such_job"):
        ml.models.create_or_update(Model(name="from-job", type="mlflow_model",
                                         path="azureml://jobs/no_such_job/outputs/best_model"))


def test_mlflow_run_artifact_uri(ml, ep_model_dirs) -> None:
    import mlflow

    mlflow.set_tracking_uri(ml.workspace.tracking_uri)
    try:  # artifacts in the workspace (the default would be ./mlruns in the cwd)
        experiment = mlflow.create_experiment(
            "models-test", artifact_location=ml.workspace.artifact_root.as_uri())
        with mlflow.start_run(experiment_id=experiment) as run:
            mlflow.log_artifacts(str(ep_model_dirs["green"]), artifact_path="outputs/mlflow-model")
    finally:
        mlflow.set_tracking_uri(None)
    for uri in (f"runs:/{run.info.run_id}/outputs/mlflow-model",
                f"azureml://jobs/{run.info.run_id}/outputs/artifacts/paths/outputs/mlflow-model/"):
        model = ml.models.create_or_update(Model(name="from-run", path=uri, type="mlflow_model"))
        assert (Path(model.path) / "MLmodel").is_file()


def test_model_registered_straight_in_mlflow_is_adopted(ml, ep_model_dirs) -> None:
    """A job (or MLflow code) may register into the MLflow registry directly."""
    from mlflow import MlflowClient

    uri = ml.workspace.tracking_uri
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    client.create_registered_model("jobmodel")
    client.create_model_version("jobmodel", source=str(ep_model_dirs["green"]))
    model = ml.models.get("jobmodel", version="1")
    assert (Path(model.path) / "MLmodel").is_file()
    assert Path(model.path).is_relative_to(ml.workspace.root)
    assert ml.models.resolve("azureml:jobmodel:1", anonymous_name="x").path == model.path
    assert len(client.search_model_versions("name='jobmodel'")) == 1  # not registered twice


def test_bad_paths_and_types_are_config_errors(ml, tmp_path) -> None:
    (tmp_path / "notmlflow").mkdir()
    (tmp_path / "notmlflow" / "weights.bin").write_bytes(b"0")
    with pytest.raises(ConfigError, match="is not an MLflow model folder: it has no MLmodel"):
        ml.models.create_or_update(
            Model(name="bad", path=str(tmp_path / "notmlflow"), type="mlflow_model")
        )
    custom = ml.models.create_or_update(Model(name="bad", path=str(tmp_path / "notmlflow")))
    assert custom.type == "custom_model"
    with pytest.raises(ConfigError, match=r"model path .* does not exist"):
        ml.models.create_or_update(Model(name="bad", path=str(tmp_path / "nowhere")))
    with pytest.raises(ConfigError, match="model name 'bad name' is not valid"):
        ml.models.create_or_update(Model(name="bad name", path=str(tmp_path / "notmlflow")))


def test_references_resolve_like_deployment_model_fields(ml, registered, ep_model_dirs) -> None:
    assert parse_model_reference("azureml:bankmodel:1") == ("bankmodel", "1", None)
    assert parse_model_reference("bankmodel@latest") == ("bankmodel", None, "latest")
    for ref, version in (("azureml:bankmodel:1", "1"), ("bankmodel:2", "2"),
                         ("azureml:bankmodel@latest", "2"), ("bankmodel@latest", "2")):
        assert ml.models.resolve(ref, anonymous_name="x").version == version
    folder = ml.models.resolve(str(ep_model_dirs["green"]), anonymous_name="x")
    again = ml.models.resolve(str(ep_model_dirs["green"]), anonymous_name="x")
    assert (folder.name, folder.version) == (again.name, again.version)  # content-hash name
    with pytest.raises(ConfigError, match="model reference 'bankmodel' is not valid"):
        ml.models.resolve("bankmodel", anonymous_name="x")


def test_model_cli_create_list_show_download(ml, ep_model_dirs, tmp_path, capsys) -> None:
    from automl_local.cli import main

    def run(*argv: str) -> tuple[int, str, str]:
        with pytest.raises(SystemExit) as exit_info:
            main(["model", *argv, "--workspace", str(ml.workspace.root)])
        out, err = capsys.readouterr()
        return int(exit_info.value.code or 0), out, err

    code, out, _ = run("create", "--name", "clim", "--path", str(ep_model_dirs["green"]))
    assert code == 0 and "mlflow_model" in out  # type detected from the MLmodel file
    code, out, _ = run("list", "-o", "json")
    assert code == 0 and '"clim"' in out
    code, out, _ = run("show", "--name", "clim")
    assert code == 0 and "version" in out and "1" in out
    code, out, _ = run("download", "--name", "clim", "--version", "1",
                       "--download-path", str(tmp_path))
    assert code == 0 and (tmp_path / "clim" / "green-model" / "MLmodel").is_file()
    code, _, err = run("show", "--name", "nosuch")
    assert code == 2 and "error: model 'nosuch' was not found" in err
    code, _, err = run("create", "--file", str(tmp_path / "missing.yml"))
    assert code == 2 and "does not exist" in err
