"""A fresh, migrated (unseeded) database per test, for tests that sweep every open order or break
the audit chain on purpose and so must not share the session database."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import text

from backend.db import make_engine
from backend.manage import migrate


@contextmanager
def fresh_database(backend: str, tmp_path: Path, postgres_url: str) -> Iterator[str]:
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'fresh.db'}"
        migrate(url)
        yield url
        return
    schema = f"kefu_fresh_{secrets.token_hex(4)}"
    admin = make_engine(postgres_url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in postgres_url else "?"
    url = f"{postgres_url}{separator}options={quote(f'-csearch_path={schema}')}"
    try:
        migrate(url)
        yield url
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
