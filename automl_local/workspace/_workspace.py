"""Paths and stores of one workspace folder."""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path

from automl_local.exceptions import ConfigError
from automl_local.workspace._catalogue import Catalogue

__all__ = ["Workspace", "default_workspace_path"]

ENV_WORKSPACE = "AUTOML_LOCAL_WORKSPACE"


def default_workspace_path(name: str | None = None) -> Path:
    """The root (``$AUTOML_LOCAL_WORKSPACE`` or ``./.automl``), or a named workspace in it.

    Named workspaces (``MLClient(..., workspace_name=N)``, ``automl-local -w N``) live in
    ``<root>/workspaces/<N>`` so several can share one root, as workspaces share a
    subscription on Azure.
    """
    root = Path(os.environ.get(ENV_WORKSPACE) or ".automl")
    if name is None:
        return root
    if not name or "/" in name or "\\" in name or name in (".", ".."):
        raise ConfigError(
            f"workspace name {name!r} cannot name a folder; use letters, digits, '-' and '_'."
        )
    return root / "workspaces" / name


TRACKING_URI_ENV = "AUTOML_LOCAL_TRACKING_URI"


class Workspace:
    """A folder holding the tracking store, the catalogue and job/endpoint files.

    Cheap to construct: nothing heavy (MLflow, Optuna) is imported until used,
    so the CLI stays fast.
    """

    def __init__(self, root: str | os.PathLike[str] | None = None) -> None:
        self.root = Path(root) if root is not None else default_workspace_path()
        self.root = self.root.expanduser().resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def __repr__(self) -> str:
        return f"Workspace({str(self.root)!r})"

    @cached_property
    def catalogue(self) -> Catalogue:
        return Catalogue(self.root / "catalogue.db")

    @property
    def tracking_uri(self) -> str:
        """The workspace's own MLflow store; ``AUTOML_LOCAL_TRACKING_URI`` names another server.

        ``MLFLOW_TRACKING_URI`` is deliberately not read: ``mlflow.set_tracking_uri``
        exports it, so in a notebook that touches two workspaces the second would
        write into the first one's store. On Azure, too, a job logs to its own
        workspace whatever the caller's MLflow client points at.
        """
        return os.environ.get(TRACKING_URI_ENV) or f"sqlite:///{self.root / 'mlflow.db'}"

    @property
    def artifact_root(self) -> Path:
        return self.root / "mlartifacts"

    @property
    def optuna_journal(self) -> Path:
        """Optuna's journal file: every study of the workspace, append-only.

        Chosen over Optuna's SQLite storage because it opens in milliseconds
        (SQLite storage spends ~4 s creating its schema on a new workspace,
        which the first trial would wait for), and it is still safe to share
        between processes and to resume from after a kill.
        """
        return self.root / "optuna-journal.log"

    def job_dir(self, name: str) -> Path:
        return self.root / "jobs" / name

    def endpoint_dir(self, name: str) -> Path:
        return self.root / "endpoints" / name

    def data_dir(self) -> Path:
        return self.root / "data"
