"""Address parsing speed (spaCy zh blank pipeline + EntityRuler), after warm-up."""

from __future__ import annotations

import statistics
import time

from backend.address import parse_address

TEXTS = [
    "新乡县七里营镇七里营村3组12号",
    "县城金穗大道幸福小区3号楼2单元501",
    "俺是七里营东街的",
    "翟坡镇翟坡村东地3号机井",
    "郑州市金水区",
]


def main() -> None:
    started = time.perf_counter()
    parse_address(TEXTS[0])
    warm_up_s = time.perf_counter() - started
    durations = []
    for index in range(2000):
        t0 = time.perf_counter()
        parse_address(TEXTS[index % len(TEXTS)])
        durations.append((time.perf_counter() - t0) * 1000)
    durations.sort()
    p95 = durations[int(0.95 * len(durations))]
    p99 = durations[int(0.99 * len(durations))]
    print(
        f"address parse: first call {warm_up_s:.2f} s; then n={len(durations)} "
        f"median {statistics.median(durations):.3f} ms, p95 {p95:.3f} ms, p99 {p99:.3f} ms"
    )


if __name__ == "__main__":
    main()
