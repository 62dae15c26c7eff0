"""The contracts every daprshop service shares, as data: versioned commands and events, the
topic plan, and the saga definition. Pydantic only: no framework, no Dapr, no service."""
