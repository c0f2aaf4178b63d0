"""Every table the homeserver keeps. Only the storage package imports this module."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "pk": "pk_%(table_name)s",
    }
)

users = Table(
    "users",
    metadata,
    Column("user_id", String(255), primary_key=True),
    Column("password_hash", Text, nullable=True),
    Column("displayname", Text, nullable=True),
    Column("avatar_url", Text, nullable=True),
    Column("is_admin", Boolean, nullable=False, default=False),
    Column("deactivated", Boolean, nullable=False, default=False),
    Column("created_ts", BigInteger, nullable=False),
)

devices = Table(
    "devices",
    metadata,
    Column("user_id", String(255), primary_key=True),
    Column("device_id", String(255), primary_key=True),
    Column("display_name", Text, nullable=True),
    Column("created_ts", BigInteger, nullable=False),
    Column("last_seen_ts", BigInteger, nullable=True),
    Column("last_seen_ip", String(64), nullable=True),
)

# One row per access token ever issued; the JWT's `jti` names it. Revoking a
# token sets `revoked_ts`, which every request checks.
sessions = Table(
    "sessions",
    metadata,
    Column("session_id", String(64), primary_key=True),
    Column("user_id", String(255), nullable=False, index=True),
    Column("device_id", String(255), nullable=False),
    Column("created_ts", BigInteger, nullable=False),
    Column("expires_ts", BigInteger, nullable=False),
    Column("revoked_ts", BigInteger, nullable=True),
)

rooms = Table(
    "rooms",
    metadata,
    Column("room_id", String(255), primary_key=True),
    Column("room_version", String(16), nullable=False),
    Column("creator", String(255), nullable=False),
    Column("is_public", Boolean, nullable=False, default=False),
    Column("created_ts", BigInteger, nullable=False),
)

# Every room event. `stream_ordering` is the global stream position, unique and
# increasing in commit order within a process; pagination and sync read by it.
events = Table(
    "events",
    metadata,
    Column("stream_ordering", BigInteger, primary_key=True, autoincrement=False),
    Column("event_id", String(255), nullable=False, unique=True),
    Column("room_id", String(255), nullable=False),
    Column("type", String(255), nullable=False),
    Column("state_key", String(255), nullable=True),
    Column("membership", String(32), nullable=True),
    Column("sender", String(255), nullable=False),
    Column("depth", BigInteger, nullable=False),
    Column("origin_server_ts", BigInteger, nullable=False),
    # The state event this one replaced in the room's current state, so that
    # state at an earlier position can be found by unwinding later changes.
    Column("replaces_state", String(255), nullable=True),
    Column("redacted_by", String(255), nullable=True),
    # Which device sent it under which transaction id, echoed back to that device.
    Column("sender_device", String(255), nullable=True),
    Column("txn_id", String(255), nullable=True),
    Column("json", Text, nullable=False),
    Index("ix_events_room_stream", "room_id", "stream_ordering", unique=True),
    Index("ix_events_member_history", "room_id", "type", "state_key", "stream_ordering"),
)

# The searchable text of room events (POST /search): one row per event that
# has some (m.room.message body, m.room.name name, m.room.topic topic), written
# with the event and deleted when it is redacted. The full-text index over
# `value` is dialect-specific DDL made by the migration, not declared here
# (see storage/search_schema.py): an FTS5 table kept in step by triggers on
# SQLite, a GIN index on to_tsvector('simple', value) on PostgreSQL.
event_search = Table(
    "event_search",
    metadata,
    Column("stream_ordering", BigInteger, primary_key=True, autoincrement=False),
    Column("event_id", String(255), nullable=False, unique=True),
    Column("room_id", String(255), nullable=False),
    Column("sender", String(255), nullable=False),
    # Which field the text came from: content.body, content.name, content.topic.
    Column("key", String(32), nullable=False),
    Column("value", Text, nullable=False),
)

event_edges = Table(
    "event_edges",
    metadata,
    Column("event_id", String(255), primary_key=True),
    Column("prev_event_id", String(255), primary_key=True),
    Column("room_id", String(255), nullable=False),
    Index("ix_event_edges_prev", "prev_event_id"),
)

event_auth_edges = Table(
    "event_auth_edges",
    metadata,
    Column("event_id", String(255), primary_key=True),
    Column("auth_event_id", String(255), primary_key=True),
)

forward_extremities = Table(
    "forward_extremities",
    metadata,
    Column("room_id", String(255), primary_key=True),
    Column("event_id", String(255), primary_key=True),
)

current_state = Table(
    "current_state",
    metadata,
    Column("room_id", String(255), primary_key=True),
    Column("type", String(255), primary_key=True),
    Column("state_key", String(255), primary_key=True),
    Column("event_id", String(255), nullable=False),
    Column("stream_ordering", BigInteger, nullable=False),
)

# Current membership of each user in each room (mirror of the m.room.member
# rows of current_state, indexed by user).
memberships = Table(
    "memberships",
    metadata,
    Column("room_id", String(255), primary_key=True),
    Column("user_id", String(255), primary_key=True),
    Column("membership", String(32), nullable=False),
    Column("event_id", String(255), nullable=False),
    Column("stream_ordering", BigInteger, nullable=False),
    Column("forgotten", Boolean, nullable=False, default=False),
    Index("ix_memberships_user", "user_id", "membership"),
)

transaction_ids = Table(
    "transaction_ids",
    metadata,
    Column("user_id", String(255), primary_key=True),
    Column("device_id", String(255), primary_key=True),
    Column("txn_id", String(255), primary_key=True),
    Column("event_id", String(255), nullable=False),
    Column("room_id", String(255), nullable=False),
    Column("created_ts", BigInteger, nullable=False),
)

account_data = Table(
    "account_data",
    metadata,
    Column("user_id", String(255), primary_key=True),
    # "" for global account data.
    Column("room_id", String(255), primary_key=True),
    Column("type", String(255), primary_key=True),
    Column("content", Text, nullable=False),
    Column("stream_ordering", BigInteger, nullable=False),
    Index("ix_account_data_user_stream", "user_id", "stream_ordering"),
)

filters = Table(
    "filters",
    metadata,
    Column("user_id", String(255), primary_key=True),
    Column("filter_id", Integer, primary_key=True, autoincrement=False),
    Column("definition", Text, nullable=False),
)

room_aliases = Table(
    "room_aliases",
    metadata,
    Column("alias", String(255), primary_key=True),
    Column("room_id", String(255), nullable=False, index=True),
    Column("creator", String(255), nullable=False),
)

# The newest receipt of each kind per user and room (m.read, m.read.private).
receipts = Table(
    "receipts",
    metadata,
    Column("room_id", String(255), primary_key=True),
    Column("receipt_type", String(64), primary_key=True),
    Column("user_id", String(255), primary_key=True),
    Column("event_id", String(255), nullable=False),
    # Where the receipted event is in the room, for unread counting.
    Column("event_stream_ordering", BigInteger, nullable=False),
    Column("ts", BigInteger, nullable=False),
    # The receipt's own position in the global stream, for sync.
    Column("stream_ordering", BigInteger, nullable=False),
    Index("ix_receipts_room_stream", "room_id", "stream_ordering"),
)

# Which events notify or highlight which users, decided when the event is sent;
# unread counts are the rows after the user's read receipt.
event_push_actions = Table(
    "event_push_actions",
    metadata,
    Column("user_id", String(255), primary_key=True),
    Column("room_id", String(255), primary_key=True),
    Column("stream_ordering", BigInteger, primary_key=True),
    Column("event_id", String(255), nullable=False),
    Column("notify", Boolean, nullable=False),
    Column("highlight", Boolean, nullable=False),
    Column("actions", Text, nullable=False),
)

# Presence lives in memory; this is its occasional, coalesced snapshot.
presence = Table(
    "presence",
    metadata,
    Column("user_id", String(255), primary_key=True),
    Column("state", String(32), nullable=False),
    Column("status_msg", Text, nullable=True),
    Column("last_active_ts", BigInteger, nullable=False),
    Column("updated_ts", BigInteger, nullable=False),
)

# -- OAuth 2.0 and refreshable sessions ------------------------------------------
# Secrets (authorization codes, device codes, refresh tokens, client secrets,
# browser-session cookies) are stored as SHA-256 hex digests, never in clear.

# What a `sessions` row was granted. Every session issued since OAuth landed has
# one; a session without it predates it (its JWT has the older claim set).
session_grants = Table(
    "session_grants",
    metadata,
    Column("session_id", String(64), primary_key=True),
    # The OAuth client; NULL for password logins (/login, /register).
    Column("client_id", String(64), nullable=True),
    Column("scope", Text, nullable=False),
    # The access token issued by the latest refresh: its first use retires the
    # refresh token that was rotated (until then a lost response can be retried).
    Column("pending_access_jti", String(64), nullable=True),
)

# Refresh tokens, rotated on every use. `state`: active (the newest), rotated
# (superseded, still usable until its successor is used), consumed (using it
# again is reuse: the session is revoked), discarded or revoked (refused).
refresh_tokens = Table(
    "refresh_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("session_id", String(64), nullable=False),
    Column("state", String(16), nullable=False),
    Column("access_jti", String(64), nullable=False),
    Column("created_ts", BigInteger, nullable=False),
    Column("expires_ts", BigInteger, nullable=False),
    Index("ix_refresh_tokens_session_state", "session_id", "state"),
)

# Registered OAuth clients (RFC 7591), plus the first-party web client.
oauth_clients = Table(
    "oauth_clients",
    metadata,
    Column("client_id", String(64), primary_key=True),
    Column("client_secret_hash", String(64), nullable=True),
    Column("token_endpoint_auth_method", String(32), nullable=False),
    Column("application_type", String(16), nullable=False),
    Column("client_name", Text, nullable=True),
    Column("client_uri", Text, nullable=True),
    # JSON arrays.
    Column("redirect_uris", Text, nullable=False),
    Column("grant_types", Text, nullable=False),
    Column("response_types", Text, nullable=False),
    # The other registered metadata (logo_uri, tos_uri, policy_uri, contacts), JSON.
    Column("extra_metadata", Text, nullable=False),
    Column("first_party", Boolean, nullable=False, default=False),
    Column("created_ts", BigInteger, nullable=False),
)

oauth_authorization_codes = Table(
    "oauth_authorization_codes",
    metadata,
    Column("code_hash", String(64), primary_key=True),
    Column("client_id", String(64), nullable=False),
    Column("user_id", String(255), nullable=False),
    Column("redirect_uri", Text, nullable=False),
    Column("scope", Text, nullable=False),
    Column("code_challenge", String(128), nullable=False),
    Column("code_challenge_method", String(16), nullable=False),
    Column("created_ts", BigInteger, nullable=False),
    Column("expires_ts", BigInteger, nullable=False),
    # Set when exchanged; a second exchange revokes the session it gave.
    Column("used_ts", BigInteger, nullable=True),
    Column("session_id", String(64), nullable=True),
)

# RFC 8628 device authorization requests. `status`: pending, approved, denied, used.
oauth_device_grants = Table(
    "oauth_device_grants",
    metadata,
    Column("device_code_hash", String(64), primary_key=True),
    Column("user_code", String(16), nullable=False, unique=True),
    Column("client_id", String(64), nullable=False),
    Column("scope", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("interval_seconds", Integer, nullable=False),
    Column("last_poll_ts", BigInteger, nullable=True),
    Column("user_id", String(255), nullable=True),
    Column("session_id", String(64), nullable=True),
    Column("created_ts", BigInteger, nullable=False),
    Column("expires_ts", BigInteger, nullable=False),
)

# Signed-in browsers on the authorization server's own pages (login, consent,
# device approval, sessions); the cookie holds the secret whose hash is the key.
oauth_browser_sessions = Table(
    "oauth_browser_sessions",
    metadata,
    Column("session_hash", String(64), primary_key=True),
    Column("user_id", String(255), nullable=False, index=True),
    Column("created_ts", BigInteger, nullable=False),
    Column("expires_ts", BigInteger, nullable=False),
)

# -- Push ------------------------------------------------------------------------

# Each user's changes to their push rules, as one JSON document: the rules they
# defined (per kind, most important first) and their changes to server-default
# rules (enabled, actions). A rule set is always read whole (every event is
# evaluated against all of it) and edits reorder whole kinds, so one row per
# user makes every edit a single atomic read-modify-write.
push_rules = Table(
    "push_rules",
    metadata,
    Column("user_id", String(255), primary_key=True),
    Column("rules", Text, nullable=False),
    Column("updated_ts", BigInteger, nullable=False),
)

# Where a user's notifications go (POST /pushers/set): Matrix push gateways
# (kind "http") and Web Push subscriptions (kind "webpush", MSC4174).
pushers = Table(
    "pushers",
    metadata,
    Column("user_id", String(255), primary_key=True),
    Column("app_id", String(64), primary_key=True),
    Column("pushkey", String(512), primary_key=True),
    Column("kind", String(16), nullable=False),
    # The device that set the pusher; its pushes stop when the device is gone.
    Column("device_id", String(255), nullable=True),
    Column("app_display_name", Text, nullable=False),
    Column("device_display_name", Text, nullable=False),
    Column("profile_tag", Text, nullable=True),
    Column("lang", String(64), nullable=False),
    # The pusher's `data` object, JSON.
    Column("data", Text, nullable=False),
    # When the pushkey was last set, in milliseconds.
    Column("pushkey_ts", BigInteger, nullable=False),
    Index("ix_pushers_app_id_pushkey", "app_id", "pushkey"),
)

# The push worker reads an event's stored decisions by event id.
Index("ix_event_push_actions_event_id", event_push_actions.c.event_id)

# Other servers' signing keys (federation): one row per server and key id,
# from their /_matrix/key/v2/server answers (verified on arrival). Old keys are
# kept (`expired_ts` set) so that old events stay verifiable.
server_keys = Table(
    "server_keys",
    metadata,
    Column("server_name", String(255), primary_key=True),
    Column("key_id", String(255), primary_key=True),
    # Unpadded base64 ed25519 public key.
    Column("verify_key", String(64), nullable=False),
    # Until when the key may be used, already capped at fetch time + 7 days.
    Column("valid_until_ts", BigInteger, nullable=False),
    # When the server stopped using the key (an `old_verify_keys` entry), or null.
    Column("expired_ts", BigInteger, nullable=True),
    Column("fetched_ts", BigInteger, nullable=False),
)

# The newest verified /_matrix/key/v2/server answer of each server, as received,
# for answering key queries as a notary (counter-signed, never re-encoded).
server_key_responses = Table(
    "server_key_responses",
    metadata,
    Column("server_name", String(255), primary_key=True),
    Column("response_json", Text, nullable=False),
    Column("valid_until_ts", BigInteger, nullable=False),
    Column("fetched_ts", BigInteger, nullable=False),
)

# -- End-to-end encryption -----------------------------------------------------
# The server stores and routes keys and encrypted messages; it never sees
# plaintext. Key objects are kept as the JSON the client uploaded (clients
# verify signatures over it); signatures added later by other keys
# (POST /keys/signatures/upload) are kept apart and merged in when served.

e2e_device_keys = Table(
    "e2e_device_keys",
    metadata,
    Column("user_id", String(255), primary_key=True),
    Column("device_id", String(255), primary_key=True),
    Column("key_json", Text, nullable=False),
)

e2e_one_time_keys = Table(
    "e2e_one_time_keys",
    metadata,
    Column("user_id", String(255), primary_key=True),
    Column("device_id", String(255), primary_key=True),
    Column("algorithm", String(128), primary_key=True),
    Column("key_id", String(255), primary_key=True),
    Column("key_json", Text, nullable=False),
)

# One fallback key per device and algorithm; `used` once claimed (it stays
# claimable until the device uploads a new one).
e2e_fallback_keys = Table(
    "e2e_fallback_keys",
    metadata,
    Column("user_id", String(255), primary_key=True),
    Column("device_id", String(255), primary_key=True),
    Column("algorithm", String(128), primary_key=True),
    Column("key_id", String(255), nullable=False),
    Column("key_json", Text, nullable=False),
    Column("used", Boolean, nullable=False, default=False),
)

# A user's master, self_signing and user_signing keys.
e2e_cross_signing_keys = Table(
    "e2e_cross_signing_keys",
    metadata,
    Column("user_id", String(255), primary_key=True),
    Column("key_type", String(32), primary_key=True),
    Column("public_key", String(255), nullable=False),
    Column("key_json", Text, nullable=False),
)

# Signatures uploaded after the key they sign: on a device (`key_id` is the
# device id) or a cross-signing key (`key_id` is its public key).
e2e_key_signatures = Table(
    "e2e_key_signatures",
    metadata,
    Column("user_id", String(255), primary_key=True),
    Column("key_id", String(255), primary_key=True),
    Column("signer_user_id", String(255), primary_key=True),
    Column("signer_key_id", String(255), primary_key=True),
    Column("signature", Text, nullable=False),
)

# The newest change of each user's devices or cross-signing keys, at a
# position of the global stream (sync's `device_lists.changed`).
device_list_changes = Table(
    "device_list_changes",
    metadata,
    Column("user_id", String(255), primary_key=True),
    Column("stream_ordering", BigInteger, nullable=False, index=True),
)

# Each device's inbox of to-device messages, until a sync acknowledges them.
to_device_messages = Table(
    "to_device_messages",
    metadata,
    Column("user_id", String(255), primary_key=True),
    Column("device_id", String(255), primary_key=True),
    Column("stream_ordering", BigInteger, primary_key=True, autoincrement=False),
    Column("sender", String(255), nullable=False),
    Column("type", String(255), nullable=False),
    Column("content", Text, nullable=False),
)

# sendToDevice transaction ids already handled, per sending device.
to_device_txns = Table(
    "to_device_txns",
    metadata,
    Column("user_id", String(255), primary_key=True),
    Column("device_id", String(255), primary_key=True),
    Column("txn_id", String(255), primary_key=True),
    Column("created_ts", BigInteger, nullable=False),
    # Old ids are deleted by age (e2ee housekeeping).
    Index("ix_to_device_txns_created_ts", "created_ts"),
)

# Stream positions that must survive the rows that held them (acknowledged
# to-device messages are deleted): the next start-up resumes after them.
stream_heads = Table(
    "stream_heads",
    metadata,
    Column("stream", String(64), primary_key=True),
    Column("position", BigInteger, nullable=False),
)

# Server-side key backup: versions (`deleted` ones stay, so numbers are never
# reused) and the encrypted room keys of each.
room_key_backup_versions = Table(
    "room_key_backup_versions",
    metadata,
    Column("user_id", String(255), primary_key=True),
    Column("version", BigInteger, primary_key=True, autoincrement=False),
    Column("algorithm", String(255), nullable=False),
    Column("auth_data", Text, nullable=False),
    Column("etag", BigInteger, nullable=False),
    Column("deleted", Boolean, nullable=False, default=False),
)

room_key_backup_keys = Table(
    "room_key_backup_keys",
    metadata,
    Column("user_id", String(255), primary_key=True),
    Column("version", BigInteger, primary_key=True, autoincrement=False),
    Column("room_id", String(255), primary_key=True),
    Column("session_id", String(255), primary_key=True),
    Column("first_message_index", BigInteger, nullable=False),
    Column("forwarded_count", BigInteger, nullable=False),
    Column("is_verified", Boolean, nullable=False),
    Column("session_data", Text, nullable=False),
)

# The push queue (durable): each push decided for a pusher, until it has been
# delivered or given up on; rows stay (done) until the dispatcher's progress
# has passed their event, so that a replay after a crash skips them.
push_queue = Table(
    "push_queue",
    metadata,
    Column("user_id", String(255), primary_key=True),
    Column("app_id", String(64), primary_key=True),
    Column("pushkey", String(512), primary_key=True),
    Column("event_id", String(255), primary_key=True),
    Column("stream_ordering", BigInteger, nullable=False),
    # The notification to send, JSON (push/notification.py).
    Column("notification", Text, nullable=False),
    Column("done", Boolean, nullable=False, default=False),
    Index("ix_push_queue_stream_ordering", "stream_ordering"),
)

# How far the push dispatcher has got: every event at or below this position
# has had its pushes decided (queued above, or none needed).
push_progress = Table(
    "push_progress",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("stream_ordering", BigInteger, nullable=False),
)

# Uploaded media. The file lives in the data folder by its SHA-256 (shared by
# identical uploads); `sha256` is NULL while an mxc URI made by
# POST /media/v1/create waits for its content (until `expires_ts`).
media = Table(
    "media",
    metadata,
    Column("media_id", String(64), primary_key=True),
    Column("uploader", String(255), nullable=False, index=True),
    Column("content_type", Text, nullable=True),
    Column("upload_name", Text, nullable=True),
    Column("size", BigInteger, nullable=True),
    Column("sha256", String(64), nullable=True, index=True),
    Column("created_ts", BigInteger, nullable=False),
    Column("expires_ts", BigInteger, nullable=True),
)

# Thumbnails made of local media, one per requested size and method; files
# are stored by SHA-256 like the media themselves.
media_thumbnails = Table(
    "media_thumbnails",
    metadata,
    Column("media_id", String(64), primary_key=True),
    Column("width", Integer, primary_key=True, autoincrement=False),
    Column("height", Integer, primary_key=True, autoincrement=False),
    Column("method", String(8), primary_key=True),
    Column("content_type", String(64), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False, index=True),
    Column("created_ts", BigInteger, nullable=False),
)
# Media of other servers fetched over federation, cached here: by origin
# server and media id, the file stored by SHA-256 like local media (so the
# same content uploaded here and there is stored once).
remote_media = Table(
    "remote_media",
    metadata,
    Column("origin", String(255), primary_key=True),
    Column("media_id", String(255), primary_key=True),
    Column("content_type", Text, nullable=False),
    Column("upload_name", Text, nullable=True),
    Column("size", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False, index=True),
    Column("fetched_ts", BigInteger, nullable=False),
)

# Thumbnails of remote media as the origin server made them, one per size and
# method asked for.
remote_media_thumbnails = Table(
    "remote_media_thumbnails",
    metadata,
    Column("origin", String(255), primary_key=True),
    Column("media_id", String(255), primary_key=True),
    Column("width", Integer, primary_key=True, autoincrement=False),
    Column("height", Integer, primary_key=True, autoincrement=False),
    Column("method", String(8), primary_key=True),
    Column("content_type", Text, nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False, index=True),
    Column("fetched_ts", BigInteger, nullable=False),
)
# -- federation rooms ---------------------------------------------------------

# Transactions other servers sent us (`PUT /_matrix/federation/v1/send/{txnId}`),
# by origin and transaction id, with the answer given: a retried transaction
# gets the same answer and is not processed twice.
federation_received_transactions = Table(
    "federation_received_transactions",
    metadata,
    Column("origin", String(255), primary_key=True),
    Column("txn_id", String(255), primary_key=True),
    Column("response_json", Text, nullable=False),
    Column("received_ts", BigInteger, nullable=False),
)

# Received events that are not part of the room as served: rejected (failed the
# auth rules against their auth events or the state before them) or soft-failed
# (allowed by the state before them, not by the room's current state). Kept so
# that the same event is not processed again and rejections are known to state
# resolution.
federation_event_outcomes = Table(
    "federation_event_outcomes",
    metadata,
    Column("event_id", String(255), primary_key=True),
    Column("room_id", String(255), nullable=False),
    Column("origin", String(255), nullable=False),
    # "rejected" or "soft_failed"
    Column("outcome", String(16), nullable=False),
    Column("reason", Text, nullable=False),
    Column("json", Text, nullable=False),
    Column("received_ts", BigInteger, nullable=False),
)
Index("ix_federation_event_outcomes_room_id", federation_event_outcomes.c.room_id)

# What is waiting to go to another server: one row per PDU or EDU and
# destination, in order (`queue_id`), deleted once the destination accepted the
# transaction carrying it. A restart resumes from here.
federation_outbound_queue = Table(
    "federation_outbound_queue",
    metadata,
    Column("queue_id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("destination", String(255), nullable=False),
    # "pdu" or "edu"
    Column("kind", String(8), nullable=False),
    Column("json", Text, nullable=False),
    Column("created_ts", BigInteger, nullable=False),
)
Index(
    "ix_federation_outbound_queue_destination_queue_id",
    federation_outbound_queue.c.destination,
    federation_outbound_queue.c.queue_id,
)

# Scale-out (several worker processes on one PostgreSQL): each live writer's
# "every position I allocated up to here has finished" mark. Readers may go up
# to the smallest mark of the live writers (streams/multi_writer.py).
stream_writers = Table(
    "stream_writers",
    metadata,
    Column("instance", String(64), primary_key=True),
    # The PostgreSQL backend holding the writer's session: gone means the
    # process died and its unfinished transactions were rolled back.
    Column("backend_pid", Integer, nullable=False),
    Column("safe_position", BigInteger, nullable=False),
)
