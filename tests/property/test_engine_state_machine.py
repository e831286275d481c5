"""Random insert / upsert / delete / flush / compact / reopen sequences vs a dict model.

After every step: the row count, exact ``get`` and ``query`` results and no
duplicate keys match the model, and search agrees with brute force over the
model (FLAT indexes on sealed segments, exact search on growing data, so the
top-k must match exactly up to ties).
"""

from __future__ import annotations

import os
import shutil
import tempfile

import numpy as np
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

import keeldb

DIM = 4
KEYS = st.integers(min_value=0, max_value=60)
SETTINGS = keeldb.Settings(
    background_index_build=False, index_min_rows=5, memtable_max_rows=40, compaction_small_rows=30
)


def vector(draw_value: int, version: int) -> list[float]:
    rng = np.random.default_rng(draw_value * 1000 + version)
    return rng.normal(size=DIM).astype(np.float32).tolist()


class EngineMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = tempfile.mkdtemp(prefix="keel-sm-")
        self.client = self._open()
        params = self.client.prepare_index_params()
        params.add_index("vector", index_type="FLAT", metric_type="L2")
        schema = keeldb.Client.create_schema(enable_dynamic_field=False)
        schema.add_field("id", keeldb.DataType.INT64, is_primary=True)
        schema.add_field("vector", keeldb.DataType.FLOAT_VECTOR, dim=DIM)
        schema.add_field("version", keeldb.DataType.INT64)
        self.client.create_collection("sm", schema=schema, index_params=params)
        self.model: dict[int, tuple[list[float], int]] = {}
        self.version = 0

    def _open(self) -> keeldb.Client:
        return keeldb.Client(self.dir, settings=SETTINGS)

    def _rows(self, keys: list[int]) -> list[dict]:
        self.version += 1
        return [{"id": k, "vector": vector(k, self.version), "version": self.version} for k in keys]

    @rule(keys=st.lists(KEYS, min_size=1, max_size=12, unique=True), upsert=st.booleans())
    def write(self, keys: list[int], upsert: bool) -> None:
        rows = self._rows(keys)
        (self.client.upsert if upsert else self.client.insert)("sm", rows)
        for r in rows:
            self.model[r["id"]] = (r["vector"], r["version"])

    @rule(keys=st.lists(KEYS, min_size=1, max_size=8))
    def delete_ids(self, keys: list[int]) -> None:
        result = self.client.delete("sm", ids=keys)
        assert result["delete_count"] == len(keys)  # Milvus counts the keys named
        for k in keys:
            self.model.pop(k, None)

    @rule(low=KEYS, width=st.integers(0, 10))
    def delete_filter(self, low: int, width: int) -> None:
        result = self.client.delete("sm", filter=f"id >= {low} and id < {low + width}")
        doomed = [k for k in self.model if low <= k < low + width]
        assert result["delete_count"] == len(doomed)
        for k in doomed:
            del self.model[k]

    @rule()
    def flush(self) -> None:
        self.client.flush("sm")

    @rule()
    def compact(self) -> None:
        self.client.compact("sm")

    @rule()
    def reopen(self) -> None:
        self.client.close()
        self.client = self._open()

    @invariant()
    def matches_model(self) -> None:
        c = self.client
        assert c.get_collection_stats("sm")["row_count"] == len(self.model)
        rows = c.query("sm", filter="id >= 0", output_fields=["version"], limit=1000)
        assert [r["id"] for r in rows] == sorted(self.model)
        assert all(r["version"] == self.model[r["id"]][1] for r in rows)
        keys = sorted(self.model)[:5] + [999]
        got = c.get("sm", ids=keys, output_fields=["vector"])
        assert sorted(r["id"] for r in got) == sorted(self.model)[:5]
        for r in got:
            np.testing.assert_allclose(r["vector"], self.model[r["id"]][0], rtol=1e-6)

    @invariant()
    def search_matches_brute_force(self) -> None:
        if not self.model:
            assert self.client.search("sm", data=[[0.0] * DIM], limit=3) == [[]]
            return
        q = np.array(vector(7, -1), dtype=np.float32)
        keys = np.array(sorted(self.model))
        vecs = np.array([self.model[k][0] for k in keys], dtype=np.float32)
        dist = ((vecs - q) ** 2).sum(axis=1)
        k = min(5, len(keys))
        expected = np.sort(dist)[:k]
        hits = self.client.search("sm", data=[q], limit=5)[0]
        assert len(hits) == k
        np.testing.assert_allclose([h["distance"] for h in hits], expected, rtol=1e-4, atol=1e-5)
        assert len({h["id"] for h in hits}) == k

    def teardown(self) -> None:
        self.client.close()
        shutil.rmtree(self.dir, ignore_errors=True)


EngineMachine.TestCase.settings = settings(
    max_examples=int(os.environ.get("KEEL_SM_EXAMPLES", "60")),
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestEngineStateMachine = EngineMachine.TestCase
