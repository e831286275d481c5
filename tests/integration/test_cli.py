"""``keel serve`` start-up: help, and clear failures for a busy port or a locked directory."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def _serve(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "keeldb.cli", "serve", *args],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_help_documents_every_option() -> None:
    done = _serve("--help")
    assert done.returncode == 0
    for option in ("--data-dir", "--host", "--port", "--workers", "--grace", "--sync-mode"):
        assert option in done.stdout


def test_a_port_in_use_is_an_error(server: str, tmp_path: Path) -> None:
    port = server.rsplit(":", 1)[1]
    done = _serve("--data-dir", str(tmp_path / "other"), "--port", port)
    assert done.returncode == 1
    assert "cannot listen" in done.stderr


def test_a_directory_in_use_is_an_error(server_factory, tmp_path: Path) -> None:
    first = server_factory(tmp_path / "shared")
    done = _serve("--data-dir", str(tmp_path / "shared"), "--port", "0")
    assert done.returncode == 1
    assert "locked" in done.stderr
    assert first.stop() == 0
