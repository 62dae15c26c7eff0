"""Settings every service reads from its environment once, at start-up."""

import socket
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    """Where the app listens and where its sidecar is; invalid values fail at start."""

    # Errors name the variable and never echo a value: some values are tokens.
    model_config = SettingsConfigDict(extra="ignore", frozen=True, hide_input_in_errors=True)

    app_id: str = Field(min_length=1)
    # Which instance of the app this process is, answered by /healthz so that calls balanced
    # between replicas show where each went: the launcher sets the process name
    # (`inventory-2`); elsewhere the host name (a container's, a pod's).
    instance: str = Field(
        default_factory=socket.gethostname, min_length=1, validation_alias="DAPRSHOP_INSTANCE"
    )
    app_port: int = Field(default=8000, gt=0, lt=65536)
    dapr_http_port: int = Field(default=3500, gt=0, lt=65536)
    dapr_grpc_port: int = Field(default=50001, gt=0, lt=65536)
    invoke_timeout_s: float = Field(default=10.0, gt=0)
    pubsub_name: str = "pubsub"
    statestore_name: str = Field(default="", description="default: <app_id>-store")
    # How events leave the service: Dapr's publish API (default), or its transactional outbox
    # (1 s slower per message; see DaprPublisher).
    publish_via: Literal["outbox", "direct"] = Field(
        default="direct", validation_alias="DAPRSHOP_PUBLISH_VIA"
    )
    # APP_API_TOKEN: what this app's sidecar sends on every call to the app (dapr-api-token);
    # the app refuses calls without it. DAPR_API_TOKEN: what the app sends to its sidecar.
    app_api_token: SecretStr | None = None
    dapr_api_token: SecretStr | None = None
    # "off" only to measure what the token check costs: any caller can then call any route.
    security: Literal["on", "off"] = Field(default="on", validation_alias="DAPRSHOP_SECURITY")
    # The Dapr secret store holding `admin-token`, which guards the admin endpoints.
    secret_store: str = Field(
        default="daprshop-secrets", min_length=1, validation_alias="DAPRSHOP_SECRET_STORE"
    )

    @model_validator(mode="after")
    def _default_store(self) -> "ServiceSettings":
        if not self.statestore_name:
            object.__setattr__(self, "statestore_name", f"{self.app_id}-store")
        return self

    @model_validator(mode="after")
    def _token_unless_security_off(self) -> "ServiceSettings":
        token = self.app_api_token.get_secret_value() if self.app_api_token else ""
        if self.security == "on" and not token:
            raise ValueError(
                "APP_API_TOKEN is missing or empty: set it to the token this app's Dapr sidecar "
                "sends (daprd's APP_API_TOKEN); only DAPRSHOP_SECURITY=off runs without it"
            )
        return self

    @property
    def sidecar_headers(self) -> dict[str, str]:
        """The headers every direct HTTP call of this app to its sidecar sends."""
        token = self.dapr_api_token.get_secret_value() if self.dapr_api_token else ""
        return {"dapr-api-token": token} if token else {}

    @property
    def dapr_url(self) -> str:
        return f"http://127.0.0.1:{self.dapr_http_port}"
