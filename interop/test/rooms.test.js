"use strict";
const assert = require("node:assert/strict");
const h = require("../lib/harness");

async function three(t) {
  const cs = [await h.client(t), await h.client(t), await h.client(t)];
  await Promise.all(cs.map((c) => h.connected(c)));
  return cs;
}

// mine keeps the messages of this test (the server may be shared with
// tests running concurrently, whose broadcasts we ignore).
const mine = (got, tag) => got.filter((m) => m.tag === tag);

h.scenario("rooms: a room broadcast reaches exactly its members", async (t) => {
  const [a, b, c] = await three(t);
  const room = "room-" + h.tag();
  const got = [a, b, c].map((s) => h.collect(s, "room-msg"));
  const rooms = await a.timeout(5000).emitWithAck("join", room);
  assert.deepEqual(rooms.sort(), [a.id, room].sort());
  await b.timeout(5000).emitWithAck("join", room);

  // From outside the room: both members get it, c does not.
  const t1 = h.tag();
  assert.equal(await c.timeout(5000).emitWithAck("to-room", { room, tag: t1 }), true);
  // From inside: the other member only (To excludes the sender).
  const t2 = h.tag();
  assert.equal(await a.timeout(5000).emitWithAck("to-room", { room, tag: t2 }), true);
  await h.sleep(300);
  assert.deepEqual(mine(got[0], t1), [{ room, tag: t1, from: c.id }]);
  assert.deepEqual(mine(got[1], t1), [{ room, tag: t1, from: c.id }]);
  assert.deepEqual(mine(got[0], t2), []);
  assert.deepEqual(mine(got[1], t2), [{ room, tag: t2, from: a.id }]);
  assert.deepEqual(got[2], [], "c is in no room: it gets nothing");

  // After b leaves, a's message reaches nobody.
  assert.deepEqual(await b.timeout(5000).emitWithAck("leave", room), [b.id]);
  const t3 = h.tag();
  await c.timeout(5000).emitWithAck("to-room", { room, tag: t3 });
  await h.sleep(300);
  assert.deepEqual(mine(got[0], t3).length, 1);
  assert.deepEqual(mine(got[1], t3), []);
  assert.deepEqual(got[2], []);
});

h.scenario("broadcast to everyone but the sender", async (t) => {
  const [a, b, c] = await three(t);
  const got = [a, b, c].map((s) => h.collect(s, "broadcast-msg"));
  const tg = h.tag();
  assert.equal(await a.timeout(5000).emitWithAck("broadcast", { tag: tg }), true);
  await h.within(
    (async () => {
      while (mine(got[1], tg).length + mine(got[2], tg).length < 2) await h.sleep(10);
    })(),
    5000,
    "broadcast to b and c",
  );
  await h.sleep(300);
  assert.deepEqual(mine(got[0], tg), [], "the sender gets nothing");
  assert.deepEqual(mine(got[1], tg), [{ tag: tg, from: a.id }]);
  assert.deepEqual(mine(got[2], tg), [{ tag: tg, from: a.id }]);
});
