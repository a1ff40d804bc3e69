"use strict";
const assert = require("node:assert/strict");
const h = require("../lib/harness");

const seq = (n) => Array.from({ length: n }, (_, i) => i % 256);

h.scenario("binary client to server (ArrayBuffer and Buffer, nested)", async (t) => {
  const s = await h.ready(t);
  const ab = new Uint8Array([1, 2, 3, 250]).buffer;
  assert.deepEqual(
    await s.timeout(5000).emitWithAck("bin-info", { name: "ab", data: ab, parts: [Buffer.from([9, 9]), new ArrayBuffer(5)] }),
    { name: "ab", len: 4, sum: 256, parts: [2, 5] },
  );
  assert.deepEqual(
    await s.timeout(5000).emitWithAck("bin-info", { name: "buf", data: Buffer.from(seq(1000)), parts: [] }),
    { name: "buf", len: 1000, sum: seq(1000).reduce((a, b) => a + b, 0), parts: [] },
  );
  // An empty buffer is still an attachment.
  assert.deepEqual(await s.timeout(5000).emitWithAck("bin-info", { name: "empty", data: Buffer.alloc(0), parts: [Buffer.alloc(0)] }), {
    name: "empty", len: 0, sum: 0, parts: [0],
  });
});

h.scenario("binary server to client (nested)", async (t) => {
  const s = await h.ready(t);
  const made = h.once(s, "bin-made");
  const r = await s.timeout(5000).emitWithAck("bin-make", { size: 300 });
  assert.deepEqual(h.bytes(r.nested.buf), seq(300));
  assert.deepEqual(h.bytes(r.list[0]), [1, 2, 3]);
  assert.equal(r.list[1], "x");
  const [ev] = await made;
  assert.deepEqual(h.bytes(ev.nested.buf), seq(300));
  assert.deepEqual(h.bytes(ev.list[0]), [1, 2, 3]);
});

h.scenario("binary echo round trip (several attachments, several args)", async (t) => {
  const s = await h.ready(t);
  const payload = {
    ab: new Uint8Array([0, 255, 128]).buffer,
    deep: { list: [Buffer.from("héllo"), { x: new Uint8Array([7]) }], n: 1 },
  };
  const [a, b, c] = await h.ack(s, "echo", payload, Buffer.from([42]), "text");
  assert.deepEqual(h.bytes(a.ab), [0, 255, 128]);
  assert.equal(Buffer.from(h.bytes(a.deep.list[0])).toString(), "héllo");
  assert.deepEqual(h.bytes(a.deep.list[1].x), [7]);
  assert.equal(a.deep.n, 1);
  assert.deepEqual(h.bytes(b), [42]);
  assert.equal(c, "text");
  // binary through a server->client emitWithAck, and the client's binary answer back
  s.on("rev", (p, cb) => cb({ rev: Buffer.from(h.bytes(p.buf).reverse()) }));
  const r = await s.timeout(5000).emitWithAck("ask-client", { event: "rev", payload: { buf: Buffer.from([1, 2, 3]) } });
  assert.deepEqual(h.bytes(r.answer[0].rev), [3, 2, 1]);
  // without an ack id the echo comes back as an event, binary included
  const back = h.once(s, "echo");
  s.emit("echo", { b: new Uint8Array([5, 6]).buffer });
  const [ev] = await back;
  assert.deepEqual(h.bytes(ev.b), [5, 6]);
});

h.scenario("payload near maxPayload round-trips", async (t) => {
  const s = await h.ready(t);
  const chunk = "abcdefghijklmnopqrstuvwxyz0123456789-é€"; // multi-byte UTF-8 too
  let big = chunk.repeat(Math.ceil(900_000 / Buffer.byteLength(chunk)));
  big = big.slice(0, 890_000);
  const size = Buffer.byteLength(big);
  assert.ok(size > 880_000 && size < 990_000, `${size} bytes`);
  const back = await s.timeout(10000).emitWithAck("echo", big);
  assert.equal(back.length, big.length);
  assert.ok(back === big, "same string");
  // Binary near the limit (base64 over polling: 4/3 of it).
  const buf = Buffer.from(seq(600_000));
  const bin = await s.timeout(10000).emitWithAck("echo", buf);
  assert.ok(Buffer.from(h.bytes(bin)).equals(buf));
  // A server-generated large binary.
  const made = await s.timeout(10000).emitWithAck("bin-make", { size: 500_000 });
  assert.deepEqual(h.bytes(made.nested.buf).length, 500_000);
  assert.equal(s.connected, true);
}, { timeout: 30000 });

h.scenario("payload over maxPayload closes the connection, the client reconnects", async (t) => {
  const s = await h.client(t, "/", { reconnection: true, reconnectionDelay: 100, reconnectionDelayMax: 100 });
  await h.connected(s);
  await h.settled(s, t);
  const sid = s.io.engine.id;
  const gone = h.once(s, "disconnect");
  s.emit("echo", "x".repeat(1_100_000));
  const [reason] = await gone;
  assert.ok(["transport close", "transport error"].includes(reason), reason);
  await h.once(s, "connect");
  assert.notEqual(s.io.engine.id, sid);
  assert.equal(await s.timeout(5000).emitWithAck("echo", "back"), "back");
});
