"""Registry and parameter validation: index types, metrics, build and search params."""

from __future__ import annotations

import builtins

import numpy as np
import pytest

from keeldb.errors import FailedPrecondition, IndexParamError, InvalidArgument
from keeldb.index import (
    AUTOINDEX_PARAMS,
    SUPPORTED_INDEX_TYPES,
    create_index,
    normalize_index_params,
    resolve_index_type,
    validate_search_params,
)
from keeldb.types import MetricType


def test_supported_types():
    assert set(SUPPORTED_INDEX_TYPES) >= {
        "FLAT", "HNSW", "IVF_FLAT", "IVF_SQ8", "IVF_PQ", "ANNOY", "HNSW_SQ", "HNSW_PQ", "SCANN",
    }  # fmt: skip


@pytest.mark.parametrize("name", ["AUTOINDEX", "autoindex", "", None])
def test_autoindex_resolves_to_hnsw_with_milvus_defaults(name):
    assert resolve_index_type(name) == "HNSW"
    index = create_index(name, "COSINE", 8)
    assert index.index_type == "HNSW"
    assert index.params == AUTOINDEX_PARAMS == {"M": 18, "efConstruction": 240}


def test_autoindex_params_can_be_overridden():
    assert normalize_index_params("AUTOINDEX", 8, {"M": 8}) == (
        "HNSW",
        {"M": 8, "efConstruction": 240},
    )


@pytest.mark.parametrize(
    ("index_type", "params", "expected"),
    [
        ("FLAT", None, {}),
        ("hnsw", None, {"M": 30, "efConstruction": 360}),
        ("HNSW", {"M": "16", "efConstruction": 200}, {"M": 16, "efConstruction": 200}),
        ("HNSW", {"backend": "FAISS"}, {"M": 30, "efConstruction": 360, "backend": "faiss"}),
        ("IVF_FLAT", {"nlist": 64}, {"nlist": 64}),
        ("IVF_SQ8", None, {"nlist": 128}),
        ("IVF_PQ", None, {"nlist": 128, "m": 16, "nbits": 8}),
        ("IVF_PQ", {"m": 32, "nbits": 4.0}, {"nlist": 128, "m": 32, "nbits": 4}),
    ],
)
def test_build_params_are_normalised_with_defaults(index_type, params, expected):
    index = create_index(index_type, MetricType.L2, 64, params)
    assert index.params == expected
    assert index.metric is MetricType.L2 and index.dim == 64 and index.count == 0


def test_unknown_index_type_lists_valid_ones_and_suggests():
    with pytest.raises(IndexParamError) as info:
        create_index("HSNW", "L2", 8)
    message = str(info.value)
    assert "'HSNW'" in message and "IVF_PQ" in message and "did you mean 'HNSW'?" in message


@pytest.mark.parametrize(
    ("params", "fragments"),
    [
        ({"M": 1}, ["'M'", "1", "[2, 2048]"]),
        ({"M": 4096}, ["'M'", "4096", "[2, 2048]"]),
        ({"efConstruction": 0}, ["'efConstruction'", "0"]),
        ({"M": "sixteen"}, ["invalid integer value, key: 'M', value: 'sixteen'"]),
        ({"M": True}, ["invalid integer value, key: 'M', value: 'True'"]),
        ({"M": 16.5}, ["'M'", "16.5"]),
        ({"backend": "annoy"}, ["'backend'", "'annoy'", "faiss, hnswlib"]),
    ],
)
def test_bad_hnsw_build_params_name_param_value_and_range(params, fragments):
    with pytest.raises(IndexParamError) as info:
        create_index("HNSW", "L2", 8, params)
    for fragment in fragments:
        assert fragment in str(info.value)


def test_unknown_build_param_is_an_error_with_a_hint():
    with pytest.raises(IndexParamError) as info:
        create_index("HNSW", "L2", 8, {"efconstruction": 100})
    assert "'efconstruction'" in str(info.value)
    assert "did you mean 'efConstruction'?" in str(info.value)
    with pytest.raises(IndexParamError, match="valid parameters: none"):
        create_index("FLAT", "L2", 8, {"nlist": 4})


