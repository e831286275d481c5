"""Filtered vector search through ``keeldb.Client``: recall@10 against exact search.

20,000 × 32 float32 vectors around 64 Gaussian cluster centres (fixed seed), in two
sealed segments with an HNSW index each (M=16, efConstruction=200, L2), plus a
few hundred rows in the growing segment. Every row carries scalars that real
filters use: ``bucket`` (INT64, uniform 0..999), ``tag`` (VARCHAR, 100 values),
``cluster`` (INT64, the vector's cluster: a filter on it is correlated with
position, the hard case for a graph index), and a JSON ``meta`` with a number.

For each selectivity (50%, 10%, 1%, 0.1%) and each kind of expression (integer
range, VARCHAR ``in`` list, JSON path, compound ``and``, whole clusters), 60
queries are searched with ``limit=10``; the truth is exact search (numpy) over
the rows the same filter selects, computed independently of keeldb's filter
code. Recall@10 = |found ∩ exact| / |exact|, averaged over the queries, must be
at least 0.95 — the index layer's cost model (``keeldb/index/filtering.py``)
chooses per query between the graph with a raised ``ef`` and exact search.
"""

from __future__ import annotations

import numpy as np
import pytest

import keeldb
from keeldb import DataType

N, DIM, CLUSTERS, K, QUERIES = 20_000, 32, 64, 10, 60
GROWING = 500


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(32)
    centres = rng.normal(size=(CLUSTERS, DIM)) * 3
    cluster = rng.integers(0, CLUSTERS, N + GROWING)
    vectors = (centres[cluster] + rng.normal(size=(N + GROWING, DIM))).astype(np.float32)
    queries = centres[rng.integers(0, CLUSTERS, QUERIES)] + rng.normal(size=(QUERIES, DIM))
    bucket = rng.integers(0, 1000, N + GROWING)
    tag = rng.integers(0, 100, N + GROWING)
    score = rng.random(N + GROWING)
    return {
        "vectors": vectors,
        "queries": queries.astype(np.float32),
        "cluster": cluster,
        "bucket": bucket,
        "tag": tag,
        "score": score,
    }


