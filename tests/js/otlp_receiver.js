// An OTLP/HTTP trace receiver for kronosd's integration tests. It decodes every export with the
// official schema (the protobuf definitions generated from opentelemetry-proto that
// @opentelemetry/otlp-transformer ships) and writes one JSON line per export request to --out:
//   {"status": 200, "protocol": "protobuf"|"json", "bytes": n, "resource": {k: v},
//    "scope": {name, version}, "spans": [{traceId, spanId, parentSpanId, name, kind, start, end,
//    attributes: {k: v}, status: {code, message}, traceState, flags}], "error": "..."}
// A body that does not decode is answered 400 and written with "error".
// --mode ok (default) | fail (answer --status, with Retry-After: --retry-after when given) |
// slow (answer 200 after --delay-ms). Prints "listening <port>" once it accepts.
"use strict";
const http = require("http");
const fs = require("fs");
const root = require("@opentelemetry/otlp-transformer/build/src/generated/root");

const Request = root.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
const Response = root.opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse;

function arg(name, def) {
  const i = process.argv.indexOf("--" + name);
  return i >= 0 ? process.argv[i + 1] : def;
}
const port = Number(arg("port", "0"));
const out = arg("out", "/dev/stdout");
const mode = arg("mode", "ok");
const failStatus = Number(arg("status", "503"));
const retryAfter = arg("retry-after", "");
const delayMs = Number(arg("delay-ms", "0"));

const hex = (b) => (b && b.length ? Buffer.from(b).toString("hex") : "");

function anyValue(v) {
  if (v == null) return null;
  if (v.stringValue != null) return v.stringValue;
  if (v.boolValue != null) return v.boolValue;
  if (v.intValue != null) return Number(v.intValue);
  if (v.doubleValue != null) return v.doubleValue;
  if (v.arrayValue) return (v.arrayValue.values || []).map(anyValue);
  return JSON.stringify(v);
}

function attrs(list) {
  const o = {};
  for (const kv of list || []) o[kv.key] = anyValue(kv.value);
  return o;
}

// The decoded message, reduced to what the tests read.
function flatten(msg) {
  const obj = Request.toObject(msg, { longs: String, enums: Number, bytes: Array, defaults: true });
  const res = [];
  for (const rs of obj.resourceSpans) {
    for (const ss of rs.scopeSpans) {
      res.push({
        resource: attrs(rs.resource && rs.resource.attributes),
        scope: { name: ss.scope && ss.scope.name, version: ss.scope && ss.scope.version },
        spans: ss.spans.map((s) => ({
          traceId: hex(s.traceId),
          spanId: hex(s.spanId),
          parentSpanId: hex(s.parentSpanId),
          traceState: s.traceState,
          name: s.name,
          kind: s.kind,
          start: s.startTimeUnixNano,
          end: s.endTimeUnixNano,
          attributes: attrs(s.attributes),
          droppedAttributesCount: s.droppedAttributesCount,
          status: { code: s.status ? s.status.code : 0, message: s.status ? s.status.message : "" },
          flags: s.flags,
        })),
      });
    }
  }
  return res;
}

// OTLP/JSON differs from protobuf's canonical JSON in its ids (hex, not base64); the rest maps
// through fromObject, and a round trip through the binary encoding proves the schema.
function fromJson(text) {
  const doc = JSON.parse(text);
  for (const rs of doc.resourceSpans || [])
    for (const ss of rs.scopeSpans || [])
      for (const s of ss.spans || [])
        for (const k of ["traceId", "spanId", "parentSpanId"])
          if (typeof s[k] === "string") s[k] = Buffer.from(s[k], "hex");
  const err = Request.verify(Request.fromObject(doc));
  if (err) throw new Error(err);
  return Request.decode(Request.encode(Request.fromObject(doc)).finish());
}

function record(line) {
  fs.appendFileSync(out, JSON.stringify(line) + "\n");
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    const body = Buffer.concat(chunks);
    const ct = (req.headers["content-type"] || "").split(";")[0].trim();
    const line = { t: Date.now() / 1000, path: req.url, bytes: body.length, headers: req.headers };
    let reply = () => {
      res.writeHead(200, { "Content-Type": ct || "application/x-protobuf" });
      res.end(ct === "application/json" ? "{}" : Buffer.from(Response.encode({}).finish()));
    };
    try {
      let msg;
      if (ct === "application/x-protobuf") {
        line.protocol = "protobuf";
        msg = Request.decode(body);
      } else if (ct === "application/json") {
        line.protocol = "json";
        msg = fromJson(body.toString("utf8"));
      } else {
        throw new Error("unexpected Content-Type " + ct);
      }
      const err = Request.verify(msg);
      if (err) throw new Error(err);
      line.resourceSpans = flatten(msg);
      line.status = 200;
    } catch (e) {
      line.status = 400;
      line.error = String(e && e.message ? e.message : e);
      reply = () => {
        res.writeHead(400);
        res.end();
      };
    }
    if (mode === "fail" && line.status === 200) {
      // what was sent, decoded, but refused: the test counts the attempts and their spans
      line.status = failStatus;
      reply = () => {
        res.writeHead(failStatus, retryAfter ? { "Retry-After": retryAfter } : {});
        res.end();
      };
    }
    record(line);
    if (mode === "slow") setTimeout(reply, delayMs);
    else reply();
  });
});
server.keepAliveTimeout = 1000;
server.listen(port, "127.0.0.1", () => {
  console.log("listening " + server.address().port);
});
for (const sig of ["SIGTERM", "SIGINT"]) process.on(sig, () => process.exit(0));
