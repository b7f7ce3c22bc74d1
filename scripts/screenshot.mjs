// Screenshot of a page once it has rendered, through the DevTools protocol of a
// headless Chromium: `chromium --screenshot` waits for the network to go idle
// (or for virtual time), which a Temporal Web UI polling a running workflow
// never does. Usage: node --experimental-websocket scripts/screenshot.mjs PORT URL OUT [WAIT_MS]
import { writeFileSync } from "node:fs";
const [port, url, out, wait = "15000"] = process.argv.slice(2);
const target = await (await fetch(`http://127.0.0.1:${port}/json/new?${encodeURI(url)}`, { method: "PUT" })).json();
const ws = new WebSocket(target.webSocketDebuggerUrl);
let id = 0;
const pending = new Map();
ws.onmessage = (e) => { const m = JSON.parse(e.data); pending.get(m.id)?.(m); };
const call = (method, params = {}) => new Promise((ok) => { pending.set(++id, ok); ws.send(JSON.stringify({ id, method, params })); });
await new Promise((ok) => { ws.onopen = ok; });
await call("Emulation.setDeviceMetricsOverride", { width: 1280, height: 1100, deviceScaleFactor: 1, mobile: false });
await new Promise((ok) => setTimeout(ok, Number(wait)));
const shot = await call("Page.captureScreenshot", { format: "png" });
writeFileSync(out, Buffer.from(shot.result.data, "base64"));
ws.close();
