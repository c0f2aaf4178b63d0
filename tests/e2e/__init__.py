"""End-to-end tests: each starts the real `homeserver run` process and talks HTTP to it."""
