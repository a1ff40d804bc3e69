// Drives two headless Chromium pages through the chat example: both join a
// room, see each other arrive, type, talk and leave. Run by
// browser_test.go as
//
//   NODE_PATH=interop/node_modules node browser.cjs URL TRANSPORT...
//
// where each TRANSPORT is "polling" or "websocket" (the page is pinned to
// it) or "upgrade" (the default: polling, then an upgrade to WebSocket);
// one browser runs them one after the other. Any request that leaves URL's
// host is blocked and fails the run.
"use strict";

const { chromium } = require("playwright-core");

const [url, ...transports] = process.argv.slice(2);
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
const base = new URL(url);
const timeout = 10000;

const problems = [];
const start = Date.now();
const steps = [];

async function main() {
  const browser = await chromium.launch({
    executablePath,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  try {
    for (const transport of transports) {
      steps.push("-- " + transport);
      await chat(browser, transport);
    }
    steps.push("-- large messages");
    await large(browser);
  } finally {
    await browser.close();
  }
}

// chat has alice and bob meet in a room of their own over transport.
async function chat(browser, transport) {
  const room = "room-" + transport;
  const wantTransport = transport === "polling" ? "polling" : "websocket";
  const alice = await open(browser, "alice", transport, room);
  const bob = await open(browser, "bob", transport, room);
  try {

    await until(alice, "alice sees bob join", () =>
      [...document.querySelectorAll("#messages .notice")].some((e) => e.textContent.startsWith("bob joined")));
    await until(bob, "bob sees both members", () =>
      [...document.querySelectorAll("#members li")].map((e) => e.textContent).join(",") === "alice,bob");

    // Typing indicator, then the message itself, in both directions. The
    // indicator is volatile (a late one is worthless): over polling it is
    // dropped when bob has no request waiting at that moment, as on the
    // Node server. So alice types again, once her page has said she
    // stopped (2 s without a key), until bob sees it.
    await untilAfter(bob, "bob sees alice typing", () =>
      document.getElementById("typing").textContent === "alice is typing…", async (attempt) => {
      if (attempt > 0) {
        await alice.fill("#text", "");
        await alice.waitForTimeout(2500);
      }
      await alice.fill("#text", "hello from alice");
    });
    await alice.press("#text", "Enter");
    for (const [name, page] of [["alice", alice], ["bob", bob]]) {
      await until(page, name + " sees alice's message", () =>
        [...document.querySelectorAll("#messages .message")].some((e) => e.textContent === "alicehello from alice"));
    }
    await until(bob, "bob's typing indicator clears", () => document.getElementById("typing").textContent === "");

    await bob.fill("#text", "hi alice, bob here");
    await bob.click("#send button");
    await until(alice, "alice sees bob's message", () =>
      [...document.querySelectorAll("#messages .message")].some((e) => e.textContent === "bobhi alice, bob here"));

    for (const [name, page] of [["alice", alice], ["bob", bob]]) {
      await until(page, name + " uses " + wantTransport, (want) =>
        document.getElementById("transport").textContent === "via " + want, wantTransport);
    }

    await bob.context().close();
    await until(alice, "alice sees bob leave", () =>
      [...document.querySelectorAll("#messages .notice")].some((e) => e.textContent.startsWith("bob left")));
    await until(alice, "the member list drops bob", () =>
      [...document.querySelectorAll("#members li")].map((e) => e.textContent).join(",") === "alice");
  } catch (err) {
    err.message = "over " + transport + ": " + err.message;
    throw err;
  } finally {
    await alice.context().close();
    await bob.context().close();
  }
}

// large has the page's client send messages that Chromium splits into
// several WebSocket frames (it sends 128 KiB frames): the server must put
// them back together. The chat ignores the unknown event; the join that
// follows is answered only if the connection survived it.
async function large(browser) {
  const ctx = await browser.newContext();
  try {
    const page = await ctx.newPage();
    await page.goto(new URL("/?nick=big&room=big", base).href);
    const got = await page.evaluate(async () => {
      const s = io({ transports: ["websocket"], forceNew: true, reconnection: false });
      await new Promise((ok, fail) => { s.on("connect", ok); s.on("connect_error", fail); });
      const out = [];
      for (const n of [200000, 900000]) {
        s.emit("bulk", "x".repeat(n), new Uint8Array(n / 2));
        const r = await s.timeout(5000).emitWithAck("join", { nick: "big", room: "r" + n });
        out.push(r.room);
      }
      s.close();
      return out.join(",");
    });
    if (got !== "r200000,r900000") throw new Error("large messages: got " + got);
    steps.push(((Date.now() - start) / 1000).toFixed(2) + "s 200 KB and 900 KB emits over websocket");
  } finally {
    await ctx.close();
  }
}

// open joins the room as nick in a fresh browser context.
async function open(browser, nick, transport, room) {
  const ctx = await browser.newContext();
  await ctx.route("**/*", (route) => {
    const u = new URL(route.request().url());
    if (u.host === base.host) return route.continue();
    problems.push("request left the test server: " + u.href);
    return route.abort();
  });
  const page = await ctx.newPage();
  page.on("pageerror", (err) => problems.push(nick + ": page error: " + err.message));
  page.on("console", (m) => {
    if (m.type() === "error") problems.push(nick + ": console error: " + m.text());
  });
  const q = new URLSearchParams({ nick, room });
  if (transport !== "upgrade") q.set("transport", transport);
  await page.goto(new URL("/?" + q, base).href);
  await until(page, nick + " connects", () => document.getElementById("status").className === "on");
  await page.click("#join button");
  await until(page, nick + " joins " + room, (r) => document.getElementById("room-name").textContent === r, room);
  return page;
}

// until waits for fn to hold in page, and on timeout says what it waited
// for and what the page showed.
async function until(page, what, fn, arg) {
  try {
    await page.waitForFunction(fn, arg, { timeout });
    steps.push(((Date.now() - start) / 1000).toFixed(2) + "s " + what);
  } catch (err) {
    let shown = "";
    try {
      shown = await page.evaluate(() =>
        ["status", "transport", "join-error", "room-name", "members", "messages", "typing"]
          .map((id) => id + ": " + JSON.stringify(document.getElementById(id).innerText))
          .join("\n  "));
    } catch (_) {}
    throw new Error("timed out waiting until " + what + "\n  " + shown);
  }
}

// untilAfter runs act, then waits a moment for fn to hold on page; if it
// does not, it runs act again (attempt 1, 2), and the last try waits as long
// as until does.
async function untilAfter(page, what, fn, act, tries = 3) {
  for (let attempt = 0; attempt < tries - 1; attempt++) {
    await act(attempt);
    try {
      await page.waitForFunction(fn, undefined, { timeout: 2000 });
      steps.push(((Date.now() - start) / 1000).toFixed(2) + "s " + what + (attempt ? " (try " + (attempt + 1) + ")" : ""));
      return;
    } catch (_) {}
  }
  await act(tries - 1);
  await until(page, what + " (try " + tries + ")", fn);
}

main().then(
  () => {
    if (problems.length) {
      console.error(problems.join("\n"));
      process.exit(1);
    }
    console.log("ok " + transports.join(", ") + "\n  " + steps.join("\n  "));
  },
  (err) => {
    console.error(err.stack || String(err));
    if (problems.length) console.error(problems.join("\n"));
    process.exit(1);
  },
);
