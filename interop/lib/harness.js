"use strict";
// Shared helpers of the interop tests: where the Go server is, how to
// connect the official socket.io-client to it over each transport, and
// promise helpers that never hang (every wait has a deadline).
//
// The server: $SIO_URL if set (interop_test.go starts one and sets it);
// otherwise $SIO_SERVER_BIN, or a binary built here with `go build`, is
// started with PORT=0 for this test file and stopped when it exits.

const { spawn, execFileSync } = require("node:child_process");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { describe, test, before } = require("node:test");
const { io, Manager } = require("socket.io-client");

const ROOT = path.resolve(__dirname, "..", "..");

// The three ways a client may reach the server. `final` is the transport
// the connection ends up on.
const TRANSPORTS = [
  { name: "websocket", opts: { transports: ["websocket"] }, final: "websocket" },
  { name: "polling", opts: { transports: ["polling"] }, final: "polling" },
  { name: "polling+upgrade", opts: {}, final: "websocket" },
];

let serverURL;
async function url() {
  if (process.env.SIO_URL) return process.env.SIO_URL;
  if (!serverURL) serverURL = startServer();
  return serverURL;
}

async function startServer() {
  let bin = process.env.SIO_SERVER_BIN;
  if (!bin) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sio-interop-"));
    bin = path.join(dir, "server");
    execFileSync("go", ["build", "-o", bin, "./interop/server"], { cwd: ROOT, stdio: "inherit" });
    process.on("exit", () => fs.rmSync(dir, { recursive: true, force: true }));
  }
  const child = spawn(bin, [], {
    env: { ...process.env, PORT: "0" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  process.on("exit", () => child.kill());
  child.unref();
  child.stdout.unref?.();
  return await new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error("server did not start within 30s: " + out)), 30000);
    child.on("exit", (code) => reject(new Error(`server exited (${code}): ${out}`)));
    child.stdout.on("data", (d) => {
      out += d;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
  });
}

// Find (or build and start) the server before the first test, so that the
// build does not count against a test's timeout.
before(() => url(), { timeout: 180000 });

// client returns a socket.io-client socket on namespace nsp, not
// multiplexed, without reconnection unless opts asks for it. t is the
// transport given to the scenario; the socket is closed after the test.
async function client(t, nsp = "/", opts = {}) {
  const s = io((await url()) + nsp, {
    forceNew: true,
    reconnection: false,
    timeout: 5000,
    ...t.opts,
    ...opts,
  });
  t.opened.push(() => s.close());
  return s;
}

// manager returns a Manager whose sockets share one connection.
async function manager(t, opts = {}) {
  const m = new Manager(await url(), { reconnection: false, timeout: 5000, ...t.opts, ...opts });
  t.opened.push(() => m.disconnect());
  return m;
}

// within fails if p does not settle within ms.
function within(p, ms, what) {
  let timer;
  return Promise.race([
    p,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms}ms waiting for ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

// once resolves with the arguments of the next `event` of emitter.
function once(emitter, event, ms = 5000) {
  return within(new Promise((resolve) => emitter.once(event, (...args) => resolve(args))), ms, `"${event}"`);
}

// connected waits for the socket's connect (or fails with its connect_error).
function connected(s, ms = 5000) {
  if (s.connected) return Promise.resolve();
  return within(
    new Promise((resolve, reject) => {
      s.once("connect", resolve);
      s.once("connect_error", (err) => reject(new Error("connect_error: " + err.message)));
    }),
    ms,
    "connect",
  );
}

// upgraded waits until the connection runs on the transport t ends on.
async function settled(s, t, ms = 5000) {
  const engine = s.io.engine;
  if (engine.transport.name !== t.final) await once(engine, "upgrade", ms);
  return engine.transport.name;
}

// ack emits an event with an acknowledgement callback and resolves with
// every argument of the acknowledgement.
function ack(s, event, ...args) {
  return within(new Promise((resolve) => s.emit(event, ...args, (...res) => resolve(res))), 5000, `ack of "${event}"`);
}

// collect records the payloads of `event` on socket s.
function collect(s, event) {
  const got = [];
  s.on(event, (...args) => got.push(args.length === 1 ? args[0] : args));
  return got;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// bytes returns the bytes of a Buffer, typed array or ArrayBuffer as an
// array of numbers, and fails on anything else (e.g. a placeholder object
// or a base64 string where binary was expected).
function bytes(x) {
  if (x instanceof ArrayBuffer) return [...new Uint8Array(x)];
  if (ArrayBuffer.isView(x)) return [...new Uint8Array(x.buffer, x.byteOffset, x.byteLength)];
  throw new Error("not binary: " + JSON.stringify(x)?.slice(0, 200));
}

const tag = () => Math.random().toString(36).slice(2);

// scenario declares one test per transport.
// With concurrent, the three run at the same time (for scenarios that
// mostly wait).
function scenario(title, fn, { timeout = 15000, concurrent = false } = {}) {
  describe(title, { concurrency: concurrent }, () => {
    for (const tr of TRANSPORTS) {
      test(tr.name, { timeout }, async (tc) => {
        // what the test opened, closed after it
        const t = { ...tr, opened: [] };
        tc.after(() => t.opened.forEach((close) => close()));
        await fn(t);
      });
    }
  });
}

// ready returns a connected client on namespace nsp (see client).
async function ready(t, nsp = "/", opts = {}) {
  const s = await client(t, nsp, opts);
  await connected(s);
  return s;
}

// reasonOf asks the server, through the connected client obs, why socket id
// disconnected, waiting until it has recorded a reason (null if it never
// does within about 3 s).
async function reasonOf(obs, id) {
  for (let i = 0; i < 150; i++) {
    const r = await obs.timeout(5000).emitWithAck("reason-of", id);
    if (r !== null) return r;
    await sleep(20);
  }
  return null;
}

module.exports = { TRANSPORTS, url, client, manager, within, once, connected, settled, ack, collect, sleep, bytes, tag, scenario, ready, reasonOf };