@pytest.fixture(scope="module")
def client(data, tmp_path_factory):
    settings = keeldb.Settings(background_index_build=False, sync_mode="none")
    c = keeldb.Client(str(tmp_path_factory.mktemp("recall")), settings=settings)
    schema = c.create_schema(enable_dynamic_field=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("vec", DataType.FLOAT_VECTOR, dim=DIM)
    schema.add_field("bucket", DataType.INT64)
    schema.add_field("cluster", DataType.INT64)
    schema.add_field("tag", DataType.VARCHAR, max_length=8)
    schema.add_field("meta", DataType.JSON)
    params = c.prepare_index_params()
    params.add_index("vec", index_type="HNSW", metric_type="L2",
                     params={"M": 16, "efConstruction": 200})  # fmt: skip
    params.add_index("bucket", index_type="STL_SORT")
    params.add_index("tag", index_type="INVERTED")
    c.create_collection("docs", schema=schema, index_params=params)
    bounds = [0, N // 2, N, N + GROWING]
    for start, end in zip(bounds, bounds[1:]):
        rows = [
            {
                "id": i,
                "vec": data["vectors"][i],
                "bucket": int(data["bucket"][i]),
                "cluster": int(data["cluster"][i]),
                "tag": f"t{data['tag'][i]:02d}",
                "meta": {"score": float(data["score"][i])},
            }
            for i in range(start, end)
        ]
        c.insert("docs", rows)
        if end <= N:
            c.flush("docs")  # two sealed, indexed segments; the last rows stay growing
    yield c
    c.close()


def _tags(count):
    return "[" + ", ".join(f'"t{i:02d}"' for i in range(count)) + "]"


# (selectivity, kind) -> (filter, the same selection in numpy)
FILTERS = {
    (0.5, "range"): ("bucket < 500", lambda d: d["bucket"] < 500),
    (0.1, "range"): ("100 <= bucket < 200", lambda d: (d["bucket"] >= 100) & (d["bucket"] < 200)),
    (0.01, "range"): ("bucket < 10", lambda d: d["bucket"] < 10),
    (0.001, "range"): ("bucket == 7", lambda d: d["bucket"] == 7),
    (0.5, "in"): (f"tag in {_tags(50)}", lambda d: d["tag"] < 50),
    (0.1, "in"): (f"tag in {_tags(10)}", lambda d: d["tag"] < 10),
    (0.01, "in"): ('tag in ["t42"]', lambda d: d["tag"] == 42),
    (0.001, "in"): ('tag == "t42" and bucket < 100',
                    lambda d: (d["tag"] == 42) & (d["bucket"] < 100)),
    (0.5, "json"): ('meta["score"] < 0.5', lambda d: d["score"] < 0.5),
    (0.1, "json"): ('meta["score"] >= 0.9', lambda d: d["score"] >= 0.9),
    (0.01, "json"): ('meta["score"] < 0.01', lambda d: d["score"] < 0.01),
    (0.001, "json"): ('meta["score"] < 0.001', lambda d: d["score"] < 0.001),
    (0.5, "compound"): ('bucket < 700 and meta["score"] > 0.3 or tag == "t00"',
                        lambda d: ((d["bucket"] < 700) & (d["score"] > 0.3)) | (d["tag"] == 0)),
    (0.1, "compound"): ("bucket < 200 and not (tag in [\"t00\", \"t01\"]) and bucket >= 100",
                        lambda d: (d["bucket"] >= 100) & (d["bucket"] < 200) & (d["tag"] > 1)),
    (0.01, "compound"): ('bucket < 100 and meta["score"] < 0.1',
                         lambda d: (d["bucket"] < 100) & (d["score"] < 0.1)),
    (0.001, "compound"): ('(bucket < 10 and meta["score"] < 0.1) or bucket == 999',
                          lambda d: ((d["bucket"] < 10) & (d["score"] < 0.1))
                          | (d["bucket"] == 999)),
    (0.5, "cluster"): ("cluster < 32", lambda d: d["cluster"] < 32),
    (0.1, "cluster"): ("cluster in [3, 9, 17, 21, 40, 55]",
                       lambda d: np.isin(d["cluster"], [3, 9, 17, 21, 40, 55])),
    (0.01, "cluster"): ("cluster == 5 and bucket < 640",
                        lambda d: (d["cluster"] == 5) & (d["bucket"] < 640)),
    (0.001, "cluster"): ("cluster == 5 and bucket < 64",
                         lambda d: (d["cluster"] == 5) & (d["bucket"] < 64)),
}  # fmt: skip


def _exact(data, allowed):
    ids = np.nonzero(allowed)[0]
    vectors = data["vectors"][ids]
    out = []
    for query in data["queries"]:
        distances = ((vectors - query) ** 2).sum(axis=1)
        order = np.argsort(distances, kind="stable")[:K]
        out.append(set(ids[order].tolist()))
    return out


@pytest.mark.parametrize(("selectivity", "kind"), list(FILTERS))
def test_filtered_search_recall(client, data, selectivity, kind):
    text, select = FILTERS[(selectivity, kind)]
    allowed = select(data)
    assert abs(allowed.mean() - selectivity) <= selectivity * 0.5 + 0.0005, allowed.mean()
    results = client.search("docs", data["queries"], filter=text, limit=K,
                            output_fields=["bucket"])  # fmt: skip
    expected = _exact(data, allowed)
    recalls = []
    for hits, truth in zip(results, expected):
        found = {hit["id"] for hit in hits}
        assert all(allowed[i] for i in found), f"{text}: a row outside the filter came back"
        assert len(found) == len(hits) == min(K, int(allowed.sum())), "missing qualifying rows"
        recalls.append(len(found & truth) / len(truth))
    recall = float(np.mean(recalls))
    print(f"\n{selectivity:>6} {kind:8} recall@10 {recall:.3f}  {text}")
    assert recall >= 0.95, f"{text}: recall@10 {recall:.3f}"
