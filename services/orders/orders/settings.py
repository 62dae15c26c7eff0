"""Orders' settings, read from the environment once at start-up."""

from pydantic import Field, HttpUrl

from daprshop_platform.settings import ServiceSettings


class Settings(ServiceSettings):
    app_id: str = "orders"
    # Hybrid: how long the workflow waits for the steps after the hand-off before it compensates.
    hybrid_timeout_s: float = Field(
        default=30.0, gt=0, validation_alias="DAPRSHOP_HYBRID_TIMEOUT_S"
    )
    # The reconciler starts again a saga whose order is still PENDING this long after placement.
    reconcile_after_s: float = Field(
        default=10.0, gt=0, validation_alias="DAPRSHOP_RECONCILE_AFTER_S"
    )
    # ... and drives again a choreographed order that has not moved for this long.
    redrive_after_s: float = Field(default=10.0, gt=0, validation_alias="DAPRSHOP_REDRIVE_AFTER_S")
    reconcile_every_s: float = Field(
        default=2.0, gt=0, validation_alias="DAPRSHOP_RECONCILE_EVERY_S"
    )
    # The trace UI (Zipkin's base URL) the saga page links each order's trace to; none: no link.
    traces_url: HttpUrl | None = Field(default=None, validation_alias="DAPRSHOP_TRACES_URL")
