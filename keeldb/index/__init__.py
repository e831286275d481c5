"""Vector indexes: one :class:`VectorIndex` interface over FAISS, hnswlib and Annoy.

The index layer knows vectors and row offsets (local ids ``0..n-1`` in a
segment), nothing of schemas, filters or files. Create indexes through
:func:`create_index` / :func:`load_index`; search growing data with
:func:`exact_search`.

Modules: ``base`` (the contract), ``hits`` (search results), ``exact`` (brute
force), ``filtering`` (the filtered-search cost model), ``range_search``
(``radius`` / ``range_filter``), ``params`` (parameter specs), ``codec`` (byte
format), ``faiss_indexes`` (FLAT, HNSW), ``faiss_ivf`` (IVF_*),
``hnswlib_index`` and ``annoy_index`` (optional backends), ``registry`` (types
and backends), ``tuning_params`` (recall targets and tuning results in
params), ``recall`` (measuring recall), ``autotune`` (tuning to a target).
"""

from keeldb.index.base import VectorIndex
from keeldb.index.exact import exact_search
from keeldb.index.filtering import DEFAULT_POLICY, FilterPolicy
from keeldb.index.hits import SearchHits
from keeldb.index.registry import (
    AUTOINDEX_PARAMS,
    AUTOINDEX_TYPE,
    SUPPORTED_INDEX_TYPES,
    backend_available,
    create_index,
    load_index,
    normalize_index_params,
    resolve_index_type,
    validate_search_params,
)

__all__ = [
    "AUTOINDEX_PARAMS",
    "AUTOINDEX_TYPE",
    "DEFAULT_POLICY",
    "SUPPORTED_INDEX_TYPES",
    "FilterPolicy",
    "SearchHits",
    "VectorIndex",
    "backend_available",
    "create_index",
    "exact_search",
    "load_index",
    "normalize_index_params",
    "resolve_index_type",
    "validate_search_params",
]
