"""Versioned collections and re-embedding: completion, dual writes during the job,
stop/resume, and resume after the process is killed with SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest

import keeldb
from keeldb.errors import DataError
from tests.lifecycle.helpers import SETTINGS, SlowEncoder, register_hashing, text_schema, word_rows

N = 400


def _setup(client, tmp_path):
    register_hashing(client, tmp_path, "enc-a", 16, seed=1)
    register_hashing(client, tmp_path, "enc-b", 24, seed=2)
    client.lifecycle.create_versioned_collection("docs", "enc-a:1", text_schema(8))
    client.insert("docs", word_rows(N))


def _contents(client, physical):
    rows = client.query(
        physical, filter="id >= 0", output_fields=["id", "text", "section", "vector"]
    )
    return {r["id"]: r for r in rows}


def _assert_versions_agree(client, lc):
    champion = _contents(client, "docs__enc_a_1")
    challenger = _contents(client, "docs__enc_b_1")
    assert sorted(champion) == sorted(challenger)
    for key, row in champion.items():
        assert challenger[key]["text"] == row["text"]
        assert challenger[key]["section"] == row["section"]
    keys = sorted(challenger)
    expected = lc.encoder("enc-b:1").encode([challenger[k]["text"] for k in keys])
    got = np.asarray([challenger[k]["vector"] for k in keys])
    np.testing.assert_allclose(got, expected, atol=1e-5)  # no stale vector survived


def test_versioned_collection_serves_through_its_alias(client, tmp_path):
    _setup(client, tmp_path)
    assert client.describe_alias("docs")["collection_name"] == "docs__enc_a_1"
    text = word_rows(1, 11)[0]["text"]
    assert client.search("docs", data=[text], limit=1)[0][0]["id"] == 11
    with pytest.raises(DataError, match="makes its vectors from 'text'"):
        client.insert("docs", [{"id": 1, "text": "x", "section": "a", "vector": [0.0] * 8}])


def test_reembed_builds_a_complete_challenger(client, tmp_path):
    _setup(client, tmp_path)
    lc = client.lifecycle
    job = lc.start_reembed("docs", "enc-b:1", batch_size=64)
    status = job.wait(60)
    assert status["state"] == "done" and status["rows_done"] == N and status["rows_total"] == N
    assert lc.versioned.require("default", "docs").versions["docs__enc_b_1"].build == "ready"
    _assert_versions_agree(client, lc)
    text = word_rows(1, 11)[0]["text"]
    assert client.search("docs__enc_b_1", data=[text], limit=1)[0][0]["id"] == 11


def test_writes_during_the_job_reach_the_challenger(client, tmp_path):
    _setup(client, tmp_path)
    lc = client.lifecycle
    lc.encoders.put(lc.model("enc-b:1"), SlowEncoder(24, 2, delay_s=0.03))
    job = lc.start_reembed("docs", "enc-b:1", batch_size=20)

    steps = []

    def writer():
        step = 0
        while job.alive and step < 200:
            key = (step * 37) % N
            client.upsert("docs", [{"id": key, "text": f"changed {step} golf", "section": "z"}])
            client.insert(
                "docs", [{"id": 10_000 + step, "text": f"new row {step}", "section": "n"}]
            )
            if step % 5 == 0:
                client.delete("docs", ids=[(step * 11) % N])
            step += 1
        steps.append(step)

    thread = threading.Thread(target=writer)
    thread.start()
    status = job.wait(120)
    thread.join()
    assert status["state"] == "done"
    assert steps[0] >= 3  # the writes overlapped the job
    _assert_versions_agree(client, lc)
    client.upsert("docs", [{"id": 3, "text": "after the job", "section": "q"}])
    client.delete("docs", filter="section == 'n'")
    _assert_versions_agree(client, lc)


def test_a_stopped_job_resumes_from_its_checkpoint(client, tmp_path):
    _setup(client, tmp_path)
    lc = client.lifecycle
    lc.encoders.put(lc.model("enc-b:1"), SlowEncoder(24, 2, delay_s=0.05))
    job = lc.start_reembed("docs", "enc-b:1", batch_size=25)
    while job.status()["rows_done"] < 50:
        job.wait(0.02)
    job.stop()
    stopped = job.status()
    assert stopped["state"] == "stopped" and 50 <= stopped["rows_done"] < N
    path = client.path
    client.close()
    with keeldb.Client(path, settings=SETTINGS) as reopened:
        lc = reopened.lifecycle
        assert lc.versioned.require("default", "docs").versions["docs__enc_b_1"].build == "building"
        resumed = lc.start_reembed("docs", "enc-b:1", batch_size=25)
        assert resumed.job_id == job.job_id
        assert resumed.resumed_from == stopped["last_pk"]
        assert resumed.wait(60)["state"] == "done"
        _assert_versions_agree(reopened, lc)


_CHILD = textwrap.dedent(
    """
    import sys, time
    import keeldb
    from tests.lifecycle.helpers import SETTINGS, SlowEncoder
    client = keeldb.Client(sys.argv[1], settings=SETTINGS)
    lc = client.lifecycle
    lc.encoders.put(lc.model("enc-b:1"), SlowEncoder(24, 2, delay_s=0.05))
    job = lc.start_reembed("docs", "enc-b:1", batch_size=20)
    while job.status()["rows_done"] < 100:
        time.sleep(0.01)
    print("checkpointed", job.status()["last_pk"], flush=True)
    time.sleep(60)
    """
)


def test_a_killed_job_resumes_after_restart(client, tmp_path):
    _setup(client, tmp_path)
    path = client.path
    client.close()
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, path], cwd=root, stdout=subprocess.PIPE, text=True
    )
    try:
        line = child.stdout.readline()
        assert line.startswith("checkpointed"), line
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    with keeldb.Client(path, settings=SETTINGS) as reopened:
        lc = reopened.lifecycle
        job = lc.start_reembed("docs", "enc-b:1", batch_size=50)
        assert job.resumed_from is not None and job.resumed_from >= int(line.split()[1])
        assert job.status()["rows_done"] >= 100
        assert job.wait(60)["state"] == "done"
        _assert_versions_agree(reopened, lc)
