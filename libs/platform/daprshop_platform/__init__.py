"""daprshop's platform layer: the Dapr and FastAPI plumbing every service shares, and no
business rule. Ports (`ports`) with their Dapr adapters, ETag read-modify-write (`state`), the
inbox, fault injection, settings, and the app factories (`service`, `participant`)."""
