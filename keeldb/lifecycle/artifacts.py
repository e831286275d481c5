"""Model artifacts: hashing, copying into the data directory, verifying before use.

An artifact is a file or a directory tree. Its identity is a *tree hash*: the
sha256 of the lines ``<relpath>\\0<sha256 of the file>\\n`` in sorted relpath
order (a single file has the relpath of its own name). ``__pycache__``
directories are skipped; every other file counts, so adding, removing or
changing any file changes the hash.

Invariants:

- A stored artifact is copied file by file (each fsynced) into a directory the
  caller later renames into place, so a half-copied artifact is never visible.
- :func:`verify_artifact` re-hashes every file and compares it with the
  recorded per-file hashes before the caller parses a byte; a difference is
  :class:`CorruptionError` naming the first file that differs (or is missing/extra).
- Reads and writes go through the engine's ``FileSystem``; only directory
  walking uses ``os.walk``.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
from dataclasses import dataclass
from typing import Any

from keeldb.errors import CorruptionError, InvalidArgument
from keeldb.storage import FileSystem
from keeldb.storage.fs import translate_os_error

__all__ = ["ArtifactRef", "copy_artifact", "hash_artifact", "verify_artifact"]

_SKIP_DIRS = {"__pycache__"}


@dataclass(frozen=True)
class ArtifactRef:
    """Where a version's artifact lives and what it must hash to."""

    mode: str  # "stored" (inside the version directory) or "reference" (an outside path)
    path: str  # relative to the version directory when stored, absolute when referenced
    sha256: str
    files: dict[str, str]

    def to_json(self) -> dict[str, Any]:
        return {"mode": self.mode, "path": self.path, "sha256": self.sha256, "files": self.files}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ArtifactRef:
        return cls(data["mode"], data["path"], data["sha256"], dict(data["files"]))


def list_files(path: str) -> list[str]:
    """Relative paths (with ``/``) of the files of an artifact, sorted."""
    if os.path.isfile(path):
        return [os.path.basename(path)]
    if not os.path.isdir(path):
        raise InvalidArgument(f"artifact path '{path}' does not exist")
    out = []
    for root, dirs, files in os.walk(path):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS)
        rel = os.path.relpath(root, path)
        for name in files:
            out.append(name if rel == "." else posixpath.join(rel.replace(os.sep, "/"), name))
    return sorted(out)


def _file_path(root: str, rel: str) -> str:
    return root if os.path.isfile(root) else os.path.join(root, *rel.split("/"))


def hash_artifact(fs: FileSystem, path: str) -> tuple[str, dict[str, str]]:
    """The tree hash of ``path`` and the sha256 of each of its files."""
    files: dict[str, str] = {}
    for rel in list_files(path):
        with translate_os_error(f"reading artifact file '{rel}'"):
            files[rel] = hashlib.sha256(fs.read_bytes(_file_path(path, rel))).hexdigest()
    return tree_hash(files), files


def tree_hash(files: dict[str, str]) -> str:
    digest = hashlib.sha256()
    for rel in sorted(files):
        digest.update(f"{rel}\0{files[rel]}\n".encode())
    return digest.hexdigest()


def copy_artifact(fs: FileSystem, source: str, target_dir: str) -> dict[str, str]:
    """Copy ``source`` (file or tree) under ``target_dir``; return per-file sha256."""
    files: dict[str, str] = {}
    for rel in list_files(source):
        with translate_os_error(f"copying artifact file '{rel}'"):
            data = fs.read_bytes(_file_path(source, rel))
            dest = posixpath.join(target_dir, rel)
            fs.makedirs(posixpath.dirname(dest))
            fs.write_file(dest, data, fsync=True)
        files[rel] = hashlib.sha256(data).hexdigest()
    return files


def verify_artifact(fs: FileSystem, path: str, ref: ArtifactRef) -> None:
    """Raise ``CorruptionError`` unless the files at ``path`` hash exactly as recorded."""
    try:
        present = list_files(path)
    except InvalidArgument as exc:
        raise CorruptionError(f"model artifact missing: {exc.message}") from exc
    extra = sorted(set(present) - set(ref.files))
    missing = sorted(set(ref.files) - set(present))
    if missing or extra:
        raise CorruptionError(
            f"model artifact '{path}' does not match its registration: "
            f"missing {missing or '-'}, unexpected {extra or '-'}",
            hint="re-register the model version from a trusted copy",
        )
    for rel, expected in sorted(ref.files.items()):
        with translate_os_error(f"reading artifact file '{rel}'"):
            actual = hashlib.sha256(fs.read_bytes(_file_path(path, rel))).hexdigest()
        if actual != expected:
            raise CorruptionError(
                f"model artifact file '{rel}' under '{path}' fails its sha256 check: "
                f"expected {expected[:16]}…, got {actual[:16]}…",
                hint="the file changed after registration; re-register from a trusted copy",
            )
