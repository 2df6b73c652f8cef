"""Remote files: a checksum-verified cache, and the data sets the project knows.

Why this exists: the bank-marketing file is the project's reference data. Tests
and CI find it in ``../shared/data`` beside the repository; a fresh machine
downloads it once from the address the Azure samples use. Either way the bytes
are checked against a pinned sha256 before anything reads them, so a truncated
download or a different file can never silently change results.

Lookup order for a known URL (first hit wins, and every hit is verified):

1. ``$AUTOML_LOCAL_DATA_DIR/<filename>``
2. ``../shared/data/<filename>`` from the current directory
3. ``<parent of the project root>/shared/data/<filename>`` (the project root is
   the first folder above this package holding ``pyproject.toml``)
4. the cache, ``$AUTOML_LOCAL_CACHE`` or ``~/.cache/automl-local``
5. a download into the cache.

Unknown URLs are downloaded once into ``<cache>/urls/<hash of the URL>/``. No
checksum is known for them, so they are trusted as first downloaded; delete the
cached copy to fetch them again.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

from automl_local.exceptions import DataError

__all__ = [
    "BANKMARKETING_URL",
    "ENV_CACHE",
    "ENV_DATA_DIR",
    "KNOWN_DATASETS",
    "KnownDataset",
    "bankmarketing_path",
    "cache_dir",
    "fetch",
    "is_url",
    "sha256_file",
]

logger = logging.getLogger(__name__)

ENV_DATA_DIR = "AUTOML_LOCAL_DATA_DIR"
ENV_CACHE = "AUTOML_LOCAL_CACHE"
DEFAULT_TIMEOUT_S = 60.0
_CHUNK = 1 << 20


@dataclass(frozen=True)
class KnownDataset:
    """A public file whose exact content the project pins by checksum."""

    filename: str
    sha256: str
    description: str = ""


BANKMARKETING_URL = (
    "https://automlsamplenotebookdata.blob.core.windows.net/"
    "automl-sample-notebook-data/bankmarketing_train.csv"
)

#: Public URL -> the file it must deliver. Tests may patch entries in.
KNOWN_DATASETS: dict[str, KnownDataset] = {
    BANKMARKETING_URL: KnownDataset(
        filename="bankmarketing_train.csv",
        sha256="8486deac8524001363f4257f3ece9cb6126beac8070b6b4b8c6e63713217a502",
        description=(
            "UCI Bank Marketing subset used by the Azure AutoML samples: 32,950 rows, "
            "20 features, label `y` (yes/no). CC BY 4.0, Moro, Cortez and Rita (2014)."
        ),
    ),
}

# (resolved path, size, mtime_ns) -> sha256, so repeated reads of a 4 MB file
# in one process hash it once.
_HASH_MEMO: dict[tuple[str, int, int], str] = {}


def is_url(path: object) -> bool:
    """True for ``http://`` and ``https://`` addresses (the only remote schemes read here)."""
    return str(path).lower().startswith(("http://", "https://"))


def cache_dir() -> Path:
    """Where downloads go: ``$AUTOML_LOCAL_CACHE`` or ``~/.cache/automl-local``."""
    configured = os.environ.get(ENV_CACHE)
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "automl-local"


def _project_root() -> Path | None:
    for folder in Path(__file__).resolve().parents:
        if (folder / "pyproject.toml").is_file():
            return folder
    return None


def _search_dirs() -> list[Path]:
    dirs: list[Path] = []
    configured = os.environ.get(ENV_DATA_DIR)
    if configured:
        dirs.append(Path(configured).expanduser())
    dirs.append(Path.cwd().parent / "shared" / "data")
    root = _project_root()
    if root is not None:
        dirs.append(root.parent / "shared" / "data")
    dirs.append(cache_dir())
    unique: list[Path] = []
    for folder in dirs:
        resolved = folder.resolve()
        if resolved not in unique:
            unique.append(resolved)
    return unique


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex sha256 of a file's bytes (memoised on path, size and mtime)."""
    resolved = Path(path).resolve()
    stat = resolved.stat()
    key = (str(resolved), stat.st_size, stat.st_mtime_ns)
    if key not in _HASH_MEMO:
        digest = hashlib.sha256()
        with resolved.open("rb") as fh:
            for chunk in iter(lambda: fh.read(_CHUNK), b""):
                digest.update(chunk)
        _HASH_MEMO[key] = digest.hexdigest()
    return _HASH_MEMO[key]


