from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select

from backend.db import make_engine, make_session_factory
from backend.models import Bill, Customer

REPO = Path(__file__).resolve().parents[2]


def _manage(*args: str, database_url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database_url}
    return subprocess.run(
        [sys.executable, "-m", "backend.manage", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_init_on_a_fresh_database_then_seed_is_idempotent(tmp_path):
    url = f"sqlite:///{tmp_path / 'nested' / 'kefu.db'}"  # the directory does not exist yet
    first = _manage("init", database_url=url)
    assert first.returncode == 0, first.stderr
    assert "demo data seeded: 8 customers, 72 bills" in first.stdout
    second = _manage("seed", database_url=url)
    assert second.returncode == 0, second.stderr
    assert "not seeded" in second.stdout
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as session:
            assert session.scalar(select(func.count()).select_from(Customer)) == 8
            assert session.scalar(select(func.count()).select_from(Bill)) == 72
    finally:
        engine.dispose()


def test_migrate_is_repeatable(db_url):
    # db_url is already at head (both backends); migrating again must succeed and change nothing.
    done = _manage("migrate", database_url=db_url)
    assert done.returncode == 0, done.stderr
