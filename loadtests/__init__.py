"""Load tests and the measured comparison of the three coordination styles."""
