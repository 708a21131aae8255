"""Shared fixtures: a migrated, seeded database on SQLite and on PostgreSQL.

`db_url` is parametrised over ["sqlite", "postgresql"]; every test that uses it (or `engine`,
`session_factory`, `session`) runs on both. The database is migrated with Alembic and seeded with
the demo data once per backend per test session; tests share it, so they create their own rows
with unique ids (see `unique_id`) instead of assuming an otherwise empty database.

PostgreSQL isolation: a schema `kefu_test_<random>` is created for the test session, the URL
selects it through libpq `options=-csearch_path=...` (so api tests can put the same URL into
DATABASE_URL), and the schema is dropped at the end.

Environment: KEFU_TEST_POSTGRES_URL (default postgresql+psycopg://postgres@127.0.0.1:5432/test);
KEFU_TEST_SKIP_POSTGRES=1 skips the PostgreSQL half explicitly (never silently).
"""

from __future__ import annotations

import os
import secrets
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from backend.db import make_engine, make_session_factory
from backend.manage import migrate
from backend.seed import seed_demo

POSTGRES_URL = os.environ.get("KEFU_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(scope="session")
def _sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    path: Path = tmp_path_factory.mktemp("db") / "kefu_test.db"
    return f"sqlite:///{path}"


@pytest.fixture(scope="session")
def _postgresql_url() -> Iterator[str]:
    if os.environ.get("KEFU_TEST_SKIP_POSTGRES") == "1":
        pytest.skip("PostgreSQL tests skipped by KEFU_TEST_SKIP_POSTGRES=1")
    schema = f"kefu_test_{secrets.token_hex(4)}"
    admin = make_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in POSTGRES_URL else "?"
    try:
        yield f"{POSTGRES_URL}{separator}options={quote(f'-csearch_path={schema}')}"
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def db_url(request: pytest.FixtureRequest) -> str:
    """URL of a migrated and seeded test database (one per backend per test session)."""
    url: str = request.getfixturevalue(f"_{request.param}_url")
    migrate(url)
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as session:
            seed_demo(session)
            session.commit()
    finally:
        engine.dispose()
    return url


@pytest.fixture(scope="session")
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def session_factory(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


@pytest.fixture
def session(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session on the shared test database; whatever the test did not commit is rolled back."""
    with session_factory() as session:
        yield session
        session.rollback()


@pytest.fixture
def unique_id() -> str:
    """A short random id for conversations, channel message ids and the like."""
    return uuid.uuid4().hex[:16]
