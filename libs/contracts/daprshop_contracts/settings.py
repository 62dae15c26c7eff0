"""Settings every service reads from its environment once, at start-up."""

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    """Where the app listens and where its sidecar is; invalid values fail at start."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    app_id: str = Field(min_length=1)
    app_port: int = Field(default=8000, gt=0, lt=65536)
    dapr_http_port: int = Field(default=3500, gt=0, lt=65536)
    dapr_grpc_port: int = Field(default=50001, gt=0, lt=65536)
    pubsub_name: str = "pubsub"
    statestore_name: str = "statestore"

    @property
    def dapr_url(self) -> str:
        return f"http://127.0.0.1:{self.dapr_http_port}"
