"""What the scoring server reads from the endpoint folder, and how it notices changes.

The process manager (backends/local/_endpoints.py) owns these files; the
server only reads them:

* ``endpoint.json``: name, auth mode, traffic, mirror traffic, body limit and
  the deployments with their model folders and request settings;
* ``key_hashes.json``: sha256 hex digests of the primary and secondary keys.
  The server never sees a key in clear, so nothing it logs can leak one.

Both are re-read when their stat signature changes (:class:`WatchedFile`), so
a traffic change or a key regeneration takes effect on the next request, with
no restart. Models are not reloaded here: the process manager restarts the
server when the set of deployments or their models change.

This module imports only the standard library: ``python -m automl_local.service`` uses it
to validate the folder before starting workers.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from automl_local.exceptions import ConfigError
from automl_local.keys import key_digest as hash_key

__all__ = [
    "DEFAULT_MAX_BODY_BYTES",
    "ENDPOINT_DIR_ENV",
    "ENDPOINT_FILE",
    "KEYS_FILE",
    "METRICS_SUBDIR",
    "DeploymentConfig",
    "EndpointConfig",
    "KeyHashes",
    "ScriptConfig",
    "WatchedFile",
    "deployment_dir",
    "hash_key",
    "parse_endpoint_config",
    "parse_key_hashes",
    "read_endpoint_config",
]

#: How ``python -m automl_local.service`` hands the endpoint folder to each worker's app factory.
ENDPOINT_DIR_ENV = "AUTOML_SERVICE_ENDPOINT_DIR"
#: Where workers share their metric snapshots, inside the endpoint folder.
METRICS_SUBDIR = Path(".service") / "metrics"
ENDPOINT_FILE = "endpoint.json"
KEYS_FILE = "key_hashes.json"
DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024
DEFAULT_REQUEST_TIMEOUT_MS = 5000  # Azure's default for request_settings.request_timeout_ms

T = TypeVar("T")


def deployment_dir(endpoint_dir: str | os.PathLike[str], deployment: str) -> Path:
    """``E/deployments/<d>``: where a deployment's ``deployment.log`` lives."""
    return Path(endpoint_dir) / "deployments" / deployment


@dataclass(frozen=True)
class ScriptConfig:
    """A scripted deployment (``code_configuration``): what its ``azmlinfsrv`` child runs.

    ``python`` is the deployment's built environment, ``entry_script`` the
    snapshot of its scoring script, ``model_dir`` the ``AZUREML_MODEL_DIR``
    laid out as Azure does, ``environ`` the environment's own variables.
    """

    python: str
    entry_script: str
    model_dir: str
    environ: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class DeploymentConfig:
    """One deployment as the server needs it (a subset of ManagedOnlineDeployment)."""

    name: str
    model_dir: str
    model_name: str = ""
    model_version: str = ""
    app_insights_enabled: bool = False
    request_timeout_ms: int = DEFAULT_REQUEST_TIMEOUT_MS
    max_concurrent_requests_per_instance: int = 1
    environment_variables: Mapping[str, str] = field(default_factory=dict)
    #: Azure's ProbeSettings fields that were set (initial_delay, period, timeout, thresholds).
    liveness_probe: Mapping[str, int] | None = None
    #: Set for a deployment with a scoring script (served by its azmlinfsrv child).
    script: ScriptConfig | None = None

    @property
    def model_label(self) -> str:
        """``name:version`` as Azure's model data collection names a model."""
        if self.model_name and self.model_version:
            return f"{self.model_name}:{self.model_version}"
        return self.model_name or Path(self.model_dir).name


@dataclass(frozen=True)
class EndpointConfig:
    """``endpoint.json``, validated."""

    name: str
    deployments: Mapping[str, DeploymentConfig]
    auth_mode: str = "key"
    traffic: Mapping[str, int] = field(default_factory=dict)
    mirror_traffic: Mapping[str, int] = field(default_factory=dict)
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES


@dataclass(frozen=True)
class KeyHashes:
    """The digests a presented key is compared against (primary, secondary)."""

    primary: str
    secondary: str

    def digests(self) -> tuple[bytes, ...]:
        return tuple(d.encode("ascii") for d in (self.primary, self.secondary) if d)


