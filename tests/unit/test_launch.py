"""How each app is started (daprshop.launch): Python apps by uvicorn, Go apps as a binary
built once per stack start; what a missing or failing `go` tells the user."""

import gc
import os
import stat
from pathlib import Path

import pytest

from daprshop import launch
from daprshop.topology import APP_IDS


@pytest.fixture
def fake_go(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A `go` on PATH that records its arguments and writes the -o file."""
    go = tmp_path / "fakebin" / "go"
    go.parent.mkdir()
    go.write_text(
        "#!/bin/sh\n"
        f'echo "$@" >> {tmp_path}/go-calls\n'
        "echo 'daprshop/services/shipping/cmd/shipping' >&2\n"
        '[ "${FAKE_GO_EXIT:-0}" = 0 ] || exit "$FAKE_GO_EXIT"\n'
        'while [ "$1" != -o ]; do shift; done; echo binary > "$2"\n'
    )
    go.chmod(go.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{go.parent}{os.pathsep}{os.environ['PATH']}")
    return go


def test_every_app_is_python_or_go_and_shipping_is_go() -> None:
    programs = launch.programs()
    assert list(programs) == list(APP_IDS)
    assert [a.app_id for a in launch.go_apps()] == ["shipping"]
    assert launch.python_apps() == [a for a in APP_IDS if a != "shipping"]


def test_a_go_app_runs_its_binary_with_the_python_apps_environment_plus_its_host(
    tmp_path: Path,
) -> None:
    """The binary reads APP_PORT like the Python apps (no flags) and APP_HOST for loopback."""
    go, py = launch.program("shipping"), launch.program("inventory")
    assert go.argv(tmp_path, 8004) == [str(tmp_path / "shipping")]
    assert go.env() == {"APP_HOST": "127.0.0.1"}
    argv = py.argv(tmp_path, 8002)
    assert argv[1:5] == ["-m", "uvicorn", "inventory.main:create_app", "--factory"]
    assert argv[argv.index("--host") + 1 : argv.index("--port") + 2] == [
        "127.0.0.1",
        "--port",
        "8002",
    ]


def test_go_apps_are_built_from_the_repository_root_with_a_progress_line(
    fake_go: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    launch.build(launch.go_apps(), tmp_path / "bin")
    gc.collect()  # run_go's pipes are closed: an unclosed one would warn here
    call = (tmp_path / "go-calls").read_text().split()
    assert call[:2] == ["build", "-v"]
    assert call[call.index("-o") + 1] == str(tmp_path / "bin" / "shipping")
    assert call[-1] == "./services/shipping/cmd/shipping"
    assert (tmp_path / "bin" / "shipping").read_text() == "binary\n"
    assert "building shipping (Go) ..." in capsys.readouterr().out


def test_without_go_the_error_says_which_app_needs_it_and_how_to_get_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no go here
    with pytest.raises(launch.BuildError) as err:
        launch.build(launch.go_apps(), tmp_path / "bin")
    assert "shipping is written in Go" in str(err.value)
    assert "https://go.dev/dl" in str(err.value) and "1.19 is too old" in str(err.value)


def test_a_failed_build_says_what_failed_and_what_to_check(
    fake_go: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_GO_EXIT", "1")
    with pytest.raises(launch.BuildError) as err:
        launch.build(launch.go_apps(), tmp_path / "bin")
    gc.collect()
    message = str(err.value)
    assert "failed (exit 1)" in message and "daprshop/services/shipping/cmd/shipping" in message
    assert "go vet ./..." in message and "GOPROXY" in message


def test_no_go_app_means_no_go_needed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A stack of Python apps only (inventory alone) starts on a machine without Go."""
    monkeypatch.setenv("PATH", str(tmp_path))
    launch.build(launch.go_apps(["orders", "inventory"]), tmp_path / "bin")
    assert not (tmp_path / "bin").exists()
