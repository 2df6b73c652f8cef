"""The files of an endpoint folder that the scoring server reads.

The contract with ``service/`` (the server re-reads the first two on change,
without a restart)::

    endpoint.json      traffic, mirror traffic, body limit and each deployment's
                       model folder and request settings
    key_hashes.json    sha256 of the primary and secondary keys (mode 0600)
    keys.json          the keys themselves, for get-credentials only (mode 0600)

Every write is atomic (temporary file + ``os.replace``), so the server never
sees half a file. Keys are never logged.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from automl_local.exceptions import NotFoundError
from automl_local.keys import key_digest

try:  # POSIX; on other systems concurrent CLI calls are simply not serialised
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "DEFAULT_MAX_BODY_BYTES",
    "ENDPOINT_JSON",
    "folder_lock",
    "read_endpoint_config",
    "read_keys",
    "write_endpoint_config",
    "write_json_atomic",
    "write_keys",
]

ENDPOINT_JSON = "endpoint.json"
KEY_HASHES_JSON = "key_hashes.json"
KEYS_JSON = "keys.json"
DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024


def write_json_atomic(path: Path, data: Any, mode: int = 0o644) -> None:
    """Write JSON to ``path`` so that readers see the old or the new file, never a mix."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2, sort_keys=True)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_keys(endpoint_dir: Path, primary: str, secondary: str) -> None:
    """Store both keys: hashes for the server, plaintext (owner-only) for get-credentials.

    The hashes are written last: a key that the server accepts is always
    one that ``get_keys`` can already return.
    """
    endpoint_dir = Path(endpoint_dir)
    plain = {"primary": primary, "secondary": secondary}
    write_json_atomic(endpoint_dir / KEYS_JSON, plain, 0o600)
    write_json_atomic(
        endpoint_dir / KEY_HASHES_JSON,
        {"primary": key_digest(primary), "secondary": key_digest(secondary)},
        0o600,
    )


def read_keys(endpoint_dir: Path) -> dict[str, str]:
    """``{"primary": ..., "secondary": ...}`` of an endpoint."""
    path = Path(endpoint_dir) / KEYS_JSON
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise NotFoundError(
            f"the keys of endpoint {Path(endpoint_dir).name!r} are missing ({path}). "
            "Regenerate them with `automl-local online-endpoint regenerate-keys "
            f"--name {Path(endpoint_dir).name} --key-type primary` (and secondary)."
        ) from None


def read_endpoint_config(endpoint_dir: Path) -> dict[str, Any] | None:
    try:
        return json.loads((Path(endpoint_dir) / ENDPOINT_JSON).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None


def write_endpoint_config(endpoint_dir: Path, config: dict[str, Any]) -> None:
    write_json_atomic(Path(endpoint_dir) / ENDPOINT_JSON, config)


@contextlib.contextmanager
def folder_lock(folder: Path) -> Iterator[None]:
    """Serialise changes to one endpoint (or model) across processes: two CLI calls at once."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if fcntl is None:  # pragma: no cover
        yield
        return
    with open(folder / ".lock", "a") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
