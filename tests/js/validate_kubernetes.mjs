// Validates Kubernetes objects offline against their schemas: kubernetes-models (the Kubernetes
// API), @kubernetes-models/prometheus-operator (monitoring.coreos.com) and @kubernetes-models/keda
// (keda.sh). Reads a JSON array of objects on stdin; prints one JSON line per object
// {apiVersion, kind, name, errors, unknown}; exits 1 if any object has no schema, breaks its schema,
// or has a field its schema does not define (`unknown`: the schemas allow extra fields, the API
// server with strict field validation and kubectl do not).
// Used by tests/integration/test_kubernetes_deploy.py.
const PACKAGES = {
  "monitoring.coreos.com": "@kubernetes-models/prometheus-operator",
  "keda.sh": "@kubernetes-models/keda",
};

async function modelClass(apiVersion, kind) {
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
  const pkg = PACKAGES[group];
  const spec = pkg
    ? `${pkg}/${group}/${version}/${kind}`
    : `kubernetes-models/${group ? group + "/" : ""}${version}/${kind}`;
  try {
    const mod = await import(spec);
    return mod[kind];
  } catch (e) {
    return null;
  }
}

// Records every own field the schema's validator reads; a field it never reads is not in the schema.
function track(value, path, seen) {
  if (value === null || typeof value !== "object") return value;
  return new Proxy(value, {
    get(target, key, receiver) {
      const v = Reflect.get(target, key, receiver);
      if (typeof key === "string" && Object.prototype.hasOwnProperty.call(target, key)) {
        const p = `${path}/${key}`;
        seen.add(p);
        return track(v, p, seen);
      }
      return v;
    },
  });
}

function unread(value, path, seen, out) {
  if (value === null || typeof value !== "object") return;
  for (const key of Object.keys(value)) {
    const p = `${path}/${key}`;
    if (!seen.has(p)) out.push(p);
    else unread(value[key], p, seen, out);
  }
}

let input = "";
for await (const chunk of process.stdin) input += chunk;
const objects = JSON.parse(input);
let failed = 0;
for (const obj of objects) {
  const result = { apiVersion: obj.apiVersion, kind: obj.kind, name: obj.metadata?.name, errors: [], unknown: [] };
  const cls = await modelClass(obj.apiVersion ?? "", obj.kind ?? "");
  if (!cls) {
    result.errors.push(`no schema for ${obj.apiVersion} ${obj.kind}`);
  } else {
    const seen = new Set();
    try {
      cls.prototype.validate.call(track(obj, "", seen));
    } catch (e) {
      result.errors.push(String(e.message ?? e));
    }
    unread(obj, "", seen, result.unknown);
  }
  if (result.errors.length || result.unknown.length) failed++;
  console.log(JSON.stringify(result));
}
process.exit(failed ? 1 : 0);
