"use strict";
// Raw Engine.IO long-polling for the interop tests that look below the
// official client: one HTTP request per connection, against the server
// under test (see harness.js for which).

const assert = require("node:assert/strict");
const http = require("node:http");
const h = require("./harness");

const PATH = "/socket.io/";

// request sends one HTTP request on a connection of its own and resolves
// with {status, type, body} (body as a latin1 string), or {error} if the
// connection fails, or {timeout: true} after ms.
async function request(method, query, { body, headers = {}, ms = 3000 } = {}) {
  const u = new URL((await h.url()) + PATH + "?" + query);
  return new Promise((resolve) => {
    const req = http.request(u, { method, headers, agent: false }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () =>
        resolve({ status: res.statusCode, type: res.headers["content-type"], body: Buffer.concat(chunks).toString("latin1") }),
      );
    });
    req.on("error", (e) => resolve({ error: e.code || e.message }));
    req.setTimeout(ms, () => {
      req.destroy();
      resolve({ timeout: true });
    });
    if (body !== undefined) req.write(body);
    req.end();
  });
}

// q is the query of a polling request for session sid.
const q = (sid) => `EIO=4&transport=polling&sid=${sid}`;
const poll = (sid, opts) => request("GET", q(sid), opts);
const push = (sid, body, opts = {}) => request("POST", q(sid), { ...opts, body });

// handshake opens a polling session and returns its sid.
async function handshake() {
  const res = await request("GET", "EIO=4&transport=polling");
  assert.equal(res.status, 200, JSON.stringify(res));
  return JSON.parse(res.body.slice(1)).sid;
}

// session opens a polling session and connects it to namespace "/"; the
// CONNECT reply and the "welcome" event are read.
async function session() {
  const sid = await handshake();
  assert.equal((await push(sid, "40")).body, "ok");
  let got = "";
  while (!got.includes('"welcome"')) {
    const res = await poll(sid);
    assert.equal(res.status, 200, JSON.stringify(res));
    got += res.body;
  }
  return sid;
}

// pollFor polls until a payload has a packet that starts with prefix, and
// returns that packet (pings are answered).
async function pollFor(sid, prefix) {
  for (let i = 0; i < 10; i++) {
    const res = await poll(sid);
    assert.equal(res.status, 200, JSON.stringify(res));
    const packets = res.body.split("\x1e");
    const p = packets.find((p) => p.startsWith(prefix));
    if (packets.includes("2")) await push(sid, "3");
    if (p !== undefined) return packets.slice(packets.indexOf(p));
  }
  throw new Error(`no packet ${prefix} in 10 polls`);
}

module.exports = { PATH, q, request, poll, push, handshake, session, pollFor };
