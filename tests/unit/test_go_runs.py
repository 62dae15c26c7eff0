"""The Go builds' runner (Dapr runtime, Compose): output read, progress shown, pipes closed."""

import gc
import os
import stat
from pathlib import Path

import pytest

from daprshop import composebuild


@pytest.fixture
def fake_go(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    go = tmp_path / "go"
    go.write_text(
        "#!/bin/sh\n"
        "echo 'go: downloading example.com/m v1.0.0' >&2\n"
        "echo 'example.com/m/pkg' >&2\n"
        'echo \'{"Dir": "/somewhere"}\'\n'
        'exit "${FAKE_GO_EXIT:-0}"\n'
    )
    go.chmod(go.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    return go


def test_a_go_run_returns_its_output_and_leaves_no_pipe_open(
    fake_go: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A pipe left open warned (ResourceWarning) once collected, and pytest failed the cold
    compose e2e's setup on it: the build ran inside the test, only on a machine without
    Compose."""
    out = composebuild._run_go(["go", "mod", "download", "-json", "example.com/m@v1.0.0"])
    gc.collect()  # an unclosed pipe warns here, and strict pytest turns that into an error
    assert out.strip() == '{"Dir": "/somewhere"}'
    assert "go: downloading example.com/m v1.0.0" in capsys.readouterr().out


def test_a_failed_go_run_says_what_failed_and_what_to_check(
    fake_go: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_GO_EXIT", "1")
    with pytest.raises(composebuild.BuildError) as err:
        composebuild._run_go(["go", "build", "./cmd"])
    gc.collect()
    assert "failed (exit 1)" in str(err.value) and "example.com/m/pkg" in str(err.value)
    assert "GOPROXY" in str(err.value)
