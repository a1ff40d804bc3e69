// The chat page: plain JavaScript and the official socket.io-client.
// ?transport=polling or ?transport=websocket pins the transport (the
// default starts with polling and upgrades); ?nick=...&room=... prefill
// the form.
"use strict";

const params = new URLSearchParams(location.search);
const $ = (id) => document.getElementById(id);

const opts = {};
if (params.get("transport")) opts.transports = [params.get("transport")];
const socket = io(opts);

let me = null; // {nick, room} once joined
const typers = new Map(); // nick -> timer that forgets them

if (params.get("nick")) $("nick").value = params.get("nick");
if (params.get("room")) $("room").value = params.get("room");

function showTransport() {
  $("transport").textContent = "via " + socket.io.engine.transport.name;
}

socket.on("connect", () => {
  $("status").textContent = "connected";
  $("status").className = "on";
  showTransport();
  socket.io.engine.once("upgrade", showTransport);
  if (me) join(me.nick, me.room); // back after a reconnection
});
socket.on("disconnect", (reason) => {
  $("status").textContent = "disconnected (" + reason + ")";
  $("status").className = "off";
});
socket.on("connect_error", (err) => {
  $("status").textContent = "cannot connect: " + err.message;
  $("status").className = "off";
});

function join(nick, room) {
  socket.timeout(5000).emit("join", { nick, room }, (err, reply) => {
    if (err || reply.error) {
      $("join-error").textContent = err ? "no answer from the server" : reply.error;
      return;
    }
    me = { nick: reply.nick, room: reply.room };
    $("join-error").textContent = "";
    $("room-name").textContent = reply.room;
    $("chat").hidden = false;
    setMembers(reply.members);
    $("messages").replaceChildren();
    typers.clear();
    showTyping();
    $("text").focus();
  });
}

function setMembers(nicks) {
  $("members").replaceChildren(...nicks.map((n) => li(n)));
}

function li(text, cls) {
  const el = document.createElement("li");
  el.textContent = text;
  if (cls) el.className = cls;
  return el;
}

function append(el) {
  const box = $("messages");
  box.append(el);
  box.scrollTop = box.scrollHeight;
}

socket.on("message", (m) => {
  const el = li("", "message");
  const nick = document.createElement("span");
  nick.className = "nick";
  nick.textContent = m.nick;
  el.append(nick, document.createTextNode(m.text));
  el.title = new Date(m.time).toLocaleTimeString();
  append(el);
  forget(m.nick);
});

socket.on("notice", (n) => {
  append(li(n.nick + (n.kind === "join" ? " joined " : " left ") + n.room, "notice"));
  const nicks = [...$("members").children].map((e) => e.textContent).filter((x) => x !== n.nick);
  if (n.kind === "join") nicks.push(n.nick);
  setMembers(nicks.sort());
  if (n.kind === "leave") forget(n.nick);
});

socket.on("typing", (t) => {
  forget(t.nick);
  if (t.typing) typers.set(t.nick, setTimeout(() => forget(t.nick), 5000));
  showTyping();
});

function forget(nick) {
  clearTimeout(typers.get(nick));
  typers.delete(nick);
  showTyping();
}

function showTyping() {
  const nicks = [...typers.keys()];
  $("typing").textContent =
    nicks.length === 0 ? "" : nicks.join(", ") + (nicks.length === 1 ? " is typing…" : " are typing…");
}

// Typing indicator: say so on the first keystroke, and that we stopped
// after two seconds without one.
let typing = false, idle;
$("text").addEventListener("input", () => {
  if (!typing) {
    typing = true;
    socket.emit("typing", { typing: true });
  }
  clearTimeout(idle);
  idle = setTimeout(stopTyping, 2000);
});
function stopTyping() {
  clearTimeout(idle);
  if (typing) {
    typing = false;
    socket.emit("typing", { typing: false });
  }
}

$("join").addEventListener("submit", (e) => {
  e.preventDefault();
  join($("nick").value, $("room").value);
});

$("send").addEventListener("submit", (e) => {
  e.preventDefault();
  const text = $("text").value.trim();
  if (!text) return;
  stopTyping();
  socket.emit("message", { text });
  $("text").value = "";
});
