"use strict";
// The Node reference server (socket.io 4.8.4) with the same handlers as
// interop/server/main.go. It checks the tests themselves: they must pass
// against the reference implementation too.
//
//   PORT=3001 node interop/lib/reference-server.js &
//   SIO_URL=http://127.0.0.1:3001 node --test interop/test/
const http = require("node:http");
const { Server } = require("socket.io");

const httpServer = http.createServer();
const io = new Server(httpServer, { pingInterval: 1000, pingTimeout: 3000, maxHttpBufferSize: 1e6 });

const withAck = (args) => (typeof args[args.length - 1] === "function" ? args.pop() : null);
const len = (b) => (b instanceof ArrayBuffer ? b.byteLength : b.length);
const u8 = (b) => (b instanceof ArrayBuffer ? new Uint8Array(b) : new Uint8Array(b.buffer, b.byteOffset, b.byteLength));

function common(nsp) {
  nsp.on("connection", (socket) => {
    socket.on("whoami", (cb) =>
      cb({
        id: socket.id,
        nsp: socket.nsp.name,
        auth: socket.handshake.auth,
        query: socket.handshake.query,
        transport: socket.conn.transport.name,
      }),
    );
    socket.on("echo", (...args) => {
      const cb = withAck(args);
      cb ? cb(...args) : socket.emit("echo", ...args);
    });
    socket.on("disconnect-me", (opt) => socket.disconnect(!!opt?.close));
  });
}

const main = io.of("/");
main.use((socket, next) => {
  if (socket.handshake.auth.token === "bad") {
    const err = new Error("unauthorized");
    err.data = { code: 42 };
    return next(err);
  }
  socket.data.notes = [];
  socket.data.typed = [];
  next();
});
common(main);
main.on("connection", (socket) => {
  socket.emit("welcome", { id: socket.id });
  socket.on("add", (r, cb) => cb({ sum: r.a + r.b }));
  socket.on("no-ack", () => {});
  socket.on("ask-client", (req, cb) => {
    socket.timeout(req.timeoutMs || 5000).emit(req.event, req.payload, (err, ...answer) =>
      cb(err ? { error: "timeout" } : { answer }),
    );
  });
  socket.on("bin-info", (r, cb) =>
    cb({ name: r.name, len: len(r.data), sum: u8(r.data).reduce((a, b) => a + b, 0), parts: r.parts.map(len) }),
  );
  socket.on("bin-make", (r, cb) => {
    const buf = Buffer.alloc(r.size);
    for (let i = 0; i < r.size; i++) buf[i] = i % 256;
    const v = { nested: { buf }, list: [Buffer.from([1, 2, 3]), "x"] };
    cb?.(v);
    socket.emit("bin-made", v);
  });
  socket.on("burst", (r, cb) => {
    for (let i = 0; i < Math.min(r.n, 1000); i++) {
      if (i % 3 === 0) socket.emit("tick", i, Buffer.from([i & 255, i >> 8]));
      else socket.emit("tick", i);
    }
    cb?.(r.n);
  });
  socket.on("join", (room, cb) => {
    socket.join(room);
    cb?.([...socket.rooms]);
  });
  socket.on("leave", (room, cb) => {
    socket.leave(room);
    cb?.([...socket.rooms]);
  });
  socket.on("to-room", (r, cb) => {
    socket.to(r.room).emit("room-msg", { room: r.room, tag: r.tag, from: socket.id });
    cb?.(true);
  });
  socket.on("broadcast", (r, cb) => {
    socket.broadcast.emit("broadcast-msg", { tag: r.tag, from: socket.id });
    cb?.(true);
  });
  socket.on("note", (...args) => {
    const cb = withAck(args);
    socket.data.notes.push({ n: args[0].n, ack: !!cb });
    cb?.();
  });
  socket.on("note-typed", (n, cb) => {
    socket.data.typed.push(n.n);
    cb?.(); // what the Go server's typed On handler does by itself
  });
  socket.on("notes", (cb) => cb({ notes: socket.data.notes, typed: socket.data.typed }));
});
common(io.of("/admin"));

