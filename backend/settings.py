"""The one settings object for api/ and backend/ (env vars as in docs/architecture.md)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

# backend/settings.py -> repo root; defaults must work from any working directory.
REPO_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(case_sensitive=False, extra="ignore")

    database_url: str = f"sqlite:///{REPO_ROOT / 'var' / 'kefu.db'}"
    redis_url: str = ""
    rasa_url: str = "http://127.0.0.1:5005"
    rasa_api_token: str = "dev-rasa-token"
    service_token: str = "dev-service-token"
    backend_url: str = "http://127.0.0.1:8000"
    wechat_token: str = "dev-wechat-token"
    wechat_appid: str = ""
    wechat_secret: str = ""
    wechat_aes_key: str = ""
    wechat_api_base: str = "https://api.weixin.qq.com"
    verification_ttl_minutes: int = 30
    tariff_config: Path = REPO_ROOT / "config" / "tariffs.yml"
    demo_data: Path = REPO_ROOT.parent / "shared" / "spec" / "demo_customers.yml"
    audit_hmac_key: str = "dev-audit-key-change-me"
    audit_checkpoint_path: Path = REPO_ROOT / "var" / "audit_checkpoint.json"
    # Work orders (issue 7): time limits, working-day calendar, the staff API's interim tokens
    # ("role:staff_id:token" separated by commas; roles agent | supervisor | admin) until the
    # agent console brings logins, and the scheduler's pace.
    sla_config: Path = REPO_ROOT / "config" / "sla.yml"
    holiday_config: Path = REPO_ROOT / "config" / "holidays.yml"
    staff_tokens: str = (
        "agent:agent-001:dev-agent-token,supervisor:sup-001:dev-supervisor-token,admin:admin-001:dev-admin-token"
    )
    scheduler_interval_seconds: int = 60
    # Handoff and agent console (issue 8): the key signing web-chat session cookies, and the
    # configuration of queues and canned responses. Secure cookies need HTTPS (production).
    session_secret: str = "dev-session-secret-change-me"
    secure_cookies: bool = False
    handoff_config: Path = REPO_ROOT / "config" / "handoff.yml"
    canned_responses_config: Path = REPO_ROOT / "config" / "canned_responses.yml"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
