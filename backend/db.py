"""Engine and session factory built from Settings.database_url."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from backend.model_registry import load_all_models
from backend.settings import get_settings

SQLITE_BUSY_TIMEOUT_MS = 10_000


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _ensure_sqlite_directory(url: str) -> None:
    database = make_url(url).database
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)


def _configure_sqlite_connection(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        # Foreign keys are off by default in SQLite; WAL lets readers work while one writer commits.
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    finally:
        cursor.close()


def make_engine(url: str | None = None, **kwargs: Any) -> Engine:
    url = url or get_settings().database_url
    if is_sqlite(url):
        _ensure_sqlite_directory(url)
        connect_args = dict(kwargs.pop("connect_args", {}))
        connect_args.setdefault("timeout", SQLITE_BUSY_TIMEOUT_MS / 1000)
        # The api serves requests from a thread pool; sessions never share a connection across threads.
        connect_args.setdefault("check_same_thread", False)
        engine = create_engine(url, connect_args=connect_args, **kwargs)
        event.listen(engine, "connect", _configure_sqlite_connection)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    # Every capability's tables must be mapped before the first query resolves relationships.
    load_all_models()
    # expire_on_commit=False: services return ORM objects that callers read after the commit.
    return sessionmaker(bind=engine, expire_on_commit=False)


_default_engine: Engine | None = None
_default_factory: sessionmaker[Session] | None = None


def get_engine() -> Engine:
    global _default_engine
    if _default_engine is None:
        _default_engine = make_engine(get_settings().database_url)
    return _default_engine


def get_session_factory() -> sessionmaker[Session]:
    global _default_factory
    if _default_factory is None:
        _default_factory = make_session_factory(get_engine())
    return _default_factory


@contextmanager
def session_scope(factory: sessionmaker[Session] | None = None) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any exception."""
    session = (factory or get_session_factory())()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
