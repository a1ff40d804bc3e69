"use strict";
// A Node.js Socket.IO server on the official Redis adapter, for
// interop_test.go: it joins the same Redis cluster as the Go servers of the
// test and does what the test asks on stdin.
//
//   node node_server.js <redis url> <key>
//
// Modules come from interop/node_modules (the test sets NODE_PATH). Once it
// listens on 127.0.0.1 it prints {"port":N}. Then each stdin line is a JSON
// command {id, op, ...}; the answer is one stdout line {id, ...} (or
// {id, error}). Server-side events from other servers are printed as
// {"event":"sse","name":..,"args":[..]}. Binary values travel in these
// JSON lines as {"$bin":"<base64>"}. It exits when stdin closes.
//
// Sockets: auth {rooms:[...], data:{...}} joins the rooms and sets
// socket.data, then the socket gets "ready".
//
// Commands:
//   emit        {to, except, args}          io.to(to).except(except).emit(...args)
//   emitWithAck {to, timeout, args}         -> {acks} or {error, acks}
//   fetch       {to}                        -> {sockets:[{id, rooms, data, auth, address}]}
//   join/leave  {to, rooms}                 io.in(to).socketsJoin/socketsLeave(rooms)
//   disconnect  {to, close}                 io.in(to).disconnectSockets(close)
//   sse         {args, ack}                 io.serverSideEmit / serverSideEmitWithAck -> {replies}
//   rooms       {sid}                       -> {rooms} of a local socket

const http = require("node:http");
const readline = require("node:readline");
const { Server } = require("socket.io");
const { createAdapter } = require("@socket.io/redis-adapter");
const { createClient } = require("redis");

const [redisURL, key] = process.argv.slice(2);

const toWire = (v) => {
  if (Buffer.isBuffer(v)) return { $bin: v.toString("base64") };
  if (v instanceof ArrayBuffer) return { $bin: Buffer.from(v).toString("base64") };
  if (Array.isArray(v)) return v.map(toWire);
  if (v && typeof v === "object") {
    if (v.type === "Buffer" && Array.isArray(v.data)) return { $bin: Buffer.from(v.data).toString("base64") };
    const o = {};
    for (const [k, x] of Object.entries(v)) o[k] = toWire(x);
    return o;
  }
  return v;
};
const fromWire = (v) => {
  if (Array.isArray(v)) return v.map(fromWire);
  if (v && typeof v === "object") {
    if (typeof v.$bin === "string") return Buffer.from(v.$bin, "base64");
    const o = {};
    for (const [k, x] of Object.entries(v)) o[k] = fromWire(x);
    return o;
  }
  return v;
};
const out = (o) => process.stdout.write(JSON.stringify(o) + "\n");

async function main() {
  const pub = createClient({ url: redisURL });
  const sub = pub.duplicate();
  pub.on("error", () => {});
  sub.on("error", () => {});
  await Promise.all([pub.connect(), sub.connect()]);

  const httpServer = http.createServer();
  const io = new Server(httpServer, {
    adapter: createAdapter(pub, sub, { key, requestsTimeout: 3000 }),
    pingInterval: 10000,
    pingTimeout: 5000,
  });
  io.on("connection", (socket) => {
    const auth = socket.handshake.auth || {};
    socket.data = auth.data || {};
    for (const r of auth.rooms || []) socket.join(r);
    socket.emit("ready");
  });
  io.on("go-hello", (...args) => {
    const cb = typeof args[args.length - 1] === "function" ? args.pop() : null;
    out({ event: "sse", name: "go-hello", args: toWire(args) });
    if (cb) cb({ from: "node", got: toWire(args) });
  });

  const handlers = {
    emit: async (c) => {
      io.to(c.to || []).except(c.except || []).emit(...fromWire(c.args));
      return {};
    },
    emitWithAck: async (c) => {
      try {
        const acks = await io.to(c.to || []).timeout(c.timeout).emitWithAck(...fromWire(c.args));
        return { acks: toWire(acks) };
      } catch (err) {
        return { error: String(err.message || err) };
      }
    },
    fetch: async (c) => {
      const sockets = await io.in(c.to || []).fetchSockets();
      return {
        sockets: sockets.map((s) => ({
          id: s.id,
          rooms: [...s.rooms],
          data: toWire(s.data),
          auth: s.handshake.auth,
          address: s.handshake.address,
          issued: s.handshake.issued,
          query: s.handshake.query,
        })),
      };
    },
    join: async (c) => (io.in(c.to || []).socketsJoin(c.rooms), {}),
    leave: async (c) => (io.in(c.to || []).socketsLeave(c.rooms), {}),
    disconnect: async (c) => (io.in(c.to || []).disconnectSockets(!!c.close), {}),
    sse: async (c) => {
      if (!c.ack) {
        io.serverSideEmit(...fromWire(c.args));
        return {};
      }
      try {
        const replies = await io.serverSideEmitWithAck(...fromWire(c.args));
        return { replies: toWire(replies) };
      } catch (err) {
        return { error: String(err.message || err) };
      }
    },
    rooms: async (c) => {
      const s = io.sockets.sockets.get(c.sid);
      return { rooms: s ? [...s.rooms] : null };
    },
  };

  const rl = readline.createInterface({ input: process.stdin });
  rl.on("line", async (line) => {
    let c;
    try {
      c = JSON.parse(line);
    } catch {
      return;
    }
    const h = handlers[c.op];
    if (!h) return out({ id: c.id, error: "unknown op " + c.op });
    try {
      out({ id: c.id, ...(await h(c)) });
    } catch (err) {
      out({ id: c.id, error: String(err && err.stack) });
    }
  });
  rl.on("close", async () => {
    io.close();
    await Promise.allSettled([pub.quit(), sub.quit()]);
    process.exit(0);
  });

  httpServer.listen(0, "127.0.0.1", () => out({ port: httpServer.address().port }));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
