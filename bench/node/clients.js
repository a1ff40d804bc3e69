// Drives a running server (Go or Node, same contract as bench/server) with
// the official socket.io-client, as a browser app would use it, and reports
// what that costs the server. A check beside the scenarios, which
// use the Go load generator over raw WebSocket frames:
//
//   node bench/node/clients.js URL PID [TRANSPORT] [N] [CONCURRENCY] [LOOP_SECONDS]
//
// TRANSPORT is "default" (polling, then the upgrade to WebSocket, as
// browsers connect by default), "websocket" or "polling". N clients
// connect, CONCURRENCY at a time (defaults 2000 and 20), then hold for 4 s,
// then each makes 10 echo round trips, one at a time. Printed: connects/s
// and server CPU per connect, the server's RSS growth per connection once
// all are held, and server CPU per echo ack. CPU and RSS are read from
// /proc/PID (Linux). Start the server fresh for the RSS figure: a process
// that has already served reuses its memory.
//
// With LOOP_SECONDS, the echo phase is a closed loop instead, as in the
// load generator's echo scenario: every client emits its next echo as
// soon as the last ack came, 1 s of warm-up, then LOOP_SECONDS measured.
// Printed: acks/s, latency p50/p99/p99.9 and server CPU per ack. E.g.
//
//   node bench/node/clients.js http://127.0.0.1:3000 PID websocket 50 50 5
//
// socket.io-client comes from interop/node_modules (npm ci --prefix
// interop). The client is the bottleneck here (one Node process), so
// compare the servers' CPU per operation, not the rates.
"use strict";

const fs = require("fs");
const path = require("path");
const { createRequire } = require("module");

const interop = createRequire(path.join(__dirname, "..", "..", "interop", "package.json"));
const { io } = interop("socket.io-client");

const [url, pid, transport = "default", n = "2000", conc = "20"] = process.argv.slice(2);
if (!url || !pid) {
  console.error("usage: node bench/node/clients.js URL PID [default|websocket|polling] [N] [CONCURRENCY]");
  process.exit(2);
}
const N = Number(n);
const C = Number(conc);
const echoes = 10;
const loopSecs = Number(process.argv[7] || 0);

// cpu returns the server's user+system CPU time in µs (clock ticks of 10 ms).
function cpu() {
  const f = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(f[11]) + Number(f[12])) * 10000;
}

// rss returns the server's resident set in KiB.
function rss() {
  return Number(fs.readFileSync(`/proc/${pid}/status`, "utf8").match(/VmRSS:\s+(\d+)/)[1]);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// connect resolves once the socket is connected, and on the default
// transport also upgraded (which may come before or after the connect).
function connect() {
  const opts = { forceNew: true, reconnection: false, timeout: 20000 };
  if (transport !== "default") opts.transports = [transport];
  return new Promise((resolve, reject) => {
    const s = io(url, opts);
    s.on("connect_error", reject);
    s.on("connect", () => {
      const engine = s.io.engine;
      if (transport !== "default" || engine.transport.name === "websocket") return resolve(s);
      engine.once("upgrade", () => resolve(s));
    });
  });
}

async function main() {
  const rss0 = rss();
  const sockets = [];
  let next = 0;
  const cpu0 = cpu();
  const t0 = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: C }, async () => {
      while (next < N) {
        next++;
        sockets.push(await connect());
      }
    }),
  );
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  const connectCPU = (cpu() - cpu0) / N;
  await sleep(4000);
  const held = (rss() - rss0) / N;

  const payload = { user: "ann", text: "hello, world", n: 12345, tags: ["a", "b", "c"] };
  if (loopSecs > 0) {
    await echoLoop(sockets, payload);
    for (const s of sockets) s.close();
    await sleep(300);
    return;
  }
  const cpu1 = cpu();
  await Promise.all(
    sockets.map(async (s) => {
      for (let i = 0; i < echoes; i++) await s.timeout(10000).emitWithAck("echo", payload);
    }),
  );
  const echoCPU = (cpu() - cpu1) / (N * echoes);

  console.log(
    `${transport}: ${N} clients: ${(N / secs).toFixed(0)} connects/s, ` +
      `server CPU ${connectCPU.toFixed(0)} µs per connect, ` +
      `RSS +${held.toFixed(2)} KiB per connection, ` +
      `server CPU ${echoCPU.toFixed(1)} µs per echo ack`,
  );
  for (const s of sockets) s.close();
  await sleep(300);
}

// echoLoop runs the closed loop of LOOP_SECONDS (see the top) and prints
// its figures.
async function echoLoop(sockets, payload) {
  let running = true;
  let measuring = false;
  const lat = []; // µs, of the acks that came while measuring
  const loops = sockets.map(async (s) => {
    while (running) {
      const t = process.hrtime.bigint();
      await s.timeout(10000).emitWithAck("echo", payload);
      if (measuring) lat.push(Number(process.hrtime.bigint() - t) / 1000);
    }
  });
  await sleep(1000);
  measuring = true;
  const cpu0 = cpu();
  const t0 = process.hrtime.bigint();
  await sleep(loopSecs * 1000);
  measuring = false;
  const used = cpu() - cpu0;
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  running = false;
  await Promise.all(loops);
  lat.sort((a, b) => a - b);
  const q = (p) => lat[Math.min(lat.length - 1, Math.floor(lat.length * p))].toFixed(0);
  console.log(
    `${transport}: ${sockets.length} clients in a closed loop: ${(lat.length / secs).toFixed(0)} acks/s, ` +
      `latency p50 ${q(0.5)} µs, p99 ${q(0.99)} µs, p99.9 ${q(0.999)} µs, ` +
      `server CPU ${(used / lat.length).toFixed(1)} µs per ack`,
  );
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
