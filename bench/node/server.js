// The Node reference side of the benchmarks in bench/: npm socket.io 4.8.x
// on 127.0.0.1:$PORT (default 3000), path /socket.io/, namespace "/", with
// the same contract as bench/server (Go):
//
//   "echo"(payload, ack)  -> ack(payload)
//   "join"(room, ack)     -> join room, ack(true)
//   "bcast"(payload)      -> emit "msg"(payload) to room "room1", sender excluded
//   "stats"(ack)          -> ack({conns, disconnects: {reason: count}})
//
// socket.io is loaded from interop/node_modules (npm ci --prefix interop),
// which pins socket.io 4.8.4; default options, as a user would run it.
"use strict";

const path = require("path");
const http = require("http");
const { createRequire } = require("module");

const interop = createRequire(path.join(__dirname, "..", "..", "interop", "package.json"));
const { Server } = interop("socket.io");
const version = interop("socket.io/package.json").version;

const port = Number(process.env.PORT) || 3000;
const httpServer = http.createServer();
const io = new Server(httpServer, { path: "/socket.io/", serveClient: false });
const reasons = {};

io.on("connection", (socket) => {
  socket.on("echo", (payload, ack) => {
    if (typeof ack === "function") ack(payload);
  });
  socket.on("join", (room, ack) => {
    socket.join(room);
    if (typeof ack === "function") ack(true);
  });
  socket.on("bcast", (payload) => {
    socket.to("room1").emit("msg", payload);
  });
  socket.on("stats", (ack) => {
    if (typeof ack === "function") ack({ conns: io.engine.clientsCount, disconnects: reasons });
  });
  socket.on("disconnect", (reason) => {
    reasons[reason] = (reasons[reason] || 0) + 1;
  });
});

httpServer.listen(port, "127.0.0.1", () => {
  console.log(`listening on 127.0.0.1:${port} (socket.io ${version}, node ${process.version})`);
});

for (const sig of ["SIGINT", "SIGTERM"]) {
  process.on(sig, () => {
    io.close();
    process.exit(0);
  });
}
