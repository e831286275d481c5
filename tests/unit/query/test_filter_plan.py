"""Scalar indexes in the engine and the planner: when they are built, when they are
used, what ``Client.explain`` says, and the JSON parse cache."""

from __future__ import annotations

import numpy as np
import pytest

import keeldb
from keeldb import DataType
from keeldb.caches import SegmentCache
from keeldb.query import filter_results, json_cache

N = 2_000


def _schema(client):
    schema = client.create_schema(enable_dynamic_field=True)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("vec", DataType.FLOAT_VECTOR, dim=2)
    schema.add_field("n", DataType.INT64, nullable=True)
    schema.add_field("price", DataType.DOUBLE)
    schema.add_field("tag", DataType.VARCHAR, max_length=16)
    schema.add_field("ok", DataType.BOOL)
    schema.add_field("meta", DataType.JSON, nullable=True)
    return schema


def _rows(start, count):
    return [
        {
            "id": i,
            "vec": [float(i % 13), float(i % 7)],
            "n": None if i % 10 == 0 else i % 100,
            "price": (i % 50) / 2,
            "tag": f"t{i % 40:02d}",
            "ok": i % 3 == 0,
            "meta": {"k": i % 5, "s": f"m{i % 4}"} if i % 6 else None,
            "extra": i % 9,
        }
        for i in range(start, start + count)
    ]


def _create(client, name, indexes):
    params = client.prepare_index_params()
    params.add_index("vec", index_type="FLAT", metric_type="L2")
    for field, index_type in indexes.items():
        params.add_index(field, index_type=index_type)
    client.create_collection(name, schema=_schema(client), index_params=params)


@pytest.fixture
def coll(client):
    _create(client, "c", {"n": "STL_SORT", "tag": "INVERTED", "ok": "BITMAP", "meta": "INVERTED"})
    client.insert("c", _rows(0, N))
    client.flush("c")
    client.insert("c", _rows(N, 100))  # growing segment
    return client


def _ids(client, name, text):
    return sorted(r["id"] for r in client.query(name, text, output_fields=["id"]))


def _expected(text_filter):
    return sorted(r["id"] for r in _rows(0, N + 100) if text_filter(r))


def test_selective_filters_use_the_index_and_return_the_right_rows(coll):
    plan = coll.explain("c", "n == 7")
    assert "index STL_SORT on n: n (INT64) == 7 -> 20 rows" in plan
    assert "scan 100 rows" in plan  # the growing segment has no index
    assert _ids(coll, "c", "n == 7") == _expected(lambda r: r["n"] == 7)
    text = 'tag in ["t01", "t02"] and price > 3 and meta["k"] == 1'
    plan = coll.explain("c", text)
    assert "index INVERTED on tag" in plan and "scan 100 candidate rows" in plan
    assert _ids(coll, "c", text) == _expected(
        lambda r: r["tag"] in ("t01", "t02") and r["price"] > 3 and (r["meta"] or {}).get("k") == 1
    )


def test_unselective_leaves_are_scanned(coll):
    plan = coll.explain("c", "n >= 2")
    assert "  index " not in plan
    assert "scan 2,000 rows: n (INT64) >= 2" in plan
    assert _ids(coll, "c", "n >= 2") == _expected(lambda r: r["n"] is not None and r["n"] >= 2)


def test_not_and_or_and_nulls(coll):
    plan = coll.explain("c", "not (n >= 5) or tag like 't1%'")
    assert "index STL_SORT on n: not (n (INT64) >= 5)" in plan
    assert 'index INVERTED on tag: tag (VARCHAR) like "t1%"' in plan
    assert _ids(coll, "c", "not (n >= 5) or tag like 't1%'") == _expected(
        lambda r: (r["n"] is not None and r["n"] < 5) or r["tag"].startswith("t1")
    )
    # a null n is unknown under not: neither `n == 7` nor `not (n == 7)` holds
    assert _ids(coll, "c", "not (n == 7)") == _expected(lambda r: r["n"] not in (None, 7))
    assert _ids(coll, "c", "ok == true and n < 3") == _expected(
        lambda r: r["ok"] and r["n"] is not None and r["n"] < 3
    )


