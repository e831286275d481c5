"""Brute-force references for search tests: a tiny collection builder and exact scoring."""

from __future__ import annotations

import numpy as np

import keeldb
from keeldb import DataType

DIM = 16
GROUPS = 25


def make_collection(client, name, metric, index_type="FLAT", params=None, rows=900, seed=7):
    """A collection with a sealed segment (indexed) and growing rows; returns (vectors, grp, tag).

    ``grp`` takes skewed values (some groups hold one row) so grouping has short groups.
    """
    schema = keeldb.Client.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=DIM)
    schema.add_field("grp", DataType.INT64)
    schema.add_field("tag", DataType.VARCHAR, max_length=8)
    index = client.prepare_index_params()
    index.add_index("vector", index_type=index_type, metric_type=metric, params=params or {})
    client.create_collection(name, schema=schema, index_params=index)
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(12, DIM)) * 2
    vectors = (centres[rng.integers(0, 12, rows)] + rng.normal(size=(rows, DIM))).astype(np.float32)
    grp = np.minimum(rng.geometric(0.15, rows), GROUPS)  # skewed sizes, a long tail
    tag = np.array(["a", "b", "c"])[rng.integers(0, 3, rows)]
    data = [
        {"id": i, "vector": vectors[i], "grp": int(grp[i]), "tag": str(tag[i])} for i in range(rows)
    ]
    sealed = rows * 2 // 3
    client.insert(name, data[:sealed])
    client.flush(name)
    client.insert(name, data[sealed:])  # stays in the growing segment
    client.delete(name, ids=[1, 2, 3])
    alive = np.ones(rows, dtype=bool)
    alive[[1, 2, 3]] = False
    return vectors, grp, tag, alive


def scores(vectors, query, metric):
    v = vectors.astype(np.float64)
    q = np.asarray(query, dtype=np.float64)
    if metric == "L2":
        return ((v - q) ** 2).sum(axis=1)
    if metric == "COSINE":
        v = v / np.linalg.norm(v, axis=1, keepdims=True)
        q = q / np.linalg.norm(q)
    return v @ q


def ranked(vectors, query, metric, allowed):
    """Row ids of ``allowed`` rows, best first, and all scores."""
    s = scores(vectors, query, metric)
    rows = np.flatnonzero(allowed)
    key = s[rows] if metric == "L2" else -s[rows]
    return rows[np.argsort(key, kind="stable")], s


def in_range(s, metric, radius, range_filter=None):
    if metric == "L2":
        ok = s < radius
        return ok if range_filter is None else ok & (s >= range_filter)
    ok = s > radius
    return ok if range_filter is None else ok & (s <= range_filter)