def _verify(path: Path, known: KnownDataset, url: str) -> None:
    got = sha256_file(path)
    if got != known.sha256:
        raise DataError(
            f"{path} does not match the pinned checksum of {known.filename} "
            f"(expected sha256 {known.sha256}, got {got}); it was not used. Replace it with "
            f"the original file from {url}, or delete it so that it is downloaded again."
        )


def fetch(url: str, *, timeout: float = DEFAULT_TIMEOUT_S) -> Path:
    """Return a local, verified copy of ``url``, downloading it only if needed.

    Known data sets (:data:`KNOWN_DATASETS`) are looked up in the local folders
    listed in the module docstring first, so machines without network access
    work when the file is present; any file found or downloaded must match the
    pinned sha256, or :class:`DataError` is raised and the file is not used.
    """
    if not is_url(url):
        raise DataError(
            f"fetch() takes an http(s) URL; got {url!r}. Pass local paths to read_table."
        )
    known = KNOWN_DATASETS.get(url)
    if known is None:
        return _fetch_unknown(url, timeout)
    for folder in _search_dirs():
        candidate = folder / known.filename
        if candidate.is_file():
            _verify(candidate, known, url)
            return candidate
    target = cache_dir() / known.filename
    _download(url, target, timeout=timeout, known=known)
    return target


def bankmarketing_path(*, timeout: float = DEFAULT_TIMEOUT_S) -> Path:
    """The verified bank-marketing training file (see :func:`fetch` for where it is found)."""
    return fetch(BANKMARKETING_URL, timeout=timeout)


def _fetch_unknown(url: str, timeout: float) -> Path:
    name = Path(unquote(urlparse(url).path)).name or "download"
    folder = cache_dir() / "urls" / hashlib.sha256(url.encode()).hexdigest()[:16]
    target = folder / name
    if target.is_file():
        logger.debug("using cached %s for %s (no pinned checksum for this URL)", target, url)
        return target
    _download(url, target, timeout=timeout, known=None)
    return target


def _download(url: str, target: Path, *, timeout: float, known: KnownDataset | None) -> None:
    """Stream ``url`` into ``target`` atomically; verify it first when its checksum is known."""
    target.parent.mkdir(parents=True, exist_ok=True)
    logger.info("downloading %s -> %s", url, target)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    tmp = Path(tmp_name)
    digest = hashlib.sha256()
    try:
        with os.fdopen(fd, "wb") as out:
            request = urllib.request.Request(url, headers={"User-Agent": "automl-local"})
            with urllib.request.urlopen(request, timeout=timeout) as response:
                for chunk in iter(lambda: response.read(_CHUNK), b""):
                    digest.update(chunk)
                    out.write(chunk)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        tmp.unlink(missing_ok=True)
        hint = (
            f" Without network access, copy {known.filename} into a folder named by "
            f"${ENV_DATA_DIR}, into ../shared/data, or into the cache {cache_dir()}."
            if known
            else " Check the address and your network, or download the file and pass its path."
        )
        raise DataError(f"could not download {url}: {_reason(exc)}.{hint}") from exc
    got = digest.hexdigest()
    if known is not None and got != known.sha256:
        tmp.unlink(missing_ok=True)
        raise DataError(
            f"the file downloaded from {url} does not match the pinned checksum of "
            f"{known.filename} (expected sha256 {known.sha256}, got {got}); it was discarded. "
            "The server returned different content; place the original file in "
            f"${ENV_DATA_DIR} instead."
        )
    os.replace(tmp, target)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        return str(exc.reason)
    return str(exc) or type(exc).__name__
