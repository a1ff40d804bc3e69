"use strict";
// Room operations made by the server outside of the sockets' own handlers
// (namespace-level operators, the "op" event).
const assert = require("node:assert/strict");
const h = require("../lib/harness");

const op = (s, req) => s.timeout(5000).emitWithAck("op", req);
const sorted = (xs) => [...xs].sort();

h.scenario("socketsJoin, socketsLeave, fetchSockets, except, chained to/except", async (t) => {
  const tag = h.tag();
  const [r1, r2, r3] = ["r1-" + tag, "r2-" + tag, "r3-" + tag];
  const ctl = await h.ready(t);
  const [a, b, c] = await Promise.all([h.ready(t), h.ready(t), h.ready(t)]);

  assert.equal(await op(ctl, { op: "join", to: [a.id], rooms: [r1] }), true);
  assert.equal(await op(ctl, { op: "join", to: [b.id, c.id], rooms: [r2, r3] }), true);
  assert.deepEqual(await op(ctl, { op: "fetch", to: [r1] }), [a.id]);
  assert.deepEqual(await op(ctl, { op: "fetch", to: [r1, r2] }), sorted([a.id, b.id, c.id]));
  assert.deepEqual(await op(ctl, { op: "fetch", to: [r1, r2], except: [c.id] }), sorted([a.id, b.id]));
  assert.deepEqual(await op(ctl, { op: "fetch", to: [r1, r2], except: [r3] }), [a.id]);
  // the sockets see their rooms
  const rooms = (await b.timeout(5000).emitWithAck("join", b.id)).sort();
  assert.deepEqual(rooms, sorted([b.id, r2, r3]));

  // emit to the union minus a room: each socket gets one copy
  const got = { a: h.collect(a, "op-msg"), b: h.collect(b, "op-msg"), c: h.collect(c, "op-msg"), ctl: h.collect(ctl, "op-msg") };
  await op(ctl, { op: "emit", to: [r1, r2, r3], except: [b.id], event: "op-msg", args: [1, { x: "y" }] });
  await op(ctl, { op: "emit", to: [b.id], event: "op-msg", args: [2] });
  await h.within(
    (async () => {
      while (got.a.length + got.b.length + got.c.length < 3) await h.sleep(10);
    })(),
    3000,
    "op-msg",
  );
  await h.sleep(100); // nothing else comes
  assert.deepEqual(got.a, [[1, { x: "y" }]]);
  assert.deepEqual(got.b, [2]);
  assert.deepEqual(got.c, [[1, { x: "y" }]]);
  assert.deepEqual(got.ctl, []);

  // leave: only the selected sockets leave
  await op(ctl, { op: "leave", to: [r2], except: [c.id], rooms: [r2] });
  assert.deepEqual(await op(ctl, { op: "fetch", to: [r2] }), [c.id]);
  assert.deepEqual(await op(ctl, { op: "fetch", to: [r3] }), sorted([b.id, c.id]));
  // a socket leaving its own room
  await op(ctl, { op: "leave", to: [a.id], rooms: [a.id] });
  assert.deepEqual(await op(ctl, { op: "fetch", to: [r1] }), [a.id]);
  // (the socket is no longer found by its id, on both servers)
  assert.deepEqual(await op(ctl, { op: "fetch", to: [a.id] }), []);
  assert.deepEqual(await a.timeout(5000).emitWithAck("leave", "zz"), [r1]);
});

h.scenario("disconnectSockets(false) and (true), seen by the clients", async (t) => {
  const tag = "dc-" + h.tag();
  const ctl = await h.ready(t);
  const m = await h.manager(t, { reconnection: true, reconnectionDelay: 50, reconnectionDelayMax: 50 });
  const root = m.socket("/");
  const admin = m.socket("/admin");
  await Promise.all([h.connected(root), h.connected(admin)]);
  await h.settled(root, t);
  await root.timeout(5000).emitWithAck("join", tag);

  // without close: "/" leaves, "/admin" stays on the same connection
  const gone = h.once(root, "disconnect");
  assert.equal(await op(ctl, { op: "disconnect", to: [tag], close: false }), true);
  assert.equal((await gone)[0], "io server disconnect");
  assert.equal(await admin.timeout(5000).emitWithAck("echo", "here"), "here");
  let attempts = 0;
  m.on("reconnect_attempt", () => attempts++);
  await h.sleep(200);
  assert.equal(root.connected, false);
  assert.equal(attempts, 0);

  // the client connects "/" again by itself, then the server closes all
  root.connect();
  await h.connected(root);
  await root.timeout(5000).emitWithAck("join", tag);
  const both = Promise.all([h.once(root, "disconnect"), h.once(admin, "disconnect")]);
  await op(ctl, { op: "disconnect", to: [tag], close: true });
  const [[x], [y]] = await both;
  assert.deepEqual([x, y], ["io server disconnect", "io server disconnect"]);
  await h.sleep(200);
  assert.equal(attempts, 0, "no reconnection after a server disconnect");
  assert.deepEqual(await op(ctl, { op: "fetch", to: [tag] }), []);
  // the application connects both again: a new connection
  const oldEngine = m.engine;
  root.connect();
  admin.connect();
  await Promise.all([h.connected(root), h.connected(admin)]);
  assert.notEqual(m.engine, oldEngine);
  assert.equal(root.io.engine, admin.io.engine);
  assert.deepEqual(
    await Promise.all([root.timeout(5000).emitWithAck("echo", "r"), admin.timeout(5000).emitWithAck("echo", "a")]),
    ["r", "a"],
  );
});

h.scenario("volatile broadcast reaches connected clients", async (t) => {
  const tag = "vol-" + h.tag();
  const ctl = await h.ready(t);
  const a = await h.ready(t);
  await h.settled(a, t);
  await a.timeout(5000).emitWithAck("join", tag);
  // an idle client, whose transport is ready, gets a volatile emit
  const got = h.once(a, "vol-msg");
  await h.sleep(100);
  await op(ctl, { op: "emit", to: [tag], volatile: true, event: "vol-msg", args: ["v"] });
  assert.deepEqual(await got, ["v"]);
});

h.scenario("binary broadcasts to clients on every transport, during their upgrade", async (t) => {
  const room = "mix-" + h.tag();
  const ctl = await h.ready(t);
  // one client of each kind, plus the scenario's own, not waiting for upgrades
  const kinds = [
    { transports: ["websocket"] },
    { transports: ["polling"] },
    {},
    { forceBase64: true },
    t.opts,
  ];
  const socks = await Promise.all(kinds.map((o) => h.ready(t, "/", { ...o, auth: { mwJoin: [room] } })));
  const ticks = socks.map((s) => {
    const got = [];
    s.on("tick", (i, b) => got.push([i, h.bytes(b)]));
    return got;
  });
  const n = 200;
  await op(ctl, { op: "burst", to: [room], n });
  const last = socks.map((s) => h.once(s, "bin-msg"));
  await op(ctl, { op: "emit", to: [room], event: "bin-msg", args: [{ b: Buffer.from([1, 2]) }, Buffer.alloc(0)] });
  await h.within(
    (async () => {
      while (ticks.some((g) => g.length < n)) await h.sleep(10);
    })(),
    5000,
    "all ticks",
  );
  for (const got of ticks) {
    assert.equal(got.length, n);
    got.forEach(([i, b]) => assert.deepEqual(b, [i & 255, i >> 8]));
  }
  for (const [x, e] of await Promise.all(last)) {
    assert.deepEqual(h.bytes(x.b), [1, 2]);
    assert.deepEqual(h.bytes(e), []);
  }
});
