"""keeldb: a Milvus-compatible vector database for embedding models in production.

import keeldb
client = keeldb.Client("./data")
client.create_collection("docs", dimension=384)
"""

from keeldb import errors
from keeldb.client.embedded import Client
from keeldb.client.index_params import IndexParams
from keeldb.config import Settings
from keeldb.schema.collection import CollectionSchema
from keeldb.schema.field import FieldSchema
from keeldb.types import DataType, LoadState, MetricType

MilvusClient = Client  # so `from keeldb import MilvusClient` ports code unchanged

__version__ = "0.1.0"
__all__ = [
    "Client",
    "MilvusClient",
    "CollectionSchema",
    "DataType",
    "FieldSchema",
    "IndexParams",
    "LoadState",
    "MetricType",
    "Settings",
    "errors",
]
