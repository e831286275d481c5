"""The ``keel`` command.

keel quickstart [--data-dir ./data]   create, insert, search, print
keel info --data-dir ./data            collections, row counts, indexes
keel serve --data-dir ./data           Milvus gRPC on 19530, Milvus REST API v2 on 19531
keel models | eval | promote | rollback | experiments | drift   the model lifecycle
keel demo [--full]                     the lifecycle story on the Debian sample
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


@main.command()
@click.option("--data-dir", default="./data", show_default=True, help="Data directory to serve.")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to bind; 0.0.0.0 serves every interface.",
)
@click.option(
    "--port",
    default=19530,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="gRPC port (Milvus protocol); 0 picks a free port and prints it.",
)
@click.option(
    "--rest-port",
    default=None,
    type=click.IntRange(0, 65535),
    help="Port of the Milvus REST API v2 (/v2/vectordb/...). Default: the gRPC port + 1 "
    "(19531), or a free port when --port is 0; 0 picks a free port and prints it.",
)
@click.option(
    "--no-rest",
    is_flag=True,
    default=False,
    help="Serve only the gRPC protocol, no REST API.",
)
@click.option(
    "--workers",
    default=32,
    show_default=True,
    type=click.IntRange(1, 1024),
    help="Threads serving requests concurrently.",
)
@click.option(
    "--grace",
    "grace_s",
    default=30.0,
    show_default=True,
    type=float,
    help="Seconds in-flight requests get to finish on shutdown.",
)
@click.option(
    "--sync-mode",
    default="fsync",
    show_default=True,
    type=click.Choice(["fsync", "flush", "none"]),
    help="When writes are acknowledged: after fsync (default), after handing to the OS, "
    "or buffered.",
)
@click.option(
    "--log-level",
    default="INFO",
    show_default=True,
    type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
)
def serve(
    data_dir: str,
    host: str,
    port: int,
    rest_port: int | None,
    no_rest: bool,
    workers: int,
    grace_s: float,
    sync_mode: str,
    log_level: str,
) -> None:
    """Serve DATA_DIR over the Milvus gRPC protocol, so pymilvus and the other Milvus SDKs
    work against it unchanged, and over the Milvus REST API v2 on a second port.

    Prints "keel serve REST listening on HOST:PORT", then "keel serve listening on
    HOST:PORT" (gRPC) once ready. SIGTERM or Ctrl-C stops accepting requests, lets
    in-flight ones finish, flushes and exits 0.
    """
    import logging
    import sys

    logging.basicConfig(
        level=log_level.upper(),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        from keeldb.server import ServeOptions, run_server
    except ImportError as exc:  # pymilvus / grpcio missing
        raise click.ClickException(
            f"keel serve needs the server extra ({exc}); "
            "install it with pip install 'keeldb[server]'"
        ) from exc
    from keeldb.errors import KeelError

    options = ServeOptions(
        data_dir=data_dir,
        host=host,
        port=port,
        rest_port=None if no_rest else _rest_port(port, rest_port),
        workers=workers,
        grace_s=grace_s,
        sync_mode=sync_mode,
    )
    try:
        code = run_server(options)
    except (KeelError, OSError) as exc:
        raise click.ClickException(str(exc)) from exc
    sys.exit(code)


def _rest_port(grpc_port: int, rest_port: int | None) -> int:
    if rest_port is not None:
        return rest_port
    if grpc_port == 0:
        return 0
    if grpc_port == 65535:
        raise click.UsageError("--port 65535 leaves no default REST port: pass --rest-port")
    return grpc_port + 1


def _register_subcommands() -> None:
    from keeldb.lifecycle import cli as lifecycle_cli
    from keeldb.lifecycle import cli_online
    from keeldb.lifecycle.demo import demo_command

    main.add_command(lifecycle_cli.lifecycle_group)
    for group in (lifecycle_cli.lifecycle_group, main):  # also top-level: `keel eval ...`
        group.add_command(cli_online.experiments_group)
        group.add_command(cli_online.drift_command)
    lifecycle_cli.lifecycle_group.add_command(cli_online.describe_command)
    main.add_command(cli_online.models_group)
    main.add_command(lifecycle_cli.eval_command)
    main.add_command(lifecycle_cli.promote_command)
    main.add_command(lifecycle_cli.rollback_command)
    main.add_command(demo_command)


_register_subcommands()

if __name__ == "__main__":
    main()
