"""daprshop inventory: Catalogue, prices and stock; reservations and their release."""
