"use strict";
// The Engine.IO layer with raw requests: HTTP long-polling requests and
// WebSocket frames written by hand, no socket.io-client. Each scenario
// passes against the Node reference server too: it pins what both servers
// do where a client can tell (status codes, error codes, what a session
// gets next), and leaves out what differs harmlessly (error bodies of
// WebSocket handshakes, a close frame's code, Node's 500 for odd methods).
const assert = require("node:assert/strict");
const { test } = require("node:test");
const WebSocket = require("ws");
const h = require("../lib/harness");
const { PATH, request, poll, push, handshake, session, pollFor } = require("../lib/raw");


// engineError asserts an Engine.IO error answer: the status and the JSON
// body's code.
function engineError(res, status, code) {
  assert.equal(res.status, status, JSON.stringify(res));
  assert.match(res.type ?? "", /^application\/json/);
  assert.equal(JSON.parse(res.body).code, code, res.body);
}

// socket opens a raw WebSocket; it records the text and binary messages,
// and whether the handshake was refused.
async function socket(query, opts = {}) {
  const ws = new WebSocket((await h.url()).replace(/^http/, "ws") + PATH + "?" + query, opts);
  ws.got = [];
  ws.on("message", (d, binary) => ws.got.push(binary ? [...d] : d.toString()));
  ws.closed = new Promise((resolve) => ws.on("close", (code) => resolve(code)));
  ws.ready = new Promise((resolve) => {
    ws.on("open", () => resolve(true));
    ws.on("error", () => resolve(false));
    ws.on("unexpected-response", (_req, res) => {
      ws.refusedWith = res.statusCode;
      res.resume();
      resolve(false);
    });
  });
  return ws;
}

// next resolves with what ws receives next (after what it has already
// received, n messages).
async function nth(ws, n, ms = 2000) {
  for (let waited = 0; ws.got.length <= n; waited += 10) {
    if (waited > ms) throw new Error(`no message #${n} within ${ms}ms: ${JSON.stringify(ws.got)}`);
    await h.sleep(10);
  }
  return ws.got[n];
}

