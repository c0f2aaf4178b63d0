"""The homeserver's own OAuth 2.0 authorization server (Matrix OAuth 2.0 API,
MSC3861), built on Authlib's framework-agnostic server components.

- `server.py` wires Authlib's AuthorizationServer: grants (`grants.py`), the
  revocation, introspection, device-authorization and client-registration
  endpoints (`endpoints.py`, `registration.py`), and the JWT token generator;
- `bridge.py` lets Authlib's synchronous hooks reach the async storage: Authlib
  runs in a worker thread and waits for coroutines it hands to the event loop;
- `requests.py` adapts a Quart request to Authlib's request objects;
- `service.py` is what the HTTP layer (`api/oauth.py`, `api/oauth_pages.py`) calls;
- `pages.py`, `browser.py` and `throttle.py` serve the login, consent, device and
  sessions pages (templates/ and static/ are package data).
"""
