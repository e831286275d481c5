"""The ``keel`` command.

keel quickstart [--data-dir ./data]   create, insert, search, print
keel info --data-dir ./data            collections, row counts, indexes
"""

from __future__ import annotations

import click

from keeldb import __version__


@click.group()
@click.version_option(__version__, prog_name="keel")
def main() -> None:
    """keeldb: a Milvus-compatible vector database, embedded by default."""


@main.command()
@click.option("--data-dir", default="./data", show_default=True, help="Data directory to use.")
@click.option("--rows", default=5000, show_default=True, help="How many documents to insert.")
@click.option(
    "--corpus",
    default=None,
    help="Debian corpus directory (default: ../shared/data/debian if present).",
)
def quickstart(data_dir: str, rows: int, corpus: str | None) -> None:
    """Create a collection in DATA_DIR, insert documents, search with a filter, print."""
    from keeldb.quickstart import run_quickstart

    run_quickstart(data_dir, rows, corpus, echo=click.echo)


@main.command()
@click.option("--data-dir", default="./data", show_default=True)
def info(data_dir: str) -> None:
    """Describe the collections in a data directory."""
    import keeldb

    with keeldb.Client(data_dir) as client:
        for db in client.list_databases():
            for name in client.list_collections(db_name=db):
                stats = client.get_collection_stats(name, db_name=db)
                indexes = client.list_indexes(name, db_name=db)
                click.echo(
                    f"{db}.{name}: {stats['row_count']} rows, indexes: {', '.join(indexes) or '-'}"
                )


if __name__ == "__main__":
    main()
