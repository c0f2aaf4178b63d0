"""Browser sessions and CSRF protection for the authorization server's pages.

A signed-in browser holds a random secret in an HttpOnly, SameSite=Lax cookie
scoped to /oauth2 (Secure on https); the database keeps its hash. Every form
carries a CSRF token: an HMAC, under a key derived from the server's signing
key, of a random per-browser cookie (double submit, signed); a POST must also
come from our own origin when the browser says where it comes from."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from urllib.parse import urlsplit

from homeserver.handlers.tokens import hash_secret
from homeserver.storage import Storage
from homeserver.util import now_ms

SESSION_COOKIE = "hs_oauth_session"
CSRF_COOKIE = "hs_oauth_csrf"
COOKIE_PATH = "/oauth2"
BROWSER_SESSION_LIFETIME_SECONDS = 7 * 86400


class BrowserSessions:
    def __init__(self, storage: Storage, secret: bytes, base_url: str) -> None:
        self._storage = storage
        self._csrf_key = hmac.new(secret, b"homeserver oauth csrf", hashlib.sha256).digest()
        parts = urlsplit(base_url)
        self.secure = parts.scheme == "https"
        self._origin = f"{parts.scheme}://{parts.netloc}".lower()

    async def sign_in(self, user_id: str) -> str:
        """A new session (never a reused id); returns the cookie value."""
        secret = secrets.token_urlsafe(32)
        now = now_ms()
        await self._storage.oauth.create_browser_session(
            hash_secret(secret), user_id, now, now + BROWSER_SESSION_LIFETIME_SECONDS * 1000
        )
        return secret

    async def user(self, cookie: str | None) -> str | None:
        if not cookie:
            return None
        return await self._storage.oauth.get_browser_session(hash_secret(cookie), now_ms())

    async def sign_out(self, cookie: str | None) -> None:
        if cookie:
            await self._storage.oauth.delete_browser_session(hash_secret(cookie))

    @staticmethod
    def new_csrf_cookie() -> str:
        return secrets.token_urlsafe(24)

    def csrf_token(self, csrf_cookie: str) -> str:
        return hmac.new(self._csrf_key, csrf_cookie.encode(), hashlib.sha256).hexdigest()

    def check_csrf(self, csrf_cookie: str | None, token: str | None) -> bool:
        if not csrf_cookie or not token:
            return False
        # As bytes: compare_digest refuses str with characters beyond ASCII.
        expected = self.csrf_token(csrf_cookie).encode()
        return hmac.compare_digest(expected, token.encode("utf-8", "replace"))

    def same_origin(self, origin: str | None, referer: str | None) -> bool:
        """False only when the browser names another origin."""
        if origin and origin != "null":
            return origin.lower().rstrip("/") == self._origin
        if referer:
            parts = urlsplit(referer)
            return f"{parts.scheme}://{parts.netloc}".lower() == self._origin
        return True
