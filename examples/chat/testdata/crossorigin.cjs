// Drives headless Chromium through a cross-origin set-up: a page served by
// a frontend (FRONT, a Vite dev server say) connects with the official
// client to the Socket.IO server on another origin (SERVER). Run by
// crossorigin_test.go as
//
//   NODE_PATH=interop/node_modules node crossorigin.cjs FRONT OTHER SERVER
//
// From FRONT, the allowed origin, over "polling", "websocket" and
// "upgrade" (the default: polling, then WebSocket), with withCredentials
// and a cookie of SERVER's origin, and on polling a custom x-token header
// (which makes Chromium send a CORS preflight): the client connects, an ack
// round trip carries strings, numbers, nested arrays and binary, and the
// server saw the origin, the cookie and the header. From OTHER, an origin
// the server does not allow, every transport must fail with connect_error.
// One browser runs all of it; each step has a timeout, and so has the run.
"use strict";

const { chromium } = require("playwright-core");

const [front, other, server] = process.argv.slice(2).map((u) => new URL(u).origin);
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
const timeout = 5000; // for one step in the page
const deadline = 40000; // for the whole run

const start = Date.now();
const steps = [];
const problems = [];

function step(msg) {
  steps.push(((Date.now() - start) / 1000).toFixed(2) + "s " + msg);
}

