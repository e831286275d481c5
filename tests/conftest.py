"""Shared fixtures: a fresh embedded client per test, builds done inline."""

from __future__ import annotations

import os

import pytest

import keeldb


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--runslow", action="store_true", help="run long soaks and sweeps")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--runslow") or os.environ.get("KEEL_SLOW") == "1":
        return
    skip = pytest.mark.skip(reason="slow: run with --runslow or KEEL_SLOW=1")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


TEST_SETTINGS = keeldb.Settings(background_index_build=False, index_min_rows=50)


@pytest.fixture
def data_dir(tmp_path):
    return str(tmp_path / "data")


@pytest.fixture
def client(data_dir):
    c = keeldb.Client(data_dir, settings=TEST_SETTINGS)
    yield c
    c.close()


@pytest.fixture(scope="module")
def one_faiss_thread():
    """FAISS on one OpenMP thread for a module (``pytestmark = usefixtures(...)``): the
    test machine is small and shared, and OpenMP's spin-waits contend."""
    import faiss

    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    yield
    faiss.omp_set_num_threads(before)
