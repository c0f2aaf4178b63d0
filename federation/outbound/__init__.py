"""Sending to other servers: one queue per destination."""
