"""daprshop orders: the public API; owns orders and the saga in all three modes."""
