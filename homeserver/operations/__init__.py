"""Running the server: metrics, health and readiness, database outages."""
