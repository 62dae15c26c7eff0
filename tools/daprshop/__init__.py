"""daprshop's operator tooling: the Dapr runtime build, the self-hosted launcher, checks."""
