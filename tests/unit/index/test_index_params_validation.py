"""Bad index parameters are rejected with Milvus's code (1100) and wording, naming the
parameter, the value and the allowed range (docs/milvus-behaviour.md §7)."""

from __future__ import annotations

import pytest

from keeldb.errors import IndexParamError
from keeldb.index import create_index, validate_search_params

BAD_BUILD = [
    ("HNSW", {"M": 1}, "param 'M' (1) should be in range [2, 2048]"),
    ("HNSW", {"M": 4096}, "param 'M' (4096) should be in range [2, 2048]"),
    ("HNSW_SQ", {"M": 0}, "param 'M' (0) should be in range [2, 2048]"),
    ("HNSW_PQ", {"efConstruction": 0}, "param 'efConstruction' (0) should be in range [1, "),
    ("HNSW", {"M": True}, "invalid integer value, key: 'M', value: 'True'"),
    ("HNSW", {"M": "sixteen"}, "invalid integer value, key: 'M', value: 'sixteen'"),
    ("IVF_FLAT", {"nlist": 0}, "param 'nlist' (0) should be in range [1, 65536]"),
    ("SCANN", {"nlist": 65537}, "param 'nlist' (65537) should be in range [1, 65536]"),
    ("IVF_PQ", {"m": 5}, "IVF_PQ parameter 'm' (5) must divide the vector dimension (64)"),
    ("HNSW_PQ", {"m": 7}, "HNSW_PQ parameter 'm' (7) must divide the vector dimension (64)"),
    ("IVF_PQ", {"nbits": 17}, "param 'nbits' (17) should be in range [1, 16]"),
    ("HNSW_PQ", {"nbits": 25}, "param 'nbits' (25) should be in range [1, 24]"),
    ("HNSW_SQ", {"sq_type": "SQ9"}, "invalid value for HNSW_SQ parameter 'sq_type': 'SQ9'"),
    ("HNSW_SQ", {"refine": "yes"}, "invalid boolean value, key: 'refine', value: 'yes'"),
    ("HNSW_PQ", {"refine_type": "INT4"}, "invalid value for HNSW_PQ parameter 'refine_type'"),
    ("HNSW_SQ", {"refine": True, "sq_type": "FP16", "refine_type": "SQ8"},
     "refine_type (SQ8) must be more precise than sq_type (FP16)"),
    ("SCANN", {"with_raw_data": 2}, "invalid boolean value, key: 'with_raw_data', value: '2'"),
    ("HNSW_SQ", {"nlist": 16}, "unknown build parameter 'nlist' for index type HNSW_SQ"),
    ("SCANN", {"nprobe": 16}, "unknown build parameter 'nprobe' for index type SCANN"),
]  # fmt: skip


@pytest.mark.parametrize(("index_type", "params", "message"), BAD_BUILD)
def test_bad_build_params_are_rejected_with_code_1100(index_type, params, message):
    with pytest.raises(IndexParamError) as info:
        create_index(index_type, "L2", 64, params)
    assert info.value.code == 1100
    assert message in str(info.value)


def test_unknown_build_param_suggests_the_right_name():
    with pytest.raises(IndexParamError) as info:
        create_index("HNSW_SQ", "L2", 64, {"sqtype": "SQ8"})
    assert "did you mean 'sq_type'?" in str(info.value)


BAD_SEARCH = [
    ("HNSW_SQ", {"ef": 5}, "ef(5) should be larger than k(10)"),
    ("HNSW_PQ", {"refine_k": 0.5}, "param 'refine_k' (0.5) should be in range [1, 3.4e+38]"),
    ("HNSW_SQ", {"refine_k": "many"}, "invalid float value, key: 'refine_k', value: 'many'"),
    ("SCANN", {"nprobe": 0}, "param 'nprobe' (0) should be in range [1, 65536]"),
    ("SCANN", {"reorder_k": 0}, "param 'reorder_k' (0) should be in range [1, 2147483647]"),
]


@pytest.mark.parametrize(("index_type", "params", "message"), BAD_SEARCH)
def test_bad_search_params_are_rejected_with_code_1100(index_type, params, message):
    with pytest.raises(IndexParamError) as info:
        validate_search_params(index_type, params, 10)
    assert info.value.code == 1100
    assert message in str(info.value)


def test_a_search_on_a_built_index_validates_its_params():
    index = create_index("SCANN", "L2", 8, None)
    with pytest.raises(IndexParamError, match=r"param 'reorder_k' \(-1\)"):
        index.search([[0.0] * 8], 3, params={"reorder_k": -1})
