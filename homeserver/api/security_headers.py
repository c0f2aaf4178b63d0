"""Security headers for what browsers render: the web client (its pages,
scripts, service worker and other files) and the sign-in pages (login,
account creation, consent, device approval, sessions).

The web client's policy allows only its own scripts (no inline script, no
eval), its own styles (React sets styles through the DOM, which CSP does not
restrict), and connections to its own origin, WebSockets included. Nothing may
frame either (clickjacking); no Referer leaves them. Over https every response
also carries Strict-Transport-Security."""

from __future__ import annotations

import re

from quart import Response

WEB_CLIENT_BLUEPRINT = "web_client"
SIGN_IN_BLUEPRINT = "oauth_pages"
HSTS = "max-age=31536000"
_HOST = re.compile(r"^[A-Za-z0-9.\-]+(?::[0-9]{1,5})?$|^\[[0-9A-Fa-f:.]+\](?::[0-9]{1,5})?$")

# No form-action: the consent form's answer redirects to the app's own URI,
# and browsers apply form-action to that redirect too.
SIGN_IN_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; base-uri 'none'; "
    "frame-ancestors 'none'"
)


def web_client_csp(websocket_origin: str) -> str:
    """`websocket_origin` is this server's origin as ws:// or wss://: browsers
    older than CSP 3 do not count it as 'self'."""
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; "
        "img-src 'self' data: blob:; media-src 'self' blob:; font-src 'self'; "
        f"connect-src 'self' {websocket_origin}; worker-src 'self'; manifest-src 'self'; "
        "frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'"
    )


def apply(
    response: Response, blueprint: str | None, *, host: str, https: bool, public_origin: str
) -> None:
    """Adds the headers for a response of `blueprint` (None: no route matched)
    served to `host` (the request's Host), keeping any a view set itself."""
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    if https:
        headers.setdefault("Strict-Transport-Security", HSTS)
    if blueprint == WEB_CLIENT_BLUEPRINT:
        scheme = "wss" if https else "ws"
        origins = {f"{scheme}://{host}"} if _HOST.match(host) else set()
        if public_origin:
            origins.add(public_origin.replace("https://", "wss://").replace("http://", "ws://"))
        csp = web_client_csp(" ".join(sorted(origins)))
    elif blueprint == SIGN_IN_BLUEPRINT:
        csp = SIGN_IN_CSP
    else:
        return
    headers.setdefault("Content-Security-Policy", csp)
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "no-referrer")
