"""The HTTP API: thin Quart blueprints that parse, check who asks, and call handlers."""
