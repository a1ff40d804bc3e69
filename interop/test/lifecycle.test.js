"use strict";
// Disconnections, seen from both sides: the reason the client gets, and the
// reason the server's disconnect handler gets (asked with "reason-of").
const assert = require("node:assert/strict");
const h = require("../lib/harness");

h.scenario("server reasons: client namespace disconnect, transport close", async (t) => {
  const obs = await h.ready(t);
  // the client leaves its only namespace
  const a = await h.ready(t);
  await h.settled(a, t);
  const aid = a.id;
  a.disconnect();
  assert.equal(await h.reasonOf(obs, aid), "client namespace disconnect");

  // one namespace of two leaves; the other stays
  const m = await h.manager(t);
  const root = m.socket("/");
  const admin = m.socket("/admin");
  await Promise.all([h.connected(root), h.connected(admin)]);
  const adminId = admin.id;
  admin.disconnect();
  assert.equal(await h.reasonOf(obs, adminId), "client namespace disconnect");
  assert.equal(await root.timeout(5000).emitWithAck("echo", "still"), "still");

  // the client closes the connection itself: every namespace
  const m2 = await h.manager(t);
  const r2 = m2.socket("/");
  const a2 = m2.socket("/admin");
  await Promise.all([h.connected(r2), h.connected(a2)]);
  await h.settled(r2, t);
  const ids = [r2.id, a2.id];
  m2.engine.close();
  assert.deepEqual(await Promise.all(ids.map((id) => h.reasonOf(obs, id))), ["transport close", "transport close"]);
});

h.scenario("server reasons: server namespace disconnect, with and without close", async (t) => {
  const obs = await h.ready(t);
  const m = await h.manager(t);
  const root = m.socket("/");
  const admin = m.socket("/admin");
  await Promise.all([h.connected(root), h.connected(admin)]);
  await h.settled(root, t);
  const ids = [root.id, admin.id];
  const gone = Promise.all([h.once(root, "disconnect"), h.once(admin, "disconnect")]);
  admin.emit("disconnect-me", { close: true });
  const [[r1], [r2]] = await gone;
  assert.deepEqual([r1, r2], ["io server disconnect", "io server disconnect"]);
  assert.deepEqual(await Promise.all(ids.map((id) => h.reasonOf(obs, id))), [
    "server namespace disconnect",
    "server namespace disconnect",
  ]);
});

h.scenario(
  "a client that stops answering pings: ping timeout on the server, then it reconnects",
  async (t) => {
    const obs = await h.ready(t);
    const s = await h.ready(t, "/", { reconnection: true, reconnectionDelay: 50, reconnectionDelayMax: 50 });
    await h.settled(s, t);
    const id = s.id;
    const engine = s.io.engine;
    // drop the pongs of this engine (the next one, after reconnection, is new)
    const send = engine._sendPacket.bind(engine);
    engine._sendPacket = (type, ...rest) => (type === "pong" ? undefined : send(type, ...rest));
    // The server pings every 1s and waits 3s for the pong.
    const [reason] = await h.once(s, "disconnect", 8000);
    assert.equal(reason, "transport close");
    assert.equal(await h.reasonOf(obs, id), "ping timeout");
    await h.connected(s);
    assert.notEqual(s.id, id);
    assert.equal(await s.timeout(5000).emitWithAck("echo", "back"), "back");
  },
  { timeout: 20000, concurrent: true },
);

h.scenario("the client's own ping timeout fires when the server goes quiet", async (t) => {
  // Not the whole server: the client stops seeing the server's packets.
  const s = await h.ready(t, "/", { reconnection: true, reconnectionDelay: 50, reconnectionDelayMax: 50 });
  await h.settled(s, t);
  const id = s.id;
  const engine = s.io.engine;
  // Packets from the server are ignored from now on, pings included, but
  // the client keeps the server happy with pongs of its own.
  engine.transport.off("packet");
  const pongs = setInterval(() => engine._sendPacket("pong"), 300);
  t.opened.push(() => clearInterval(pongs));
  const [reason] = await h.once(s, "disconnect", 8000);
  clearInterval(pongs);
  assert.equal(reason, "ping timeout");
  await h.connected(s);
  assert.notEqual(s.id, id);
  // the server let the old connection go too
  const obs = await h.ready(t);
  assert.equal(await h.reasonOf(obs, id), "transport close");
}, { timeout: 20000, concurrent: true });

h.scenario("emits queued before connect arrive in order; disconnect then connect again", async (t) => {
  const s = await h.client(t, "/", { autoConnect: false });
  for (let i = 1; i <= 30; i++) s.emit("note", { n: i });
  s.connect();
  await h.connected(s);
  const r = await s.timeout(5000).emitWithAck("notes");
  assert.deepEqual(
    r.notes.map((x) => x.n),
    Array.from({ length: 30 }, (_, i) => i + 1),
  );
  // emits while disconnected are buffered too, and sent after connect
  s.disconnect();
  for (let i = 31; i <= 35; i++) s.emit("note", { n: i });
  s.connect();
  await h.connected(s);
  const r2 = await s.timeout(5000).emitWithAck("notes");
  assert.deepEqual(
    r2.notes.map((x) => x.n),
    [31, 32, 33, 34, 35],
  );
});

h.scenario("a volatile emit before connect is dropped by the client", async (t) => {
  const s = await h.client(t, "/", { autoConnect: false });
  s.volatile.emit("note", { n: 1 });
  s.emit("note", { n: 2 });
  s.connect();
  await h.connected(s);
  assert.deepEqual((await s.timeout(5000).emitWithAck("notes")).notes, [{ n: 2, ack: false }]);
});

h.scenario("a message larger than the server's maximum payload ends the connection", async (t) => {
  const obs = await h.ready(t);
  const s = await h.ready(t);
  await h.settled(s, t);
  const id = s.id;
  const gone = h.once(s, "disconnect");
  s.emit("echo", "x".repeat(1100000)); // maxHttpBufferSize / MaxPayload: 1e6
  const [reason] = await gone;
  const server = await h.reasonOf(obs, id);
  if (t.final === "websocket") {
    assert.equal(reason, "transport close");
    assert.equal(server, "transport error");
  } else {
    // Node answers the POST with 413 and leaves the session to the client,
    // which closes it: client "transport error", server "transport close".
    // Go closes the session itself: server "transport error", and the
    // client sees the 413 or the close packet first: "transport error" or
    // "transport close" (see the report on engineio's servePost).
    assert.ok(["transport error", "transport close"].includes(reason), reason);
    assert.ok(["transport error", "transport close"].includes(server), server);
  }
  // the other clients are not affected
  assert.equal(await obs.timeout(5000).emitWithAck("echo", 1), 1);
});
