"""Shipping's settings, read from the environment once at start-up."""

from daprshop_platform.settings import ServiceSettings


class Settings(ServiceSettings):
    app_id: str = "shipping"
