"""QuerySnapshots: one pinned snapshot per query-iterator session, expiring when idle."""

from __future__ import annotations

import itertools

import pytest

pytest.importorskip("pymilvus")

from keeldb.client.data import PinnedSnapshot  # noqa: E402
from keeldb.server.query_sessions import QuerySnapshots  # noqa: E402


class _Pins:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> PinnedSnapshot:
        self.count += 1
        return PinnedSnapshot(collection_id=1, snapshot=self.count)  # type: ignore[arg-type]


def test_a_session_reads_the_snapshot_pinned_by_its_first_page() -> None:
    sessions, pin, clock = QuerySnapshots(), _Pins(), itertools.count(1000)
    first, ts = sessions.session("db", "c", 0, lambda: next(clock), pin)
    assert ts == 1000 and first.snapshot == 1
    again, same_ts = sessions.session("db", "c", ts, lambda: next(clock), pin)
    assert again is first and same_ts == ts and pin.count == 1
    other, other_ts = sessions.session("db", "c", 0, lambda: next(clock), pin)
    assert other_ts != ts and other.snapshot == 2
    # the same timestamp for another collection or database is another session
    assert sessions.session("db", "d", ts, lambda: 0, pin)[0].snapshot == 3
    assert sessions.session("db2", "c", ts, lambda: 0, pin)[0].snapshot == 4


def test_an_unknown_timestamp_pins_a_snapshot_under_it() -> None:
    sessions, pin = QuerySnapshots(), _Pins()
    pinned, ts = sessions.session("db", "c", 777, lambda: 1, pin)
    assert ts == 777 and sessions.session("db", "c", 777, lambda: 1, pin)[0] is pinned


def test_idle_sessions_expire_and_the_least_recent_go_first() -> None:
    now = [0.0]
    sessions, pin = QuerySnapshots(ttl_s=60, max_sessions=2, clock=lambda: now[0]), _Pins()
    sessions.session("db", "c", 1, lambda: 0, pin)
    now[0] = 61.0
    sessions.session("db", "c", 2, lambda: 0, pin)
    assert len(sessions) == 1  # session 1 expired
    sessions.session("db", "c", 3, lambda: 0, pin)
    sessions.session("db", "c", 2, lambda: 0, pin)  # touch 2: 3 is now the oldest
    sessions.session("db", "c", 4, lambda: 0, pin)
    assert len(sessions) == 2 and pin.count == 4
    sessions.session("db", "c", 3, lambda: 0, pin)  # was evicted: pinned afresh
    assert pin.count == 5
    sessions.close()
    assert len(sessions) == 0
