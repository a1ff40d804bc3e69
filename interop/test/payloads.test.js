"use strict";
// Values and binary edge cases, both directions.
const assert = require("node:assert/strict");
const h = require("../lib/harness");

let deep = "bottom";
for (let i = 0; i < 60; i++) deep = { d: deep };

// What the client sends, and what JSON makes of it when it comes back.
const VALUES = [
  [null, null],
  [[1, undefined, 3], [1, null, 3]],
  [{ a: undefined, b: null, c: { d: [] } }, { b: null, c: { d: [] } }],
  ["é😀\u2028\u2029\u0000\u001f\"\\/</script>", "é😀\u2028\u2029\u0000\u001f\"\\/</script>"],
  ["\ud800 lone \udfff surrogates", "\ud800 lone \udfff surrogates"],
  ["\ufeff bom \uffff", "\ufeff bom \uffff"],
  [9007199254740991, 9007199254740991],
  [-9007199254740991, -9007199254740991],
  [2 ** 64, 2 ** 64],
  [-0, 0],
  [0.1 + 0.2, 0.1 + 0.2],
  [1e21, 1e21],
  [5e-324, 5e-324],
  [1.7976931348623157e308, 1.7976931348623157e308],
  [NaN, null],
  [Infinity, null],
  ["", ""],
  [{}, {}],
  [[], []],
  [true, true],
  [{ "": 1, "a b": 2, "é": 3, __proto__x: 4 }, { "": 1, "a b": 2, "é": 3, __proto__x: 4 }],
  [deep, deep],
  ["x".repeat(100000), "x".repeat(100000)],
  // looks like a binary placeholder, in a packet without attachments: data
  [{ _placeholder: true, num: 0 }, { _placeholder: true, num: 0 }],
];

h.scenario("values come back exactly (echo with ack and as an event)", async (t) => {
  const s = await h.ready(t);
  const sent = VALUES.map((v) => v[0]);
  const want = VALUES.map((v) => v[1]);
  assert.deepEqual(await h.ack(s, "echo", ...sent), want);
  // one at a time, so that a failure names the value
  for (const [v, w] of VALUES) assert.deepEqual(await h.ack(s, "echo", v), [w], JSON.stringify(w)?.slice(0, 80));
  const back = h.once(s, "echo");
  s.emit("echo", ...sent);
  assert.deepEqual(await back, want);
  // a trailing undefined argument is sent as null
  assert.deepEqual(await h.ack(s, "echo", 1, undefined), [1, null]);
  // an event name that is not ASCII
  assert.deepEqual(await h.ack(s, "echo", "ünïcödé 😀"), ["ünïcödé 😀"]);
});

h.scenario("values the server emits", async (t) => {
  const s = await h.ready(t);
  const got = h.once(s, "values");
  s.emit("emit-values");
  assert.deepEqual(await got, [
    null,
    [1, null, "x"],
    { a: null, b: { c: [] } },
    "é😀\u2028\u2029\x00\"\\/</script>",
    9007199254740991,
    0.1,
    1e21,
    -1.5e-7,
    "",
    {},
  ]);
});

h.scenario("binary edge cases: empty, typed arrays, many attachments, in acks", async (t) => {
  const s = await h.ready(t);
  // empty buffer, alone and nested
  let r = await h.ack(s, "echo", Buffer.alloc(0), { e: new Uint8Array(0) });
  assert.deepEqual(h.bytes(r[0]), []);
  assert.deepEqual(h.bytes(r[1].e), []);
  // a typed array view into a bigger buffer: only the view's bytes travel
  const big = new Uint8Array([0, 1, 2, 3, 4, 5, 6, 7]);
  r = await h.ack(s, "echo", new Uint8Array(big.buffer, 2, 3), new Uint16Array([258]));
  assert.deepEqual(h.bytes(r[0]), [2, 3, 4]);
  assert.deepEqual(h.bytes(r[1]), [2, 1]);
  // 10 attachments in one packet (socket.io-parser's default limit)
  const nine = Array.from({ length: 9 }, (_, i) => Buffer.from([i, i + 1]));
  r = await h.ack(s, "echo", nine, { k: nine[0] });
  assert.equal(r[0].length, 9);
  r[0].forEach((b, i) => assert.deepEqual(h.bytes(b), [i, i + 1]));
  assert.deepEqual(h.bytes(r[1].k), [0, 1]);
  // (An object {_placeholder: true, num: 0} in a payload is data to the
  // Node server when the packet has no binary, and the attachment it names
  // when it has; the Go server closes the connection for either. Not
  // asserted here: see the report on internal/parser.)
  // binary without an ack: the event comes back
  const back = h.once(s, "echo");
  s.emit("echo", Buffer.from([7, 7]), "t");
  const [b0, b1] = await back;
  assert.deepEqual(h.bytes(b0), [7, 7]);
  assert.equal(b1, "t");
  assert.equal(s.connected, true);
});

