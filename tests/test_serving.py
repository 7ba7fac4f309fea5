"""qiao.web.serving.Board: the shared counts by which server processes balance connections."""

from __future__ import annotations

import os
import time

from qiao.web import serving


def test_a_process_stops_accepting_while_it_holds_more_than_the_slack_over_the_fewest():
    board = serving.Board(3)
    # Alone (the others never wrote): always accepts.
    assert board.admit(0, 9)
    assert board.admit(1, 2)
    assert board.admit(2, 3)
    assert not board.admit(2, 4)  # 4 > 2 + 1
    assert not board.admit(0, 9)  # 9 > 2 + 1
    assert board.admit(0, 2 + serving.SLACK)
    assert not board.admit(0, 3 + serving.SLACK)
    assert board.admit(1, 2)  # the fewest always accepts
    # A replaced process's slot is cleared: it no longer holds the others back.
    board.clear(1)
    assert not board.admit(0, 9)  # 9 > 4 + 1 (process 2)
    board.clear(2)
    assert board.admit(0, 9)


def test_a_silent_process_is_not_compared_with(monkeypatch):
    board = serving.Board(2)
    assert board.admit(1, 0)
    assert not board.admit(0, 5)
    later = time.monotonic() + serving.STALE_SECONDS + 1
    monkeypatch.setattr(serving.time, "monotonic", lambda: later)
    assert board.admit(0, 5)


def test_the_counts_are_shared_with_a_forked_process():
    board = serving.Board(2)
    pid = os.fork()
    if pid == 0:
        board.admit(1, 7)
        os._exit(0)
    os.waitpid(pid, 0)
    assert not board.admit(0, 9)  # the child's 7 is seen: 9 > 7 + 1
    assert board.admit(0, 8)
