"""Federation: the server-server API (keys, signed requests, queries) beside
the homeserver. Nothing here is imported while `enable_federation` is off."""
