"""The contract check: every answer the integration suites receive must match what the OpenAPI
document (src/api/openapi.json) says the route answers with that status. harness.Kronosd.request
calls check() on each answer; a mismatch raises ContractError, so the suite fails loudly.

Paths the document does not list (unknown routes, test-only routes) and methods it does not list
for a path must still answer with the ErrorResponse envelope when they fail. HEAD answers have no
body to check. Bodies over BIG_BODY bytes are checked with their arrays cut to their first
ARRAY_SAMPLE elements (pure-Python validation of an 11 MB answer would take minutes).

Needs Debian's python3-jsonschema (Draft 2020-12, the dialect of OpenAPI 3.1).
"""
import gzip
import json
import os

import jsonschema

HERE = os.path.dirname(os.path.abspath(__file__))
DOC_PATH = os.path.join(HERE, "..", "..", "src", "api", "openapi.json")
BIG_BODY = 2 << 20
ARRAY_SAMPLE = 64

with open(DOC_PATH, encoding="utf-8") as f:
    DOC = json.load(f)
_RESOLVER = jsonschema.RefResolver.from_schema(DOC)


class ContractError(AssertionError):
    pass


def validator(schema):
    """A Draft 2020-12 validator of schema whose $refs point into the document."""
    return jsonschema.Draft202012Validator(schema, resolver=_RESOLVER,
                                           format_checker=jsonschema.FormatChecker())


def schema_ref(name):
    return {"$ref": "#/components/schemas/%s" % name}


def _sample(value):
    if isinstance(value, list):
        return [_sample(v) for v in value[:ARRAY_SAMPLE]]
    if isinstance(value, dict):
        return {k: _sample(v) for k, v in value.items()}
    return value


def _media(content, content_type):
    """The document's media type entry for a Content-Type, parameters aside."""
    if content_type in content:
        return content[content_type]
    base = content_type.split(";")[0].strip().lower()
    for key, entry in content.items():
        if key.split(";")[0].strip().lower() == base:
            return entry
    return None


def expected(method, path, status):
    """(description, response object) the document gives, or raises ContractError."""
    path = path.split("?", 1)[0]
    item = DOC["paths"].get(path)
    op = item.get(method.lower()) if item else None
    if op is None:
        if status < 400:
            return None  # a route outside the contract (test builds' debug route)
        return {"content": {"application/json": {"schema": schema_ref("ErrorResponse")}}}
    responses = op["responses"]
    resp = responses.get(str(status)) or responses.get("%dXX" % (status // 100))
    if resp is None and status >= 400:
        resp = responses.get("default")
    if resp is None:
        raise ContractError("%s %s answered %d, which the document does not list (%s)" %
                            (method, path, status, sorted(responses)))
    return resp


def check(method, path, status, headers, body):
    """Raises ContractError when the answer does not match the document."""
    if method.upper() == "HEAD" or status in (101, 204, 304):
        return
    resp = expected(method.upper(), path, status)
    if resp is None or "content" not in resp:
        return
    ctype = headers.get("content-type", "")
    entry = _media(resp["content"], ctype)
    if entry is None:
        raise ContractError("%s %s %d: Content-Type %r not in %s" %
                            (method, path, status, ctype, sorted(resp["content"])))
    schema = entry.get("schema")
    if not schema or "json" not in ctype:
        return
    if headers.get("content-encoding", "").lower() == "gzip":
        body = gzip.decompress(body)
    try:
        value = json.loads(body)
    except ValueError as e:
        raise ContractError("%s %s %d: body is not JSON (%s)" % (method, path, status, e))
    if len(body) > BIG_BODY:
        value = _sample(value)
    errors = sorted(validator(schema).iter_errors(value), key=lambda e: list(e.path))
    if errors:
        e = errors[0]
        raise ContractError("%s %s %d does not match its schema at %s: %s (%d problems)" %
                            (method, path, status, "/".join(map(str, e.path)) or "(root)",
                             e.message[:300], len(errors)))
