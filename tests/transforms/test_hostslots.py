"""Host-wide render tokens: shared by every holder of the directory (processes, or two stores
in one process), freed by the kernel when a holder dies; the board counts competitors."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from imgpro.transforms.hostslots import HostSlots


def test_tokens_are_shared_by_every_holder(tmp_path: Path) -> None:
    a, b = HostSlots(tmp_path, 2), HostSlots(tmp_path, 2)
    try:
        first, second = a.try_acquire(), b.try_acquire()
        assert {first, second} == {0, 1}
        assert a.try_acquire() is None and b.try_acquire() is None  # the host is full
        assert first is not None
        a.release(first)
        assert b.try_acquire() == first and b.held == 2
    finally:
        a.close()
        b.close()


def test_the_board_counts_other_processes_waiting(tmp_path: Path) -> None:
    a, b = HostSlots(tmp_path, 1), HostSlots(tmp_path, 1)
    try:
        assert a.competitors() == 0
        b.publish_waiting(3)
        assert a.competitors() == 1 and b.competitors() == 0  # never counts itself
        b.publish_waiting(0)
        assert a.competitors() == 0
    finally:
        a.close()
        b.close()


def test_a_killed_holder_frees_its_token_and_its_board_row(tmp_path: Path) -> None:
    code = (
        "import sys, time; from pathlib import Path\n"
        "from imgpro.transforms.hostslots import HostSlots\n"
        "s = HostSlots(Path(sys.argv[1]), 1); assert s.try_acquire() == 0\n"
        "s.publish_waiting(5); print('held', flush=True); time.sleep(60)\n"
    )
    # The with block closes the child's stdout pipe and reaps it, however the test ends.
    with subprocess.Popen(
        [sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, text=True
    ) as proc:
        here = HostSlots(tmp_path, 1)
        try:
            assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
            assert here.try_acquire() is None and here.competitors() == 1
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
            deadline = time.time() + 5
            while here.try_acquire() is None:
                assert time.time() < deadline, "the dead holder's token was never freed"
                time.sleep(0.01)
            assert here.competitors() == 1  # its row still says 5 waiting …
            assert here.competitors(sweep=True) == 0  # … until a sweep finds nobody holds it
        finally:
            proc.kill()
            here.close()