async function main() {
  const browser = await chromium.launch({
    executablePath,
    headless: true,
    timeout: 20000,
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
  step("Chromium started");
  try {
    for (const transport of ["polling", "websocket", "upgrade"]) {
      steps.push("-- allowed origin " + front + ", " + transport);
      await allowed(browser, transport);
    }
    for (const [transport, token] of [["polling", false], ["polling", true], ["websocket", false], ["upgrade", false]]) {
      steps.push("-- refused origin " + other + ", " + transport + (token ? " with x-token" : ""));
      await refused(browser, transport, token);
    }
  } finally {
    await browser.close();
  }
}

// newPage opens origin's page in a fresh context (its own cookies and
// preflight cache), noting the requests it makes to the server, CORS
// preflights apart, with the status Chromium got or why it failed.
async function newPage(browser, origin, name) {
  const ctx = await browser.newContext();
  ctx.setDefaultTimeout(timeout);
  const seen = { preflights: [], requests: [], failed: [], console: [] };
  const page = await ctx.newPage();
  // Playwright's page.on("request") does not report CORS preflights; the
  // DevTools protocol does, as requests of type "Preflight".
  const cdp = await ctx.newCDPSession(page);
  const byID = new Map();
  cdp.on("Network.requestWillBeSent", (e) => {
    const u = new URL(e.request.url);
    if (u.origin !== server) return;
    const h = Object.fromEntries(Object.entries(e.request.headers).map(([k, v]) => [k.toLowerCase(), v]));
    const r = {
      preflight: e.type === "Preflight" || e.request.method === "OPTIONS",
      what: e.request.method + " " + u.pathname + "?transport=" + u.searchParams.get("transport") + (u.searchParams.has("sid") ? "&sid=…" : ""),
      status: 0,
    };
    if (r.preflight) {
      r.what += " for a " + (h["access-control-request-method"] || "?") + " with " + (h["access-control-request-headers"] || "no header");
    }
    byID.set(e.requestId, r);
    (r.preflight ? seen.preflights : seen.requests).push(r);
  });
  cdp.on("Network.responseReceived", (e) => {
    const r = byID.get(e.requestId);
    if (r) r.status = e.response.status;
  });
  cdp.on("Network.loadingFailed", (e) => {
    const r = byID.get(e.requestId);
    if (r) r.failed = e.errorText + (e.corsErrorStatus ? " " + e.corsErrorStatus.corsError : "");
  });
  cdp.on("Network.webSocketCreated", (e) => {
    const u = new URL(e.url);
    if (u.host !== new URL(server).host) return;
    const r = { what: "WebSocket " + u.pathname + "?transport=" + u.searchParams.get("transport") + (u.searchParams.has("sid") ? "&sid=…" : ""), status: 0 };
    byID.set(e.requestId, r);
    seen.requests.push(r);
  });
  cdp.on("Network.webSocketHandshakeResponseReceived", (e) => {
    const r = byID.get(e.requestId);
    if (r) r.status = e.response.status;
  });
  await cdp.send("Network.enable");
  page.on("requestfailed", (r) => seen.failed.push(r.method() + " " + r.url() + ": " + (r.failure() || {}).errorText));
  page.on("pageerror", (err) => problems.push(name + ": page error: " + err.message));
  page.on("console", (m) => seen.console.push(m.type() + ": " + m.text()));
  await page.goto(origin + "/", { timeout });
  if (!(await page.evaluate(() => typeof io === "function"))) throw new Error(name + ": the page has no io(): the client bundle did not load");
  return { ctx, page, seen };
}

// options are the client's options for transport: no reconnection, so that
// a refused connection stays refused and shows as one connect_error.
function options(transport, token) {
  const o = { forceNew: true, reconnection: false, withCredentials: true, timeout };
  if (transport !== "upgrade") o.transports = [transport];
  if (token) o.extraHeaders = { "x-token": "abc" };
  return o;
}

// allowed connects from the frontend and checks what both ends saw.
async function allowed(browser, transport) {
  const name = "allowed " + transport;
  const { ctx, page, seen } = await newPage(browser, front, name);
  try {
    // A cookie of the server's origin, as a login there would have set.
    // The two origins differ by port only, so they are the same site: a
    // SameSite=Lax cookie goes with credentialed cross-origin requests.
    const cookie = "c-" + transport;
    await ctx.addCookies([{ name: "xo", value: cookie, url: server, sameSite: "Lax" }]);
    // Browsers send no custom header on a WebSocket: x-token goes on the
    // polling requests only.
    const token = transport !== "websocket";
    const got = await page.evaluate(async ({ server, opts, timeout, upgrade }) => {
      const out = { log: [] };
      const s = io(server, opts);
      try {
        await new Promise((ok, fail) => {
          s.on("connect", ok);
          s.on("connect_error", (e) => {
            const d = e.description;
            const why = d == null ? "" : typeof d === "number" ? "XHR status " + d : d instanceof Event ? "a DOM " + d.type + " event" : String(d.message || d);
            fail(new Error("connect_error: " + e.message + (why ? " (" + why + ")" : "")));
          });
        });
        out.log.push("connected over " + s.io.engine.transport.name);

        const bytes = new Uint8Array([0, 1, 2, 127, 128, 254, 255]);
        const payload = { s: "héllo, wörld ✓ \u{1F600}", n: -12.5e3, nested: [1, ["two", [3, null]], { deep: true }], bin: bytes };
        const same = (back) => {
          const b = back && back.bin;
          const u = b instanceof ArrayBuffer ? new Uint8Array(b) : ArrayBuffer.isView(b) ? new Uint8Array(b.buffer, b.byteOffset, b.byteLength) : null;
          if (!u) return "bin came back as " + Object.prototype.toString.call(b);
          if (u.join() !== bytes.join()) return "bin came back as [" + u.join() + "]";
          const { bin, ...rest } = back;
          const { bin: _, ...want } = payload;
          if (JSON.stringify(rest) !== JSON.stringify(want)) return "came back as " + JSON.stringify(rest);
          return "";
        };
        // emitWithAck resolves with the first argument only: the ack's
        // arguments, all of them.
        const call = (...args) => new Promise((ok, fail) =>
          s.timeout(timeout).emit(...args, (err, ...back) => (err ? fail(new Error(args[0] + ": " + err.message)) : ok(back))));
        const echo = async (when) => {
          const [back, extra] = await call("echo", payload, "second");
          const bad = same(back) || (extra !== "second" ? "second argument came back as " + JSON.stringify(extra) : "");
          if (bad) throw new Error("echo " + when + ": " + bad);
          out.log.push("echo " + when + " over " + s.io.engine.transport.name + ": payload and binary came back intact");
        };
        await echo("after connect");

        if (upgrade) {
          if (s.io.engine.transport.name !== "websocket") {
            await new Promise((ok, fail) => {
              const t = setTimeout(() => fail(new Error("no upgrade to websocket within " + timeout + "ms; still on " + s.io.engine.transport.name)), timeout);
              s.io.engine.once("upgrade", () => { clearTimeout(t); ok(); });
            });
          }
          out.log.push("upgraded to " + s.io.engine.transport.name);
          await echo("after the upgrade");
        }
        out.transport = s.io.engine.transport.name;
        [out.who] = await call("whoami");
        return out;
      } finally {
        s.close();
      }
    }, { server, opts: options(transport, token), timeout, upgrade: transport === "upgrade" });
    for (const l of got.log) step(l);

    const wantTransport = transport === "polling" ? "polling" : "websocket";
    const want = { origin: front, token: token ? "abc" : "", cookie, transport: wantTransport };
    if (got.transport !== wantTransport) throw new Error("the client ended on " + got.transport + ", want " + wantTransport);
    for (const k of Object.keys(want)) {
      if (got.who[k] !== want[k]) {
        throw new Error("the server saw " + k + " " + JSON.stringify(got.who[k]) + ", want " + JSON.stringify(want[k]) +
          " (all it saw: " + JSON.stringify(got.who) + ")");
      }
    }
    step("the server saw Origin " + got.who.origin + ", cookie xo=" + got.who.cookie +
      ", x-token " + JSON.stringify(got.who.token) + ", transport " + got.who.transport);

    if (token && seen.preflights.length === 0) throw new Error("Chromium sent no preflight, though x-token is a custom header");
    if (!token && seen.preflights.length) throw new Error("unexpected preflights:" + list(seen.preflights));
    // The last ones may still be under way as the client closes.
    const bad = seen.preflights.filter((r) => r.status && r.status !== 204);
    if (bad.length) throw new Error("preflights not answered 204:" + list(bad));
    step(seen.preflights.length + " preflight(s):" + list(seen.preflights));
    step("requests the page started:" + list(seen.requests));
    for (const c of seen.console) if (c.startsWith("error")) problems.push(name + ": console " + c);
    for (const f of seen.failed) if (!/ERR_ABORTED/.test(f)) problems.push(name + ": request failed: " + f);
  } catch (err) {
    err.message = name + ": " + err.message + report(seen);
    throw err;
  } finally {
    await ctx.close();
  }
}

// refused connects from the origin the server does not allow: it must
// fail, fast, with connect_error.
async function refused(browser, transport, token) {
  const name = "refused " + transport + (token ? " with x-token" : "");
  const { ctx, page, seen } = await newPage(browser, other, name);
  try {
    await ctx.addCookies([{ name: "xo", value: "stolen", url: server, sameSite: "Lax" }]);
    const got = await page.evaluate(({ server, opts }) => new Promise((done) => {
      // What engine.io-client gives as the cause: an Error, an Event, a status.
      const describe = (d) => (d == null ? "" : typeof d === "number" ? "XHR status " + d :
        d instanceof Event ? "a DOM " + d.type + " event" : String(d.message || d));
      const s = io(server, opts);
      s.on("connect", () => { s.close(); done({ connected: true }); });
      s.on("connect_error", (e) => {
        s.close();
        done({ error: e.message, description: describe(e.description) });
      });
    }), { server, opts: options(transport, token) });
    if (got.connected) throw new Error("the client connected from " + other + ", which the server does not allow");
    if (got.error === "timeout") throw new Error("connect_error was a timeout, not a refusal");
    step("connect_error: " + got.error + (got.description ? " (" + got.description + ")" : ""));
    if (seen.preflights.length) step("preflight(s):" + list(seen.preflights));
    step("requests the page started:" + list(seen.requests));
    for (const c of seen.console) step("console " + c);
  } catch (err) {
    err.message = name + ": " + err.message + report(seen);
    throw err;
  } finally {
    await ctx.close();
  }
}

// list shows requests one a line, with the status Chromium got.
function list(rs) {
  return rs.map((r) => "\n      " + r.what + " -> " + (r.status || r.failed || "no response (yet)")).join("");
}

function report(seen) {
  return "\n  preflights:" + list(seen.preflights) + "\n  requests:" + list(seen.requests) +
    "\n  failed: " + JSON.stringify(seen.failed) + "\n  console: " + JSON.stringify(seen.console);
}

const watchdog = setTimeout(() => {
  console.error("the run did not finish within " + deadline / 1000 + "s\n  " + steps.join("\n  "));
  process.exit(1);
}, deadline);

main().then(
  () => {
    clearTimeout(watchdog);
    if (problems.length) {
      console.error(problems.join("\n") + "\n  " + steps.join("\n  "));
      process.exit(1);
    }
    console.log("ok\n  " + steps.join("\n  "));
  },
  (err) => {
    clearTimeout(watchdog);
    // The message, with what the catches added (page.evaluate puts the
    // page's stack in it: left out), then where in this file it failed.
    const frame = (l) => /^\s+at /.test(l);
    const msg = String(err.message || err).split("\n").filter((l) => !frame(l));
    const where = String(err.stack || "").split("\n").filter((l) => frame(l) && l.includes(__filename));
    console.error(msg.concat(where).join("\n") + "\n  " + steps.join("\n  "));
    if (problems.length) console.error(problems.join("\n"));
    process.exit(1);
  },
);
