// Connects with the official socket.io-client and prints, as JSON, what
// its connect_error event got: NODE_PATH=interop/node_modules node
// refused.cjs URL [TOKEN].
"use strict";

const { io } = require("socket.io-client");

const [url, token] = process.argv.slice(2);
const socket = io(url, { auth: token ? { token } : {}, reconnection: false, transports: ["websocket"] });
const timer = setTimeout(() => {
  console.log(JSON.stringify({ timeout: true }));
  process.exit(1);
}, 10000);
socket.on("connect_error", (err) => {
  console.log(JSON.stringify({ message: err.message, data: err.data }));
  clearTimeout(timer);
  socket.close();
});
socket.on("welcome", (user) => {
  console.log(JSON.stringify({ welcome: user }));
  clearTimeout(timer);
  socket.close();
});
