// Two matrix-js-sdk clients with Rust crypto against a real homeserver:
// an encrypted DM with messages both ways, then a second device of Alice's
// cross-signed by her first and restoring the room keys from key backup.
//
// Run by tests/e2e/test_e2ee_js_sdk.py: `node scenario.mjs '<json>'` with
// {baseUrl, password, alice, bob, alice2: {userId, accessToken, deviceId}}.
// Prints one JSON line with what happened; exits non-zero on failure.

import * as sdk from "matrix-js-sdk";
import { logger as globalLogger } from "matrix-js-sdk/lib/logger.js";

const config = JSON.parse(process.argv[2]);
const STEP_TIMEOUT_MS = 60_000;

function quietLogger(prefix) {
  const emit = (level) => (...args) => {
    if (level === "warn" || level === "error") {
      process.stderr.write(`[${prefix}] ${level}: ${args.map(String).join(" ")}\n`);
    }
  };
  return {
    trace: emit("trace"),
    debug: emit("debug"),
    info: emit("info"),
    warn: emit("warn"),
    error: emit("error"),
    getChild: (name) => quietLogger(`${prefix}${name}`),
  };
}

if (typeof globalLogger.setLevel === "function") {
  globalLogger.setLevel("warn");
}

async function until(what, check, timeoutMs = STEP_TIMEOUT_MS) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function startClient(name, creds) {
  const client = sdk.createClient({
    baseUrl: config.baseUrl,
    userId: creds.userId,
    accessToken: creds.accessToken,
    deviceId: creds.deviceId,
    logger: quietLogger(name),
  });
  await client.initRustCrypto({ useIndexedDB: false });
  const prepared = new Promise((resolve) => {
    const onSync = (state) => {
      if (state === "PREPARED" || state === "SYNCING") {
        client.off(sdk.ClientEvent.Sync, onSync);
        resolve();
      }
    };
    client.on(sdk.ClientEvent.Sync, onSync);
  });
  await client.startClient({ initialSyncLimit: 20 });
  await prepared;
  return client;
}

function decryptedBodies(client, roomId) {
  const room = client.getRoom(roomId);
  if (!room) return [];
  return room
    .getLiveTimeline()
    .getEvents()
    .filter((event) => event.getType() === "m.room.message" && event.isEncrypted())
    .map((event) => event.getContent().body);
}

async function fetchJson(path, accessToken) {
  const response = await fetch(`${config.baseUrl}${path}`, {
    headers: { Authorization: `Bearer ${accessToken}` },
  });
  return { status: response.status, body: await response.json() };
}

function passwordAuth(userId, session) {
  return {
    type: "m.login.password",
    identifier: { type: "m.id.user", user: userId },
    password: config.password,
    ...(session ? { session } : {}),
  };
}

async function main() {
  const result = {};
  const alice = await startClient("alice", config.alice);
  const bob = await startClient("bob", config.bob);

  // -- an encrypted DM, both ways ------------------------------------------------
  const { room_id: roomId } = await alice.createRoom({
    preset: sdk.Preset.TrustedPrivateChat,
    is_direct: true,
    invite: [config.bob.userId],
    initial_state: [
      { type: "m.room.encryption", state_key: "", content: { algorithm: "m.megolm.v1.aes-sha2" } },
    ],
  });
  result.roomId = roomId;
  await until("bob's invite", () => bob.getRoom(roomId)?.getMyMembership() === "invite");
  await bob.joinRoom(roomId);
  await until(
    "alice seeing bob join",
    () => alice.getRoom(roomId)?.getMember(config.bob.userId)?.membership === "join",
  );
  await until("the room to be encrypted for alice", () => alice.isRoomEncrypted?.(roomId) ?? true);

  const toBob = await alice.sendMessage(roomId, { msgtype: "m.text", body: config.messages[0] });
  await until("bob decrypting alice's message", () =>
    decryptedBodies(bob, roomId).includes(config.messages[0]),
  );
  const toAlice = await bob.sendMessage(roomId, { msgtype: "m.text", body: config.messages[1] });
  await until("alice decrypting bob's reply", () =>
    decryptedBodies(alice, roomId).includes(config.messages[1]),
  );
  result.eventIds = [toBob.event_id, toAlice.event_id];
  result.bobDecrypted = decryptedBodies(bob, roomId);
  result.aliceDecrypted = decryptedBodies(alice, roomId);

  // -- cross-signing and key backup on alice's first device ----------------------
  const aliceCrypto = alice.getCrypto();
  await aliceCrypto.bootstrapCrossSigning({
    authUploadDeviceSigningKeys: async (makeRequest) => {
      try {
        await makeRequest(null); // the first master key needs no UIA
      } catch (error) {
        if (error.httpStatus !== 401 || !error.data?.session) throw error;
        await makeRequest(passwordAuth(config.alice.userId, error.data.session));
      }
    },
  });
  result.aliceCrossSigningReady = await aliceCrypto.isCrossSigningReady();
  await aliceCrypto.resetKeyBackup();
  const backupVersion = await aliceCrypto.getActiveSessionBackupVersion();
  result.backupVersion = backupVersion;
  await until(
    "alice's room keys to reach the backup",
    async () => {
      const info = await fetchJson("/_matrix/client/v3/room_keys/version", config.alice.accessToken);
      return info.status === 200 && info.body.count >= 1;
    },
    90_000,
  );

  // -- a second device, cross-signed by the first, restoring from backup ---------
  const alice2 = await startClient("alice2", config.alice2);
  const alice2Crypto = alice2.getCrypto();
  await until("alice's first device seeing the second", async () => {
    const devices = await aliceCrypto.getUserDeviceInfo([config.alice.userId], true);
    return devices.get(config.alice.userId)?.has(config.alice2.deviceId);
  });
  await aliceCrypto.crossSignDevice(config.alice2.deviceId);
  await until("bob seeing alice's second device signed by her", async () => {
    const status = await bob
      .getCrypto()
      .getDeviceVerificationStatus(config.alice.userId, config.alice2.deviceId);
    return status?.signedByOwner;
  });
  result.secondDeviceSignedByOwner = true;

  const backupKey = await aliceCrypto.getSessionBackupPrivateKey();
  await alice2Crypto.storeSessionBackupPrivateKey(backupKey, backupVersion);
  const restored = await alice2Crypto.restoreKeyBackup();
  result.restoredKeys = restored.imported;
  await until("alice's second device decrypting the history", async () => {
    const room = alice2.getRoom(roomId);
    if (!room) return false;
    for (const event of room.getLiveTimeline().getEvents()) {
      if (event.isEncrypted() && event.isDecryptionFailure()) {
        await alice2.decryptEventIfNeeded(event, { isRetry: true });
      }
    }
    const bodies = decryptedBodies(alice2, roomId);
    return config.messages.every((message) => bodies.includes(message));
  });
  result.alice2Decrypted = decryptedBodies(alice2, roomId);

  for (const client of [alice, bob, alice2]) client.stopClient();
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().then(
  () => process.exit(0),
  (error) => {
    process.stderr.write(`scenario failed: ${error?.stack ?? error}\n`);
    process.exit(1);
  },
);
