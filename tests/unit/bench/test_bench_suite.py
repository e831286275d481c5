"""The cross-system suite (bench.suite): recall arithmetic, filters, aggregation, and a smoke run.

The smoke run drives every adapter through ``python -m bench run --dataset smoke``
(2,000 vectors, 50 queries, one repeat, each phase in its own process) and checks
what the suite would report: row counts after reopen, recall near 1 where the
search is exact or the graph is searched with a large ef, filtered answers that
respect the filter, concurrency figures for the served systems, and the report
files. About 40 s; it is the only test here that starts processes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bench.suite import datasets, measure, report
from bench.suite.adapters import ALL
from bench.suite.adapters.chroma import Chroma
from bench.suite.adapters.lance import LanceDB
from bench.suite.datasets import FilterSpec
from bench.suite.recall import recall_tied
from bench.suite.runner import aggregate

REPO = Path(__file__).resolve().parents[3]

# -- tie-aware recall ------------------------------------------------------------------------


def _line(*xs: float) -> np.ndarray:
    return np.array([[x] for x in xs], dtype=np.float32)


def test_recall_tied_counts_an_equally_close_row_as_correct():
    base = _line(0.0, 1.0, 1.0, 5.0)  # rows 1 and 2 are duplicates
    truth = np.array([[0, 1]])
    q = _line(0.0)
    assert recall_tied([[0, 2]], truth, base, q, 2) == 1.0
    assert recall_tied([[0, 3]], truth, base, q, 2) == pytest.approx(0.5)


def test_recall_tied_ignores_padding_duplicates_and_results_beyond_k():
    base = _line(0.0, 1.0, 2.0, 3.0)
    q = _line(0.0)
    assert recall_tied([[0, 0, 1]], np.array([[0, 1]]), base, q, 2) == pytest.approx(0.5)
    assert recall_tied([[3, 2, 0]], np.array([[0, 1]]), base, q, 2) == 0.0
    assert recall_tied([[-1, 0]], np.array([[0, -1]]), base, q, 2) == 1.0
    assert recall_tied([[]], np.array([[0, 1]]), base, q, 2) == 0.0


def test_recall_tied_skips_queries_with_no_true_neighbour():
    base = _line(0.0, 1.0)
    truth = np.array([[-1, -1], [0, 1]])
    assert recall_tied([[0, 1], [1, 0]], truth, base, _line(0.0, 0.0), 2) == 1.0
    with pytest.raises(ValueError):
        recall_tied([[0]], truth, base, _line(0.0, 0.0), 2)


def test_recall_tied_uses_true_distances_not_the_systems():
    # row 2 is farther than the k-th neighbour: it never counts, whatever a system claims
    base = _line(0.0, 1.0, 1.5)
    assert recall_tied([[0, 2]], np.array([[0, 1]]), base, _line(0.0), 2) == pytest.approx(0.5)


# -- filters and their per-system forms -------------------------------------------------------

EQ = FilterSpec("1pct", "section", "eq", value="libs")
RANGE = FilterSpec("0.1pct", "installed_size", "range", lo=1000, hi=1010)


def test_filter_masks_and_milvus_expressions():
    assert EQ.mask(np.array(["libs", "doc", "libs"])).tolist() == [True, False, True]
    assert RANGE.mask(np.array([999, 1000, 1009, 1010])).tolist() == [False, True, True, False]
    assert EQ.milvus_expr() == 'section == "libs"'
    assert RANGE.milvus_expr() == "installed_size >= 1000 and installed_size < 1010"


def test_filter_forms_of_chroma_and_lancedb():
    assert Chroma._where(EQ) == {"section": "libs"}
    assert Chroma._where(RANGE) == {
        "$and": [{"installed_size": {"$gte": 1000}}, {"installed_size": {"$lt": 1010}}]
    }
    assert LanceDB._sql(EQ) == "section = 'libs'"
    assert LanceDB._sql(RANGE) == "installed_size >= 1000 AND installed_size < 1010"


def test_dataset_ground_truth_is_exact(tmp_path):
    datasets.build("smoke", tmp_path, rows=300, queries=7)
    data = datasets.load(tmp_path)
    base = np.asarray(data.vectors, dtype=np.float64)
    for qi, q in enumerate(data.queries):
        d = ((base - q) ** 2).sum(axis=1)
        assert sorted(d[data.truth[qi]]) == pytest.approx(np.sort(d)[:10])
    for spec in data.filters:
        mask = data.filter_mask(spec)
        got = data.filtered_truth[spec.name]
        assert set(got[got >= 0].tolist()) <= set(np.flatnonzero(mask).tolist())
        assert (got[0] >= 0).sum() == min(10, int(mask.sum()))


# -- aggregation and report -------------------------------------------------------------------


def test_aggregate_takes_median_min_max_through_nesting():
    runs = [{"a": 3, "b": [{"x": 1.0}], "s": "hnsw"}, {"a": 1, "b": [{"x": 5.0}], "s": "hnsw"},
            {"a": 2, "b": [{"x": 2.0}], "s": "hnsw"}]  # fmt: skip
    agg = aggregate(runs)
    assert agg["a"] == {"median": 2.0, "min": 1.0, "max": 3.0}
    assert agg["b"][0]["x"] == {"median": 2.0, "min": 1.0, "max": 5.0}
    assert agg["s"] == "hnsw"
    assert aggregate([1.0, 4.0])["median"] == 2.5


def test_qps_at_picks_the_first_point_reaching_the_target():
    def pt(param, recall, qps):
        return {"param": param, "batch1": {"recall": {"median": recall}, "qps": {"median": qps}}}

    # ef=128 came out faster than ef=64 by chance: the first point reaching the target counts
    sweep = [pt(10, 0.90, 900), pt(32, 0.96, 500), pt(64, 0.995, 300), pt(128, 0.997, 400)]
    assert report.qps_at(sweep, "batch1", 0.95)["param"] == 32
    assert report.qps_at(sweep, "batch1", 0.99)["param"] == 64
    assert report.qps_at(sweep, "batch1", 0.999) is None


def test_a_time_budget_stops_a_slow_filtered_point_after_at_least_ten_queries(monkeypatch):
    clock = [0.0]
    monkeypatch.setattr(measure.time, "perf_counter", lambda: clock[0])

    def slow(queries):  # 1 "second" a query, always the rows 0..9
        clock[0] += 1.0
        return [list(range(10))] * len(queries)

    queries = np.zeros((100, 2), dtype=np.float32)
    truth = np.tile(np.arange(10), (100, 1))
    base = np.zeros((10, 2), dtype=np.float32)
    p = measure.point(slow, queries, truth, base, "batch1", budget_s=3.0)
    assert p["queries"] == measure.MIN_BUDGET_QUERIES and p["budget_stopped"]
    assert p["recall"] == 1.0 and p["qps"] == pytest.approx(1.0)
    assert p["first_ms"] == pytest.approx(1000.0)  # the first warm-up call, timed apart
    p = measure.point(slow, queries, truth, base, "batch1", budget_s=40.0)
    assert p["queries"] == 41 and p["budget_stopped"]
    p = measure.point(slow, queries[:20], truth, base, "batch1", budget_s=None)
    assert p["queries"] == 20 and not p["budget_stopped"]
    cell = report._filtered_cell({"recall": 1.0, "qps": 0.8, "queries": 12, "budget_stopped": True})
    assert cell == "1.000 / 0.8 (12 queries)"


# -- smoke: every adapter, end to end, in fresh processes --------------------------------------

#: recall@10 floors at the largest search parameter on 2,000 rows: exact or near-exact
#: for every system; LanceDB's graph holds 8-bit quantised vectors, so a bit lower.
RECALL_FLOOR = {"lancedb": 0.9}


@pytest.fixture(scope="module")
def smoke(tmp_path_factory) -> dict:
    tmp = tmp_path_factory.mktemp("bench-smoke")
    out = tmp / "smoke.json"
    env = dict(os.environ, KEEL_BENCH_CACHE=str(tmp / "cache"))
    cmd = [sys.executable, "-m", "bench", "run", "--dataset", "smoke", "--systems", "all",
           "--repeats", "1", "--concurrent-s", "0.3", "--work", str(tmp / "work"),
           "--out", str(out)]  # fmt: skip
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert out.exists(), proc.stderr[-3000:]
    result = json.loads(out.read_text())
    result["_dir"] = str(tmp)
    return result


def test_smoke_runs_every_adapter_without_error(smoke):
    assert smoke["errors"] == {}
    assert sorted(smoke["systems"]) == sorted(ALL)


@pytest.mark.parametrize("system", ALL)
def test_smoke_counts_and_recall(smoke, system):
    run = smoke["systems"][system]["runs"][0]
    rows = smoke["dataset"]["rows"]
    assert rows == 2000
    assert run["search"]["rows_seen"] == rows
    assert run["search"]["reopen"]["first_hits"] == 10
    assert run["ingest"]["rows_per_s"] > 0 and run["ingest"]["disk_bytes"] > 0
    assert run["search"]["peak_rss_bytes"] > 0
    best = run["search"]["sweep"][-1]
    floor = RECALL_FLOOR.get(system, 0.99)
    for mode in ("batch1", "batch100"):
        assert best[mode]["recall"] >= floor, (system, mode, best[mode])
        assert best[mode]["short_results"] == 0


def test_smoke_filtered_answers_respect_the_filter(smoke):
    # exact-answering systems must be exact under every filter
    for system in ("keeldb", "keeldb-server", "qdrant"):
        for name, points in smoke["systems"][system]["runs"][0]["search"]["filtered"].items():
            assert all(p["recall"] == 1.0 for p in points), (system, name, points)


def test_smoke_concurrency_only_for_served_systems(smoke):
    for s in smoke["systems"].values():
        conc = s["runs"][0]["search"]["concurrent"]
        if s["served"]:
            assert [c["clients"] for c in conc] == [1, 4, 16]
            assert all(c["queries"] > 0 for c in conc)
        else:
            assert conc == []


def test_smoke_writes_markdown_and_plot(smoke):
    tmp = Path(smoke["_dir"])
    md = (tmp / "smoke.md").read_text()
    assert "keeldb (embedded) vs each peer" in md
    for system in ALL:
        assert f"| {system} |" in md
    assert (tmp / "smoke-recall-qps.png").stat().st_size > 10_000
