"""`python -m backend.manage migrate|seed|init`: schema migrations and demo data."""

from __future__ import annotations

import argparse
import sys

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection

from backend.db import make_engine, make_session_factory, session_scope
from backend.seed import SeedResult, seed_demo
from backend.settings import REPO_ROOT, get_settings

ALEMBIC_INI = REPO_ROOT / "alembic.ini"


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config(str(ALEMBIC_INI))
    config.attributes["configure_logger"] = False
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def migrate(database_url: str | None = None) -> None:
    engine = make_engine(database_url or get_settings().database_url)
    try:
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), "head")
    finally:
        engine.dispose()


def seed(database_url: str | None = None) -> SeedResult:
    engine = make_engine(database_url or get_settings().database_url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            return seed_demo(session)
    finally:
        engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("command", choices=["migrate", "seed", "init"])
    parser.add_argument("--database-url", default=None, help="defaults to DATABASE_URL")
    args = parser.parse_args(argv)
    if args.command in ("migrate", "init"):
        migrate(args.database_url)
        print("database migrated to head")
    if args.command in ("seed", "init"):
        result = seed(args.database_url)
        if result.seeded:
            print(f"demo data seeded: {result.customers} customers, {result.bills} bills")
        else:
            print(f"demo data not seeded: the database already has {result.customers} customers")
    return 0


if __name__ == "__main__":
    sys.exit(main())
