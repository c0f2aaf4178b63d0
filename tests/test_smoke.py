from tests.matrix_client import V3, TestClient, q


async def test_register_create_send_sync(client: TestClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    room_id = await client.create_room(alice, name="Test", preset="public_chat")
    (await client.join(bob, room_id)).ok()
    event_id = await client.send_text(alice, room_id, "hello")
    sync = await client.sync(bob)
    timeline = sync["rooms"]["join"][room_id]["timeline"]["events"]
    assert event_id in [e["event_id"] for e in timeline]
    messages = (
        await client.get(
            f"{V3}/rooms/{q(room_id)}/messages", token=bob.access_token, query={"dir": "b"}
        )
    ).ok()
    assert messages["chunk"][0]["event_id"] == event_id
