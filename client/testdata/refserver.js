// The Node reference server for the client's end-to-end tests: the same
// behaviour as the Go test server of client_test.go (goServer), so one
// table of cases runs against both.
//
// Listens on 127.0.0.1:$PORT (0: any free port) and prints
// "listening <port>" once ready. Exits when stdin closes, so that it never
// outlives the test process. socket.io comes from interop/node_modules
// (npm ci --prefix interop).
"use strict";

const path = require("path");
const http = require("http");
const { Server } = require(path.join(__dirname, "../../interop/node_modules/socket.io"));

const httpServer = http.createServer();
const io = new Server(httpServer, {
  pingInterval: Number(process.env.PING_INTERVAL || 25000),
  pingTimeout: Number(process.env.PING_TIMEOUT || 20000),
});

function common(nsp) {
  nsp.on("connection", (socket) => {
    // whoami: the socket's id, auth and transport (as the server sees it).
    socket.on("whoami", (...args) => {
      const cb = args.pop();
      cb({
        id: socket.id,
        nsp: socket.nsp.name,
        auth: socket.handshake.auth,
        transport: socket.conn.transport.name,
      });
    });
    // echo: acknowledges with the arguments received, binary included.
    socket.on("echo", (...args) => {
      const cb = args.pop();
      cb(...args);
    });
    // echo-back: emits the arguments back as an event of the same name.
    socket.on("echo-back", (...args) => {
      socket.emit("echo-back", ...args);
    });
    // ask: asks the client event args[0] with payload args[1], then
    // acknowledges with the client's reply.
    socket.on("ask", (event, payload, cb) => {
      socket.timeout(5000).emit(event, payload, (err, reply) => {
        cb(err ? { error: err.message } : reply);
      });
    });
    // fail: a request whose handler fails.
    socket.on("fail", (...args) => {
      const cb = args.pop();
      cb({ error: "nope" });
    });
    // bye: the server disconnects the socket.
    socket.on("bye", () => socket.disconnect());
  });
}

const main = io.of("/");
main.use((socket, next) => {
  const auth = socket.handshake.auth || {};
  if (auth.token === "deny") {
    const err = new Error("denied");
    err.data = { code: 4001, why: "bad token" };
    return next(err);
  }
  next();
});
common(main);

const admin = io.of("/admin");
admin.use((socket, next) => {
  const auth = socket.handshake.auth || {};
  if (auth.role !== "admin") {
    const err = new Error("forbidden");
    err.data = { need: "admin" };
    return next(err);
  }
  next();
});
common(admin);

httpServer.listen(Number(process.env.PORT || 0), "127.0.0.1", () => {
  process.stdout.write("listening " + httpServer.address().port + "\n");
});

process.stdin.on("end", () => process.exit(0));
process.stdin.resume();
