"""MLflow tracking in Azure's shape: parent run id = job name, children ``<job>_N``.

Azure's notebooks find the best model with ``mlflow_client.get_run(job_name)``
and the ``automl_best_child_run_id`` tag; the same code must work against the
local store, so run ids are chosen, not random. MLflow's SQL store draws run
ids from ``uuid.uuid4().hex``; :func:`_fixed_run_id` supplies ours for the one
``create_run`` call. Other stores (a remote ``MLFLOW_TRACKING_URI``) keep
MLflow's ids, and the job record maps names to them.

All writes go through one background thread, so a slow store never delays
the next trial.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

__all__ = ["Tracker", "ensure_sqlite_store"]

log = logging.getLogger(__name__)
_patch_lock = threading.Lock()


@contextlib.contextmanager
def _fixed_run_id(run_id: str) -> Iterator[None]:
    from mlflow.store.tracking import sqlalchemy_store

    class _Uuid:
        hex = run_id

    class _Shim:
        @staticmethod
        def uuid4() -> _Uuid:
            return _Uuid()

    with _patch_lock:
        original = sqlalchemy_store.uuid
        sqlalchemy_store.uuid = _Shim  # type: ignore[assignment]
        try:
            yield
        finally:
            sqlalchemy_store.uuid = original


def ensure_sqlite_store(tracking_uri: str) -> None:
    """Create a new SQLite tracking store atomically, from a per-machine template.

    MLflow builds its schema with a few dozen Alembic migrations: 5-20 s on 2
    cores, which every new workspace would pay and a job killed meanwhile
    would leave half-migrated. So the schema is built once per MLflow version
    in the cache (in a temporary file, moved into place when complete) and
    copied into each new workspace.
    """
    if not tracking_uri.startswith("sqlite:///"):
        return
    path = Path(tracking_uri[len("sqlite:///") :])
    if path.exists():
        return
    import os
    import shutil

    import mlflow

    from automl_local.data import cache_dir

    template = cache_dir() / f"mlflow-{mlflow.__version__}-empty.db"
    if not template.exists():
        _migrate_atomically(template)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    shutil.copyfile(template, tmp)
    _own_default_experiment(tmp, path.parent / "mlartifacts" / "0")
    if path.exists():  # another process won the race; its store is just as good
        tmp.unlink(missing_ok=True)
    else:
        os.replace(tmp, path)


def _own_default_experiment(db: Path, artifacts: Path) -> None:
    """Point MLflow's "Default" experiment at the workspace, not at ``./mlruns``.

    MLflow creates it with a path relative to the current directory, so runs
    of the Default experiment would write wherever the command happened to run.
    """
    import sqlite3

    con = sqlite3.connect(db)
    try:
        sql = "UPDATE experiments SET artifact_location=? WHERE experiment_id=0"
        con.execute(sql, (artifacts.as_uri(),))
        con.commit()
    finally:
        con.close()


def _migrate_atomically(path: Path) -> None:
    import os

    from mlflow.tracking import MlflowClient

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    MlflowClient(tracking_uri=f"sqlite:///{tmp}").search_experiments()
    os.replace(tmp, path)


class Tracker:
    """Logs a job and its trials to MLflow from a background thread."""

    def __init__(self, tracking_uri: str, artifact_root: Path, experiment_name: str) -> None:
        self.tracking_uri = tracking_uri
        self.artifact_root = artifact_root
        self.experiment_name = experiment_name
        self.run_ids: dict[str, str] = {}
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mlflow")
        self._futures: list[Future[Any]] = []
        self._client: Any = None
        self._experiment_id = ""
        self._closed = False

    # -- plumbing ---------------------------------------------------------
    def submit(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Future[Any]:
        if self._closed:  # the error path may try to end runs after close(): a no-op then
            done: Future[Any] = Future()
            done.set_result(None)
            return done
        future = self._pool.submit(fn, *args, **kwargs)
        self._futures.append(future)
        return future

    def flush(self, *, quiet: bool = False) -> None:
        """Wait for every queued write; the first error is raised here (unless ``quiet``)."""
        futures, self._futures = self._futures, []
        for f in futures:
            try:
                f.result()
            except Exception:
                if not quiet:
                    raise
                log.warning("MLflow write failed", exc_info=True)

    def close(self, *, quiet: bool = False) -> None:
        """Finish every write; ``quiet`` on the error path, so the job's own error wins."""
        try:
            self.flush(quiet=quiet)
        finally:
            self._closed = True
            self._pool.shutdown(wait=True)

    @property
    def client(self) -> Any:
        if self._client is None:
            from mlflow.tracking import MlflowClient

            ensure_sqlite_store(self.tracking_uri)
            self._client = MlflowClient(tracking_uri=self.tracking_uri)
            exp = self._client.get_experiment_by_name(self.experiment_name)
            if exp is None:
                location = (self.artifact_root / self.experiment_name).as_uri()
                self._experiment_id = self._client.create_experiment(
                    self.experiment_name, artifact_location=location
                )
            else:
                self._experiment_id = exp.experiment_id
        return self._client

    def _create_run(self, name: str, tags: dict[str, str]) -> str:
        from mlflow.exceptions import MlflowException

        client = self.client
        try:
            run = client.get_run(name)
            client.update_run(run.info.run_id, status="RUNNING")
            self.run_ids[name] = run.info.run_id
            return run.info.run_id
        except MlflowException:
            pass
        sql_store = self.tracking_uri.startswith(("sqlite:", "postgresql:", "mysql:", "mssql:"))
        tags = dict(tags)
        run_name = tags.pop("mlflow.runName", name)  # a display name, when the job has one
        with _fixed_run_id(name) if sql_store else contextlib.nullcontext():
            run = client.create_run(self._experiment_id, run_name=run_name, tags=tags)
        self.run_ids[name] = run.info.run_id
        return run.info.run_id

    # -- the job's life ----------------------------------------------------
    def start_parent(self, job_name: str, tags: dict[str, str], params: dict[str, Any]) -> None:
        def work() -> None:
            run_id = self._create_run(job_name, tags)
            self._log(run_id, params=params)

        self.submit(work)

    def log_child(
        self,
        job_name: str,
        name: str,
        *,
        params: dict[str, Any],
        metrics: dict[str, float],
        tags: dict[str, str],
        status: str,
    ) -> None:
        def work() -> None:
            run_id = self._create_run(
                name, {"mlflow.parentRunId": self.run_ids.get(job_name, job_name), **tags}
            )
            self._log(run_id, params=params, metrics=metrics)
            self.client.set_terminated(
                run_id, status="FINISHED" if status == "Completed" else "FAILED"
            )

        self.submit(work)

    def _log(
        self,
        run_id: str,
        *,
        params: dict[str, Any] | None = None,
        metrics: dict[str, float] | None = None,
        tags: dict[str, str] | None = None,
    ) -> None:
        import math

        from mlflow.entities import Metric, Param, RunTag
        from mlflow.utils.time import get_current_time_millis

        now = get_current_time_millis()
        self.client.log_batch(
            run_id,
            metrics=[
                Metric(k, float(v), now, 0)
                for k, v in (metrics or {}).items()
                if v is not None and math.isfinite(float(v))
            ],
            params=[Param(k, str(v)[:6000]) for k, v in (params or {}).items()],
            tags=[RunTag(k, str(v)) for k, v in (tags or {}).items()],
        )

    def log_to(
        self,
        name: str,
        *,
        metrics: dict[str, float] | None = None,
        tags: dict[str, str] | None = None,
        params: dict[str, Any] | None = None,
    ) -> None:
        self.submit(
            lambda: self._log(self.run_ids[name], metrics=metrics, tags=tags, params=params)
        )

    def log_artifact_file(self, name: str, path: Path, artifact_path: str) -> None:
        self.submit(lambda: self.client.log_artifact(self.run_ids[name], str(path), artifact_path))

    def log_artifacts(self, name: str, folder: Path, artifact_path: str) -> None:
        self.submit(
            lambda: self.client.log_artifacts(self.run_ids[name], str(folder), artifact_path)
        )

    def resolve(self, name: str) -> str | None:
        """The MLflow run id of ``name`` if the run exists (a resumed job's earlier trials
        were logged by the process that was killed, or never), else ``None``.

        Call it after :meth:`flush`: runs this process creates are known only once written.
        """
        from mlflow.exceptions import MlflowException

        if name not in self.run_ids:
            try:
                self.run_ids[name] = self.client.get_run(name).info.run_id
            except MlflowException:
                return None
        return self.run_ids[name]

    def register_model(self, model_name: str, run_name: str, artifact_path: str) -> Future[Any]:
        def work() -> str:
            from mlflow.exceptions import MlflowException

            client = self.client
            run_id = self.run_ids[run_name]
            with contextlib.suppress(MlflowException):  # already registered: add a version
                client.create_registered_model(model_name)
            source = f"{client.get_run(run_id).info.artifact_uri}/{artifact_path}"
            version = client.create_model_version(model_name, source, run_id=run_id)
            return str(version.version)

        return self.submit(work)

    def end(self, name: str, status: str, *, quiet: bool = False) -> None:
        mlflow_status = {"Completed": "FINISHED", "Canceled": "KILLED"}.get(status, "FAILED")

        def work() -> None:
            if name in self.run_ids:  # quiet: the run may never have been created
                self.client.set_terminated(self.run_ids[name], status=mlflow_status)
            elif not quiet:
                raise KeyError(name)

        self.submit(work)
