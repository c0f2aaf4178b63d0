"""Uploading and downloading raw bytes in the media tests; every response is
checked against spec/openapi.yaml like the JSON ones."""

from __future__ import annotations

import contextlib
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image
from werkzeug.datastructures import Headers

from homeserver.app import create_app
from homeserver.config import Config
from tests.conftest import make_config
from tests.contract import check_response
from tests.matrix_client import TestClient, User

UPLOAD = "/_matrix/media/v3/upload"
CREATE = "/_matrix/media/v1/create"
MEDIA = "/_matrix/client/v1/media"
LEGACY = "/_matrix/media/v3"


@dataclass
class Raw:
    status: int
    data: bytes
    headers: Headers  # case-insensitive
    json: Any

    def error(self, status: int, errcode: str) -> None:
        assert self.status == status, (self.status, self.json)
        assert isinstance(self.json, dict) and self.json.get("errcode") == errcode, self.json


async def raw(
    client: TestClient,
    method: str,
    path: str,
    *,
    user: User | None = None,
    data: bytes | None = None,
    content_type: str | None = None,
    query: dict[str, Any] | None = None,
) -> Raw:
    headers: dict[str, str] = {}
    if user is not None:
        headers["Authorization"] = f"Bearer {user.access_token}"
    if content_type is not None:
        headers["Content-Type"] = content_type
    kwargs: dict[str, Any] = {"headers": headers}
    if data is not None:
        kwargs["data"] = data
    if query is not None:
        kwargs["query_string"] = {k: str(v) for k, v in query.items()}
    response = await client._client.open(path, method=method, **kwargs)
    body = await response.get_data()
    parsed = await response.get_json() if response.mimetype == "application/json" else None
    check_response(
        method,
        path,
        response.status_code,
        parsed if parsed is not None else body,
        response.mimetype,
    )
    return Raw(response.status_code, body, response.headers, parsed)


async def upload(
    client: TestClient,
    user: User,
    data: bytes,
    content_type: str | None = "application/octet-stream",
    filename: str | None = None,
) -> Raw:
    query = {"filename": filename} if filename is not None else None
    return await raw(
        client, "POST", UPLOAD, user=user, data=data, content_type=content_type, query=query
    )


async def upload_ok(client: TestClient, user: User, data: bytes, **kwargs: Any) -> str:
    result = await upload(client, user, data, **kwargs)
    assert result.status == 200, result.json
    content_uri = result.json["content_uri"]
    assert isinstance(content_uri, str)
    return content_uri


def media_path(content_uri: str) -> str:
    """mxc://server/id -> server/id"""
    assert content_uri.startswith("mxc://")
    return content_uri.removeprefix("mxc://")


async def download(client: TestClient, user: User | None, content_uri: str, **query: Any) -> Raw:
    return await raw(
        client, "GET", f"{MEDIA}/download/{media_path(content_uri)}", user=user, query=query or None
    )


def image_bytes(width: int, height: int, image_format: str = "PNG", **save: Any) -> bytes:
    image = Image.new("RGB", (width, height), (200, 30, 60))
    buffer = io.BytesIO()
    image.save(buffer, image_format, **save)
    return buffer.getvalue()


def make_media_config(tmp_path: Path, database_url: str, **overrides: Any) -> Config:
    return make_config(tmp_path / "data", database_url, **overrides)


@contextlib.asynccontextmanager
async def media_client(config: Config) -> AsyncIterator[TestClient]:
    app = create_app(config)
    async with app.test_app() as test_app:
        yield TestClient(test_app.test_client(), test_app.app)
