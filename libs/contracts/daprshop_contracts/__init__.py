"""Shared by the daprshop services: event contracts, topic names, settings base and small
Dapr helpers. Holds no domain behaviour and imports no service."""
