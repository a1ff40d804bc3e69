"use strict";
const assert = require("node:assert/strict");
const h = require("../lib/harness");

h.scenario("connect with auth", async (t) => {
  const s = await h.client(t, "/", { auth: { token: "good", user: "ann" }, query: { room: "r1" } });
  const welcome = h.once(s, "welcome"); // emitted by the server's OnConnect
  await h.connected(s);
  assert.deepEqual(await welcome, [{ id: s.id }]);
  assert.equal(await h.settled(s, t), t.final);
  const me = await s.timeout(5000).emitWithAck("whoami");
  assert.equal(me.id, s.id, "socket id seen by the server");
  assert.notEqual(s.id, s.io.engine.id, "socket id differs from the Engine.IO sid");
  assert.equal(me.nsp, "/");
  assert.deepEqual(me.auth, { token: "good", user: "ann" });
  assert.equal(me.query.room, "r1");
  assert.equal(me.query.EIO, "4");
  assert.equal(me.transport, t.final);
});

h.scenario("middleware refusal is a connect_error with data", async (t) => {
  const s = await h.client(t, "/", { auth: { token: "bad" } });
  const [err] = await h.once(s, "connect_error");
  assert.equal(err.message, "unauthorized");
  assert.deepEqual(err.data, { code: 42 });
  assert.equal(s.connected, false);
  // What apps do: fix the auth and connect the same socket again.
  s.auth = { token: "good" };
  s.connect();
  await h.connected(s);
  assert.deepEqual((await s.timeout(5000).emitWithAck("whoami")).auth, { token: "good" });
});

h.scenario("client-side disconnect, then connect again", async (t) => {
  const s = await h.client(t);
  await h.connected(s);
  const first = s.id;
  const gone = h.once(s, "disconnect");
  s.disconnect();
  assert.equal((await gone)[0], "io client disconnect");
  s.connect();
  await h.connected(s);
  assert.notEqual(s.id, first);
  assert.equal((await s.timeout(5000).emitWithAck("whoami")).id, s.id);
});

h.scenario(
  "heartbeat keeps an idle connection open",
  async (t) => {
    // The server pings every 1s and waits 3s for the pong: 4.5s covers
    // several pings and a full ping timeout on both sides.
    const s = await h.client(t);
    await h.connected(s);
    const sid = s.io.engine.id;
    let pings = 0;
    s.io.on("ping", () => pings++);
    let dropped = null;
    s.on("disconnect", (r) => (dropped = r));
    await h.sleep(4500);
    assert.equal(dropped, null);
    assert.ok(pings >= 3, `${pings} pings`);
    assert.equal(s.io.engine.id, sid);
    assert.equal(s.io.engine.transport.name, t.final);
    assert.equal(await s.timeout(5000).emitWithAck("echo", "alive"), "alive");
  },
  { concurrent: true },
);

h.scenario("namespaces: /admin multiplexed with /", async (t) => {
  const m = await h.manager(t);
  const root = m.socket("/", { auth: { token: "good" } });
  const admin = m.socket("/admin");
  await Promise.all([h.connected(root), h.connected(admin)]);
  assert.equal(root.io, admin.io, "one connection for both namespaces");
  const [r, a] = await Promise.all([root.emitWithAck("whoami"), admin.emitWithAck("whoami")]);
  assert.equal(r.nsp, "/");
  assert.equal(a.nsp, "/admin");
  assert.equal(a.id, admin.id);
  assert.notEqual(a.id, r.id);
  assert.deepEqual(await admin.emitWithAck("echo", { from: "admin" }), { from: "admin" });
  // Leaving /admin (server side) keeps / on the same connection.
  admin.emit("disconnect-me");
  const [reason] = await h.once(admin, "disconnect");
  assert.equal(reason, "io server disconnect");
  assert.deepEqual(await root.timeout(5000).emitWithAck("echo", "still here"), "still here");
  assert.equal(root.connected, true);

  // /admin on its own connection.
  const solo = await h.client(t, "/admin");
  await h.connected(solo);
  assert.equal((await solo.emitWithAck("whoami")).nsp, "/admin");
});

h.scenario("unknown namespace is a connect_error, the connection stays", async (t) => {
  const m = await h.manager(t);
  const root = m.socket("/");
  await h.connected(root);
  const bad = m.socket("/nope");
  const [err] = await h.once(bad, "connect_error");
  assert.equal(err.message, "Invalid namespace");
  assert.equal(bad.connected, false);
  assert.equal(await root.timeout(5000).emitWithAck("echo", 1), 1);

  const alone = await h.client(t, "/does-not-exist");
  const [err2] = await h.once(alone, "connect_error");
  assert.equal(err2.message, "Invalid namespace");
});

h.scenario("server-side disconnect: io server disconnect", async (t) => {
  const s = await h.client(t, "/", { reconnection: true, reconnectionDelay: 50 });
  await h.connected(s);
  s.emit("disconnect-me");
  const [reason] = await h.once(s, "disconnect");
  assert.equal(reason, "io server disconnect");
  assert.equal(s.connected, false);
  // The client must not reconnect by itself after a server disconnect.
  let reconnected = false;
  s.on("connect", () => (reconnected = true));
  await h.sleep(300);
  assert.equal(reconnected, false);

  // Disconnect(true) closes the whole connection: every namespace is told
  // first (no automatic reconnection), over polling too.
  const m = await h.manager(t, { reconnection: true, reconnectionDelay: 50 });
  const root = m.socket("/");
  const admin = m.socket("/admin");
  await Promise.all([h.connected(root), h.connected(admin)]);
  await h.settled(root, t);
  const reasons = Promise.all([h.once(root, "disconnect"), h.once(admin, "disconnect")]);
  root.emit("disconnect-me", { close: true });
  const [[r1], [r2]] = await reasons;
  assert.equal(r1, "io server disconnect");
  assert.equal(r2, "io server disconnect");
  let attempts = 0;
  m.on("reconnect_attempt", () => attempts++);
  await h.sleep(300);
  assert.equal(attempts, 0, "the manager must not reconnect");
  assert.equal(root.connected || admin.connected, false);
});

h.scenario("a socket kicked while it emits is told, and stays kicked", async (t) => {
  // The client's emits cross the server's DISCONNECT. The client must still
  // get the DISCONNECT, or the manager would reconnect the socket the
  // server turned away. (This server drops the crossing packets and keeps
  // the connection; Node closes the connection after the DISCONNECT, and
  // the manager reconnects "/" alone.)
  const m = await h.manager(t, { reconnection: true, reconnectionDelay: 50 });
  const root = m.socket("/");
  const admin = m.socket("/admin");
  await Promise.all([h.connected(root), h.connected(admin)]);
  await h.settled(root, t);
  const gone = h.once(admin, "disconnect");
  admin.emit("disconnect-me");
  for (let i = 0; i < 20; i++) admin.emit("echo", i);
  const [reason] = await gone;
  assert.equal(reason, "io server disconnect");
  await h.sleep(300);
  assert.equal(admin.connected, false, "the kicked socket stays out");
  assert.equal(await root.timeout(5000).emitWithAck("echo", "still here"), "still here");
});
