"""A small SQLite catalogue of named records (data assets, jobs, endpoints...).

One table keeps every kind: records are JSON bodies keyed by
``(kind, name, version)``. WAL mode lets the CLI, job runners and servers
read and write it from several processes at once.
"""

from __future__ import annotations

import builtins
import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from automl_local.exceptions import NotFoundError

__all__ = ["Catalogue"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    version TEXT NOT NULL DEFAULT '',
    body TEXT NOT NULL,
    created REAL NOT NULL,
    updated REAL NOT NULL,
    PRIMARY KEY (kind, name, version)
);
"""


class Catalogue:
    """JSON records by kind and name; every call is its own transaction."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as con:
            con.execute("PRAGMA journal_mode=WAL")
            con.executescript(_SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        con = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            con.execute("PRAGMA busy_timeout=30000")
            yield con
        finally:
            con.close()

    def put(self, kind: str, name: str, body: dict[str, Any], version: str = "") -> None:
        now = time.time()
        with self._connect() as con:
            con.execute(
                "INSERT INTO records(kind, name, version, body, created, updated) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(kind, name, version) "
                "DO UPDATE SET body=excluded.body, updated=excluded.updated",
                (kind, name, str(version), json.dumps(body, default=str), now, now),
            )

    def update(self, kind: str, name: str, changes: dict[str, Any], version: str = "") -> dict:
        """Merge ``changes`` into a record atomically (read-modify-write in one transaction)."""
        with self._connect() as con:
            con.execute("BEGIN IMMEDIATE")
            row = con.execute(
                "SELECT body FROM records WHERE kind=? AND name=? AND version=?",
                (kind, name, str(version)),
            ).fetchone()
            if row is None:
                con.execute("ROLLBACK")
                raise NotFoundError(f"{kind} {name!r} was not found in the workspace.")
            body = json.loads(row[0])
            body.update(changes)
            con.execute(
                "UPDATE records SET body=?, updated=? WHERE kind=? AND name=? AND version=?",
                (json.dumps(body, default=str), time.time(), kind, name, str(version)),
            )
            con.execute("COMMIT")
        return body

    def get(self, kind: str, name: str, version: str = "") -> dict[str, Any] | None:
        with self._connect() as con:
            row = con.execute(
                "SELECT body FROM records WHERE kind=? AND name=? AND version=?",
                (kind, name, str(version)),
            ).fetchone()
        return None if row is None else json.loads(row[0])

    def require(self, kind: str, name: str, version: str = "", hint: str = "") -> dict[str, Any]:
        body = self.get(kind, name, version)
        if body is None:
            label = f"{name}:{version}" if version else name
            raise NotFoundError(f"{kind} {label!r} was not found in the workspace. {hint}".strip())
        return body

    def list(self, kind: str, name: str | None = None) -> list[dict[str, Any]]:
        query = "SELECT body FROM records WHERE kind=?"
        args: tuple[Any, ...] = (kind,)
        if name is not None:
            query += " AND name=?"
            args += (name,)
        with self._connect() as con:
            rows = con.execute(query + " ORDER BY created", args).fetchall()
        return [json.loads(r[0]) for r in rows]

    def versions(self, kind: str, name: str) -> builtins.list[str]:
        with self._connect() as con:
            rows = con.execute(
                "SELECT version FROM records WHERE kind=? AND name=? ORDER BY created",
                (kind, name),
            ).fetchall()
        return [r[0] for r in rows]

    def delete(self, kind: str, name: str, version: str | None = None) -> None:
        with self._connect() as con:
            if version is None:
                con.execute("DELETE FROM records WHERE kind=? AND name=?", (kind, name))
            else:
                con.execute(
                    "DELETE FROM records WHERE kind=? AND name=? AND version=?",
                    (kind, name, str(version)),
                )
