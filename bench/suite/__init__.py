"""The cross-system benchmark suite of issue #7: keeldb against what users would pick instead.

    python -m bench run --dataset debian --systems keeldb,keeldb-server,milvus-lite,qdrant,...
    python -m bench run --dataset smoke --systems all                     # 2,000 vectors, ~30 s

Layout (each module's docstring says more):

- ``datasets``  the corpora (Debian MiniLM, synthetic clustered, tiny smoke), their filters,
                queries and exact ground truth, cached on disk once built;
- ``recall``    recall@k by id and tie-aware (by true distance);
- ``adapters/`` one small adapter per system behind one interface (``adapters.base``);
- ``phase``     one phase (ingest or search) of one system, run in a fresh process;
- ``measure``   the timed loops: batch-1 / batch-100 sweeps, filtered search, concurrency;
- ``runner``    one invocation: dataset, every system x phase x repeat, aggregation, JSON;
- ``report``    Markdown tables and recall-QPS plots from the JSON.
"""
