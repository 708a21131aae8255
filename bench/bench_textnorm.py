"""Normaliser speed: long rambling messages and short chat messages (CPU and wall time)."""

from __future__ import annotations

import random
import statistics
import time

from backend.textnorm import normalise

PARTS = [
    "俺家户号是三幺零零零零零零零{}条闸了",
    "那个那个停点了啥时候来电",
    "点费咋恁贵上个月用了{}百度",
    "尾号幺二三四查一下余额",
    "新房子想包装电表要带啥",
]


def long_message(seed: int, size: int = 10_000) -> str:
    rng = random.Random(seed)
    pieces: list[str] = []
    while sum(map(len, pieces)) < size:
        pieces.append(rng.choice(PARTS).format(rng.choice("一二三四五六七八九")) + rng.choice("，。！ "))
    return "".join(pieces)[:size]


def main() -> None:
    t0 = time.perf_counter()
    normalise("户好三幺零零零零零零零幺")
    print(f"normaliser: first call (lexicon + jieba load) {time.perf_counter() - t0:.2f} s")
    cpu, wall = [], []
    for seed in range(5):
        text = long_message(seed)
        c0, w0 = time.process_time(), time.perf_counter()
        normalise(text)
        cpu.append((time.process_time() - c0) * 1000)
        wall.append((time.perf_counter() - w0) * 1000)
    print(f"normaliser: 10,000-char message median CPU {statistics.median(cpu):.1f} ms, "
          f"wall {statistics.median(wall):.1f} ms (n=5)")
    short = [p.format("五") for p in PARTS] * 200
    w0 = time.perf_counter()
    for text in short:
        normalise(text)
    per_msg = (time.perf_counter() - w0) * 1000 / len(short)
    print(f"normaliser: short message mean {per_msg:.3f} ms (n={len(short)})")


if __name__ == "__main__":
    main()