_REQUIRED: Any = object()  # sentinel default: the field must be present


def _fail(source: str, field_name: str, problem: str) -> ConfigError:
    return ConfigError(f"{source}: field '{field_name}' {problem}")


def _expect(
    data: Mapping[str, Any], key: str, kind: type | tuple[type, ...], source: str, default: Any
) -> Any:
    value = data.get(key, default)
    if value is default and default is not _REQUIRED:
        return value
    if value is _REQUIRED:
        raise _fail(source, key, "is required")
    # bool is an int subclass: a JSON true must not pass as a number.
    if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
        raise _fail(source, key, f"must be {_kind_name(kind)}, got {value!r}")
    if not isinstance(value, kind):
        raise _fail(source, key, f"must be {_kind_name(kind)}, got {type(value).__name__}")
    return value


def _kind_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    names = {bool: "true/false", int: "an integer", str: "a string", dict: "a JSON object"}
    return " or ".join(names.get(k, k.__name__) for k in kinds)


def _weights(data: Mapping[str, Any], key: str, source: str) -> dict[str, int]:
    raw = _expect(data, key, dict, source, {})
    weights: dict[str, int] = {}
    for name, weight in raw.items():
        if isinstance(weight, bool) or not isinstance(weight, int) or not 0 <= weight <= 100:
            raise _fail(source, f"{key}.{name}", f"must be an integer 0..100, got {weight!r}")
        weights[str(name)] = weight
    return weights


def _deployment(name: str, data: Any, source: str) -> DeploymentConfig:
    where = f"deployments.{name}"
    if not isinstance(data, dict):
        raise _fail(source, where, f"must be a JSON object, got {type(data).__name__}")
    sub = f"{source} ({where})"
    env = _expect(data, "environment_variables", dict, sub, {})
    timeout = _expect(data, "request_timeout_ms", int, sub, DEFAULT_REQUEST_TIMEOUT_MS)
    concurrency = _expect(data, "max_concurrent_requests_per_instance", int, sub, 1)
    if timeout <= 0:
        raise _fail(sub, "request_timeout_ms", f"must be > 0, got {timeout}")
    if concurrency < 1:
        raise _fail(
            sub, "max_concurrent_requests_per_instance", f"must be >= 1, got {concurrency}"
        )
    return DeploymentConfig(
        name=name,
        model_dir=_expect(data, "model_dir", str, sub, _REQUIRED),
        model_name=str(data.get("model_name") or ""),
        model_version=str(data.get("model_version") or ""),
        app_insights_enabled=_expect(data, "app_insights_enabled", bool, sub, False),
        request_timeout_ms=timeout,
        max_concurrent_requests_per_instance=concurrency,
        environment_variables={str(k): str(v) for k, v in env.items()},
        liveness_probe=_probe(data.get("liveness_probe"), sub),
        script=_script(data.get("scoring_script"), sub),
    )


def _script(raw: Any, source: str) -> ScriptConfig | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise _fail(source, "scoring_script", f"must be a JSON object, got {type(raw).__name__}")
    sub = f"{source} (scoring_script)"
    environ = _expect(raw, "environ", dict, sub, {})
    return ScriptConfig(
        python=_expect(raw, "python", str, sub, _REQUIRED),
        entry_script=_expect(raw, "entry_script", str, sub, _REQUIRED),
        model_dir=_expect(raw, "model_dir", str, sub, _REQUIRED),
        environ={str(k): str(v) for k, v in environ.items()},
    )


def _probe(raw: Any, source: str) -> dict[str, int] | None:
    if raw is None:
        return None
    fields = ("initial_delay", "period", "timeout", "failure_threshold")  # service._liveness
    if not isinstance(raw, dict) or not all(
        isinstance(raw.get(f), int) and not isinstance(raw.get(f), bool) and raw[f] >= 0
        for f in fields
    ):
        raise _fail(
            source, "liveness_probe", f"needs whole numbers {', '.join(fields)}, got {raw!r}"
        )
    return {str(k): int(v) for k, v in raw.items()}


