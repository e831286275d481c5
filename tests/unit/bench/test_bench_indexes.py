"""bench.indexes' batch-1 timing: passes alternate sides and medians come out right."""

from __future__ import annotations

import numpy as np

from bench import indexes


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_batch1_latencies_alternate_passes_and_take_medians(monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(indexes.time, "perf_counter", clock)
    calls: list[tuple[str, int]] = []
    queries = np.arange(4, dtype=np.float32).reshape(4, 1)

    def searcher(side: str, cost_of_query):
        def search(q: np.ndarray) -> None:
            i = int(q[0, 0])
            calls.append((side, i))
            clock.now += cost_of_query(i, sum(1 for s, _ in calls if s == side))

        return search

    # ours costs 1 + query index; theirs 10 + query index, except one outlier pass
    ours = searcher("ours", lambda i, n: 1.0 + i)
    theirs = searcher("theirs", lambda i, n: 10.0 + i + (1000.0 if n <= 4 else 0.0))
    mine, raw = indexes.batch1_latencies(ours, theirs, queries, passes=3)

    sides = [calls[p * 4][0] for p in range(6)]
    assert sides == ["ours", "theirs", "theirs", "ours", "ours", "theirs"]
    assert all([i for _, i in calls[p * 4 : p * 4 + 4]] == [0, 1, 2, 3] for p in range(6))
    assert mine == 2.5  # per-query medians 1, 2, 3, 4 -> 2.5
    assert raw == 11.5  # 10, 11, 12, 13: the outlier pass is outvoted per query
    only, none = indexes.batch1_latencies(ours, None, queries, passes=1)
    assert only == 2.5 and none is None