test("a request wrong in several ways gets the same error code", async () => {
  engineError(await request("GET", "EIO=3&transport=flash"), 400, 0);
  engineError(await request("GET", ""), 400, 0);
  engineError(await request("POST", "EIO=3&transport=polling", { body: "40" }), 400, 2);
  engineError(await request("GET", "EIO=3&transport=websocket"), 400, 3);
  engineError(await request("GET", "EIO=3&transport=polling&sid=nope"), 400, 1);
  engineError(await request("GET", "EIO=3&transport=polling"), 400, 5);
  engineError(await request("GET", "transport=polling"), 400, 5);
  // A request for an open session in another protocol version is a bad
  // request, and the session goes on.
  const sid = await session();
  engineError(await request("GET", `EIO=3&transport=polling&sid=${sid}`), 400, 3);
  engineError(await request("POST", `transport=polling&sid=${sid}`, { body: '42["no-ack"]' }), 400, 3);
  assert.equal((await push(sid, '421["whoami"]')).body, "ok");
  assert.match((await pollFor(sid, "431"))[0], /^431\[\{/);
});

test("two GETs at once: the second gets 400, the first the close packet, and the session is gone", async () => {
  const sid = await session();
  const first = poll(sid);
  await h.sleep(50);
  const second = await poll(sid);
  assert.equal(second.status, 400);
  const res = await first;
  assert.equal(res.status, 200);
  assert.equal(res.body, "1");
  engineError(await poll(sid), 400, 1);
});

test("a close packet answers the waiting GET with a noop and ends the session", async () => {
  const sid = await session();
  const waiting = poll(sid);
  await h.sleep(50);
  assert.equal((await push(sid, "1")).body, "ok");
  const res = await waiting;
  assert.equal(res.status, 200);
  assert.equal(res.body, "6");
  engineError(await push(sid, "6"), 400, 1);
});

test("an unsolicited pong and a noop are ignored; a ping from the client ends the session", async () => {
  const sid = await session();
  assert.equal((await push(sid, "3")).body, "ok");
  assert.equal((await push(sid, "6")).body, "ok");
  assert.equal((await push(sid, '421["whoami"]')).body, "ok");
  assert.match((await pollFor(sid, "431"))[0], /^431\[\{/);
  await push(sid, "2"); // Node answers ok, this server 400: either way the session ends
  engineError(await poll(sid), 400, 1);
});

test("open and upgrade packets outside an upgrade are ignored", async () => {
  const sid = await session();
  assert.equal((await push(sid, "0")).body, "ok");
  assert.equal((await push(sid, "5\x1e0{}")).body, "ok");
  assert.equal((await push(sid, '421["whoami"]')).body, "ok");
  assert.match((await pollFor(sid, "431"))[0], /^431\[\{/);
});

test("an application/octet-stream POST gets 400 and ends the session", async () => {
  const sid = await session();
  const res = await push(sid, '421["whoami"]', { headers: { "Content-Type": "application/octet-stream" } });
  assert.equal(res.status, 400);
  engineError(await poll(sid), 400, 1);
  // Any other type is read as text.
  const sid2 = await session();
  const ok = await push(sid2, '421["whoami"]', { headers: { "Content-Type": "application/octet-stream; charset=UTF-8" } });
  assert.equal(ok.body, "ok");
  assert.match((await pollFor(sid2, "431"))[0], /^431\[\{/);
});

test("binary over polling: unpadded and URL-safe base64 decode as standard base64", async () => {
  const sid = await session();
  const echo = (id, b64) => push(sid, `451-${id}["echo",{"_placeholder":true,"num":0}]\x1eb${b64}`);
  assert.equal((await echo(1, "AQIDBA")).body, "ok"); // no padding
  assert.deepEqual((await pollFor(sid, "461-1")).slice(0, 2), ['461-1[{"_placeholder":true,"num":0}]', "bAQIDBA=="]);
  assert.equal((await echo(2, "-_8")).body, "ok"); // URL-safe alphabet, no padding
  assert.deepEqual((await pollFor(sid, "461-2")).slice(0, 2), ['461-2[{"_placeholder":true,"num":0}]', "b+/8="]);
});

test("a malformed payload ends the session", async () => {
  // Node answers these POSTs ok, this server 400; either way the session
  // ends. (What comes before the bad packet reaches the Engine.IO layer of
  // both, but Node's Socket.IO layer drops an event whose connection
  // closes in the same payload.)
  for (const body of ["", "\x1e", "\x1e\x1e", "abc", "7", "9x", "6\x1e", "6\x1e\x1e6", "2probe"]) {
    const sid = await session();
    const res = await push(sid, body);
    assert.ok(res.status === 200 || res.status === 400, JSON.stringify([body, res]));
    engineError(await poll(sid), 400, 1);
  }
});

test("upgrade: the probe answers the waiting GET with a noop, then polling gets 400", async () => {
  const sid = await session();
  const waiting = poll(sid);
  const ws = await socket(`EIO=4&transport=websocket&sid=${sid}`);
  assert.equal(await ws.ready, true);
  ws.send("2probe");
  assert.equal(await nth(ws, 0), "3probe");
  assert.equal((await waiting).body, "6");
  ws.send("5");
  ws.send('421["whoami"]');
  assert.match(await nth(ws, 1), /^431\[\{/);
  engineError(await poll(sid), 400, 3);
  engineError(await push(sid, "6"), 400, 3);
  // A second WebSocket for the session is closed; the first one goes on.
  const ws2 = await socket(`EIO=4&transport=websocket&sid=${sid}`);
  if (await ws2.ready) await h.within(ws2.closed, 2000, "second WebSocket closed");
  ws.send('422["whoami"]');
  assert.match(await nth(ws, 2), /^432\[\{/);
  ws.terminate();
});

test("upgrade: an upgrade packet without a probe completes it", async () => {
  const sid = await session();
  const waiting = poll(sid);
  const ws = await socket(`EIO=4&transport=websocket&sid=${sid}`);
  assert.equal(await ws.ready, true);
  await h.sleep(50);
  ws.send("5");
  // A noop here; Node closes the polling transport with a close packet.
  assert.match((await waiting).body, /^[61]$/);
  ws.send('421["whoami"]');
  assert.match(await nth(ws, 0), /^431\[\{/);
  engineError(await poll(sid), 400, 3);
  ws.terminate();
});

test("upgrade: a message during the probe drops the WebSocket and polling goes on", async () => {
  const sid = await session();
  const ws = await socket(`EIO=4&transport=websocket&sid=${sid}`);
  assert.equal(await ws.ready, true);
  ws.send("2probe");
  assert.equal(await nth(ws, 0), "3probe");
  ws.send('421["whoami"]');
  await h.within(ws.closed, 2000, "WebSocket closed");
  assert.equal((await push(sid, '422["whoami"]')).body, "ok");
  assert.match((await pollFor(sid, "432"))[0], /^432\[\{/);
});

test("a WebSocket asked for with transport=polling leaves the session alone", async () => {
  const sid = await session();
  // Node completes the handshake and closes it, this server answers 400.
  // Either comes at once: a client that gives up waiting does not end the
  // session.
  const ws = await socket(`EIO=4&transport=polling&sid=${sid}`, { handshakeTimeout: 300 });
  if (await ws.ready) await h.within(ws.closed, 2000, "WebSocket closed");
  ws.terminate();
  await h.sleep(100);
  assert.equal((await push(sid, '421["whoami"]')).body, "ok");
  assert.match((await pollFor(sid, "431"))[0], /^431\[\{/);
});

test("heartbeat: a client that never answers the ping is closed after pingTimeout", async () => {
  const ws = await socket("EIO=4&transport=websocket");
  assert.equal(await ws.ready, true);
  const open = JSON.parse((await nth(ws, 0)).slice(1));
  const start = Date.now();
  assert.equal(await nth(ws, 1, open.pingInterval + 1000), "2");
  const pingAt = Date.now() - start;
  assert.ok(pingAt > open.pingInterval - 200, `ping after ${pingAt}ms`);
  await h.within(ws.closed, open.pingTimeout + 1000, "close after the ping timeout");
  const closedAt = Date.now() - start;
  assert.ok(closedAt > open.pingInterval + open.pingTimeout - 300, `closed after ${closedAt}ms`);
});
