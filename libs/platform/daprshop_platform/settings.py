"""Settings every service reads from its environment once, at start-up."""

from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    """Where the app listens and where its sidecar is; invalid values fail at start."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    app_id: str = Field(min_length=1)
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
    # Guards the admin endpoints (reset, stock levels, fault plan).
    admin_token: str = Field(default="daprshop-dev-token", validation_alias="DAPRSHOP_ADMIN_TOKEN")

    @model_validator(mode="after")
    def _default_store(self) -> "ServiceSettings":
        if not self.statestore_name:
            object.__setattr__(self, "statestore_name", f"{self.app_id}-store")
        return self

    @property
    def dapr_url(self) -> str:
        return f"http://127.0.0.1:{self.dapr_http_port}"
