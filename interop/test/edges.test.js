"use strict";
// Edges of the wire that eio-raw.test.js and sio-raw.test.js leave out:
// WebSocket frames written byte by byte on a raw TCP connection (control
// frames, close frames, fragments, maxPayload), polling over HTTP/1.0 and
// pipelined HTTP/1.1, binary attachments split across requests and across
// an upgrade, and acknowledgements of a broadcast sent by the wrong
// socket. Each scenario passes against the Node reference server too.
const assert = require("node:assert/strict");
const crypto = require("node:crypto");
const net = require("node:net");
const { test } = require("node:test");
const WebSocket = require("ws");
const h = require("../lib/harness");
const { PATH, q, poll, push, session, pollFor } = require("../lib/raw");


async function hostPort() {
  const u = new URL(await h.url());
  return { host: u.hostname, port: Number(u.port) };
}

// frame returns the bytes of one masked client frame.
function frame(opcode, payload, { fin = true } = {}) {
  payload = Buffer.from(payload);
  const n = payload.length;
  let head;
  if (n < 126) head = Buffer.from([(fin ? 0x80 : 0) | opcode, 0x80 | n]);
  else if (n < 65536) {
    head = Buffer.from([(fin ? 0x80 : 0) | opcode, 0x80 | 126, 0, 0]);
    head.writeUInt16BE(n, 2);
  } else {
    head = Buffer.alloc(10);
    head[0] = (fin ? 0x80 : 0) | opcode;
    head[1] = 0x80 | 127;
    head.writeBigUInt64BE(BigInt(n), 2);
  }
  const key = crypto.randomBytes(4);
  const masked = Buffer.from(payload);
  for (let i = 0; i < masked.length; i++) masked[i] ^= key[i & 3];
  return Buffer.concat([head, key, masked]);
}

