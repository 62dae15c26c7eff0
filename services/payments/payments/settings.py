"""Payments's settings, read from the environment once at start-up."""

from daprshop_contracts.settings import ServiceSettings


class Settings(ServiceSettings):
    app_id: str = "payments"
