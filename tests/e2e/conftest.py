"""Start the real stack (action server, Rasa, api/) on free ports for end-to-end tests.

Nothing is mocked: the tests talk to /wechat with signed XML exactly as WeChat's servers
would, and api/ talks to a real Rasa server that calls the real action server, which
calls api/'s business endpoints against a freshly migrated and seeded SQLite database.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import socket
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
BOT_BIN = REPO / ".venv-bot" / "bin"
# KEFU_E2E_MODEL: another trained model (e.g. one trained to /tmp while models/ is being rebuilt).
MODEL = Path(os.environ.get("KEFU_E2E_MODEL") or REPO / "models" / "kefu.tar.gz")
WECHAT_TOKEN = "e2e-wechat-token"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_healthy(url: str, procs: list[subprocess.Popen[bytes]], logs: list[Path], limit_s: float) -> None:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        for proc, log in zip(procs, logs, strict=True):
            if proc.poll() is not None:
                raise RuntimeError(f"process exited early ({proc.args!r}):\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    raise RuntimeError(f"{url} not healthy after {limit_s}s")


@dataclass
class Stack:
    api_url: str
    database_url: str

    def wechat(self, openid: str, text: str, msg_id: int | None = None) -> str:
        """Send a signed text message as `openid`; return the passive reply's Content."""
        response = self.post_wechat(openid, text, msg_id)
        assert response.status_code == 200, response.text
        root = ET.fromstring(response.text)
        assert root.findtext("ToUserName") == openid
        assert root.findtext("MsgType") == "text"
        return root.findtext("Content") or ""

    def post_wechat(
        self, openid: str, text: str, msg_id: int | None = None, *, token: str = WECHAT_TOKEN
    ) -> httpx.Response:
        timestamp = str(int(time.time()))
        nonce = secrets.token_hex(6)
        signature = hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode()).hexdigest()
        body = (
            "<xml><ToUserName><![CDATA[gh_e2e]]></ToUserName>"
            f"<FromUserName><![CDATA[{openid}]]></FromUserName>"
            f"<CreateTime>{timestamp}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content><![CDATA[{text}]]></Content>"
            f"<MsgId>{msg_id if msg_id is not None else secrets.randbelow(2**62)}</MsgId></xml>"
        )
        response = httpx.post(
            f"{self.api_url}/wechat",
            params={"signature": signature, "timestamp": timestamp, "nonce": nonce},
            content=body.encode(),
            timeout=10,
        )
        return response


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    if not MODEL.exists():
        pytest.fail(f"{MODEL} missing: run `make train` first (make test does)")
    with start_stack(tmp_path_factory.mktemp("e2e")) as running:
        yield running


@contextmanager
def start_stack(work: Path) -> Iterator[Stack]:
    """Migrate and seed a fresh SQLite database in `work`, start actions, Rasa and api/ on free
    ports, wait until each is healthy; stop them on exit. Also used by bench/bench_wechat.py."""
    database_url = f"sqlite:///{work / 'e2e.db'}"
    api_port, rasa_port, actions_port = _free_port(), _free_port(), _free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "RASA_TELEMETRY_ENABLED": "false",
        "DATABASE_URL": database_url,
        "WECHAT_TOKEN": WECHAT_TOKEN,
        "SERVICE_TOKEN": "e2e-service-token",
        "RASA_API_TOKEN": "e2e-rasa-token",
        "RASA_URL": f"http://127.0.0.1:{rasa_port}",
        "BACKEND_URL": f"http://127.0.0.1:{api_port}",
        "ACTION_ENDPOINT_URL": f"http://127.0.0.1:{actions_port}/webhook",
    }
    subprocess.run([sys.executable, "-m", "backend.manage", "init"], cwd=REPO, env=env, check=True)
    commands = {
        "actions": [str(BOT_BIN / "rasa"), "run", "actions", "--actions", "actions", "-p", str(actions_port)],
        "rasa": [
            str(BOT_BIN / "rasa"), "run", "--model", str(MODEL), "--endpoints", "bot/endpoints.yml",
            "--credentials", "bot/credentials.yml", "--enable-api", "--auth-token", "e2e-rasa-token",
            "-i", "127.0.0.1", "-p", str(rasa_port),
        ],
        "api": [
            sys.executable, "-m", "uvicorn", "api.main:app", "--host", "127.0.0.1", "--port", str(api_port),
        ],
    }
    procs: list[subprocess.Popen[bytes]] = []
    logs: list[Path] = []
    try:
        for name, command in commands.items():
            log = work / f"{name}.log"
            logs.append(log)
            procs.append(
                subprocess.Popen(command, cwd=REPO, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
            )
        _wait_healthy(f"http://127.0.0.1:{actions_port}/health", procs, logs, 120)
        _wait_healthy(f"http://127.0.0.1:{rasa_port}/", procs, logs, 300)
        _wait_healthy(f"http://127.0.0.1:{api_port}/healthz", procs, logs, 60)
        yield Stack(api_url=f"http://127.0.0.1:{api_port}", database_url=database_url)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
