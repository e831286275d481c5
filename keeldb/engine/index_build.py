"""Background vector-index builds, and tuning indexes to their recall targets.

One worker thread per open data directory builds the index of every sealed
segment that lacks the one its field's index spec asks for. The build runs
without any collection lock (readers use exact search on that segment
meanwhile); the finished index is written to a new file and swapped in by
``Collection.install_index``, which drops it if the segment was compacted away
or the spec changed while it was building.

Specs with a recall target (``params["recall"]``) are also tuned
(:mod:`keeldb.engine.index_tuning`): after a segment's builds are queued, a
tune job for the field is queued once (deduplicated); it waits behind the
collection's pending builds, tunes on the largest sealed segment when the spec
needs it, and hands the new spec to ``on_tuned`` (the engine stores it in the
catalog and queues rebuilds if the chosen build changed). With
``background=False`` builds and tuning run inline, in the caller's thread.
"""

from __future__ import annotations

import logging
import queue
import threading
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING

from keeldb.engine.catalog import IndexSpec
from keeldb.engine.index_tuning import tune_field
from keeldb.engine.segment_files import segment_dir
from keeldb.index.field_index import create_field_index
from keeldb.index.tuning_params import recall_target
from keeldb.storage import write_blob

if TYPE_CHECKING:
    from keeldb.engine.collection import Collection

log = logging.getLogger(__name__)

#: ("build", collection, segment id, field) or ("tune", collection, 0, field)
Job = tuple[str, "Collection", int, str]


class IndexBuilder:
    def __init__(self, *, background: bool = True) -> None:
        self._background = background
        self._jobs: queue.Queue[Job | None] = queue.Queue()
        self._idle = threading.Condition()
        self._pending = 0
        self._builds: dict[int, int] = {}  # id(collection) -> build jobs queued or running
        self._tunes: set[tuple[int, str]] = set()  # (id(collection), field) tune jobs queued
        self.failures: dict[tuple[str, str], str] = {}
        self.tune_failures: dict[tuple[str, str], str] = {}
        #: called with (collection, tuned spec); the engine stores it
        self.on_tuned: Callable[[Collection, IndexSpec], object] | None = None
        self._thread: threading.Thread | None = None
        if background:
            self._thread = threading.Thread(
                target=self._run, name="keeldb-index-build", daemon=True
            )
            self._thread.start()

    def submit(self, coll: Collection, segment_id: int) -> None:
        for field in list(coll.index_specs):
            if not self._background:
                self._build(coll, segment_id, field)
                continue
            with self._idle:
                self._pending += 1
                self._builds[id(coll)] = self._builds.get(id(coll), 0) + 1
            self._jobs.put(("build", coll, segment_id, field))
        for field, spec in list(coll.index_specs.items()):
            if recall_target(spec.params) is not None:
                self.request_tuning(coll, field)

    def request_tuning(self, coll: Collection, field: str) -> None:
        """Queue a tune job for ``field`` (once), or tune now when building inline."""
        if not self._background:
            self._tune(coll, field)
            return
        key = (id(coll), field)
        with self._idle:
            if key in self._tunes:
                return
            self._tunes.add(key)
            self._pending += 1
        self._jobs.put(("tune", coll, 0, field))

    def wait_idle(self, timeout: float | None = None) -> bool:
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def close(self) -> None:
        if self._thread is not None:
            self._jobs.put(None)
            self._thread.join(timeout=30)

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            kind, coll, segment_id, field = job
            if kind == "tune":
                with self._idle:
                    waiting = self._builds.get(id(coll), 0) > 0 and not coll.closed
                if waiting:  # tune after the collection's queued builds
                    self._jobs.put(job)
                    continue
            try:
                if kind == "build":
                    self._build(coll, segment_id, field)
                else:
                    with self._idle:
                        self._tunes.discard((id(coll), field))
                    self._tune(coll, field)
            finally:
                with self._idle:
                    if kind == "build":
                        self._builds[id(coll)] -= 1
                        if not self._builds[id(coll)]:
                            del self._builds[id(coll)]
                    self._pending -= 1
                    self._idle.notify_all()

    def _build(self, coll: Collection, segment_id: int, field: str) -> None:
        if coll.closed:
            return
        target = coll.segment_for_index(segment_id, field)
        if target is None:
            return
        seg, spec = target
        try:
            vectors = seg.vectors[field]
            schema_field = coll.schema.field(field)
            index = create_field_index(
                schema_field.dtype,
                spec.index_type,
                spec.metric_type,
                schema_field.dim or 0,
                spec.params,
            )
            index.build(vectors)
            directory = segment_dir(coll.root, segment_id)
            ref = write_blob(
                coll.fs, directory, f"index-{field}-{uuid.uuid4().hex[:12]}.bin", index.to_bytes()
            )
            if not coll.install_index(segment_id, field, spec, index, ref):
                coll.fs.remove(f"{directory}/{ref.name}")
            self.failures.pop((coll.root, field), None)
        except Exception as exc:  # a failed build must not kill the worker thread
            log.exception("index build failed for segment %s field %s", segment_id, field)
            self.failures[(coll.root, field)] = f"{type(exc).__name__}: {exc}"

    def _tune(self, coll: Collection, field: str) -> None:
        if coll.closed or self.on_tuned is None:
            return
        try:
            found = tune_field(coll, field)
            if found is not None:
                self.on_tuned(coll, found[0])
            self.tune_failures.pop((coll.root, field), None)
        except Exception as exc:  # a failed tuning must not kill the worker thread
            log.exception("index tuning failed for field %s of %s", field, coll.root)
            self.tune_failures[(coll.root, field)] = f"{type(exc).__name__}: {exc}"
