"""Dapr and FastAPI plumbing shared by the services: ports, adapters, inbox, faults, settings."""
