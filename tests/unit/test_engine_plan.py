"""What `daprshop engine` decides to do, given what the host has."""

from dataclasses import replace

import pytest

from daprshop.composebuild import VERSION, ldflags
from daprshop.engine import EngineError, Host, plan

READY = Host(
    missing=(),
    can_apt=False,
    engine_up=True,
    compose="2.40.3",
    compose_built=True,
    plugin="ours",
)


def test_a_ready_host_needs_nothing() -> None:
    """An engine that answers and a Compose v2 leave nothing to do, even without root."""
    assert plan(READY) == []


def test_a_fresh_debian_host_as_root_gets_everything() -> None:
    """Root on Debian with nothing: install, start dockerd, build and link Compose."""
    fresh = Host(("dockerd", "debootstrap"), True, False, None, False, "none")
    assert plan(fresh) == ["install", "start-dockerd", "build-compose", "link-compose"]


def test_missing_packages_without_apt_name_what_to_install() -> None:
    """Without root or apt-get, the error names the Debian packages instead of trying."""
    with pytest.raises(EngineError, match=r"apt-get install docker\.io debootstrap"):
        plan(replace(READY, missing=("dockerd", "debootstrap")))


def test_a_stopped_engine_is_started() -> None:
    """dockerd installed but not answering: start it, nothing else."""
    assert plan(replace(READY, engine_up=False)) == ["start-dockerd"]


@pytest.mark.parametrize("version", ["2.40.3", "v2.29.1", "2.41.0-desktop.1"])
def test_a_users_compose_v2_is_used_as_it_is(version: str) -> None:
    """Any Compose v2 the user has is kept: no build, no link."""
    assert plan(replace(READY, compose=version, compose_built=False, plugin="other")) == []


def test_a_cached_compose_is_linked_not_rebuilt() -> None:
    """The pinned build in the cache is reused when the plugin link is gone."""
    assert plan(replace(READY, compose=None, plugin="none")) == ["link-compose"]


def test_a_foreign_plugin_that_is_not_v2_is_left_alone() -> None:
    """A plugin file daprshop did not put there is never overwritten."""
    with pytest.raises(EngineError, match="move it aside"):
        plan(replace(READY, compose="1.29.2", plugin="other"))


def test_the_build_stamps_the_pinned_version() -> None:
    """The link step checks `docker compose version` against what the build stamped."""
    assert f"internal.Version={VERSION}" in ldflags(VERSION)
