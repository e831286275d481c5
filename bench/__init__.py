"""keeldb benchmarks: recall / QPS / latency / ingest suites, run by hand, never by pytest.

``python -m bench.engine`` runs the engine benchmark of issue #2 (keeldb vs raw
FAISS vs Milvus Lite); ``python -m bench.profile_keeldb`` profiles keeldb's
ingest and batch-1 search paths. See bench/README.md.
"""
