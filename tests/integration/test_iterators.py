"""query_iterator and search_iterator as pymilvus drives them."""

from __future__ import annotations

import warnings

import pytest
from pymilvus import MilvusClient


@pytest.fixture
def filled(milvus: MilvusClient, name: str) -> str:
    milvus.create_collection(name, dimension=4, metric_type="L2")
    rows = [{"id": i, "vector": [float(i), 0.0, 0.0, 0.0], "even": i % 2 == 0} for i in range(53)]
    milvus.insert(name, rows)
    return name


def _drain(iterator) -> list[list]:
    pages = []
    while True:
        page = iterator.next()
        if not page:
            iterator.close()
            return pages
        pages.append(list(page))


def test_query_iterator_pages_in_pk_order(milvus: MilvusClient, filled: str) -> None:
    pages = _drain(milvus.query_iterator(filled, batch_size=10, output_fields=["even"]))
    assert [len(p) for p in pages] == [10, 10, 10, 10, 10, 3]
    ids = [row["id"] for page in pages for row in page]
    assert ids == list(range(53))
    assert pages[0][1] == {"id": 1, "even": False}
    filtered = _drain(milvus.query_iterator(filled, batch_size=7, filter="even == true", limit=12))
    assert [row["id"] for page in filtered for row in page] == list(range(0, 24, 2))
    offset = _drain(milvus.query_iterator(filled, batch_size=20, offset=45))
    assert [row["id"] for page in offset for row in page] == list(range(45, 53))


def test_search_iterator_pages_by_distance(milvus: MilvusClient, filled: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a fallback to the V1 protocol would warn
        iterator = milvus.search_iterator(filled, data=[[0.0, 0.0, 0.0, 0.0]], batch_size=10,
                                          output_fields=["even"])  # fmt: skip
        pages = _drain(iterator)
    assert [len(p) for p in pages] == [10, 10, 10, 10, 10, 3]
    ids = [hit["id"] for page in pages for hit in page]
    assert ids == list(range(53))
    distances = [hit["distance"] for page in pages for hit in page]
    assert distances == sorted(distances)
    assert pages[1][0]["entity"] == {"even": True}
    limited = _drain(milvus.search_iterator(filled, data=[[60.0, 0.0, 0.0, 0.0]], batch_size=4,
                                            limit=6, filter="even == false"))  # fmt: skip
    assert [hit["id"] for page in limited for hit in page] == [51, 49, 47, 45, 43, 41]


def test_search_iterator_resumes_an_unknown_token_from_its_bound(
    milvus: MilvusClient, filled: str
) -> None:
    """After a server restart the token is gone; the last bound still says where to go on."""
    page = milvus.search(filled, data=[[0.0, 0.0, 0.0, 0.0]], limit=5, iterator=True,
                         search_iter_v2=True, search_iter_batch_size=5,
                         search_iter_id="forgotten", search_iter_last_bound=4.0)  # fmt: skip
    assert [hit["id"] for hit in page[0]] == [3, 4, 5, 6, 7]


def test_iterators_with_varchar_keys_and_cosine(milvus: MilvusClient, name: str) -> None:
    milvus.create_collection(name, dimension=2, id_type="string", max_length=8)
    rows = [{"id": f"k{i:03d}", "vector": [1.0, i / 40]} for i in range(40)]
    milvus.insert(name, rows)
    pages = _drain(milvus.query_iterator(name, batch_size=16))
    assert [r["id"] for page in pages for r in page] == [f"k{i:03d}" for i in range(40)]
    hits = [h for page in _drain(milvus.search_iterator(name, data=[[1.0, 0.0]], batch_size=16))
            for h in page]  # fmt: skip
    assert [h["id"] for h in hits] == [f"k{i:03d}" for i in range(40)]
    scores = [h["distance"] for h in hits]
    assert scores == sorted(scores, reverse=True)
