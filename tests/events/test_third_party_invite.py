"""Room version 11 authorisation rule 4.4.1: invites from third-party invites."""

from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from homeserver.events import encode_verify_key, sign_json

from .builders import BOB, CAROL, MOD, Room, make_event, member_event, standard_room

TOKEN = "abc123"
IDENTITY_SERVER = "id.example.org"
IS_KEY = Ed25519PrivateKey.generate()
OTHER_KEY = Ed25519PrivateKey.generate()


def room_with_3pid_invite(*, in_public_keys_list: bool = False) -> Room:
    public_key = encode_verify_key(IS_KEY.public_key())
    content: dict[str, Any] = {"display_name": "c...@example.com", "key_validity_url": "https://x"}
    if in_public_keys_list:
        content["public_key"] = encode_verify_key(OTHER_KEY.public_key())
        content["public_keys"] = [{"public_key": "garbage"}, {"public_key": public_key}]
    else:
        content["public_key"] = public_key
    room = standard_room()
    return room.set(make_event("m.room.third_party_invite", BOB, content, state_key=TOKEN))


def signed_block(
    mxid: str = CAROL, token: str = TOKEN, key: Ed25519PrivateKey = IS_KEY
) -> dict[str, Any]:
    return sign_json({"mxid": mxid, "token": token}, IDENTITY_SERVER, "ed25519:0", key)


def invite(sender: str = BOB, target: str = CAROL, signed: Any = None) -> dict[str, Any]:
    third_party_invite: dict[str, Any] = {"display_name": "c...@example.com"}
    if signed is not None:
        third_party_invite["signed"] = signed
    return member_event(sender, target, "invite", third_party_invite=third_party_invite)


def test_valid_third_party_invite() -> None:
    assert room_with_3pid_invite().allowed(invite(signed=signed_block()))


def test_key_from_public_keys_list() -> None:
    room = room_with_3pid_invite(in_public_keys_list=True)
    assert room.allowed(invite(signed=signed_block()))


def test_target_need_not_be_invitable_by_sender_power() -> None:
    # Rule 4.4.1 allows once the signature matches; the invite level is not consulted.
    room = room_with_3pid_invite().set_power_levels(invite=100)
    assert room.allowed(invite(signed=signed_block()))


@pytest.mark.parametrize(
    ("description", "event"),
    [
        ("no signed block", invite(signed=None)),
        ("signed is not an object", invite(signed="x")),
        ("missing token", invite(signed={"mxid": CAROL, "signatures": {}})),
        ("mxid is not the target", invite(signed=signed_block(mxid=MOD))),
        ("unknown token", invite(signed=signed_block(token="other"))),
        ("sender differs from the 3pid invite's sender", invite(sender=MOD, signed=signed_block())),
        ("signed by another key", invite(signed=signed_block(key=OTHER_KEY))),
        (
            "tampered after signing",
            invite(signed={**signed_block(), "extra": "field"}),
        ),
        ("no signatures", invite(signed={"mxid": CAROL, "token": TOKEN})),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_invalid_third_party_invites(description: str, event: dict[str, Any]) -> None:
    assert not room_with_3pid_invite().allowed(event)


def test_banned_target_rejected() -> None:
    room = room_with_3pid_invite().set_member(CAROL, "ban")
    assert not room.allowed(invite(signed=signed_block()))
