"""AUTOINDEX tuned to a recall target, tune_index and estimate_recall through keeldb.Client."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import keeldb
from keeldb import DataType
from keeldb.engine.query_sample import EVERY, MIN_FOR_TUNING
from keeldb.errors import FailedPrecondition, IndexNotFound, IndexParamError, InvalidArgument
from keeldb.index.recall import recall_of, sample_queries
from tests.conftest import TEST_SETTINGS

DIM = 24


def vectors(n=6000, seed=3):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(50, DIM)) * 2.5
    return (centres[rng.integers(0, 50, n)] + rng.normal(size=(n, DIM))).astype(np.float32)


def make(client, index_type="AUTOINDEX", params=None, metric="L2", rows=5000, flush=True):
    schema = keeldb.Client.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=DIM)
    index = client.prepare_index_params()
    index.add_index("vector", index_type=index_type, metric_type=metric, params=params or {})
    client.create_collection("t", schema=schema, index_params=index)
    data = vectors()
    client.insert("t", [{"id": i, "vector": data[i]} for i in range(rows)])
    if flush:
        client.flush("t")
    return data


def brute_force_recall(client, data, alive_rows, metric="L2", seed=999, **search):
    queries = sample_queries(data[alive_rows], 200, seed=seed)
    hits = client.search("t", queries, limit=10, **search)
    base = data[alive_rows]
    d = ((queries[:, None, :] - base[None, :, :]) ** 2).sum(-1)
    truth = [alive_rows[np.argsort(row)[:10]].tolist() for row in d]
    return recall_of([[h["id"] for h in q] for q in hits], truth).mean()


def test_autoindex_with_a_recall_target_tunes_itself(client):
    data = make(client, params={"recall": 0.95})
    info = client.describe_index("t", "vector")
    assert info["index_type"] == "AUTOINDEX" and info["recall"] == "0.95"
    tuned = info["tuned_params"]
    assert tuned["index_type"] in ("HNSW", "IVF_FLAT", "FLAT") and "search" in tuned
    assert info["measured_recall"] >= 0.95
    low, high = info["recall_ci"]
    assert 0.95 <= low <= info["measured_recall"] <= high <= 1.0
    assert info["tuned_rows"] == 5000 and info["state"] == "Finished"
    # searches that give no search params use the tuned ones, and reach the target
    assert brute_force_recall(client, data, np.arange(5000)) >= 0.93
    estimate = client.estimate_recall("t")
    assert set(estimate["params"]) == set(tuned["search"])
    assert estimate["recall"] >= 0.93 and estimate["queries"] == 200


def test_tuning_survives_reopen_and_recreate(data_dir):
    with keeldb.Client(data_dir, settings=TEST_SETTINGS) as client:
        make(client, params={"recall": 0.9})
        before = client.describe_index("t", "vector")
        index = client.prepare_index_params()
        index.add_index("vector", index_type="AUTOINDEX", metric_type="L2",
                        params={"recall": 0.9, "tuned_params": {"index_type": "FLAT"}})  # fmt: skip
        client.create_index("t", index)  # same definition: a no-op, tuning kept
        assert client.describe_index("t", "vector") == before
    with keeldb.Client(data_dir, settings=TEST_SETTINGS) as client:
        assert client.describe_index("t", "vector")["tuned_params"] == before["tuned_params"]


def test_tune_index_on_a_fixed_type_keeps_its_build(client):
    data = make(client, "HNSW", {"M": 8, "efConstruction": 32})
    low = client.tune_index("t", "vector", recall=0.8)
    high = client.tune_index("t", "vector", recall=0.99)
    assert high["met"] and high["measured_recall"] >= 0.99
    assert high["tuned_params"]["build"] == {"M": 8, "efConstruction": 32}
    assert high["tuned_params"]["search"]["ef"] >= low["tuned_params"]["search"]["ef"]
    info = client.describe_index("t", "vector")
    assert info["index_type"] == "HNSW" and info["M"] == "8" and info["recall"] == "0.99"
    assert brute_force_recall(client, data, np.arange(5000)) >= 0.97
    # an explicit search param still wins over the tuned default
    assert client.estimate_recall("t", search_params={"params": {"ef": 12}})["params"] == {"ef": 12}


def test_a_tuning_that_changes_the_build_rebuilds_segments(client):
    make(client, params={"recall": 0.9})
    engine = client._engine
    entry, coll = engine.collection("default", "t")
    spec = entry.indexes["vector"]
    switched = {"index_type": "IVF_FLAT", "build": {"nlist": 32}, "search": {"nprobe": 8}}
    params = {**spec.params, "tuned_params": switched}
    assert engine.store_tuning(coll, dataclasses.replace(spec, params=params))
    segment = coll.sealed[0]
    assert segment.indexes["vector"].index_type == "IVF_FLAT"
    assert segment.index_files["vector"]["params"] == {"nlist": 32}
    assert client.estimate_recall("t")["params"] == {"nprobe": 8}
    stale = dataclasses.replace(spec, params={"recall": 0.5})  # a spec that is not current
    assert not engine.store_tuning(coll, dataclasses.replace(stale, index_type="HNSW"))


def test_background_builder_tunes_after_building(data_dir):
    settings = dataclasses.replace(TEST_SETTINGS, background_index_build=True)
    with keeldb.Client(data_dir, settings=settings) as client:
        make(client, params={"recall": 0.9})
        assert client.wait_for_index("t", timeout=120)
        info = client.describe_index("t", "vector")
        assert info["measured_recall"] >= 0.9 and info["tuned_rows"] == 5000


def test_estimate_recall_sees_deletes_and_growing_rows(client):
    data = make(client, "HNSW", {"M": 4, "efConstruction": 8})
    client.insert("t", [{"id": i, "vector": data[i]} for i in range(5000, 6000)])  # growing
    client.delete("t", ids=list(range(0, 5000, 2)))
    weak = client.estimate_recall("t", k=10, queries=100, search_params={"ef": 10})
    strong = client.estimate_recall("t", k=10, queries=100, search_params={"ef": 400})
    assert weak["recall"] < strong["recall"] and strong["recall"] >= 0.97
    assert weak["ci"][0] <= weak["recall"] <= weak["ci"][1]
    assert weak["queries"] == 100 and weak["k"] == 10 and weak["params"] == {"ef": 10}
    filtered = client.estimate_recall("t", queries=50, filter="id > 5500")
    assert filtered["recall"] == 1.0  # few rows pass: exact search


def test_estimate_recall_on_flat_is_one(client):
    make(client, "FLAT", rows=3000, flush=False)
    result = client.estimate_recall("t", queries=50)
    assert result["recall"] == 1.0 and result["queries"] == 50


def test_tuning_errors(client):
    make(client, "HNSW", {"M": 8}, rows=100, flush=False)
    with pytest.raises(IndexNotFound):
        client.tune_index("t", "nope")
    with pytest.raises(IndexParamError, match="recall target"):
        client.tune_index("t", "vector", recall=1.5)
    with pytest.raises(FailedPrecondition, match="enough rows"):
        client.tune_index("t", "vector", recall=0.9)  # no sealed segment yet
    with pytest.raises(InvalidArgument, match="queries"):
        client.estimate_recall("t", queries=0)


def test_tune_and_estimate_on_given_queries(client):
    data = make(client, "HNSW", {"M": 8, "efConstruction": 32})
    real = sample_queries(data, 60, seed=42, noise=0.3)
    tuned = client.tune_index("t", "vector", recall=0.9, query_vectors=real)
    assert tuned["tuned_queries"] == 60 and tuned["met"]
    estimate = client.estimate_recall("t", query_vectors=real)
    assert estimate["queries"] == 60 and estimate["recall"] >= 0.9
    with pytest.raises(InvalidArgument, match="query_vectors"):
        client.estimate_recall("t", query_vectors=[])


def test_tuning_moves_to_recorded_queries_once_enough_are_seen(client):
    data = make(client, params={"recall": 0.9})
    first = client.describe_index("t", "vector")
    assert first["tuned_on"] == "sampled" and first["tuned_queries"] == 500
    assert client.estimate_recall("t", queries=50)["queries_from"] == "sampled"
    real = sample_queries(data, 2000, seed=7, noise=0.2)
    searches = EVERY * MIN_FOR_TUNING  # batch-1 searches until the sample is large enough
    for q in real[: searches - 1]:
        client.search("t", [q], limit=10)
    assert client.describe_index("t", "vector")["tuned_on"] == "sampled"
    client.search("t", [real[searches - 1]], limit=10)  # this one completes the sample
    # the builder re-tuned on the recorded queries (inline here: background builds are off)
    retuned = client.describe_index("t", "vector")
    assert retuned["tuned_on"] == "recorded" and retuned["tuned_queries"] == MIN_FOR_TUNING
    assert retuned["measured_recall"] >= 0.9 and retuned["recall_ci"][0] >= 0.9
    recorded = np.stack(real[EVERY - 1 : searches : EVERY])
    with_them = client.estimate_recall("t", query_vectors=recorded)
    assert with_them["queries_from"] == "given"
    by_default = client.estimate_recall("t", queries=100)
    assert by_default["queries_from"] == "recorded" and by_default["queries"] == 100
    # more searches do not re-tune again: only growth of the data does
    for q in real[searches : searches + 2 * EVERY * 10]:
        client.search("t", [q], limit=10)
    assert client.describe_index("t", "vector")["tuned_params"] == retuned["tuned_params"]
    # tune_index without query vectors now measures on the recorded ones too
    assert client.tune_index("t", "vector", recall=0.95)["tuned_on"] == "recorded"


def test_binary_and_sparse_searches_record_nothing(client):
    schema = keeldb.Client.create_schema(auto_id=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("bits", DataType.BINARY_VECTOR, dim=16)
    client.create_collection("b", schema=schema)
    client.insert("b", [{"id": i, "bits": bytes([i, 255 - i])} for i in range(20)])
    index = client.prepare_index_params()
    index.add_index("bits", index_type="BIN_FLAT", metric_type="HAMMING")
    client.create_index("b", index)
    client.load_collection("b")
    for i in range(2 * EVERY):
        assert client.search("b", [bytes([i, i])], limit=3)[0]
    _, coll = client._engine.collection("default", "b")
    assert coll.query_samples == {}
