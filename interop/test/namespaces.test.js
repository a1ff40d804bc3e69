"use strict";
// Dynamic namespaces, many namespaces on one connection, handshake details.
const assert = require("node:assert/strict");
const h = require("../lib/harness");

h.scenario("dynamic namespaces: created on demand, middleware, broadcast to all of them", async (t) => {
  const tag = h.tag();
  const m = await h.manager(t);
  const names = ["/dyn-" + tag + "-a", "/dyn-" + tag + "-b"];
  const socks = names.map((n) => m.socket(n));
  await Promise.all(socks.map((s) => h.connected(s)));
  for (const [i, s] of socks.entries()) {
    const me = await s.timeout(5000).emitWithAck("whoami");
    assert.equal(me.nsp, names[i]);
    assert.equal(me.id, s.id);
  }
  // a broadcast on the parent reaches every child namespace (other tests'
  // dynamic namespaces get it too: each waits for its own tag)
  const got = socks.map((s) =>
    h.within(new Promise((resolve) => s.on("dyn-msg", (x) => x === tag && resolve(x))), 3000, "dyn-msg"),
  );
  const root = m.socket("/");
  await h.connected(root);
  await root.timeout(5000).emitWithAck("dyn-emit", { tag });
  assert.deepEqual(await Promise.all(got), [tag, tag]);
  // the parent's middleware refuses, with data naming the child
  const bad = m.socket("/dyn-" + tag + "-bad", { auth: { token: "bad" } });
  const [err] = await h.once(bad, "connect_error");
  assert.equal(err.message, "unauthorized");
  assert.deepEqual(err.data, { nsp: "/dyn-" + tag + "-bad" });
  // a name the parent does not match
  const nope = m.socket("/dynamic-" + tag);
  const [err2] = await h.once(nope, "connect_error");
  assert.equal(err2.message, "Invalid namespace");
  assert.equal(await socks[0].timeout(5000).emitWithAck("echo", "ok"), "ok");
});

h.scenario("many namespaces on one connection, connected at once", async (t) => {
  const tag = h.tag();
  const m = await h.manager(t);
  const names = ["/", "/admin", ...Array.from({ length: 8 }, (_, i) => `/dyn-${tag}-${i}`)];
  const socks = names.map((n) => m.socket(n));
  await Promise.all(socks.map((s) => h.connected(s)));
  await h.settled(socks[0], t);
  const mes = await Promise.all(socks.map((s) => s.timeout(5000).emitWithAck("whoami")));
  assert.deepEqual(
    mes.map((x) => x.nsp),
    names,
  );
  assert.equal(new Set(mes.map((x) => x.id)).size, names.length);
  // leave half of them; the rest keep working
  for (const s of socks.slice(5)) s.disconnect();
  const echoes = await Promise.all(socks.slice(0, 5).map((s, i) => s.timeout(5000).emitWithAck("echo", i)));
  assert.deepEqual(echoes, [0, 1, 2, 3, 4]);
  // and come back
  for (const s of socks.slice(5)) s.connect();
  await Promise.all(socks.map((s) => h.connected(s)));
  const again = await Promise.all(socks.map((s) => s.timeout(5000).emitWithAck("whoami")));
  assert.deepEqual(
    again.map((x) => x.nsp),
    names,
  );
});

h.scenario("handshake: query, auth and extra headers reach the server", async (t) => {
  const s = await h.ready(t, "/", {
    query: { q: "1", "ü": "é &=" },
    auth: { token: "x", nested: { n: [1, 2] } },
    extraHeaders: { "x-test": "hello" },
  });
  const hs = await s.timeout(5000).emitWithAck("handshake");
  assert.equal(hs.xTest, "hello");
  assert.equal(hs.query.q, "1");
  assert.equal(hs.query["ü"], "é &=");
  assert.equal(hs.query.EIO, "4");
  assert.deepEqual(hs.auth, { token: "x", nested: { n: [1, 2] } });
  // a namespace of the same manager has its own auth
  const m = await h.manager(t, { query: { q: "2" } });
  const admin = m.socket("/admin", { auth: { who: "admin" } });
  const root = m.socket("/", { auth: { who: "root" } });
  await Promise.all([h.connected(admin), h.connected(root)]);
  assert.deepEqual((await admin.timeout(5000).emitWithAck("whoami")).auth, { who: "admin" });
  assert.deepEqual((await root.timeout(5000).emitWithAck("whoami")).auth, { who: "root" });
  assert.equal((await admin.timeout(5000).emitWithAck("whoami")).query.q, "2");
  // auth as a function, called at each connection
  let calls = 0;
  const f = await h.ready(t, "/", { auth: (cb) => cb({ call: ++calls }) });
  assert.deepEqual((await f.timeout(5000).emitWithAck("whoami")).auth, { call: 1 });
  f.disconnect();
  f.connect();
  await h.connected(f);
  assert.deepEqual((await f.timeout(5000).emitWithAck("whoami")).auth, { call: 2 });
});


h.scenario("a middleware joins rooms and emits before the socket is connected", async (t) => {
  const room = "mw-" + h.tag();
  const ctl = await h.ready(t);
  const s = await h.client(t, "/", { auth: { mwJoin: [room], mwEmit: { hi: [1, "x"] } } });
  const order = [];
  s.on("mw-hello", (x) => order.push(["mw-hello", x, s.connected]));
  s.on("connect", () => order.push(["connect"]));
  s.on("room-msg", (x) => order.push(["room-msg", x.tag]));
  await h.connected(s);
  // the rooms joined in the middleware come before the socket's own
  assert.deepEqual(await s.timeout(5000).emitWithAck("join", "later"), [room, s.id, "later"]);
  await ctl.timeout(5000).emitWithAck("to-room", { room, tag: "T" });
  await h.within(
    (async () => {
      while (order.length < 3) await h.sleep(10);
    })(),
    3000,
    "room-msg",
  );
  // the event emitted by the middleware is held by the client until it
  // has connected, and handed out before "connect"
  assert.deepEqual(order, [["mw-hello", { hi: [1, "x"] }, true], ["connect"], ["room-msg", "T"]]);
});

h.scenario("disconnect() in a middleware does nothing: the socket connects", async (t) => {
  for (const close of [false, true]) {
    const s = await h.client(t, "/", { auth: { mwDisconnect: close } });
    await h.connected(s);
    assert.equal(await s.timeout(5000).emitWithAck("echo", close), close);
  }
});

h.scenario("disconnect() and connect() again while the server's middleware still runs", async (t) => {
  const m = await h.manager(t);
  const keeper = m.socket("/admin"); // keeps the connection open
  const s = m.socket("/", { auth: { mwDelay: 300 } });
  await h.connected(keeper);
  let keeperLeft = null;
  keeper.on("disconnect", (r) => (keeperLeft = r));
  await h.sleep(50); // the CONNECT of "/" waits in the middleware
  s.disconnect(); // not connected yet: nothing is sent
  s.connect(); // a second CONNECT
  await h.connected(s, 5000);
  // (Node runs both CONNECTs and the client may see "connect" twice; Go
  // drops the first: either way the socket ends up connected, and the
  // server knows it by the id the client has.)
  await h.sleep(400);
  assert.equal(s.connected, true);
  assert.equal((await s.timeout(5000).emitWithAck("whoami")).id, s.id);
  assert.equal(await keeper.timeout(5000).emitWithAck("echo", "k"), "k");
  assert.equal(keeperLeft, null);
});
