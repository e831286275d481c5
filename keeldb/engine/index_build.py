"""Background vector-index builds.

One worker thread per open data directory builds the index of every sealed
segment that lacks the one its field's index spec asks for. The build runs
without any collection lock (readers use exact search on that segment
meanwhile); the finished index is written to a new file and swapped in by
``Collection.install_index``, which drops it if the segment was compacted away
or the spec changed while it was building.
"""

from __future__ import annotations

import logging
import queue
import threading
import uuid
from typing import TYPE_CHECKING

from keeldb.engine.segment_files import segment_dir
from keeldb.index import create_index
from keeldb.storage import write_blob

if TYPE_CHECKING:
    from keeldb.engine.collection import Collection

log = logging.getLogger(__name__)


class IndexBuilder:
    def __init__(self, *, background: bool = True) -> None:
        self._background = background
        self._jobs: queue.Queue[tuple[Collection, int, str] | None] = queue.Queue()
        self._idle = threading.Condition()
        self._pending = 0
        self.failures: dict[tuple[str, str], str] = {}
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
            self._jobs.put((coll, segment_id, field))

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
            try:
                self._build(*job)
            finally:
                with self._idle:
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
            index = create_index(spec.index_type, spec.metric_type, vectors.shape[1], spec.params)
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
