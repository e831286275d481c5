"""bench.fsync_audit counts sync calls in the right window of an strace log."""

from __future__ import annotations

from bench.fsync_audit import BEGIN, CLOSED, END, count_syncs


def test_sync_calls_are_counted_per_window_once_each():
    trace = f"""\
123 access("/usr/lib/x", F_OK) = 0
123 fsync(3) = 0
123 access("{BEGIN}", F_OK) = -1 ENOENT (No such file or directory)
124 fdatasync(5 <unfinished ...>
123 fsync(4) = 0
124 <... fdatasync resumed>) = 0
125 sync_file_range(6, 0, 4096, SYNC_FILE_RANGE_WRITE) = 0
123 access("{END}", F_OK) = -1 ENOENT (No such file or directory)
123 msync(0x7f00, 4096, MS_SYNC) = 0
123 access("{CLOSED}", F_OK) = -1 ENOENT (No such file or directory)
123 fsync(9) = 0
"""
    # the resumed half of an interrupted call is not a second call; after close is ignored
    assert count_syncs(trace) == {"setup": 1, "inserts": 3, "close": 1}
