"use strict";
const assert = require("node:assert/strict");
const h = require("../lib/harness");

h.scenario("emit/ack client to server", async (t) => {
  const s = await h.ready(t);
  // emitWithAck without a timeout: resolves with the first ack argument.
  assert.deepEqual(await s.emitWithAck("echo", { a: 1, b: [true, null, "x"] }), { a: 1, b: [true, null, "x"] });
  // with .timeout(): same value.
  assert.equal(await s.timeout(5000).emitWithAck("echo", "hi"), "hi");
  // typed request/reply.
  assert.deepEqual(await s.timeout(5000).emitWithAck("add", { a: 2, b: 40 }), { sum: 42 });
  // callback style, every argument comes back.
  assert.deepEqual(await h.ack(s, "echo", 1, "two", { three: 3 }), [1, "two", { three: 3 }]);
  // no ack id: the server answers with an event.
  const back = h.once(s, "echo");
  s.emit("echo", "no", "ack");
  assert.deepEqual(await back, ["no", "ack"]);
  // an ack that never comes: the client's timeout fires.
  await assert.rejects(s.timeout(300).emitWithAck("no-ack", 1), /operation has timed out/);
  // the socket still works afterwards, acks are not mixed up.
  const all = await Promise.all([1, 2, 3, 4, 5].map((i) => s.timeout(5000).emitWithAck("add", { a: i, b: i })));
  assert.deepEqual(all.map((r) => r.sum), [2, 4, 6, 8, 10]);
});

h.scenario("emitWithAck server to client", async (t) => {
  const s = await h.ready(t);
  s.on("question", (p, cb) => cb({ got: p, answer: 42 }));
  s.on("two-answers", (p, cb) => cb("first", 2));
  s.on("ignored", () => {});
  assert.deepEqual(await s.timeout(5000).emitWithAck("ask-client", { event: "question", payload: { q: 1 } }), {
    answer: [{ got: { q: 1 }, answer: 42 }],
  });
  assert.deepEqual(await s.timeout(5000).emitWithAck("ask-client", { event: "two-answers", payload: null }), {
    answer: ["first", 2],
  });
  // The client never answers: the server's deadline passes.
  assert.deepEqual(
    await s.timeout(5000).emitWithAck("ask-client", { event: "ignored", payload: 1, timeoutMs: 300 }),
    { error: "timeout" },
  );
  // A late answer after the server gave up is ignored, the next works.
  s.on("late", (p, cb) => setTimeout(() => cb("late"), 400));
  assert.deepEqual(
    await s.timeout(5000).emitWithAck("ask-client", { event: "late", payload: 1, timeoutMs: 100 }),
    { error: "timeout" },
  );
  await h.sleep(400);
  assert.deepEqual(await s.timeout(5000).emitWithAck("ask-client", { event: "question", payload: "again" }), {
    answer: [{ got: "again", answer: 42 }],
  });
  assert.equal(s.connected, true);
});

h.scenario("retries: every emit carries an ack id", async (t) => {
  const s = await h.ready(t, "/", { retries: 2, ackTimeout: 1000 });
  s.emit("note", { n: 1 });
  s.emit("note", { n: 2 });
  s.emit("note-typed", { n: 3 });
  s.emit("note-typed", { n: 4 });
  const r = await s.emitWithAck("notes");
  assert.deepEqual(r, {
    notes: [
      { n: 1, ack: true },
      { n: 2, ack: true },
    ],
    // a typed On handler acknowledges by itself, so nothing is retried
    typed: [3, 4],
  });
  // Without retries, a plain emit carries no ack id.
  const plain = await h.ready(t);
  plain.emit("note", { n: 9 });
  assert.deepEqual((await plain.timeout(5000).emitWithAck("notes")).notes, [{ n: 9, ack: false }]);
});

h.scenario("bursts both ways keep order (batched polling payloads, binary mixed in)", async (t) => {
  const s = await h.ready(t);
  // client -> server: 150 emits without waiting, every third binary
  const sent = [];
  for (let i = 0; i < 150; i++) {
    sent.push(i % 3 === 0 ? h.ack(s, "echo", i, new Uint8Array([i, 1]).buffer) : h.ack(s, "echo", i));
  }
  const acks = await Promise.all(sent);
  acks.forEach((a, i) => {
    assert.equal(a[0], i);
    if (i % 3 === 0) assert.deepEqual(h.bytes(a[1]), [i, 1]);
    else assert.equal(a.length, 1);
  });
  // server -> client: 300 events in a row
  const ticks = [];
  s.on("tick", (...args) => ticks.push(args));
  assert.equal(await s.timeout(10000).emitWithAck("burst", { n: 300 }), 300);
  await h.within(
    (async () => {
      while (ticks.length < 300) await h.sleep(10);
    })(),
    5000,
    "300 ticks",
  );
  ticks.forEach((a, i) => {
    assert.equal(a[0], i);
    if (i % 3 === 0) assert.deepEqual(h.bytes(a[1]), [i & 255, i >> 8]);
    else assert.equal(a.length, 1);
  });
});
