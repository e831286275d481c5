"""REST endpoints ``/v2/vectordb/aliases/*`` and ``/v2/vectordb/databases/*``.

Aliases and databases are the names collections are found by. An alias moved
with ``aliases/alter`` changes what every later request through it reads, at
once. Databases are addressed by ``dbName`` in every other body; here it is
the subject and required.
"""

from __future__ import annotations

from typing import Any

from keeldb.client.embedded import Client
from keeldb.errors import Unimplemented
from keeldb.server.rest.models import (
    AliasBody,
    AliasCollectionBody,
    Body,
    DatabaseBody,
    Endpoint,
    ListAliasesBody,
    endpoint,
)

ROUTES: list[Endpoint] = []


# -- aliases ----------------------------------------------------------------------------
@endpoint(ROUTES, "aliases/create", AliasCollectionBody)
def create_alias(client: Client, body: AliasCollectionBody) -> None:
    client.create_alias(body.collection_name, body.alias_name, db_name=body.db_name)


@endpoint(ROUTES, "aliases/alter", AliasCollectionBody)
def alter_alias(client: Client, body: AliasCollectionBody) -> None:
    client.alter_alias(body.collection_name, body.alias_name, db_name=body.db_name)


@endpoint(ROUTES, "aliases/drop", AliasBody)
def drop_alias(client: Client, body: AliasBody) -> None:
    client.drop_alias(body.alias_name, db_name=body.db_name)


@endpoint(ROUTES, "aliases/describe", AliasBody)
def describe_alias(client: Client, body: AliasBody) -> dict[str, str]:
    info = client.describe_alias(body.alias_name, db_name=body.db_name)
    return {
        "aliasName": info["alias"],
        "collectionName": info["collection_name"],
        "dbName": info["db_name"],
    }


@endpoint(ROUTES, "aliases/list", ListAliasesBody)
def list_aliases(client: Client, body: ListAliasesBody) -> list[str]:
    return client.list_aliases(body.collection_name, db_name=body.db_name)["aliases"]


# -- databases --------------------------------------------------------------------------
@endpoint(ROUTES, "databases/create", DatabaseBody)
def create_database(client: Client, body: DatabaseBody) -> None:
    if body.properties:
        raise Unimplemented("database properties are not supported by keeldb yet")
    client.create_database(body.db_name)


@endpoint(ROUTES, "databases/drop", DatabaseBody)
def drop_database(client: Client, body: DatabaseBody) -> None:
    client.drop_database(body.db_name)


@endpoint(ROUTES, "databases/list", Body)
def list_databases(client: Client, body: Body) -> list[str]:
    return client.list_databases()


@endpoint(ROUTES, "databases/describe", DatabaseBody)
def describe_database(client: Client, body: DatabaseBody) -> dict[str, Any]:
    client.list_collections(db_name=body.db_name)  # raises DatabaseNotFound (code 800)
    return {"dbName": body.db_name, "properties": []}
