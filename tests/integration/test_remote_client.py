"""keeldb.Client("http://...") talks to keel serve with the embedded client's surface."""

from __future__ import annotations

import pytest

import keeldb
from keeldb.client.remote import RemoteClient
from keeldb.errors import CollectionNotFound, InvalidArgument, NotLoaded


def test_remote_client_has_the_embedded_surface(server: str, name: str) -> None:
    with keeldb.Client(server) as client:
        assert isinstance(client, RemoteClient)
        client.create_collection(name, dimension=4, metric_type="L2")
        res = client.insert(
            name, [{"id": i, "vector": [float(i), 0, 0, 0], "tag": i % 2} for i in range(8)]
        )
        assert res["insert_count"] == 8
        assert client.wait_for_index(name, timeout=30)
        hits = client.search(name, data=[[2.0, 0, 0, 0]], limit=2, filter="tag == 0")
        assert [h["id"] for h in hits[0]] == [2, 0] or [h["id"] for h in hits[0]] == [2, 4]
        assert client.query(name, filter="id < 2", output_fields=["tag"])[0] == {"id": 0, "tag": 0}
        schema = client.get_collection_schema(name)
        assert schema.primary_field.name == "id" and schema.vector_fields[0].dim == 4
        with pytest.raises(CollectionNotFound):
            client.describe_collection(name + "_missing")
        with pytest.raises(InvalidArgument):
            client.query(name, filter="id >>> 1")
        client.release_collection(name)
        with pytest.raises(NotLoaded):
            client.search(name, data=[[1.0, 0, 0, 0]], limit=1)
        client.drop_collection(name)
