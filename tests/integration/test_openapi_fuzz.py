"""Property-based test: requests generated from the OpenAPI schemas (valid by the schema, and
mutated valid requests) never make kronosd answer 5xx, and every answer matches the document
(the harness's contract check). Debian python3-hypothesis; derandomized so CI is reproducible
(KRONOS_FUZZ_RANDOM=1 explores new examples). Labelled slow."""
import copy
import json
import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import contract
from harness import Checker, Kronosd
from predict_data import single

c = Checker()
SETTINGS = settings(max_examples=int(os.environ.get("KRONOS_FUZZ_EXAMPLES", "400")),
                    deadline=None, database=None,
                    derandomize=os.environ.get("KRONOS_FUZZ_RANDOM") != "1",
                    suppress_health_check=list(HealthCheck))
MAX_ITEMS = 6  # arrays stay small: the point is the shapes, not the sizes


def resolve(schema):
    while "$ref" in schema:
        schema = contract.DOC["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def timestamps():
    iso = st.datetimes().map(lambda d: d.isoformat())
    return st.one_of(iso, iso.map(lambda s: s.replace("T", " ")),
                     st.integers(-10**13, 10**13), st.floats(-1e12, 1e12))


def from_schema(schema, depth=0):
    """A strategy for values valid under schema (the subset the document uses)."""
    schema = resolve(schema)
    if "anyOf" in schema:
        return st.one_of([from_schema(s, depth + 1) for s in schema["anyOf"]])
    if "const" in schema:
        return st.just(schema["const"])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    if schema.get("format") == "date-time":
        return timestamps()
    t = schema.get("type")
    if isinstance(t, list):
        return st.one_of([from_schema(dict(schema, type=x), depth) for x in t])
    if t == "null":
        return st.none()
    if t == "boolean":
        return st.booleans()
    if t == "string":
        return st.text(max_size=min(schema.get("maxLength", 40), 40))
    if t in ("number", "integer"):
        lo, hi = schema.get("minimum"), schema.get("maximum")
        xlo, xhi = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
        if t == "integer":
            lo = lo if lo is not None else (xlo + 1 if xlo is not None else None)
            hi = hi if hi is not None else (xhi - 1 if xhi is not None else None)
            return st.integers(min_value=lo, max_value=hi)
        return st.floats(min_value=lo if lo is not None else xlo,
                         max_value=hi if hi is not None else xhi,
                         exclude_min=lo is None and xlo is not None,
                         exclude_max=hi is None and xhi is not None,
                         allow_nan=False, allow_infinity=False)
    if t == "array":
        return st.lists(from_schema(schema["items"], depth + 1),
                        min_size=schema.get("minItems", 0),
                        max_size=min(schema.get("maxItems", MAX_ITEMS), MAX_ITEMS))
    if t == "object" or "properties" in schema:
        props = schema.get("properties", {})
        required = schema.get("required", [])
        optional = [k for k in props if k not in required]
        return st.fixed_dictionaries(
            {k: from_schema(props[k], depth + 1) for k in required},
            optional={k: from_schema(props[k], depth + 1) for k in optional})
    return st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=10))


NASTY = st.one_of(
    st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(allow_nan=False),
    st.text(max_size=30), st.sampled_from(["NaN", "inf", "-Infinity", "1e999", " 42 ", "1_000",
                                           "0x10", "", "2025-10-14", "2025-02-30T00:00:00Z",
                                           "1760436000", "\u00a0 7 \u3000", "-0", "+1", "1.",
                                           ".5"]),
    st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=5), st.integers(),
                                                         max_size=3))


def paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from paths(v, prefix + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from paths(v, prefix + (i,))


@st.composite
def mutated(draw, base):
    body = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, 3))):
        all_paths = [p for p in paths(body) if p]
        if not all_paths:
            break
        p = draw(st.sampled_from(all_paths))
        parent = body
        for key in p[:-1]:
            parent = parent[key]
        action = draw(st.sampled_from(["replace", "replace", "delete", "extra"]))
        if action == "delete":
            del parent[p[-1]]
        elif action == "extra" and isinstance(parent, dict):
            parent[draw(st.text(min_size=1, max_size=12))] = draw(NASTY)
        else:
            parent[p[-1]] = draw(NASTY)
    return body


def encode(body):
    # allow_nan: Python's json (what a FastAPI client uses) writes NaN literals; a 400 then.
    return json.dumps(body, allow_nan=True).encode()


with Kronosd(env={"KRONOS_RATE_LIMIT_ENABLED": "false", "KRONOS_MAX_CANDLES": "64"},
             wait_ready=True) as k:
    statuses = {}

    def send(route, body):
        r = k.request("POST", "/v1/predict/" + route, body=encode(body),
                      headers={"Content-Type": "application/json"})
        statuses[r.status] = statuses.get(r.status, 0) + 1
        assert r.status < 500, "%s answered %d to %s: %s" % (route, r.status,
                                                             encode(body)[:400], r.body[:300])
        assert r.status in (200, 400, 422), "unexpected %d" % r.status

    req = {"single": contract.DOC["components"]["schemas"]["PredictSingleRequest"],
           "batch": contract.DOC["components"]["schemas"]["PredictBatchRequest"]}

    @SETTINGS
    @given(st.sampled_from(["single", "batch"]).flatmap(
        lambda route: st.tuples(st.just(route), from_schema(req[route]))))
    def schema_requests(case):
        send(*case)

    base_single = single(6, 2, overrides={"seed": 3, "sample_count": 2, "quantiles": [0.25]})
    base_batch = {"items": [single(5, 2, series_id="A"), single(4, 1, series_id="B")]}

    @SETTINGS
    @given(st.one_of(st.tuples(st.just("single"), mutated(base_single)),
                     st.tuples(st.just("batch"), mutated(base_batch))))
    def mutated_requests(case):
        send(*case)

    for name, test in (("schema-generated", schema_requests), ("mutated", mutated_requests)):
        statuses.clear()
        try:
            test()
            c.check(True, name)
        except AssertionError as e:  # hypothesis re-raises the shrunk failing example
            c.check(False, "%s: %s" % (name, str(e)[:1500]))
        print("%s requests: statuses %s" % (name, dict(sorted(statuses.items()))))
        c.check(sum(statuses.values()) >= 50, "%s: enough requests sent" % name)
    c.eq(k.get("/v1/healthz").status, 200, "healthy after the fuzzing")
c.eq(k.proc.returncode, 0, "clean exit")
c.done()
