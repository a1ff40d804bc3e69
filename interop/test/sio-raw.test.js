"use strict";
// Raw Socket.IO packets (no socket.io-client), over a raw WebSocket and over
// raw HTTP long-polling: the packet-level behaviour the reference server
// (socket.io 4.8.4) has and this server must share. Each scenario runs on
// both transports; the expected frames are what both servers send.
const { describe, test } = require("node:test");
const assert = require("node:assert/strict");
const WebSocket = require("ws");
const h = require("../lib/harness");

const PH = (n) => `{"_placeholder":true,"num":${n}}`;

// rawWS is an Engine.IO client over a WebSocket that answers pings and
// queues every other message: strings, or Buffers for binary frames.
async function rawWS() {
  const u = new URL(await h.url());
  const ws = new WebSocket(`ws://${u.host}/socket.io/?EIO=4&transport=websocket`);
  const c = newQueue();
  ws.on("message", (d, isBinary) => {
    if (isBinary) return c.push(Buffer.from(d));
    const s = d.toString();
    if (s === "2") return ws.send("3");
    if (s[0] !== "4") return; // open, noop
    c.push(s.slice(1));
  });
  ws.on("close", () => c.end());
  ws.on("error", () => {});
  await new Promise((resolve, reject) => {
    ws.once("open", resolve);
    ws.once("error", reject);
  });
  c.send = (...pkts) => pkts.forEach((p) => ws.send(typeof p === "string" ? "4" + p : p));
  c.close = () => ws.terminate();
  return c;
}

// rawPolling is the same over HTTP long-polling: one GET loop, one POST per
// send (several packets joined with \x1e, binary as b<base64>).
async function rawPolling() {
  const base = (await h.url()) + "/socket.io/?EIO=4&transport=polling";
  const hs = await (await fetch(base)).text();
  const url = base + "&sid=" + JSON.parse(hs.slice(1)).sid;
  const c = newQueue();
  const ac = new AbortController();
  const post = (body) =>
    fetch(url, { method: "POST", body, headers: { "content-type": "text/plain;charset=UTF-8" }, signal: ac.signal }).then(
      (r) => r.text(),
    );
  (async () => {
    try {
      for (;;) {
        const res = await fetch(url, { signal: ac.signal });
        if (res.status !== 200) break;
        const body = await res.text();
        let closed = false;
        for (const p of body.split("\x1e")) {
          if (p === "2") await post("3");
          else if (p === "1") closed = true;
          else if (p[0] === "b") c.push(Buffer.from(p.slice(1), "base64"));
          else if (p[0] === "4") c.push(p.slice(1));
        }
        if (closed) break;
      }
    } catch {}
    c.end();
  })();
  c.send = (...pkts) =>
    post(pkts.map((p) => (typeof p === "string" ? "4" + p : "b" + Buffer.from(p).toString("base64"))).join("\x1e"));
  c.close = () => ac.abort();
  return c;
}

// newQueue returns what both clients share: next() resolves with the next
// packet (rejecting after ms), closed() once the server has closed.
function newQueue() {
  const items = [];
  const waiters = [];
  let ended = false;
  let onEnd;
  const endP = new Promise((r) => (onEnd = r));
  return {
    push(x) {
      const w = waiters.shift();
      w ? w(x) : items.push(x);
    },
    end() {
      ended = true;
      onEnd();
      waiters.splice(0).forEach((w) => w(null));
    },
    next(ms = 3000) {
      if (items.length) return Promise.resolve(items.shift());
      if (ended) return Promise.resolve(null);
      return h.within(new Promise((r) => waiters.push(r)), ms, "a packet");
    },
    closed(ms = 3000) {
      return h.within(endP, ms, "the server to close the connection");
    },
  };
}

const CLIENTS = [
  { name: "websocket", open: rawWS },
  { name: "polling", open: rawPolling },
];

// rawScenario runs fn(c) with a raw client c on each transport.
function rawScenario(title, fn) {
  describe(title, () => {
    for (const cl of CLIENTS) {
      test(cl.name, { timeout: 15000 }, async () => {
        const c = await cl.open();
        try {
          await fn(c);
        } finally {
          c.close();
        }
      });
    }
  });
}

