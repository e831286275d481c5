"""keeldb vs Milvus Lite on sparse vectors, through pymilvus-shaped calls, as black boxes.

Milvus Lite 3.2.2 supports SPARSE_FLOAT_VECTOR with SPARSE_INVERTED_INDEX / IP
(none of the other new vector types), so this is the differential check it
allows: the same rows and queries, unfiltered and filtered, must give the same
hits (ids and IP scores; rows sharing no dimension with a query are absent in
both) and the same stored vectors, and both must refuse negative weights.
"""

from __future__ import annotations

import numpy as np
import pytest

import keeldb
from tests.conftest import TEST_SETTINGS

pymilvus = pytest.importorskip("pymilvus")
pytest.importorskip("milvus_lite")

N, QUERIES, VOCAB = 400, 25, 120


def sparse_rows(rng: np.random.Generator, n: int, most: int) -> list[dict[int, float]]:
    out = []
    for _ in range(n):
        k = int(rng.integers(1, most))
        dims = rng.choice(VOCAB, k, replace=False)
        # values exact in float32 and with few bits, so both systems' sums are exact
        out.append({int(d): float(v) / 8 for d, v in zip(dims, rng.integers(1, 16, k))})
    return out


def setup(client, name: str, rows: list[dict]) -> None:
    types = pymilvus.DataType  # keeldb takes pymilvus's DataType members too
    schema = client.create_schema(auto_id=False)
    schema.add_field("id", types.INT64, is_primary=True)
    schema.add_field("tag", types.INT64)
    schema.add_field("v", types.SPARSE_FLOAT_VECTOR)
    params = client.prepare_index_params()
    params.add_index("v", index_type="SPARSE_INVERTED_INDEX", metric_type="IP")
    client.create_collection(name, schema=schema, index_params=params)
    client.insert(name, [{"id": i, "tag": i % 4, "v": row} for i, row in enumerate(rows)])


def answers(client, name: str, queries: list[dict], flt: str) -> list[list[tuple[int, float]]]:
    hits = client.search(name, data=queries, limit=10, anns_field="v", filter=flt)
    return [[(h["id"], round(h["distance"], 5)) for h in per_query] for per_query in hits]


def same_up_to_ties(a: list[tuple[int, float]], b: list[tuple[int, float]]) -> bool:
    """Equal score lists, and equal ids except within a run of tied scores at the cut."""
    if [s for _, s in a] != [s for _, s in b]:
        return False
    last = a[-1][1] if a else None
    return {i for i, s in a if s != last} == {i for i, s in b if s != last}


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    rng = np.random.default_rng(21)
    rows, queries = sparse_rows(rng, N, 12), sparse_rows(rng, QUERIES, 5)
    base = tmp_path_factory.mktemp("sparse_vs_lite")
    keel = keeldb.Client(str(base / "keel"), settings=TEST_SETTINGS)
    lite = pymilvus.MilvusClient(str(base / "lite.db"))
    for client in (keel, lite):
        setup(client, "s", rows)
    keel.flush("s")
    yield keel, lite, rows, queries
    keel.close()
    lite.close()


@pytest.mark.parametrize("flt", ["", "tag == 1", "tag in [0, 3] and id > 50"])
def test_search_matches_milvus_lite(pair, flt):
    keel, lite, _, queries = pair
    ours, theirs = answers(keel, "s", queries, flt), answers(lite, "s", queries, flt)
    for q, (a, b) in enumerate(zip(ours, theirs)):
        assert same_up_to_ties(a, b), (q, a, b)


def test_stored_vectors_match_milvus_lite(pair):
    keel, lite, rows, _ = pair
    ids = [0, 7, 399]
    ours = {r["id"]: r["v"] for r in keel.get("s", ids=ids)}
    theirs = {r["id"]: r["v"] for r in lite.get("s", ids=ids)}
    assert ours == theirs == {i: rows[i] for i in ids}


def test_both_refuse_negative_weights(pair):
    keel, lite, _, _ = pair
    with pytest.raises(keeldb.errors.DataError, match="negative"):
        keel.insert("s", [{"id": 1000, "tag": 0, "v": {1: -1.0}}])
    with pytest.raises(pymilvus.exceptions.MilvusException, match="non-negative"):
        lite.insert("s", [{"id": 1000, "tag": 0, "v": {1: -1.0}}])