def test_indexes_on_json_fields_are_not_used_for_the_raw_text(coll):
    plan = coll.explain("c", 'meta like "{%"')
    assert "meta INVERTED" not in plan and "  index " not in plan
    assert _ids(coll, "c", 'meta like "{%"') == []


def test_search_with_an_indexed_filter_matches_exact_search(coll):
    query = [[3.0, 2.0]]
    hits = coll.search("c", query, filter="tag == 't05' and n < 50", limit=5, output_fields=["n"])
    allowed = [r for r in _rows(0, N + 100) if r["tag"] == "t05" and r["n"] is not None
               and r["n"] < 50]  # fmt: skip
    best = sorted(allowed, key=lambda r: ((r["vec"][0] - 3) ** 2 + (r["vec"][1] - 2) ** 2, r["id"]))
    assert [h["distance"] for h in hits[0]] == pytest.approx(
        [(r["vec"][0] - 3) ** 2 + (r["vec"][1] - 2) ** 2 for r in best[:5]]
    )
    assert all(h["entity"]["n"] < 50 for h in hits[0])


def test_indexes_are_built_at_seal_compaction_load_and_create_index(data_dir):
    settings = keeldb.Settings(background_index_build=False, compaction_small_rows=10_000)
    client = keeldb.Client(data_dir, settings=settings)
    _create(client, "c", {})
    client.insert("c", _rows(0, 500))
    client.flush("c")
    assert "scalar indexes" not in client.explain("c", "n == 1")
    client.create_index("c", _index(client, "n", "STL_SORT"))  # existing segments get it
    assert "scalar indexes: n STL_SORT" in client.explain("c", "n == 1")
    client.insert("c", _rows(500, 500))
    client.flush("c")  # sealed with the index
    assert client.explain("c", "n == 1").count("scalar indexes: n STL_SORT") == 2
    client.delete("c", filter="id < 100")
    client.compact("c")  # merged segment gets it
    plan = client.explain("c", "n == 1")
    assert plan.count("scalar indexes: n STL_SORT") == 1 and "900 rows" in plan
    client.close()
    client = keeldb.Client(data_dir, settings=settings)  # rebuilt at load
    assert "index STL_SORT on n" in client.explain("c", "n == 1")
    client.release_collection("c")
    client.drop_index("c", "n")
    client.load_collection("c")
    assert "scalar indexes" not in client.explain("c", "n == 1")
    assert _ids(client, "c", "n == 1") == [i for i in range(100, 1000) if i % 100 == 1]
    client.close()


def _index(client, field, index_type):
    params = client.prepare_index_params()
    params.add_index(field, index_type=index_type)
    return params


def test_explain_reports_skipped_segments(coll):
    plan = coll.explain("c", "id > 5000")
    assert "skipped (min/max statistics rule out a match)" in plan
    assert plan.endswith("total: 0 rows")
    assert coll.explain("c", "").startswith("filter: (none)")


@pytest.fixture
def no_filter_results(monkeypatch):
    """Filter results are cached above the JSON caches: off, so every query parses."""
    monkeypatch.setattr(filter_results, "MASKS", SegmentCache(0))


def _json_caches(docs_max_bytes=json_cache.DEFAULT_DOCS_MAX_BYTES):
    return SegmentCache(json_cache.DEFAULT_MAX_BYTES), SegmentCache(docs_max_bytes)


