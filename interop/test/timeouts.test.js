"use strict";
// Acknowledgements that time out, arrive late, or come from several clients.
const assert = require("node:assert/strict");
const h = require("../lib/harness");

h.scenario("client timeout, then the server's late ack is dropped", async (t) => {
  const s = await h.ready(t);
  // The server acknowledges after 400ms; the client gives up at 100ms.
  await assert.rejects(
    s.timeout(100).emitWithAck("ack-later", { ms: 400, args: ["late"] }),
    /operation has timed out/,
  );
  // Callback style: the error first, no arguments.
  const cbArgs = await h.within(
    new Promise((resolve) => s.timeout(100).emit("ack-later", { ms: 400, args: ["late2"] }, (...a) => resolve(a))),
    2000,
    "timeout callback",
  );
  assert.equal(cbArgs.length, 1);
  assert.match(cbArgs[0].message, /operation has timed out/);
  // The late acks reach the client, which ignores them: the connection stays
  // and later acks are not mixed up with them.
  await h.sleep(500);
  assert.equal(s.connected, true);
  const got = await h.within(
    new Promise((resolve) =>
      s.timeout(2000).emit("ack-later", { ms: 10, args: ["a", 2, null, { b: [] }] }, (...a) => resolve(a)),
    ),
    3000,
    "ack",
  );
  assert.deepEqual(got, [null, "a", 2, null, { b: [] }]);
  // Acks answered out of order reach the right callbacks.
  const [slow, fast] = await Promise.all([
    s.timeout(3000).emitWithAck("ack-later", { ms: 300, args: ["slow"] }),
    s.timeout(3000).emitWithAck("ack-later", { ms: 10, args: ["fast"] }),
  ]);
  assert.deepEqual([slow, fast], ["slow", "fast"]);
});

h.scenario("server-to-client ack with binary both ways", async (t) => {
  const s = await h.ready(t);
  s.on("bin-q", (p, cb) => cb({ len: h.bytes(p.buf).length, first: h.bytes(p.buf)[0] }, Buffer.from([9, 8, 7]), Buffer.alloc(0)));
  const r = await s
    .timeout(5000)
    .emitWithAck("ask-client", { event: "bin-q", payload: { buf: Buffer.from([5, 6, 7, 8]) } });
  assert.equal(r.answer.length, 3);
  assert.deepEqual(r.answer[0], { len: 4, first: 5 });
  assert.deepEqual(h.bytes(r.answer[1]), [9, 8, 7]);
  assert.deepEqual(h.bytes(r.answer[2]), []);
  // The client answers twice: only the first answer counts.
  s.on("twice", (p, cb) => {
    cb("one");
    cb("two");
  });
  assert.deepEqual(await s.timeout(5000).emitWithAck("ask-client", { event: "twice", payload: 1 }), {
    answer: ["one"],
  });
});

async function inRoom(t, room, n) {
  const socks = [];
  for (let i = 0; i < n; i++) socks.push(await h.ready(t));
  for (const s of socks) await s.timeout(5000).emitWithAck("join", room);
  return socks;
}

h.scenario(
  "broadcast with acks: every answer, partial answers on timeout, empty room",
  async (t) => {
    const room = "acks-" + h.tag();
    const [a, b, c] = await inRoom(t, room, 3);
    const asker = await h.ready(t);
    a.on("q", (p, cb) => cb({ from: "a", p }));
    b.on("q", (p, cb) => setTimeout(() => cb({ from: "b", p }), 50));
    let cAnswers = false;
    c.on("q", (p, cb) => cAnswers && cb());

    const sortFrom = (xs) => [...xs].sort((x, y) => String(x?.from).localeCompare(String(y?.from)));
    // c does not answer: after the timeout, the answers that came.
    let r = await asker.timeout(5000).emitWithAck("ask-room", { to: [room], event: "q", payload: 1, timeoutMs: 400 });
    assert.equal(r.timedOut, true);
    assert.deepEqual(sortFrom(r.answers), [
      { from: "a", p: 1 },
      { from: "b", p: 1 },
    ]);
    // All answer (c with no argument: null), before the timeout.
    cAnswers = true;
    const start = Date.now();
    r = await asker.timeout(5000).emitWithAck("ask-room", { to: [room], event: "q", payload: 2, timeoutMs: 3000 });
    assert.ok(Date.now() - start < 2000, "answered before the timeout");
    assert.equal(r.timedOut, false);
    assert.deepEqual(sortFrom(r.answers), [{ from: "a", p: 2 }, { from: "b", p: 2 }, null]);
    // Except.
    r = await asker
      .timeout(5000)
      .emitWithAck("ask-room", { to: [room], except: [b.id, c.id], event: "q", payload: 3, timeoutMs: 3000 });
    assert.deepEqual(r, { timedOut: false, answers: [{ from: "a", p: 3 }] });
    // A room nobody is in: no answers, no error, at once.
    r = await asker
      .timeout(5000)
      .emitWithAck("ask-room", { to: ["empty-" + h.tag()], event: "q", payload: 4, timeoutMs: 3000 });
    assert.deepEqual(r, { timedOut: false, answers: [] });
    // The asker in the room answers its own broadcast.
    await asker.timeout(5000).emitWithAck("join", room);
    asker.on("q", (p, cb) => cb({ from: "asker", p }));
    r = await asker.timeout(5000).emitWithAck("ask-room", { to: [room], event: "q", payload: 5, timeoutMs: 3000 });
    assert.equal(r.timedOut, false);
    assert.deepEqual(sortFrom(r.answers), [
      { from: "a", p: 5 },
      { from: "asker", p: 5 },
      { from: "b", p: 5 },
      null,
    ]);
  },
  { timeout: 20000 },
);

h.scenario("a handler's emits arrive before its ack; broadcast acks carry binary", async (t) => {
  const s = await h.ready(t);
  let ticks = 0;
  s.on("tick", () => ticks++);
  for (const n of [1, 14, 40, 79]) {
    ticks = 0;
    const seen = await h.within(
      new Promise((resolve) => s.emit("burst", { n }, () => resolve(ticks))),
      5000,
      "burst ack",
    );
    assert.equal(seen, n, "every tick before the ack");
  }
  // broadcast acknowledgements with binary answers
  const room = "binack-" + h.tag();
  await s.timeout(5000).emitWithAck("join", room);
  s.on("bq", (p, cb) => cb({ got: h.bytes(p), back: Buffer.from([3, 2, 1]) }));
  const r = await s
    .timeout(5000)
    .emitWithAck("ask-room", { to: [room], event: "bq", payload: Buffer.from([7]), timeoutMs: 3000 });
  assert.equal(r.timedOut, false);
  assert.equal(r.answers.length, 1);
  assert.deepEqual(r.answers[0].got, [7]);
  assert.deepEqual(h.bytes(r.answers[0].back), [3, 2, 1]);
});
