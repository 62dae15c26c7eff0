"""An app does not start without APP_API_TOKEN unless DAPRSHOP_SECURITY=off; the tokens are
secrets (no repr, no error shows them); DAPR_API_TOKEN goes to the sidecar when set."""

import pytest
from pydantic import ValidationError

from inventory import main as inventory_main
from inventory.settings import Settings
from tests.unit.fakes import APP_TOKEN

DAPR_TOKEN = "unit-dapr-token-5d20e1"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("APP_API_TOKEN", "DAPR_API_TOKEN", "DAPRSHOP_SECURITY", "DAPRSHOP_SECRET_STORE"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize("token", [None, ""])
def test_an_app_refuses_to_start_without_app_api_token(
    monkeypatch: pytest.MonkeyPatch, token: str | None
) -> None:
    """The error names the variable, what to set it to, and the one way around it."""
    if token is not None:
        monkeypatch.setenv("APP_API_TOKEN", token)
    with pytest.raises(ValidationError, match="APP_API_TOKEN is missing or empty") as err:
        inventory_main.create_app()
    assert "DAPRSHOP_SECURITY=off" in str(err.value)


def test_security_off_starts_without_a_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DAPRSHOP_SECURITY", "off")
    assert Settings().security == "off"


@pytest.mark.parametrize("value", ["false", "0", "OFF", ""])
def test_only_off_turns_security_off(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("DAPRSHOP_SECURITY", value)
    monkeypatch.setenv("APP_API_TOKEN", APP_TOKEN)
    with pytest.raises(ValidationError, match="DAPRSHOP_SECURITY"):
        Settings()


def test_the_environment_gives_the_tokens_and_secret_store(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("APP_API_TOKEN", APP_TOKEN)
    monkeypatch.setenv("DAPR_API_TOKEN", DAPR_TOKEN)
    settings = Settings()
    assert settings.app_api_token is not None
    assert settings.app_api_token.get_secret_value() == APP_TOKEN
    assert settings.sidecar_headers == {"dapr-api-token": DAPR_TOKEN}
    assert settings.secret_store == "daprshop-secrets"
    monkeypatch.setenv("DAPRSHOP_SECRET_STORE", "vault")
    assert Settings().secret_store == "vault"


@pytest.mark.parametrize("token", [None, ""])
def test_no_dapr_api_token_no_header(monkeypatch: pytest.MonkeyPatch, token: str | None) -> None:
    if token is not None:
        monkeypatch.setenv("DAPR_API_TOKEN", token)
    assert Settings(app_api_token=APP_TOKEN).sidecar_headers == {}


def test_settings_and_their_errors_show_no_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_API_TOKEN", APP_TOKEN)
    monkeypatch.setenv("DAPR_API_TOKEN", DAPR_TOKEN)
    settings = Settings()
    for text in (repr(settings), str(settings), settings.model_dump_json()):
        assert APP_TOKEN not in text and DAPR_TOKEN not in text
    monkeypatch.setenv("APP_API_TOKEN", "")  # refused, with DAPR_API_TOKEN in the input
    with pytest.raises(ValidationError) as err:
        Settings()
    assert DAPR_TOKEN[-8:] not in str(err.value)