def test_json_paths_of_sealed_segments_are_parsed_once(coll, monkeypatch, no_filter_results):
    paths, docs = _json_caches()
    monkeypatch.setattr(json_cache, "PATHS", paths)
    monkeypatch.setattr(json_cache, "DOCS", docs)
    first = _ids(coll, "c", 'meta["k"] == 2 or extra == 4')
    assert len(paths) == 2 and len(docs) == 2  # meta and $meta of the sealed segment
    hits = paths.hits
    assert _ids(coll, "c", 'meta["k"] == 2 or extra == 4') == first
    assert paths.hits == hits + 2 and len(paths) == 2
    assert first == _expected(lambda r: (r["meta"] or {}).get("k") == 2 or r["extra"] == 4)
    # another path of a cached column reuses the parsed documents
    parsed = docs.hits
    _ids(coll, "c", 'meta["s"] == "m1"')
    assert len(paths) == 3 and docs.hits == parsed + 1


def test_path_values_survive_documents_that_do_not_fit(coll, monkeypatch, no_filter_results):
    """Documents are far larger than path values: they must not evict them."""
    paths, docs = _json_caches(docs_max_bytes=1)  # no document fits
    monkeypatch.setattr(json_cache, "PATHS", paths)
    monkeypatch.setattr(json_cache, "DOCS", docs)
    _ids(coll, "c", 'meta["k"] == 2')
    misses = paths.misses
    assert _ids(coll, "c", 'meta["k"] == 2') == _expected(lambda r: (r["meta"] or {}).get("k") == 2)
    assert paths.misses == misses and len(docs) == 0


def test_the_cache_is_bounded_by_bytes():
    cache = SegmentCache(max_bytes=1000)
    for key in [(1, "a"), (1, "b"), (2, "a"), (2, "b")]:
        cache.put(key, key[1], 240)
    assert cache.get((1, "a")) == "a"  # now the most recently used
    cache.put((3, "a"), "c", 200)  # 1160 > 1000: evicts (1, "b"), the least recent
    assert cache.get((1, "b")) is None and cache.size_bytes == 920
    cache.put((3, "big"), "v", 251)  # over a quarter of the budget: never kept
    assert cache.get((3, "big")) is None
    cache.forget(2)
    assert len(cache) == 2 and cache.size_bytes == 440
    cache.resize(100)
    assert len(cache) == 0 and cache.size_bytes == 0


def test_planner_thresholds_do_not_change_results(coll, monkeypatch):
    from keeldb.query import filter_plan

    text = "(n < 20 or tag == 't03') and not (price >= 10) and extra != 2"
    baseline = _ids(coll, "c", text)
    assert baseline == _expected(
        lambda r: (
            ((r["n"] is not None and r["n"] < 20) or r["tag"] == "t03")
            and r["price"] < 10
            and r["extra"] != 2
        )
    )
    for fraction in (0.0, 0.01, 1.0):
        monkeypatch.setattr(filter_plan, "INDEX_FRACTION", fraction)
        monkeypatch.setitem(filter_plan.SUBSET_FRACTION, "plain", fraction)
        monkeypatch.setitem(filter_plan.SUBSET_FRACTION, "heavy", fraction)
        assert _ids(coll, "c", text) == baseline


def test_count_and_delete_use_the_same_plan(coll):
    assert coll.query("c", "n == 7", output_fields=["count(*)"]) == [{"count(*)": 21}]
    assert coll.delete("c", filter="n == 7")["delete_count"] == 21
    assert _ids(coll, "c", "n == 7") == []
    assert np.all(np.array(_ids(coll, "c", "n == 8")) % 100 == 8)


def test_two_halves_of_a_range_are_one_lookup(coll):
    for text in ("n >= 5 and n < 7", "5 <= n < 7", "n < 7 and tag != 'x' and 5 <= n"):
        plan = coll.explain("c", text)
        assert "index STL_SORT on n: " in plan and "-> 40 rows" in plan, plan
        assert _ids(coll, "c", text) == _expected(lambda r: r["n"] is not None and 5 <= r["n"] < 7)
    assert "-> 0 rows" in coll.explain("c", "n > 7 and n < 5")
    assert _ids(coll, "c", "n > 7 and n < 5") == []