// rawSocket opens a WebSocket on a TCP connection of its own, connected to
// namespace "/" (the "welcome" event read). s.frames() parses what the
// server sent: {op, data} for data frames, {op: 8, code} for close frames,
// {op: 10, data} for pongs; s.ended settles when the connection closes.
async function rawSocket() {
  const { host, port } = await hostPort();
  const s = net.connect(port, host);
  s.on("error", () => {});
  let buf = Buffer.alloc(0);
  let upgraded;
  const ready = new Promise((resolve) => (upgraded = resolve));
  s.ended = new Promise((resolve) => s.on("close", resolve));
  s.on("data", (d) => {
    buf = Buffer.concat([buf, d]);
    if (!s.upgraded) {
      const end = buf.indexOf("\r\n\r\n");
      if (end < 0) return;
      s.upgraded = buf.subarray(0, end).toString("latin1").split("\r\n")[0];
      buf = buf.subarray(end + 4);
      upgraded();
    }
  });
  s.frames = () => {
    const out = [];
    for (let i = 0; i + 2 <= buf.length; ) {
      const op = buf[i] & 0x0f;
      let n = buf[i + 1] & 0x7f;
      let j = i + 2;
      if (n === 126) {
        if (j + 2 > buf.length) break;
        n = buf.readUInt16BE(j);
        j += 2;
      } else if (n === 127) {
        if (j + 8 > buf.length) break;
        n = Number(buf.readBigUInt64BE(j));
        j += 8;
      }
      if (j + n > buf.length) break;
      const p = buf.subarray(j, j + n);
      if (op === 8) out.push({ op, code: p.length >= 2 ? p.readUInt16BE(0) : null });
      else if (op === 2) out.push({ op, data: [...p] });
      else out.push({ op, data: p.toString() });
      i = j + n;
    }
    return out;
  };
  s.write(
    `GET ${PATH}?EIO=4&transport=websocket HTTP/1.1\r\nHost: ${host}:${port}\r\nUpgrade: websocket\r\n` +
      `Connection: Upgrade\r\nSec-WebSocket-Key: ${crypto.randomBytes(16).toString("base64")}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  );
  await h.within(ready, 2000, "WebSocket handshake");
  assert.match(s.upgraded, /^HTTP\/1\.1 101/);
  s.write(frame(1, "40"));
  await waitFrame(s, (f) => f.op === 1 && f.data.startsWith('42["welcome"'));
  return s;
}

// waitFrame resolves with the first frame from the server that matches.
async function waitFrame(s, match, ms = 2000) {
  for (let waited = 0; ; waited += 10) {
    const f = s.frames().find(match);
    if (f) return f;
    if (waited > ms) throw new Error("no such frame within " + ms + "ms: " + JSON.stringify(s.frames()).slice(0, 300));
    await h.sleep(10);
  }
}

// closedWith waits for the server's close frame and the end of the
// connection, and returns the close frame's status code.
async function closedWith(s) {
  const f = await waitFrame(s, (f) => f.op === 8);
  await h.within(s.ended, 2000, "connection closed");
  return f.code;
}

const echoed = (s, text) => waitFrame(s, (f) => f.op === 1 && f.data === `42["echo","${text}"]`);

test("WebSocket: control frames between fragments are answered, the message goes through", async () => {
  const s = await rawSocket();
  s.write(frame(1, '42["ec', { fin: false }));
  s.write(frame(9, "hi"));
  s.write(frame(0, 'ho","a', { fin: false }));
  s.write(frame(10, "unsolicited"));
  s.write(frame(0, 'b"]'));
  assert.equal((await waitFrame(s, (f) => f.op === 10)).data, "hi");
  await echoed(s, "ab");
  // Binary attachments in fragments too, and a character split between
  // two fragments.
  s.write(frame(1, '451-["echo",{"_placeholder":true,"num":0}]'));
  s.write(frame(2, [1, 2], { fin: false }));
  s.write(frame(0, [3, 4]));
  assert.deepEqual((await waitFrame(s, (f) => f.op === 2)).data, [1, 2, 3, 4]);
  const e = Buffer.from('42["echo","é"]');
  s.write(frame(1, e.subarray(0, 12), { fin: false }));
  s.write(frame(0, e.subarray(12)));
  await echoed(s, "é");
  s.destroy();
});

test("WebSocket: a fragmented or long ping or pong, or a reserved opcode, fails the connection with 1002", async () => {
  const cases = {
    "fragmented ping": [frame(9, "hi", { fin: false })],
    "fragmented pong": [frame(10, "hi", { fin: false })],
    "ping of 126 bytes": [frame(9, Buffer.alloc(126, 104))],
    "ping with a 16-bit length": [(() => {
      const f = frame(9, "hello");
      return Buffer.concat([Buffer.from([f[0], 0x80 | 126, 0, 5]), f.subarray(2)]);
    })()],
    "fragmented ping inside a message": [frame(1, '42["ec', { fin: false }), frame(9, "hi", { fin: false })],
    "opcode 3": [frame(3, '42["echo","z"]')],
    "opcode 11": [frame(11, "x")],
  };
  for (const [name, frames] of Object.entries(cases)) {
    const s = await rawSocket();
    frames.forEach((f) => s.write(f));
    assert.equal(await closedWith(s), 1002, name);
    assert.ok(!s.frames().some((f) => f.op === 10 || (f.op === 1 && f.data.startsWith('42["echo"'))), name);
  }
});

test("WebSocket: a message over maxPayload, whole or in fragments, fails the connection with 1009", async () => {
  const body = Buffer.from(`42["echo","${"x".repeat(1e6 - 12)}"]`); // 1e6 + 1 bytes
  const whole = await rawSocket();
  whole.write(frame(1, body));
  assert.equal(await closedWith(whole), 1009);
  const parts = await rawSocket();
  for (let i = 0; i < body.length; i += 100000) {
    parts.write(frame(i ? 0 : 1, body.subarray(i, i + 100000), { fin: i + 100000 >= body.length }));
  }
  assert.equal(await closedWith(parts), 1009);
  // One byte less is a message.
  const ok = await rawSocket();
  ok.write(frame(1, body.subarray(0, 1e6 - 2) + '"]'));
  await waitFrame(ok, (f) => f.op === 1 && f.data.startsWith('42["echo","xxx'));
  ok.destroy();
});

test("WebSocket: the answer to a close frame", async () => {
  const code = (c) => Buffer.from([c >> 8, c & 255]);
  const cases = [
    ["1000", code(1000), 1000],
    ["1001 with a reason", Buffer.concat([code(1001), Buffer.from("bye")]), 1001],
    ["4000", code(4000), 4000],
    ["999", code(999), 1002],
    ["1005", code(1005), 1002],
    ["1006", code(1006), 1002],
    ["1015", code(1015), 1002],
    ["5000", code(5000), 1002],
    ["one byte", Buffer.from([3]), 1002],
    ["reason not UTF-8", Buffer.concat([code(4000), Buffer.from([0xff, 0xfe])]), 1007],
    ["payload of 126 bytes", Buffer.concat([code(1000), Buffer.alloc(124, 97)]), 1002],
  ];
  for (const [name, payload, want] of cases) {
    const s = await rawSocket();
    s.write(frame(8, payload));
    assert.equal(await closedWith(s), want, name);
  }
  // No status code: Node answers with none, this server with 1000.
  const s = await rawSocket();
  s.write(frame(8, ""));
  assert.ok([null, 1000].includes(await closedWith(s)));
});

// raw sends bytes on a TCP connection of its own and resolves with what
// came back (latin1), once the server closes the connection or after ms.
async function raw(text, ms = 1500) {
  const { host, port } = await hostPort();
  return new Promise((resolve) => {
    const s = net.connect(port, host);
    let got = "";
    s.on("data", (d) => (got += d.toString("latin1")));
    s.on("error", () => {});
    const timer = setTimeout(() => {
      s.destroy();
      resolve(got);
    }, ms);
    s.on("close", () => {
      clearTimeout(timer);
      resolve(got);
    });
    s.write(text);
  });
}

const bodyOf = (res) => res.slice(res.indexOf("\r\n\r\n") + 4);

test("polling over HTTP/1.0: a whole session, one connection per request", async () => {
  const hs = await raw(`GET ${PATH}?EIO=4&transport=polling HTTP/1.0\r\n\r\n`);
  assert.match(hs, /^HTTP\/1\.[01] 200 /);
  const sid = JSON.parse(bodyOf(hs).slice(1)).sid;
  const post = (body) => raw(`POST ${PATH}?${q(sid)} HTTP/1.0\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  assert.equal(bodyOf(await post("40")), "ok");
  assert.match(bodyOf(await raw(`GET ${PATH}?${q(sid)} HTTP/1.0\r\n\r\n`)), /^40\{"sid"/);
  assert.equal(bodyOf(await post('421["add",{"a":1,"b":2}]')), "ok");
  assert.match(bodyOf(await raw(`GET ${PATH}?${q(sid)} HTTP/1.0\r\n\r\n`)), /431\[\{"sum":3\}\]/);
});

test("polling: pipelined requests on one HTTP/1.1 connection are answered in order", async () => {
  const sid = await session();
  const { host, port } = await hostPort();
  const H = `Host: ${host}:${port}`;
  const body = '421["add",{"a":2,"b":3}]';
  const res = await raw(
    `POST ${PATH}?${q(sid)} HTTP/1.1\r\n${H}\r\nContent-Length: ${body.length}\r\n\r\n${body}` +
      `GET ${PATH}?${q(sid)} HTTP/1.1\r\n${H}\r\nConnection: close\r\n\r\n`,
    2500,
  );
  const ok = res.indexOf("\r\n\r\nok");
  const sum = res.indexOf('431[{"sum":5}]');
  assert.ok(ok > 0 && sum > ok, res);
  // The session goes on.
  assert.equal((await push(sid, '422["add",{"a":1,"b":1}]')).body, "ok");
  assert.equal((await pollFor(sid, "432"))[0], '432[{"sum":2}]');
});

test("polling: a client that drops its waiting GET ends the session", async () => {
  const sid = await session();
  const { host, port } = await hostPort();
  const s = net.connect(port, host);
  s.on("error", () => {});
  s.write(`GET ${PATH}?${q(sid)} HTTP/1.1\r\nHost: ${host}:${port}\r\n\r\n`);
  await h.sleep(200);
  s.destroy();
  await h.sleep(200);
  const res = await push(sid, '421["whoami"]');
  assert.equal(res.status, 400);
  assert.equal(JSON.parse(res.body).code, 1);
});

const HEAD2 = '452-["echo",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]';

test("binary: the attachments of one event in separate POSTs are put back together", async () => {
  const sid = await session();
  assert.equal((await push(sid, HEAD2)).body, "ok");
  assert.equal((await push(sid, "bAQI=")).body, "ok");
  assert.equal((await push(sid, "6\x1ebAwQ=")).body, "ok"); // a noop between does not matter
  assert.deepEqual(await pollFor(sid, "452-"), [HEAD2, "bAQI=", "bAwQ="]);
});

test("binary: attachments announced over polling may come over the WebSocket after the upgrade", async () => {
  for (const before of [0, 1]) {
    const sid = await session();
    assert.equal((await push(sid, before ? HEAD2 + "\x1ebAQI=" : HEAD2)).body, "ok");
    const ws = new WebSocket((await h.url()).replace(/^http/, "ws") + PATH + "?EIO=4&transport=websocket&sid=" + sid);
    const got = [];
    ws.on("message", (d, binary) => got.push(binary ? [...d] : d.toString()));
    await h.within(new Promise((resolve, reject) => ws.on("open", resolve).on("error", reject)), 2000, "open");
    ws.send("2probe");
    for (let i = 0; got[0] !== "3probe"; i++) {
      assert.ok(i < 200, "no 3probe");
      await h.sleep(10);
    }
    ws.send("5");
    if (!before) ws.send(Buffer.from([1, 2]));
    ws.send(Buffer.from([3, 4]));
    for (let i = 0; got.length < 4; i++) {
      assert.ok(i < 200, JSON.stringify(got));
      await h.sleep(10);
    }
    assert.deepEqual(got.slice(1), [HEAD2, [1, 2], [3, 4]]);
    ws.terminate();
  }
});

// wsClient connects a raw WebSocket to "/" and returns it with its id;
// pings are answered.
async function wsClient() {
  const ws = new WebSocket((await h.url()).replace(/^http/, "ws") + PATH + "?EIO=4&transport=websocket");
  ws.got = [];
  ws.on("message", (d) => {
    const m = d.toString();
    if (m === "2") ws.send("3");
    else ws.got.push(m);
  });
  await h.within(new Promise((resolve, reject) => ws.on("open", resolve).on("error", reject)), 2000, "open");
  ws.send("40");
  ws.id = JSON.parse((await seen(ws, (m) => m.startsWith("40{"))).slice(2)).sid;
  return ws;
}

async function seen(ws, match, ms = 2000) {
  for (let waited = 0; ; waited += 10) {
    const m = ws.got.find(match);
    if (m !== undefined) return m;
    if (waited > ms) throw new Error("not received: " + JSON.stringify(ws.got).slice(0, 300));
    await h.sleep(10);
  }
}

test("broadcast with ack: an ACK from a socket that was not asked, or a second one, is ignored", async () => {
  const [a, b, c] = [await wsClient(), await wsClient(), await wsClient()];
  try {
    a.send(`421["ask-room",{"to":["${b.id}"],"event":"q","payload":1,"timeoutMs":1000}]`);
    const id = /^42(\d+)\["q",1\]$/.exec(await seen(b, (m) => m.includes('"q"')))[1];
    c.send(`43${id}["from-c"]`);
    await h.sleep(50);
    b.send(`43${id}["from-b"]`);
    b.send(`43${id}["again"]`);
    const res = JSON.parse((await seen(a, (m) => m.startsWith("431"))).slice(3))[0];
    assert.deepEqual(res, { timedOut: false, answers: ["from-b"] });
    // An ACK for an id another socket waits on.
    b.send(`422["ask-client",{"event":"q2","payload":2,"timeoutMs":500}]`);
    const id2 = /^42(\d+)/.exec(await seen(b, (m) => m.includes('"q2"')))[1];
    c.send(`43${id2}["from-c"]`);
    assert.deepEqual(JSON.parse((await seen(b, (m) => m.startsWith("432"))).slice(3)), [{ error: "timeout" }]);
    for (const ws of [a, b, c]) assert.equal(ws.readyState, WebSocket.OPEN);
  } finally {
    [a, b, c].forEach((ws) => ws.terminate());
  }
});
