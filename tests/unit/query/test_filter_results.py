"""Cached filter results of sealed segments (keeldb.query.filter_results) and the
cached gather of an index's exact fallback (keeldb.index.exact.GATHERED): what is
served from them is exactly what a fresh evaluation gives, through deletes,
partitions and the growing segment."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from keeldb import DataType
from keeldb.caches import SegmentCache
from keeldb.expr import CompiledFilter, compile_filter
from keeldb.index import exact
from keeldb.query import filter_plan, filter_results
from keeldb.query.snapshot import SegmentView
from keeldb.types import MetricType

ROWS = 6_000
DIM = 8


@pytest.fixture
def caches(monkeypatch):
    masks, gathered = SegmentCache(64 << 20), SegmentCache(64 << 20)
    monkeypatch.setattr(filter_results, "MASKS", masks)
    monkeypatch.setattr(exact, "GATHERED", gathered)
    return masks, gathered


@pytest.fixture
def data():
    rng = np.random.default_rng(7)
    vectors = rng.normal(size=(ROWS, DIM)).astype(np.float32)
    return vectors, rng.normal(size=(5, DIM)).astype(np.float32)


def _load(client, data, *, flush=True, partitions=False):
    vectors, _ = data
    schema = client.create_schema()
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("vec", DataType.FLOAT_VECTOR, dim=DIM)
    schema.add_field("tag", DataType.VARCHAR, max_length=8)
    params = client.prepare_index_params()
    params.add_index("vec", index_type="HNSW", metric_type="L2", params={"M": 8})
    client.create_collection("c", schema=schema, index_params=params)
    if partitions:
        client.create_partition("c", "p1")
    half = ROWS // 2
    for lo, hi in ((0, half), (half, ROWS)):
        rows = [{"id": i, "vec": vectors[i], "tag": f"t{i % 10}"} for i in range(lo, hi)]
        if partitions:  # both partitions in each segment: a partition is a row subset
            client.insert("c", rows[1::2], partition_name="p1")
            rows = rows[::2]
        client.insert("c", rows)
        if flush:
            client.flush("c")
    if flush:
        assert client.wait_for_index("c")
    client.load_collection("c")


def _expected(data, keep, k=10):
    vectors, queries = data
    ids = np.flatnonzero(keep)
    d = ((queries[:, None, :] - vectors[None, ids, :]) ** 2).sum(-1)
    return [ids[np.argsort(row, kind="stable")[:k]].tolist() for row in d]


def _search(client, data, expr, **kw):
    _, queries = data
    res = client.search(
        "c", data=list(queries), limit=10, filter=expr, search_params={"params": {"ef": 16}}, **kw
    )
    return [[hit["id"] for hit in hits] for hits in res]


def test_a_repeated_filter_is_evaluated_once_per_sealed_segment(client, data, caches):
    masks, _ = caches
    _load(client, data)
    keep = np.arange(ROWS) % 10 == 3
    first = _search(client, data, 'tag == "t3"')
    assert len(masks) == 2 and masks.hits == 0  # one entry per sealed segment
    again = _search(client, data, 'tag == "t3"')
    assert masks.hits == 2 and len(masks) == 2
    assert first == again == _expected(data, keep)
    # query() shares the entries
    got = client.query("c", filter='tag == "t3"', output_fields=["id"], limit=ROWS)
    assert sorted(r["id"] for r in got) == np.flatnonzero(keep).tolist()
    assert masks.hits == 4


def test_deletes_after_caching_are_honoured(client, data, caches):
    masks, _ = caches
    _load(client, data)
    before = _search(client, data, 'tag == "t3"')
    gone = sorted({i for hits in before for i in hits[:3]})
    assert client.delete("c", ids=gone)["delete_count"] == len(gone)
    keep = np.arange(ROWS) % 10 == 3
    keep[gone] = False
    after = _search(client, data, 'tag == "t3"')
    assert masks.hits >= 2  # served from the cache, combined with the new alive bitmap
    assert after == _expected(data, keep)
    assert not set(gone) & {i for hits in after for i in hits}


def test_a_partition_restricted_miss_is_evaluated_on_its_rows_and_not_kept(client, data, caches):
    masks, _ = caches
    _load(client, data, partitions=True)
    keep = (np.arange(ROWS) % 10 != 0) & (np.arange(ROWS) % 2 == 1)
    assert _search(client, data, 'tag != "t0"', partition_names=["p1"]) == _expected(data, keep)
    assert len(masks) == 0
    _search(client, data, 'tag != "t0"')  # unrestricted: fills the cache
    assert len(masks) == 2
    hits = masks.hits
    assert _search(client, data, 'tag != "t0"', partition_names=["p1"]) == _expected(data, keep)
    assert masks.hits > hits


def test_the_growing_segment_is_never_cached(client, data, caches):
    masks, _ = caches
    _load(client, data, flush=False)
    keep = np.arange(ROWS) % 10 == 3
    assert _search(client, data, 'tag == "t3"') == _expected(data, keep)
    assert len(masks) == 0


def test_the_exact_fallback_gathers_a_cached_filter_once(client, data, caches):
    """10% of 3,000 rows per segment: probing could not answer (6 of 64 allowed), so
    the planner scans the 300 allowed rows, gathered once per segment."""
    _, gathered = caches
    _load(client, data)
    keep = np.arange(ROWS) % 10 == 3
    assert _search(client, data, 'tag == "t3"') == _expected(data, keep)
    assert len(gathered) == 2 and gathered.hits == 0
    assert _search(client, data, 'tag == "t3"') == _expected(data, keep)
    assert gathered.hits == 2


def test_cached_masks_are_read_only(client, data, caches):
    masks, _ = caches
    _load(client, data)
    _search(client, data, 'tag == "t3"')
    for entry, _size in masks._entries.values():
        with pytest.raises(ValueError):
            entry.mask[0] = True


def test_a_constant_condition_over_candidate_rows():
    """Evaluated on a taken subset, a condition naming no column kept no rows."""
    table = pa.table({"id": pa.array(range(11), pa.int64())})
    seg = SegmentView(segment_id=1, table=table, vectors={}, alive=np.ones(11, dtype=bool))
    compiled = compile_filter("not (0 < 0 < 0)", {}, dynamic=False)
    cand = np.arange(11) % 3 == 0
    assert filter_plan.filter_rows(compiled, seg, cand).tolist() == cand.tolist()


def test_a_gathered_entry_goes_with_its_mask(caches):
    _, gathered = caches
    rng = np.random.default_rng(2)
    vectors, queries = rng.random((1000, 4), dtype=np.float32), rng.random((2, 4), np.float32)
    allowed = rng.random(1000) < 0.3
    allowed.flags.writeable = False
    first = exact.exact_search_prepared(vectors, queries, 5, MetricType.L2, allowed)
    again = exact.exact_search_prepared(vectors, queries, 5, MetricType.L2, allowed)
    assert gathered.hits == 1 and (first.ids == again.ids).all()
    del allowed
    assert len(gathered) == 0 and gathered.size_bytes == 0
    writable = rng.random(1000) < 0.5  # may change under the caller: never cached
    exact.exact_search_prepared(vectors, queries, 5, MetricType.L2, writable)
    assert len(gathered) == 0


def test_min_max_pruning_is_remembered(client, data, caches, monkeypatch):
    """The first segment holds ids 0..2,999: its statistics rule ``id >= 3000`` out
    once, and the cached (empty) answer is used after that without asking again.
    (``tag == "t3"`` keeps the second segment's search exact: 300 of its rows.)"""
    masks, _ = caches
    _load(client, data)
    keep = (np.arange(ROWS) >= ROWS // 2) & (np.arange(ROWS) % 10 == 3)
    expr = 'id >= 3000 and tag == "t3"'
    assert _search(client, data, expr) == _expected(data, keep)
    assert len(masks) == 2

    def must_not_be_asked(self, stats):
        raise AssertionError("min/max statistics asked again")

    monkeypatch.setattr(CompiledFilter, "may_match", must_not_be_asked)
    assert _search(client, data, expr) == _expected(data, keep)
    assert masks.hits == 2
