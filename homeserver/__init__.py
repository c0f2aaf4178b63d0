"""A Matrix-style chat homeserver with its own web client."""

__version__ = "0.1.0"
