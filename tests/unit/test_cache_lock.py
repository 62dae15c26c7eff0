"""Two setups at once build a cached tool once: the second waits for the first's lock."""

import threading
from pathlib import Path

import pytest

from daprshop.runtime import cache_lock
from tests.waiting import eventually


def test_a_second_build_waits_until_the_first_releases_the_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Before the lock, two clones' `make setup` raced for one staging directory and one of
    them crashed (FileNotFoundError on deploycheck's bin.partial)."""
    monkeypatch.setenv("DAPRSHOP_CACHE", str(tmp_path))
    order: list[str] = []
    inside, release = threading.Event(), threading.Event()

    def first() -> None:
        with cache_lock("tool"):
            order.append("first in")
            inside.set()
            release.wait(10)
            order.append("first out")

    def second() -> None:
        with cache_lock("tool"):
            order.append("second in")

    a = threading.Thread(target=first)
    a.start()
    assert inside.wait(10)
    b = threading.Thread(target=second)
    b.start()
    eventually(
        lambda: "waiting for another build of tool" in capsys.readouterr().out or None,
        what="the second build to say it waits",
    )
    assert b.is_alive() and order == ["first in"]
    release.set()
    a.join(10)
    b.join(10)
    assert order == ["first in", "first out", "second in"]