def test_ivf_params():
    with pytest.raises(IndexParamError, match=r"param 'nlist' \(0\) should be in range"):
        create_index("IVF_FLAT", "L2", 8, {"nlist": 0})
    with pytest.raises(IndexParamError, match=r"'m' \(5\) must divide the vector dimension \(64\)"):
        create_index("IVF_PQ", "L2", 64, {"m": 5})
    with pytest.raises(IndexParamError, match=r"param 'nbits' \(17\) should be in range \[1, 16\]"):
        create_index("IVF_PQ", "L2", 64, {"nbits": 17})


@pytest.mark.parametrize("metric", ["l2", "IP", "cosine", MetricType.COSINE])
def test_metric_names(metric):
    assert create_index("FLAT", metric, 4).metric is MetricType(
        str(getattr(metric, "value", metric)).upper()
    )


def test_bad_metric_and_dim():
    with pytest.raises(IndexParamError, match="does not support metric type: COSIN") as info:
        create_index("FLAT", "COSIN", 4)
    assert "did you mean 'COSINE'?" in str(info.value)
    for dim in (0, -3, 2.5, True):
        with pytest.raises(IndexParamError, match="dimension"):
            create_index("FLAT", "L2", dim)


def test_errors_are_invalid_arguments():
    assert issubclass(IndexParamError, InvalidArgument)


def test_hnsw_search_params():
    assert validate_search_params("HNSW", None, 10) == {"ef": 64}
    assert validate_search_params("HNSW", None, 100) == {"ef": 100}
    assert validate_search_params("HNSW", {"ef": "32"}, 10) == {"ef": 32}
    # Unknown keys (other index types' params) are ignored, as Milvus does.
    assert validate_search_params("AUTOINDEX", {"nprobe": 8, "ef": 20}, 10) == {"ef": 20}
    with pytest.raises(IndexParamError, match=r"^ef\(5\) should be larger than k\(10\)$"):
        validate_search_params("HNSW", {"ef": 5}, 10)
    with pytest.raises(IndexParamError, match=r"param 'ef' \(0\) should be in range"):
        validate_search_params("HNSW", {"ef": 0}, 1)


def test_ivf_and_flat_search_params():
    assert validate_search_params("IVF_PQ", {}, 10) == {"nprobe": 8}
    assert validate_search_params("IVF_FLAT", {"nprobe": 16, "ef": 3}, 10) == {"nprobe": 16}
    assert validate_search_params("FLAT", {"ef": 3}, 10) == {}
    with pytest.raises(IndexParamError, match=r"param 'nprobe' \(70000\) should be in range"):
        validate_search_params("IVF_SQ8", {"nprobe": 70000}, 10)


def test_range_search_params_are_validated_by_the_search():
    index = create_index("HNSW", "L2", 4, {"M": 8})
    index.build(np.eye(4, dtype=np.float32))
    with pytest.raises(IndexParamError, match="'radius'"):
        index.search([[0.0, 0.0, 0.0, 0.0]], 3, params={"radius": "x"})


def test_search_validates_params_before_searching():
    index = create_index("HNSW", "L2", 4, {"M": 8})
    with pytest.raises(IndexParamError, match=r"ef\(2\) should be larger than k\(3\)"):
        index.search([[0.0, 0.0, 0.0, 0.0]], 3, params={"ef": 2})


def test_missing_optional_backend_says_what_to_install(monkeypatch):
    import sys

    monkeypatch.delitem(sys.modules, "hnswlib", raising=False)
    monkeypatch.delitem(sys.modules, "keeldb.index.hnswlib_index", raising=False)
    real_import = builtins.__import__

    def no_hnswlib(name, *args, **kwargs):
        if name == "hnswlib":
            raise ModuleNotFoundError("No module named 'hnswlib'", name="hnswlib")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_hnswlib)
    with pytest.raises(FailedPrecondition, match="pip install") as info:
        create_index("HNSW", "L2", 8, {"backend": "hnswlib"})
    assert "hnswlib" in str(info.value)
    from keeldb.index import backend_available

    assert not backend_available("hnswlib") and backend_available("faiss")
