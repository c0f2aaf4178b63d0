"""OAuth 2.0 state: registered clients, authorization codes, device grants and
the browser sessions of the authorization server's own pages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from homeserver.storage.base import Store, upsert
from homeserver.storage.tables import (
    oauth_authorization_codes,
    oauth_browser_sessions,
    oauth_clients,
    oauth_device_grants,
)
from homeserver.util import json_dumps, json_loads


@dataclass(frozen=True)
class ClientRecord:
    client_id: str
    client_secret_hash: str | None
    token_endpoint_auth_method: str
    application_type: str
    client_name: str | None
    client_uri: str | None
    redirect_uris: list[str]
    grant_types: list[str]
    response_types: list[str]
    extra_metadata: dict[str, Any]
    first_party: bool = False
    created_ts: int = 0


@dataclass(frozen=True)
class CodeRecord:
    code_hash: str
    client_id: str
    user_id: str
    redirect_uri: str
    scope: str
    code_challenge: str
    code_challenge_method: str
    expires_ts: int
    used_ts: int | None = None
    session_id: str | None = None


@dataclass(frozen=True)
class DeviceGrantRecord:
    device_code_hash: str
    user_code: str
    client_id: str
    scope: str
    status: str
    interval_seconds: int
    expires_ts: int
    last_poll_ts: int | None = None
    user_id: str | None = None
    session_id: str | None = None


def _client(r: Any) -> ClientRecord:
    return ClientRecord(
        client_id=r.client_id,
        client_secret_hash=r.client_secret_hash,
        token_endpoint_auth_method=r.token_endpoint_auth_method,
        application_type=r.application_type,
        client_name=r.client_name,
        client_uri=r.client_uri,
        redirect_uris=list(json_loads(r.redirect_uris)),
        grant_types=list(json_loads(r.grant_types)),
        response_types=list(json_loads(r.response_types)),
        extra_metadata=dict(json_loads(r.extra_metadata)),
        first_party=bool(r.first_party),
        created_ts=r.created_ts,
    )


def _device_grant(r: Any) -> DeviceGrantRecord:
    return DeviceGrantRecord(
        device_code_hash=r.device_code_hash,
        user_code=r.user_code,
        client_id=r.client_id,
        scope=r.scope,
        status=r.status,
        interval_seconds=r.interval_seconds,
        expires_ts=r.expires_ts,
        last_poll_ts=r.last_poll_ts,
        user_id=r.user_id,
        session_id=r.session_id,
    )


class OAuthStore(Store):
    # -- clients -------------------------------------------------------------

    async def save_client(self, client: ClientRecord) -> None:
        """Inserts the client, or replaces it (start-up registration of the
        first-party clients uses fixed ids)."""
        values = {
            "client_id": client.client_id,
            "client_secret_hash": client.client_secret_hash,
            "token_endpoint_auth_method": client.token_endpoint_auth_method,
            "application_type": client.application_type,
            "client_name": client.client_name,
            "client_uri": client.client_uri,
            "redirect_uris": json_dumps(client.redirect_uris),
            "grant_types": json_dumps(client.grant_types),
            "response_types": json_dumps(client.response_types),
            "extra_metadata": json_dumps(client.extra_metadata),
            "first_party": client.first_party,
            "created_ts": client.created_ts,
        }
        async with self.write() as conn:
            await conn.execute(upsert(conn, oauth_clients, values, ["client_id"]))

    async def get_client(self, client_id: str) -> ClientRecord | None:
        async with self.read() as conn:
            row = (
                await conn.execute(
                    select(oauth_clients).where(oauth_clients.c.client_id == client_id)
                )
            ).first()
        return None if row is None else _client(row)

    async def get_clients(self, client_ids: list[str]) -> dict[str, ClientRecord]:
        if not client_ids:
            return {}
        async with self.read() as conn:
            rows = (
                await conn.execute(
                    select(oauth_clients).where(oauth_clients.c.client_id.in_(client_ids))
                )
            ).all()
        return {r.client_id: _client(r) for r in rows}

    # -- authorization codes --------------------------------------------------

    async def save_code(self, code: CodeRecord, now: int) -> None:
        async with self.write() as conn:
            await conn.execute(
                insert(oauth_authorization_codes).values(
                    code_hash=code.code_hash,
                    client_id=code.client_id,
                    user_id=code.user_id,
                    redirect_uri=code.redirect_uri,
                    scope=code.scope,
                    code_challenge=code.code_challenge,
                    code_challenge_method=code.code_challenge_method,
                    created_ts=now,
                    expires_ts=code.expires_ts,
                    used_ts=None,
                    session_id=None,
                )
            )

    async def get_code(self, code_hash: str) -> CodeRecord | None:
        async with self.read() as conn:
            r = (
                await conn.execute(
                    select(oauth_authorization_codes).where(
                        oauth_authorization_codes.c.code_hash == code_hash
                    )
                )
            ).first()
        if r is None:
            return None
        return CodeRecord(
            code_hash=r.code_hash,
            client_id=r.client_id,
            user_id=r.user_id,
            redirect_uri=r.redirect_uri,
            scope=r.scope,
            code_challenge=r.code_challenge,
            code_challenge_method=r.code_challenge_method,
            expires_ts=r.expires_ts,
            used_ts=r.used_ts,
            session_id=r.session_id,
        )

    async def claim_code(self, code_hash: str, session_id: str, now: int) -> bool:
        """Marks the code exchanged for `session_id`; False if it already was."""
        async with self.write() as conn:
            result = await conn.execute(
                update(oauth_authorization_codes)
                .where(
                    oauth_authorization_codes.c.code_hash == code_hash,
                    oauth_authorization_codes.c.used_ts.is_(None),
                )
                .values(used_ts=now, session_id=session_id)
            )
        return bool(result.rowcount)

    # -- device grants (RFC 8628) ----------------------------------------------

    async def save_device_grant(self, grant: DeviceGrantRecord, now: int) -> bool:
        """False when the user code collides with a live one (the caller draws again)."""
        try:
            async with self.write() as conn:
                await conn.execute(
                    delete(oauth_device_grants).where(
                        oauth_device_grants.c.user_code == grant.user_code,
                        oauth_device_grants.c.expires_ts <= now,
                    )
                )
                await conn.execute(
                    insert(oauth_device_grants).values(
                        device_code_hash=grant.device_code_hash,
                        user_code=grant.user_code,
                        client_id=grant.client_id,
                        scope=grant.scope,
                        status=grant.status,
                        interval_seconds=grant.interval_seconds,
                        last_poll_ts=None,
                        user_id=None,
                        session_id=None,
                        created_ts=now,
                        expires_ts=grant.expires_ts,
                    )
                )
        except IntegrityError:
            return False
        return True

    async def get_device_grant(self, device_code_hash: str) -> DeviceGrantRecord | None:
        async with self.read() as conn:
            row = (
                await conn.execute(
                    select(oauth_device_grants).where(
                        oauth_device_grants.c.device_code_hash == device_code_hash
                    )
                )
            ).first()
        return None if row is None else _device_grant(row)

    async def get_device_grant_by_user_code(
        self, user_code: str, now: int
    ) -> DeviceGrantRecord | None:
        async with self.read() as conn:
            row = (
                await conn.execute(
                    select(oauth_device_grants).where(
                        oauth_device_grants.c.user_code == user_code,
                        oauth_device_grants.c.expires_ts > now,
                    )
                )
            ).first()
        return None if row is None else _device_grant(row)

    async def decide_device_grant(
        self, device_code_hash: str, user_id: str, approved: bool, now: int
    ) -> bool:
        """Records the user's decision on a pending grant; False if not pending."""
        async with self.write() as conn:
            result = await conn.execute(
                update(oauth_device_grants)
                .where(
                    oauth_device_grants.c.device_code_hash == device_code_hash,
                    oauth_device_grants.c.status == "pending",
                    oauth_device_grants.c.expires_ts > now,
                )
                .values(status="approved" if approved else "denied", user_id=user_id)
            )
        return bool(result.rowcount)

    async def record_poll(self, device_code_hash: str, now: int) -> bool:
        """Notes a poll. True (slow down) when it came sooner than the interval,
        which then grows by 5 seconds, as RFC 8628 section 3.5 requires."""
        async with self.write() as conn:
            row = (
                await conn.execute(
                    select(
                        oauth_device_grants.c.last_poll_ts, oauth_device_grants.c.interval_seconds
                    ).where(oauth_device_grants.c.device_code_hash == device_code_hash)
                )
            ).first()
            if row is None:
                return False
            too_soon = (
                row.last_poll_ts is not None
                and now - row.last_poll_ts < row.interval_seconds * 1000
            )
            values: dict[str, int] = {"last_poll_ts": now}
            if too_soon:
                values["interval_seconds"] = row.interval_seconds + 5
            await conn.execute(
                update(oauth_device_grants)
                .where(oauth_device_grants.c.device_code_hash == device_code_hash)
                .values(values)
            )
        return too_soon

    async def claim_device_grant(self, device_code_hash: str, session_id: str) -> bool:
        """Approved -> used, once; False if someone else got there first."""
        async with self.write() as conn:
            result = await conn.execute(
                update(oauth_device_grants)
                .where(
                    oauth_device_grants.c.device_code_hash == device_code_hash,
                    oauth_device_grants.c.status == "approved",
                )
                .values(status="used", session_id=session_id)
            )
        return bool(result.rowcount)

    # -- browser sessions -----------------------------------------------------------

    async def create_browser_session(
        self, session_hash: str, user_id: str, now: int, expires_ts: int
    ) -> None:
        async with self.write() as conn:
            await conn.execute(
                insert(oauth_browser_sessions).values(
                    session_hash=session_hash,
                    user_id=user_id,
                    created_ts=now,
                    expires_ts=expires_ts,
                )
            )

    async def get_browser_session(self, session_hash: str, now: int) -> str | None:
        async with self.read() as conn:
            user_id = await conn.scalar(
                select(oauth_browser_sessions.c.user_id).where(
                    oauth_browser_sessions.c.session_hash == session_hash,
                    oauth_browser_sessions.c.expires_ts > now,
                )
            )
        return None if user_id is None else str(user_id)

    async def delete_browser_session(self, session_hash: str) -> None:
        async with self.write() as conn:
            await conn.execute(
                delete(oauth_browser_sessions).where(
                    oauth_browser_sessions.c.session_hash == session_hash
                )
            )

    # -- housekeeping ------------------------------------------------------------

    async def purge(self, now: int, keep_codes_ms: int) -> int:
        """Deletes expired browser sessions and device grants, and codes expired
        more than `keep_codes_ms` ago (kept a while so that a late second use is
        still recognised as reuse)."""
        async with self.write() as conn:
            total = 0
            for statement in (
                delete(oauth_browser_sessions).where(oauth_browser_sessions.c.expires_ts <= now),
                delete(oauth_device_grants).where(oauth_device_grants.c.expires_ts <= now),
                delete(oauth_authorization_codes).where(
                    or_(oauth_authorization_codes.c.expires_ts <= now - keep_codes_ms)
                ),
            ):
                result = await conn.execute(statement)
                total += int(result.rowcount or 0)
        return total
