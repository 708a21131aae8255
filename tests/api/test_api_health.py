from __future__ import annotations

from apitest_support import closed_local_port, make_settings
from fastapi.testclient import TestClient

from api.main import create_app


def test_healthz_reports_database_ok(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_healthz_is_503_when_the_database_is_unreachable() -> None:
    unreachable = f"postgresql+psycopg://postgres@127.0.0.1:{closed_local_port()}/test"
    app = create_app(make_settings(unreachable))
    with TestClient(app) as client:
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == "error"


def test_openapi_documents_the_business_endpoints(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert "/api/v1/identity/verify" in paths
    assert "/api/v1/accounts/{account_no}/balance" in paths
    assert client.get("/docs").status_code == 200
