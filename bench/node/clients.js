// Drives a running server (Go or Node, same contract as bench/server) with
// the official socket.io-client, as a browser app would use it, and reports
// what that costs the server. A check beside the scenarios, which
// use the Go load generator over raw WebSocket frames:
//
//   node bench/node/clients.js URL PID [TRANSPORT] [N] [CONCURRENCY]
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

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
