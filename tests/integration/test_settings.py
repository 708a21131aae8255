from __future__ import annotations

from pathlib import Path

from backend.settings import REPO_ROOT, Settings, get_settings

REPO = Path(__file__).resolve().parents[2]


def test_defaults_follow_the_architecture_document(monkeypatch):
    for name in ("DATABASE_URL", "VERIFICATION_TTL_MINUTES", "DEMO_DATA", "TARIFF_CONFIG", "SERVICE_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings()
    assert REPO_ROOT == REPO
    assert settings.database_url == f"sqlite:///{REPO / 'var' / 'kefu.db'}"
    assert settings.rasa_url == "http://127.0.0.1:5005"
    assert settings.rasa_api_token == "dev-rasa-token"
    assert settings.service_token == "dev-service-token"
    assert settings.backend_url == "http://127.0.0.1:8000"
    assert settings.wechat_token == "dev-wechat-token"
    assert settings.wechat_api_base == "https://api.weixin.qq.com"
    assert (settings.wechat_appid, settings.wechat_secret, settings.wechat_aes_key, settings.redis_url) == (
        "",
        "",
        "",
        "",
    )
    assert settings.verification_ttl_minutes == 30
    assert settings.tariff_config == REPO / "config" / "tariffs.yml"
    assert settings.demo_data == REPO.parent / "shared" / "spec" / "demo_customers.yml"
    assert settings.audit_hmac_key == "dev-audit-key-change-me"
    assert settings.audit_checkpoint_path == REPO / "var" / "audit_checkpoint.json"
    assert settings.tariff_config.exists() and settings.demo_data.exists()


def test_environment_overrides(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://u@h/db")
    monkeypatch.setenv("VERIFICATION_TTL_MINUTES", "5")
    settings = Settings()
    assert settings.database_url == "postgresql+psycopg://u@h/db"
    assert settings.verification_ttl_minutes == 5


def test_get_settings_is_cached():
    assert get_settings() is get_settings()
