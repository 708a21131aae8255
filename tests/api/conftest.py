"""api test fixtures: the real app on the shared migrated+seeded database (SQLite and PostgreSQL).

Rasa is NOT running for these tests: RASA_URL points at a local port nobody listens on, so the
router meets a real connection refusal. Real Rasa end-to-end tests live in tests/e2e/.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest
from apitest_support import SERVICE_TOKEN, WeChat, make_settings
from fastapi.testclient import TestClient

from api.main import create_app
from backend.settings import Settings


@pytest.fixture
def settings(db_url: str) -> Settings:
    return make_settings(db_url)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    app = create_app(settings)
    with TestClient(app) as test_client:
        yield test_client
    app.state.engine.dispose()


@pytest.fixture
def auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {SERVICE_TOKEN}"}


@pytest.fixture
def wechat(client: TestClient) -> WeChat:
    return WeChat(client=client, session_factory=client.app.state.session_factory)  # type: ignore[attr-defined]


@pytest.fixture
def openid() -> str:
    return f"o_apitest_{secrets.token_hex(8)}"
