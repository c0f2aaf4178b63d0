"""The server-server endpoints: thin blueprints over the federation services."""
