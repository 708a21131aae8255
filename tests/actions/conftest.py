"""Fixtures for action tests: the real api/ on a free port, seeded demo data, the real domain."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# The harness sits next to this file; the `actions` package at the repository root.
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from harness import REPO_ROOT, Conversation, load_domain, load_fixture

API_PYTHON = REPO_ROOT / ".venv" / "bin" / "python"
STARTUP_SECONDS = 30.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def api_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Migrate and seed a fresh SQLite database, then serve api/ from it."""
    workdir = tmp_path_factory.mktemp("api")
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": f"sqlite:///{workdir / 't.db'}",
            "SERVICE_TOKEN": "dev-service-token",
            "REDIS_URL": "",
        }
    )
    subprocess.run(
        [str(API_PYTHON), "-m", "backend.manage", "init"],
        cwd=REPO_ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    port = _free_port()
    with open(workdir / "uvicorn.log", "wb") as log:
        server = subprocess.Popen(
            [str(API_PYTHON), "-m", "uvicorn", "api.main:app", "--host", "127.0.0.1", "--port", str(port)],
            cwd=REPO_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + STARTUP_SECONDS
            while True:
                if server.poll() is not None:
                    raise RuntimeError(f"api exited early; see {workdir / 'uvicorn.log'}")
                try:
                    with urllib.request.urlopen(f"{url}/healthz", timeout=1) as response:
                        if response.status == 200:
                            break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"api did not become healthy; see {workdir / 'uvicorn.log'}")
                time.sleep(0.2)
            yield url
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()


@pytest.fixture
def backend(api_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point the actions' shared client at the test API (it reads the env per call)."""
    monkeypatch.setenv("BACKEND_URL", api_url)
    monkeypatch.setenv("SERVICE_TOKEN", "dev-service-token")
    return api_url


@pytest.fixture
def backend_down(monkeypatch: pytest.MonkeyPatch) -> str:
    """A port with nothing listening: connection refused, like a stopped api/."""
    url = f"http://127.0.0.1:{_free_port()}"
    monkeypatch.setenv("BACKEND_URL", url)
    return url


@pytest.fixture(scope="session")
def domain() -> dict[str, Any]:
    return load_domain()


@pytest.fixture
def conversation(domain: dict[str, Any]):  # type: ignore[no-untyped-def]
    def start(fixture_name: str) -> Conversation:
        return Conversation(load_fixture(fixture_name), domain)

    return start


@pytest.fixture(autouse=True)
async def close_shared_client() -> Any:
    """Close the shared aiohttp session at the end of each test's event loop."""
    yield
    from actions.backend_client import get_backend_client

    await get_backend_client().close()
