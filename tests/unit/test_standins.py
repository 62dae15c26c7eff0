"""The stand-in images' names and recipes, without an engine."""

from pathlib import Path

from daprshop import standins


def test_stand_ins_are_never_named_like_upstream_images() -> None:
    """Every stand-in lives under daprshop-standin/, so no fake python:… or daprio/… exists."""
    for image in (
        standins.PYTHON,
        standins.REDIS,
        standins.dapr_image("1.18.2"),
        standins.zipkin_image("3.5.1"),
        standins.locust_image("2.47.0"),
        standins.golang_image("1.26.8"),
    ):
        assert image.startswith("daprshop-standin/")
        assert not image.removeprefix("daprshop-standin/").startswith(("daprio/", "library/"))


def test_recipe_lines_skip_comments_and_blanks(tmp_path: Path) -> None:
    """Recipe files may be commented; only their other lines are used."""
    recipe = tmp_path / "packages.txt"
    recipe.write_text("# why\n\npython3\n  ca-certificates \n")
    assert standins.recipe_lines(recipe) == ["python3", "ca-certificates"]


def test_the_python_recipe_trusts_the_host_bundle_for_pip() -> None:
    """pip in an image build reaches PyPI through the host's CA bundle (proxies included)."""
    changes = standins.recipe_lines(standins.RECIPES / "python" / "changes.txt")
    assert "ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt" in changes
    packages = standins.recipe_lines(standins.RECIPES / "python" / "packages.txt")
    assert {"python3", "python3-venv", "ca-certificates"} <= set(packages)


def test_zipkin_and_locust_stand_ins_follow_the_pins_of_deploy_render() -> None:
    """The stand-ins are built at the versions the compose file names upstream."""
    text = 'ZIPKIN_IMAGE = "openzipkin/zipkin:3.5.1"\nLOCUST_VERSION = "2.47.0"\n'
    assert standins.pin("ZIPKIN_IMAGE", text) == "3.5.1"
    assert standins.pin("LOCUST_VERSION", text) == "2.47.0"
    render = standins.RENDER.read_text()
    assert f'"openzipkin/zipkin:{standins.pin("ZIPKIN_IMAGE")}"' in render
    assert f'LOCUST_VERSION = "{standins.pin("LOCUST_VERSION")}"' in render


def test_the_go_builder_stand_in_is_the_host_toolchain_on_the_python_stand_in() -> None:
    """No golang image can be pulled and Debian's Go is too old: the host's GOROOT goes in,
    on the base whose SSL_CERT_FILE is the host's CA bundle (Go's TLS reads it), with the
    host's GOPROXY and GOSUMDB and never a toolchain download."""
    recipe = standins.recipe_lines(standins.RECIPES / "golang" / "Dockerfile")
    assert "FROM ${BASE}" in recipe and "COPY go /usr/local/go" in recipe
    assert "ARG GOPROXY=https://proxy.golang.org,direct" in recipe
    env = " ".join(line for line in recipe if line.startswith("ENV") or line.startswith("GO"))
    assert "GOTOOLCHAIN=local" in env and "GOPROXY=${GOPROXY}" in env
    changes = standins.recipe_lines(standins.RECIPES / "python" / "changes.txt")
    assert "ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt" in changes
    go = standins.host_go()
    assert go.root.joinpath("bin", "go").is_file() and go.version[0].isdigit()
