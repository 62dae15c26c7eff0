"""daprshop shipping: Destinations; shipments and their cancellation."""
