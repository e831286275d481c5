"""Lifecycle fixtures (defined in ``helpers``)."""

from tests.lifecycle.helpers import client, data_dir, debian_corpus, debian_queries

__all__ = ["client", "data_dir", "debian_corpus", "debian_queries"]
