"""Model registry: round trips, hash verification, aliases and their history, the event log."""

from __future__ import annotations

import json
import os
import time

import pytest

from keeldb.errors import CorruptionError, InvalidArgument, NotFound
from keeldb.lifecycle.events import EventLog
from keeldb.lifecycle.sentence_transformers import check_model_directory
from keeldb.storage import LocalFileSystem
from tests.lifecycle.helpers import register_hashing, reopen


def test_versions_are_numbered_and_survive_reopen(client, tmp_path):
    v1 = register_hashing(client, tmp_path, "enc", 16, seed=1)
    v2 = register_hashing(client, tmp_path, "enc", 16, seed=2, store=False)
    assert (v1.version, v2.version) == (1, 2)
    assert v1.artifact.mode == "stored" and v2.artifact.mode == "reference"
    client = reopen(client)
    try:
        lc = client.lifecycle
        assert [v.version for v in lc.registry.versions("enc")] == [1, 2]
        assert lc.model("enc").version == 2  # bare name = latest
        assert lc.model("enc:1") == v1
        assert lc.model("enc:1").description == "hashing encoder for tests"
        assert lc.encoder("enc:1").encode(["a b"]).shape == (1, 16)
    finally:
        client.close()


def test_stored_artifact_is_a_copy(client, tmp_path):
    v1 = register_hashing(client, tmp_path, "enc", 16)
    os.remove(tmp_path / "enc-16-0.json")  # the source may go away
    assert client.lifecycle.encoder(v1.ref).dim == 16


def test_tampered_stored_artifact_fails_verification(client, tmp_path):
    v1 = register_hashing(client, tmp_path, "enc", 16)
    path = client.lifecycle.registry.artifact_path(v1)
    (file,) = os.listdir(path)
    with open(os.path.join(path, file), "w") as f:
        json.dump({"dim": 16, "seed": 99}, f)
    with pytest.raises(CorruptionError, match="sha256"):
        client.lifecycle.encoder(v1.ref)


def test_tampered_referenced_artifact_fails_verification(client, tmp_path):
    v1 = register_hashing(client, tmp_path, "enc", 16, store=False)
    (tmp_path / "enc-16-0.json").write_text(json.dumps({"dim": 16, "seed": 7}))
    with pytest.raises(CorruptionError, match="enc-16-0.json"):
        client.lifecycle.encoder(v1.ref)


def test_missing_referenced_artifact_fails_verification(client, tmp_path):
    v1 = register_hashing(client, tmp_path, "enc", 16, store=False)
    os.remove(tmp_path / "enc-16-0.json")
    with pytest.raises(CorruptionError, match="missing"):
        client.lifecycle.encoder(v1.ref)


def test_bad_names_and_kinds_are_refused(client, tmp_path):
    with pytest.raises(InvalidArgument, match="model name"):
        register_hashing(client, tmp_path, "1bad name", 16)
    with pytest.raises(InvalidArgument, match="kind"):
        client.lifecycle.register_model(
            "m", str(tmp_path), kind="pickle", dim=4, metric="COSINE", normalize=True
        )
    with pytest.raises(NotFound, match="did you mean 'enc'"):
        register_hashing(client, tmp_path, "enc", 16)
        client.lifecycle.model("enx:1")


def test_alias_history_answers_what_pointed_where_when(client, tmp_path):
    lc = client.lifecycle
    for seed in (1, 2, 3):
        register_hashing(client, tmp_path, "enc", 16, seed=seed)
    before = time.time_ns() // 1_000_000 - 1
    first = lc.set_model_alias("enc", "champion", 1, reason="initial")
    time.sleep(0.01)
    second = lc.set_model_alias("enc", "champion", 2, reason="better ndcg")
    time.sleep(0.01)
    lc.set_model_alias("enc", "challenger", 3, reason="try it")
    assert lc.model("enc@champion").version == 2
    assert lc.model("enc@challenger").version == 3
    history = lc.registry.alias_history("enc", "champion")
    assert [(m.old, m.new, m.reason) for m in history] == [
        (None, 1, "initial"),
        (1, 2, "better ndcg"),
    ]
    reg = lc.registry
    assert reg.alias_at("enc", "champion", before) is None
    assert reg.alias_at("enc", "champion", first.time_ms) == 1
    assert reg.alias_at("enc", "champion", second.time_ms - 1) == 1
    assert reg.alias_at("enc", "champion", second.time_ms) == 2
    client = reopen(client)
    try:
        assert client.lifecycle.registry.alias_at("enc", "champion", second.time_ms - 1) == 1
        assert client.lifecycle.registry.aliases("enc") == {"champion": 2, "challenger": 3}
    finally:
        client.close()


def test_alias_to_unknown_version_is_refused(client, tmp_path):
    register_hashing(client, tmp_path, "enc", 16)
    with pytest.raises(NotFound, match="no version 5"):
        client.lifecycle.set_model_alias("enc", "champion", 5)
    with pytest.raises(NotFound, match="not set"):
        client.lifecycle.model("enc@champion")


def test_event_log_cuts_a_torn_tail_and_refuses_middle_corruption(tmp_path):
    fs = LocalFileSystem()
    path = str(tmp_path / "events.log")
    log = EventLog(fs, path)
    for i in range(3):
        log.append("thing", n=i)
    log.close()
    with open(path, "ab") as f:
        f.write(b'{"crc32":1,"body":{"seq":4')  # a crash mid-append
    reread = EventLog(fs, path)
    assert [e["n"] for e in reread.events] == [0, 1, 2]
    reread.append("thing", n=3)
    reread.close()
    assert [e["seq"] for e in EventLog(fs, path).events] == [1, 2, 3, 4]
    with open(path, "rb") as f:
        data = bytearray(f.read())
    data[data.index(b'"n":1') + 4] = ord("7")  # flip a byte in the second line
    with open(path, "wb") as f:
        f.write(bytes(data))
    with pytest.raises(CorruptionError, match="line 2"):
        EventLog(fs, path)


def test_model_directories_with_code_or_pickles_are_refused(tmp_path):
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text("{}")
    with pytest.raises(InvalidArgument, match="safetensors"):
        check_model_directory(str(model))
    (model / "model.safetensors").write_bytes(b"x")
    check_model_directory(str(model))
    (model / "pytorch_model.bin").write_bytes(b"x")
    with pytest.raises(InvalidArgument, match="pickled"):
        check_model_directory(str(model))
    os.remove(model / "pytorch_model.bin")
    (model / "config.json").write_text(json.dumps({"auto_map": {"AutoModel": "x.Y"}}))
    with pytest.raises(InvalidArgument, match="remote code"):
        check_model_directory(str(model))
    (model / "config.json").write_text("{}")
    (model / "modeling_evil.py").write_text("import os")
    with pytest.raises(InvalidArgument, match="never runs model code"):
        check_model_directory(str(model))
