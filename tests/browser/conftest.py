"""Browser tests: real Chromium (Debian's package, no browser download) driven by Playwright,
against the real stack of tests/e2e/conftest.py (api, Rasa, actions; fresh SQLite database).
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = REPO / "reports" / "browser"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# Reuse the e2e `stack` fixture (one definition of how the stack starts) without making tests/e2e
# a package: load its conftest under another name and re-export the fixture.
_spec = importlib.util.spec_from_file_location("e2e_stack_conftest", REPO / "tests" / "e2e" / "conftest.py")
assert _spec is not None and _spec.loader is not None
_e2e = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = _e2e  # dataclasses look their module up there
_spec.loader.exec_module(_e2e)
stack = _e2e.stack
Stack = _e2e.Stack


@pytest.fixture(scope="session")
def playwright_instance() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} missing: apt-get install -y chromium (make test-browser does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture
def new_browser(playwright_instance: Any) -> Iterator[Callable[..., Any]]:
    """A fresh Chromium profile per call (its own user-data-dir, so its own cookies)."""
    contexts: list[Any] = []
    dirs: list[str] = []

    def start(**options: Any) -> Any:
        user_data_dir = tempfile.mkdtemp(prefix="kefu-chromium-")
        dirs.append(user_data_dir)
        context = playwright_instance.chromium.launch_persistent_context(
            user_data_dir,
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            locale="zh-CN",
            **options,
        )
        contexts.append(context)
        return context

    yield start
    for context in contexts:
        context.close()
    for directory in dirs:
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
