"""One adapter per system (see ``base``); ``ADAPTERS`` maps the command-line names to them."""

from __future__ import annotations

from bench.suite.adapters.base import Adapter
from bench.suite.adapters.chroma import Chroma
from bench.suite.adapters.keel import KeelDB, KeelServer
from bench.suite.adapters.lance import LanceDB
from bench.suite.adapters.libraries import Faiss, Hnswlib
from bench.suite.adapters.milvus import MilvusLite, MilvusServer
from bench.suite.adapters.qdrant import Qdrant
from bench.suite.adapters.qdrant_edge import QdrantEdge

ADAPTERS: dict[str, type[Adapter]] = {
    cls.name: cls
    for cls in (
        KeelDB, KeelServer, MilvusLite, MilvusServer, Qdrant, QdrantEdge, Chroma, LanceDB, Faiss,
        Hnswlib,
    )
}  # fmt: skip
ALL = list(ADAPTERS)