// The handlers of interop/server/more.go.
const reasons = new Map(); // socket id -> disconnect reason
const recordReasons = (nsp) =>
  nsp.on("connection", (socket) => socket.on("disconnect", (reason) => reasons.set(socket.id, reason)));
recordReasons(main);
recordReasons(io.of("/admin"));
main.use((socket, next) => {
  const ms = socket.handshake.auth.mwDelay;
  ms > 0 ? setTimeout(next, Math.min(ms, 5000)) : next();
});
main.use((socket, next) => {
  const { mwJoin, mwEmit, mwDisconnect } = socket.handshake.auth;
  if (mwDisconnect != null) socket.disconnect(mwDisconnect);
  if (mwJoin?.length) socket.join(mwJoin);
  if (mwEmit != null) socket.emit("mw-hello", mwEmit);
  next();
});

const dyn = io.of(/^\/dyn-[\w-]+$/);
dyn.use((socket, next) => {
  if (socket.handshake.auth.token === "bad") {
    const err = new Error("unauthorized");
    err.data = { nsp: socket.nsp.name };
    return next(err);
  }
  next();
});
common(dyn);
recordReasons(dyn);

const select = (r) => {
  let op = main;
  if (r.to?.length) op = op.to(r.to);
  if (r.except?.length) op = op.except(r.except);
  if (r.volatile) op = op.volatile;
  return op;
};

main.on("connection", (socket) => {
  socket.on("ack-later", (r, cb) => setTimeout(() => cb(...r.args), r.ms));
  socket.on("ask-room", (r, cb) => {
    select(r)
      .timeout(r.timeoutMs)
      .emit(r.event, r.payload, (err, answers) => cb({ timedOut: !!err, answers }));
  });
  socket.on("op", async (r, cb) => {
    const op = select(r);
    let res = true;
    switch (r.op) {
      case "join":
        op.socketsJoin(r.rooms);
        break;
      case "leave":
        op.socketsLeave(r.rooms);
        break;
      case "disconnect":
        op.disconnectSockets(!!r.close);
        break;
      case "fetch":
        res = (await op.fetchSockets()).map((s) => s.id).sort();
        break;
      case "emit":
        op.emit(r.event, ...(r.args ?? []));
        break;
      case "burst":
        for (let i = 0; i < Math.min(r.n, 1000); i++) op.emit("tick", i, Buffer.from([i & 255, i >> 8]));
        break;
      default:
        res = false;
    }
    cb?.(res);
  });
  socket.on("emit-reserved", (name, cb) => {
    const errs = { socket: null, room: null };
    try {
      socket.emit(name, "from emit-reserved");
    } catch (e) {
      errs.socket = e.message;
    }
    try {
      main.to(socket.id).emit(name, "from emit-reserved");
    } catch (e) {
      errs.room = e.message;
    }
    cb(errs);
  });
  socket.on("reason-of", (id, cb) => cb(reasons.get(id) ?? null));
  socket.on("handshake", (cb) =>
    cb({ xTest: socket.handshake.headers["x-test"] ?? null, query: socket.handshake.query, auth: socket.handshake.auth }),
  );
  socket.on("emit-values", () =>
    socket.emit(
      "values",
      null,
      [1, null, "x"],
      { a: null, b: { c: [] } },
      "é😀\u2028\u2029\x00\"\\/</script>",
      9007199254740991,
      0.1,
      1e21,
      -1.5e-7,
      "",
      {},
    ),
  );
  socket.on("dyn-emit", (r, cb) => {
    dyn.emit("dyn-msg", r.tag);
    cb?.(true);
  });
});

httpServer.listen(Number(process.env.PORT ?? 3001), "127.0.0.1", () => {
  console.log(`listening on http://127.0.0.1:${httpServer.address().port}`);
});
