"""Redirect URI rules of the Matrix OAuth 2.0 API ("Redirect URI validation",
after RFC 8252 section 7).

- `web` clients: https URIs on the host of `client_uri` or a subdomain of it;
- `native` clients: the same (claimed https URIs), a private-use scheme that is
  the `client_uri` host in reverse-DNS order (`com.example.app:/callback`, no
  authority), or `http` on the loopback interface without a port (any port is
  then accepted when authorizing);
- never a fragment, never user information in the authority.
"""

from __future__ import annotations

from urllib.parse import SplitResult, urlsplit

LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


class RedirectUriError(ValueError):
    pass


def _split(uri: str) -> SplitResult:
    try:
        parts = urlsplit(uri)
        _ = parts.port  # raises ValueError on a malformed port
    except ValueError as exc:
        raise RedirectUriError("not a valid URI") from exc
    return parts


def host_within(host: str, base_host: str) -> bool:
    host, base_host = host.lower(), base_host.lower()
    return host == base_host or host.endswith("." + base_host)


def check_https_uri(uri: str, base_host: str | None, what: str) -> str:
    """An https URI without user information or fragment, on `base_host` or a
    subdomain of it when given. Returns its host."""
    parts = _split(uri)
    if parts.scheme != "https" or not parts.hostname:
        raise RedirectUriError(f"{what} must be an https URL")
    if parts.username is not None or parts.password is not None:
        raise RedirectUriError(f"{what} must not contain a user or password")
    if parts.fragment or "#" in uri:
        raise RedirectUriError(f"{what} must not have a fragment")
    if base_host is not None and not host_within(parts.hostname, base_host):
        raise RedirectUriError(f"{what} must be on the host of client_uri or a subdomain of it")
    return parts.hostname


def is_loopback_redirect(uri: str) -> bool:
    parts = urlsplit(uri)
    return parts.scheme == "http" and (parts.hostname or "") in LOOPBACK_HOSTS


def check_redirect_uri(uri: str, application_type: str, client_host: str) -> None:
    if "#" in uri:
        raise RedirectUriError("redirect URIs must not have a fragment")
    parts = _split(uri)
    if application_type != "native" or parts.scheme == "https":
        check_https_uri(uri, client_host, "a redirect URI")
        return
    if parts.scheme == "http":
        if (parts.hostname or "") not in LOOPBACK_HOSTS:
            raise RedirectUriError(
                "http redirect URIs must be on the loopback interface (localhost, "
                "127.0.0.1 or [::1])"
            )
        if parts.port is not None or parts.username is not None:
            raise RedirectUriError(
                "loopback redirect URIs must not have a port (any port is accepted)"
            )
        return
    reverse = ".".join(reversed(client_host.lower().split(".")))
    scheme = parts.scheme.lower()
    if not (scheme == reverse or scheme.startswith(reverse + ".")):
        raise RedirectUriError(
            "a private-use URI scheme must be the client_uri host in reverse-DNS order"
        )
    if uri[len(parts.scheme) + 1 :].startswith("//"):
        raise RedirectUriError("a private-use redirect URI must not have an authority")


def redirect_matches(registered: list[str], requested: str, application_type: str) -> bool:
    """Exact match, except that a registered loopback URI of a native client
    accepts any port (RFC 8252 section 7.3)."""
    if "#" in requested:
        return False
    if requested in registered:
        return True
    if application_type != "native" or not is_loopback_redirect(requested):
        return False
    try:
        asked = urlsplit(requested)
        _ = asked.port
    except ValueError:
        return False
    for uri in registered:
        if not is_loopback_redirect(uri):
            continue
        known = urlsplit(uri)
        if (known.hostname, known.path or "/", known.query) == (
            asked.hostname,
            asked.path or "/",
            asked.query,
        ) and asked.username is None:
            return True
    return False


def same_origin(uri: str, base_url: str) -> bool:
    """For the first-party web client: any URI on the server's own origin."""
    if "#" in uri:
        return False
    try:
        a, b = urlsplit(uri), urlsplit(base_url)
        return (a.scheme, a.hostname, a.port) == (b.scheme, b.hostname, b.port) and bool(a.hostname)
    except ValueError:
        return False