const scrub = (s) => (typeof s === "string" ? s.replace(/"(sid|id)":"[^"]+"/g, '"$1":"X"') : s);

// connectRoot joins "/" and skips the welcome event.
async function connectRoot(c, auth = "") {
  await c.send("0" + auth);
  assert.equal(scrub(await c.next()), '0{"sid":"X"}');
  assert.equal(scrub(await c.next()), '2["welcome",{"id":"X"}]');
}

// nextMatching skips packets until one that matches re.
async function nextMatching(c, re) {
  for (;;) {
    const p = await c.next();
    if (p === null) throw new Error(`connection closed while waiting for ${re}`);
    if (typeof p === "string" && re.test(p)) return p;
  }
}

// alive checks that the connection still answers an acknowledged echo.
async function alive(c, id = 77) {
  await c.send(`2${id}["echo","alive"]`);
  assert.equal(await nextMatching(c, new RegExp(`^3${id}\\[`)), `3${id}["alive"]`);
}

// askClient has the server emit "q" with an ack to the client, and returns
// the ack id the server chose.
async function askClient(c, payload = "1", timeoutMs = 3000) {
  await c.send(`25["ask-client",{"event":"q","payload":${payload},"timeoutMs":${timeoutMs}}]`);
  const q = await nextMatching(c, /^2\d+\["q",/);
  return /^2(\d+)/.exec(q)[1];
}

rawScenario("an ACK without a payload acknowledges with no arguments", async (c) => {
  await connectRoot(c);
  const id = await askClient(c);
  await c.send(`3${id}`);
  assert.equal(await nextMatching(c, /^35\[/), '35[{"answer":[]}]');
  await alive(c);
});

rawScenario("a duplicate ACK and an ACK for an unknown id are ignored", async (c) => {
  await connectRoot(c);
  await c.send('3999["nobody asked"]');
  const id = await askClient(c);
  await c.send(`3${id}["first"]`, `3${id}["second"]`);
  assert.equal(await nextMatching(c, /^35\[/), '35[{"answer":["first"]}]');
  await alive(c);
});

rawScenario("a BINARY_ACK's placeholders are resolved by number", async (c) => {
  await connectRoot(c);
  const id = await askClient(c);
  await c.send(`62-${id}[${PH(1)},${PH(0)}]`, Buffer.from([1]), Buffer.from([2, 3]));
  assert.equal(await nextMatching(c, /^62-5\[/), `62-5[{"answer":[${PH(0)},${PH(1)}]}]`);
  assert.deepEqual([...(await c.next())], [2, 3]);
  assert.deepEqual([...(await c.next())], [1]);
  await alive(c);
});

rawScenario("a BINARY_EVENT round trip; an empty attachment is fine", async (c) => {
  await connectRoot(c);
  await c.send(`51-3["echo",${PH(0)},"t"]`, Buffer.from([]));
  assert.equal(await c.next(), `61-3[${PH(0)},"t"]`);
  assert.deepEqual([...(await c.next())], []);
  await alive(c);
});

rawScenario("ack ids: 0, leading zeros, the largest exact integer", async (c) => {
  await connectRoot(c);
  await c.send('20["echo",0]', '2007["echo",7]', '29007199254740991["echo",9]');
  assert.equal(await c.next(), "30[0]");
  assert.equal(await c.next(), "37[7]");
  assert.equal(await c.next(), "39007199254740991[9]");
});

rawScenario("event names: numbers, unicode, __proto__; no handler, no ack", async (c) => {
  await connectRoot(c);
  await c.send('21[1,2]', '22["é😀"]', '23["__proto__"]', '24["constructor",1]', '25["error"]');
  await alive(c);
});

rawScenario("CONNECT: unknown namespace, query-like name, refusal with data", async (c) => {
  await c.send("0/nope,", "0/admin?x=1,", '0{"token":"bad"}');
  assert.equal(await c.next(), '4/nope,{"message":"Invalid namespace"}');
  assert.equal(await c.next(), '4/admin?x=1,{"message":"Invalid namespace"}');
  assert.equal(await c.next(), '4{"message":"unauthorized","data":{"code":42}}');
  await c.send("0/admin");
  assert.equal(scrub(await c.next()), '0/admin,{"sid":"X"}');
});

rawScenario("DISCONNECT then CONNECT again to the same namespace", async (c) => {
  await c.send("0/admin,");
  assert.equal(scrub(await c.next()), '0/admin,{"sid":"X"}');
  await c.send("1/admin,");
  await h.sleep(100);
  await c.send("0/admin,");
  assert.equal(scrub(await c.next()), '0/admin,{"sid":"X"}');
  await c.send('2/admin,4["echo",4]');
  assert.equal(await c.next(), "3/admin,4[4]");
});

// Packets that make no sense close the whole connection, on both servers.
const fatal = [
  ["an EVENT before CONNECT", [], ['2["echo",1]']],
  ["an EVENT for a namespace not joined", ["0"], ['2/admin,["echo",1]']],
  ["a second CONNECT", ["0"], ["0"]],
  ["a client CONNECT_ERROR", ["0"], ['4{"message":"x"}']],
  ["a DISCONNECT from a namespace not joined", ["0"], ["1/admin,"]],
  ["an EVENT after DISCONNECT", ["0"], ["1", 100, '2["echo",1]']],
  ["packet type 7", ["0"], ["7"]],
  ["an empty event array", ["0"], ["2[]"]],
  ["a null event name", ["0"], ["2[null]"]],
  ["a reserved event name", ["0"], ['2["disconnect"]']],
  ["CONNECT auth that is a string", [], ['0"token"']],
  ["CONNECT auth that is not JSON", [], ["0{abc"]],
  ["an ACK payload that is not an array", ["0"], ['31{"a":1}']],
  ["a DISCONNECT with a payload", ["0"], ['1{"a":1}']],
  ["a text packet while attachments are pending", ["0"], [`52-["echo",${PH(0)},${PH(1)}]`, Buffer.from([1]), '2["echo"]']],
  ["a placeholder num out of range", ["0"], [`51-["echo",${PH(1)}]`, Buffer.from([1])]],
  ["more attachments than allowed", ["0"], ['511-["echo"]']],
  ["a binary message without a binary packet", ["0"], [Buffer.from([1, 2])]],
];
for (const [what, setup, pkts] of fatal) {
  rawScenario(`${what} closes the connection`, async (c) => {
    if (setup.length) await connectRoot(c);
    // a number is a pause (ms) between sends
    for (const p of pkts) typeof p === "number" ? await h.sleep(p) : await c.send(p);
    await c.closed();
  });
}