def parse_endpoint_config(raw: bytes | str, source: str = ENDPOINT_FILE) -> EndpointConfig:
    """Validate ``endpoint.json`` content; unknown fields are ignored (forward compatible).

    Raises :class:`ConfigError` naming the file and the field.
    """
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise ConfigError(f"{source} is not valid JSON ({exc}); rewrite it.") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{source} must hold a JSON object, got {type(data).__name__}.")
    deployments = _expect(data, "deployments", dict, source, {})
    max_body = _expect(data, "max_body_bytes", int, source, DEFAULT_MAX_BODY_BYTES)
    if max_body <= 0:
        raise _fail(source, "max_body_bytes", f"must be > 0, got {max_body}")
    return EndpointConfig(
        name=_expect(data, "name", str, source, _REQUIRED),
        auth_mode=_expect(data, "auth_mode", str, source, "key"),
        traffic=_weights(data, "traffic", source),
        mirror_traffic=_weights(data, "mirror_traffic", source),
        max_body_bytes=max_body,
        deployments={str(n): _deployment(str(n), d, source) for n, d in deployments.items()},
    )


def read_endpoint_config(endpoint_dir: str | os.PathLike[str]) -> EndpointConfig:
    """Read and validate ``E/endpoint.json`` (the server's start-up check)."""
    path = Path(endpoint_dir) / ENDPOINT_FILE
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            f"{path} does not exist: the endpoint folder must be written by the process "
            "manager (online_endpoints.begin_create_or_update) before the server starts."
        ) from None
    return parse_endpoint_config(raw, str(path))


def parse_key_hashes(raw: bytes | str, source: str = KEYS_FILE) -> KeyHashes:
    """Validate ``key_hashes.json``: ``{"primary": <sha256 hex>, "secondary": <sha256 hex>}``."""
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise ConfigError(f"{source} is not valid JSON ({exc}).") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{source} must hold a JSON object, got {type(data).__name__}.")
    digests: dict[str, str] = {}
    for slot in ("primary", "secondary"):
        value = data.get(slot, "")
        if not isinstance(value, str) or (value and not _is_sha256_hex(value)):
            raise _fail(source, slot, "must be a sha256 hex digest (64 hex characters)")
        digests[slot] = value.lower()
    return KeyHashes(**digests)


def _is_sha256_hex(value: str) -> bool:
    return len(value) == 64 and all(c in "0123456789abcdefABCDEF" for c in value)


class WatchedFile(Generic[T]):
    """A small file parsed once and re-parsed only when it changes.

    ``get()`` costs one ``os.stat`` when nothing changed. The change test uses
    mtime, ctime, size and inode, and a file modified in the last
    ``settle_seconds`` is re-read on every call anyway: file timestamps have
    coarse (clock-tick) granularity, and two same-size writes inside one tick
    (a key regenerated twice) would otherwise look unchanged.

    If the file cannot be parsed (a writer caught mid-write) the last good
    value is kept and the file is read again on the next call; with no good
    value yet the error propagates.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        parse: Callable[[bytes], T],
        settle_seconds: float = 2.0,
    ) -> None:
        self.path = Path(path)
        self._parse = parse
        self._settle_ns = int(settle_seconds * 1e9)
        self._signature: tuple[int, int, int, int] | None = None
        self._value: T | None = None
        self._has_value = False

    def get(self) -> T:
        """The current parsed value; ``FileNotFoundError`` if the file is gone."""
        st = os.stat(self.path)
        signature = (st.st_mtime_ns, st.st_ctime_ns, st.st_size, st.st_ino)
        fresh = time.time_ns() - max(st.st_mtime_ns, st.st_ctime_ns) < self._settle_ns
        if signature == self._signature and not fresh:
            return self._value  # type: ignore[return-value]
        try:
            value = self._parse(self.path.read_bytes())
        except (ConfigError, OSError):
            if self._has_value:
                self._signature = None  # retry on the next call
                return self._value  # type: ignore[return-value]
            raise
        self._value, self._has_value, self._signature = value, True, signature
        return value
