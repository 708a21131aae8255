"""WeChat round trip through the whole stack: signed XML -> api/ -> Rasa -> actions -> api/.

Starts the real stack (as the end-to-end tests do) on free loopback ports with a fresh
SQLite database, then measures the passive-reply latency WeChat's 5-second limit is about:
sequential single-turn conversations, a multi-turn verified balance journey, and a small
concurrent burst from several users. Bounded in count and time; loopback only.
"""

from __future__ import annotations

import secrets
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.e2e.conftest import Stack, start_stack  # noqa: E402

SINGLE_TURNS = [
    "户号3100000001 尾号1234 查余额",
    "明天七里营停电不",
    "阶梯电价咋算",
    "营业厅在哪",
    "你好",
    "帮我订张火车票",
]


def timed(stack: Stack, openid: str, text: str) -> float:
    started = time.perf_counter()
    stack.wechat(openid, text)
    return (time.perf_counter() - started) * 1000


def summary(label: str, values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return (
        f"{label}: n={len(values)} median {statistics.median(values):.0f} ms, p95 {p95:.0f} ms, "
        f"max {ordered[-1]:.0f} ms, over 5 s: {sum(v > 5000 for v in values)}"
    )


def main() -> None:
    with tempfile.TemporaryDirectory() as work, start_stack(Path(work)) as stack:
        timed(stack, "o_bench_warmup", "你好")  # first parse loads lazily built pieces
        single = [timed(stack, f"o_bench_{secrets.token_hex(4)}", text) for text in SINGLE_TURNS * 5]
        print(summary("wechat single turn", single))

        journey: list[float] = []
        for _ in range(5):
            openid = f"o_bench_{secrets.token_hex(4)}"
            for text in ("查余额", "3100000001", "1234", "上个月电费多少"):
                journey.append(timed(stack, openid, text))
        print(summary("wechat balance+bill journey turns", journey))

        openids = [f"o_bench_burst_{i}" for i in range(8)]
        with ThreadPoolExecutor(max_workers=8) as pool:
            started = time.perf_counter()
            burst = list(pool.map(lambda o: timed(stack, o, "户号3100000002 尾号5678 查余额"), openids * 3))
            elapsed = time.perf_counter() - started
        print(summary("wechat burst, 8 users at once", burst) + f"; {len(burst) / elapsed:.1f} msg/s")


if __name__ == "__main__":
    main()
