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
