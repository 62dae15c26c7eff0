"""Orders' settings, read from the environment once at start-up."""

from daprshop_contracts.settings import ServiceSettings


class Settings(ServiceSettings):
    app_id: str = "orders"
    participants: tuple[str, ...] = ("inventory", "payments", "shipping")