h.scenario("more attachments than the parser allows closes the connection", async (t) => {
  const s = await h.ready(t);
  await h.settled(s, t);
  const id = s.id;
  const eleven = Array.from({ length: 11 }, (_, i) => Buffer.from([i]));
  const gone = h.once(s, "disconnect");
  s.emit("echo", eleven);
  const [reason] = await gone;
  // The Node server answers the next poll with a close packet: "transport
  // close". The Go server drops a polling session it aborts at once, so
  // a poll that was not waiting yet gets 400: "transport error" (see the
  // report on engineio's Session.Abort).
  if (t.final === "websocket") assert.equal(reason, "transport close");
  else assert.ok(["transport close", "transport error"].includes(reason), reason);
  // On the server: "forced close" on Node (client.onerror closes the
  // connection), "parse error" on Go (ReasonParseError, which the Node
  // documentation gives for an invalid packet).
  assert.ok(["forced close", "parse error"].includes(await h.reasonOf(await h.ready(t), id)));
});

h.scenario("forceBase64: binary travels as base64 from the client", async (t) => {
  const s = await h.ready(t, "/", { forceBase64: true });
  assert.equal(await h.settled(s, t), t.final);
  const r = await h.ack(s, "echo", Buffer.from([0, 255, 128, 1]), { n: Buffer.alloc(0) });
  assert.deepEqual(h.bytes(r[0]), [0, 255, 128, 1]);
  assert.deepEqual(h.bytes(r[1].n), []);
  // large
  const buf = Buffer.alloc(100000, 7);
  const [x] = await h.ack(s, "echo", buf);
  assert.equal(h.bytes(x).length, 100000);
  assert.deepEqual(await s.timeout(5000).emitWithAck("bin-info", { name: "b64", data: Buffer.from([1, 2, 3]), parts: [Buffer.alloc(2)] }), {
    name: "b64",
    len: 3,
    sum: 6,
    parts: [2],
  });
});

h.scenario("compress(false) and volatile emits from the client are delivered", async (t) => {
  const s = await h.ready(t);
  assert.deepEqual(await s.compress(false).timeout(5000).emitWithAck("echo", "nc"), "nc");
  // a volatile emit is delivered when the transport is writable (the
  // client drops it otherwise: over polling, while a POST is in flight)
  await h.within(
    (async () => {
      while (!s.io.engine.transport.writable) await h.sleep(5);
    })(),
    3000,
    "writable transport",
  );
  const back = h.once(s, "echo");
  s.volatile.emit("echo", "vol");
  assert.deepEqual(await back, ["vol"]);
});

h.scenario("the server refuses to emit reserved event names", async (t) => {
  const s = await h.ready(t);
  for (const name of ["connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"]) {
    const got = [];
    const l = (...a) => got.push(a);
    s.on(name, l);
    const r = await s.timeout(5000).emitWithAck("emit-reserved", name);
    s.off(name, l);
    // Node throws '"<name>" is a reserved event name'; Go returns ErrReservedEvent
    assert.ok(r.socket?.includes("reserved event name"), JSON.stringify(r));
    assert.ok(r.room?.includes("reserved event name"), JSON.stringify(r));
    assert.deepEqual(got, []);
    assert.equal(s.connected, true);
  }
  // "error" and "message" are ordinary events
  for (const name of ["error", "message"]) {
    const got = [];
    s.on(name, (...a) => got.push(a));
    assert.deepEqual(await s.timeout(5000).emitWithAck("emit-reserved", name), { socket: null, room: null });
    await h.within(
      (async () => {
        while (got.length < 2) await h.sleep(5);
      })(),
      3000,
      name,
    );
    assert.deepEqual(got, [["from emit-reserved"], ["from emit-reserved"]]);
  }
  assert.equal(await s.timeout(5000).emitWithAck("echo", "ok"), "ok");
});
