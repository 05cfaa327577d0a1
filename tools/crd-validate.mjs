// Validates custom resources with the compiled schemas that @kubernetes-models/* packages ship.
// Input (stdin, JSON): [{"schema": "<package>/_schemas/<Module>", "object": {...}}, ...]
// Output (stdout, JSON): [[{"path": "/spec/x", "message": "..."}], ...], one error list per input.
//
// ajv's compiled validators accept unknown properties (the OpenAPI sources carry no
// additionalProperties: false), while the API server prunes/rejects them. So each object
// is wrapped in Proxies that record which keys the validator reads: a schema with
// `properties` reads every property it declares; a map or free-form schema enumerates
// the keys or reads none. A key never read on an object whose other keys were read
// is unknown to the upstream schema.
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const input = JSON.parse(await new Promise((resolve) => {
  let buf = "";
  process.stdin.setEncoding("utf8");
  process.stdin.on("data", (c) => (buf += c));
  process.stdin.on("end", () => resolve(buf));
}));

function track(value, path, nodes) {
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) {
    return value.map((v, i) => track(v, `${path}/${i}`, nodes));
  }
  const node = { path, keys: Object.keys(value), read: new Set(), enumerated: false };
  nodes.push(node);
  const target = {};
  for (const k of node.keys) target[k] = track(value[k], `${path}/${escape(k)}`, nodes);
  return new Proxy(target, {
    get(t, k, r) { if (typeof k === "string") node.read.add(k); return Reflect.get(t, k, r); },
    has(t, k) { if (typeof k === "string") node.read.add(k); return Reflect.has(t, k); },
    ownKeys(t) { node.enumerated = true; return Reflect.ownKeys(t); },
    getOwnPropertyDescriptor(t, k) { if (typeof k === "string") node.read.add(k); return Reflect.getOwnPropertyDescriptor(t, k); },
  });
}

// The compiled validators carry no messages: word them from keyword and params.
function describe(e) {
  const p = e.params || {};
  switch (e.keyword) {
    case "type": return `must be ${p.type}`;
    case "enum": return `must be one of: ${p.allowedValues.map((v) => JSON.stringify(v)).join(", ")}`;
    case "required": return `missing required field "${p.missingProperty}"`;
    case "pattern": return `must match pattern ${p.pattern}`;
    case "format": return `must match format "${p.format}"`;
    case "oneOf": case "anyOf": return `must match exactly one allowed shape (${e.keyword})`;
    default: return `${e.keyword} ${JSON.stringify(p)}`;
  }
}

function escape(k) { return k.replace(/~/g, "~0").replace(/\//g, "~1"); }

// "<package>/_schemas/<Module>" is loaded by file path: not every package exports _schemas.
const here = dirname(fileURLToPath(import.meta.url));
// The packages' generator strips schema "description" keys, and with them any property
// named "description" (AppProject.spec, HTTPRoute filters...): neither checked nor read, so
// it is let through here rather than called unknown. Known leniency.
const STRIPPED = new Set(["description"]);

const cache = new Map();
async function load(spec) {
  if (!cache.has(spec)) {
    const file = join(here, "node_modules", `${spec}.js`);
    cache.set(spec, (await import(pathToFileURL(file).href)).validate);
  }
  return cache.get(spec);
}

const out = [];
for (const { schema, object } of input) {
  let validate;
  try {
    validate = await load(schema);
  } catch (e) {
    out.push([{ path: "", message: `cannot load schema ${schema}: ${e.message}` }]);
    continue;
  }
  const nodes = [];
  const data = track(object, "", nodes);
  const errors = [];
  if (!validate(data)) {
    const seen = new Set();
    for (const e of validate.errors || []) {
      const err = { path: e.instancePath, message: describe(e) };
      const key = JSON.stringify(err);
      if (!seen.has(key)) { seen.add(key); errors.push(err); }
    }
  }
  for (const n of nodes) {
    if (n.enumerated || n.read.size === 0) continue; // map or free-form object
    for (const k of n.keys) {
      if (!n.read.has(k) && !STRIPPED.has(k)) errors.push({ path: `${n.path}/${escape(k)}`, message: "unknown field (not in the upstream schema)" });
    }
  }
  out.push(errors);
}
process.stdout.write(JSON.stringify(out));
