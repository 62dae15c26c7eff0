"""daprshop payments: Customers' credit limits; charges and refunds, idempotent per order."""
