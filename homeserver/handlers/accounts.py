"""Registration, password login, logout, password change and devices."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from homeserver.errors import MatrixError, forbidden
from homeserver.handlers.identifiers import parse_user_id, validate_localpart
from homeserver.handlers.passwords import Passwords
from homeserver.handlers.tokens import IssuedToken, Requester, TokenService
from homeserver.storage import Storage
from homeserver.util import now_ms, random_string

MAX_PASSWORD_LENGTH = 512
USERNAME_TAKEN = "That username is already taken. Please choose another one."


@dataclass(frozen=True)
class LoginResult:
    user_id: str
    device_id: str
    token: IssuedToken


def new_device_id() -> str:
    return random_string(10, "ABCDEFGHIJKLMNOPQRSTUVWXYZ")


class Accounts:
    def __init__(
        self,
        storage: Storage,
        passwords: Passwords,
        tokens: TokenService,
        server_name: str,
        min_password_length: int,
    ) -> None:
        self._storage = storage
        self._passwords = passwords
        self._tokens = tokens
        self._server_name = server_name
        self._min_password_length = min_password_length

    def user_id_for(self, localpart: str) -> str:
        return f"@{localpart}:{self._server_name}"

    async def check_username_available(self, localpart: str) -> str:
        """The user id a requested user name becomes, if free. User names are
        lower-cased first, as Synapse and Conduit do (`Alice` is `@alice`)."""
        localpart = localpart.lower()
        validate_localpart(localpart, self._server_name)
        user_id = self.user_id_for(localpart)
        if await self._storage.users.get_user(user_id) is not None:
            raise MatrixError(400, "M_USER_IN_USE", USERNAME_TAKEN)
        return user_id

    def check_password_strength(self, password: Any) -> str:
        if not isinstance(password, str):
            raise MatrixError(400, "M_MISSING_PARAM", "A password is required")
        if len(password) < self._min_password_length:
            raise MatrixError(
                400,
                "M_WEAK_PASSWORD",
                f"Passwords must be at least {self._min_password_length} characters",
            )
        if len(password) > MAX_PASSWORD_LENGTH:
            raise MatrixError(400, "M_INVALID_PARAM", "Password too long")
        return password

    async def generate_localpart(self) -> str:
        while True:
            localpart = "user" + str(secrets.randbelow(10**8))
            if await self._storage.users.get_user(self.user_id_for(localpart)) is None:
                return localpart

    async def register(
        self,
        localpart: str,
        password: str | None,
        *,
        displayname: str | None = None,
        is_admin: bool = False,
    ) -> str:
        user_id = await self.check_username_available(localpart)
        password_hash = await self._passwords.hash(password) if password is not None else None
        created = await self._storage.users.create_user(
            user_id, password_hash, displayname or localpart, is_admin, now_ms()
        )
        if not created:
            raise MatrixError(400, "M_USER_IN_USE", USERNAME_TAKEN)
        return user_id

    async def start_session(
        self,
        user_id: str,
        device_id: str | None,
        display_name: str | None,
        ip: str | None,
        *,
        refresh: bool = False,
    ) -> LoginResult:
        """With `refresh` (the client sent `refresh_token: true`), a short-lived
        access token and a refresh token; otherwise a long-lived access token."""
        device_id = device_id or new_device_id()
        if len(device_id) > 255:
            raise MatrixError(400, "M_INVALID_PARAM", "device_id too long")
        await self._storage.users.upsert_device(user_id, device_id, display_name, now_ms(), ip)
        if refresh:
            token = await self._tokens.issue_refreshable(user_id, device_id)
        else:
            token = await self._tokens.issue(user_id, device_id)
        return LoginResult(user_id, device_id, token)

    async def check_password(self, identifier_user: str, password: str) -> str:
        """The user id when the password is right; M_FORBIDDEN otherwise (the
        same answer for an unknown user, to not reveal who exists)."""
        user_id = self.resolve_login_user(identifier_user)
        user = await self._storage.users.get_user(user_id) if user_id else None
        hashed = user.password_hash if user else None
        if not await self._passwords.verify(hashed, password) or user is None:
            raise forbidden("Invalid username or password")
        if user.deactivated:
            # Only to someone who knows the password: the account is closed,
            # not the password wrong.
            raise MatrixError(403, "M_USER_DEACTIVATED", "This account has been deactivated")
        return user.user_id

    def resolve_login_user(self, value: str) -> str | None:
        """The local user id a login identifier names (a localpart or a full
        user id, in any case: local user names are lower-case), or None."""
        if value.startswith("@"):
            try:
                localpart, domain = parse_user_id(value)
            except MatrixError:
                return None
            return self.user_id_for(localpart.lower()) if domain == self._server_name else None
        return self.user_id_for(value.lower())

    async def change_password(
        self, requester: Requester, new_password: str, logout_devices: bool
    ) -> None:
        password_hash = await self._passwords.hash(new_password)
        await self._storage.users.set_password_hash(requester.user_id, password_hash)
        if logout_devices:
            await self._storage.users.revoke_sessions(
                requester.user_id, now_ms(), except_device=requester.device_id
            )
            await self._storage.users.delete_devices_except(requester.user_id, requester.device_id)

    async def logout(self, requester: Requester) -> None:
        await self._storage.users.delete_devices(requester.user_id, [requester.device_id], now_ms())

    async def logout_all(self, user_id: str) -> None:
        """Signs out every device of the user (their refresh tokens with them)."""
        await self._storage.users.revoke_sessions(user_id, now_ms())
        await self._storage.users.delete_devices_except(user_id, None)
