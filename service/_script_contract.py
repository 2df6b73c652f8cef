"""A scripted deployment's OpenAPI document, made true, and held to in front of the script.

``azmlinfsrv`` builds ``/swagger.json`` from the script's inference-schema
decorators (the launcher adds ``required``: see ``azmlinfsrv_main``). Served
as it is, that document says things the endpoint does not do, which a
property-based tester (schemathesis) finds at once:

* ``POST /score`` without a body is refused, yet its body is not ``required``.
* OpenAPI 3's global ``security`` covers ``GET /`` and ``GET /swagger.json``,
  which answer without a key here, as on Azure: they get ``security: []``.
* A pandas ``records`` table (``format: pandas.DataFrame:records``) is read by
  inference-schema with ``pd.read_json`` and checked against the sample's
  shape: an empty list or a row with an extra column fails in ``run()``
  (a 500), while ``null`` in a number or string column is read as a missing
  value and scored. So the document says ``minItems: 1``,
  ``additionalProperties: false`` on the rows, nullable number and string
  cells, and the range of each integer column (pandas casts to its dtype).
* Swagger 2.0 has no ``anyOf``; a value typed with one is left untyped there.

Then :class:`InputContract` checks each ``/score`` body against the
document's ``ServiceInput`` before the script runs: a body the document
forbids is a 400 naming the field, the value given and the fix, instead of
whatever the script does with it (the AutoML scoring file raises, a 500).
This departs from Azure, which passes any body to ``run()``; README's
scoring section says so. What is left to the script is what the document
allows: a ``run()`` that raises on such a body still answers Azure's 500.
A body that is not UTF-8 is refused here too (azmlinfsrv's JSON parser lets
that error out as a 500). Two cases stay the server's own answer, to keep
Azure's wording: a body that is not a JSON object, and a missing parameter of
``run()`` (azmlinfsrv's "A value is not provided for the 'Inputs' parameter.").
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Iterator
from typing import Any

from automl_local.service._errors import ScoringError

__all__ = ["InputContract", "true_document"]

PANDAS_RECORDS = "pandas.DataFrame:records"
#: Served without a key by the endpoint's front (``_app``), as on Azure.
_OPEN_PATHS = ("/", "/swagger.json")
_INTEGER_RANGES = {
    "int8": (-(2**7), 2**7 - 1),
    "int16": (-(2**15), 2**15 - 1),
    "int32": (-(2**31), 2**31 - 1),
    "int64": (-(2**63), 2**63 - 1),
    "uint8": (0, 2**8 - 1),
    "uint16": (0, 2**16 - 1),
    "uint32": (0, 2**32 - 1),
    "uint64": (0, 2**64 - 1),
}


def _spec_version(document: dict[str, Any]) -> str:
    if "swagger" in document:
        return "2"
    return "3.1" if str(document.get("openapi", "")).startswith("3.1") else "3"


def true_document(document: dict[str, Any]) -> dict[str, Any]:
    """A copy of the child's document that says what the endpoint does (see the module doc)."""
    doc = copy.deepcopy(document)
    version = _spec_version(doc)
    for path, operations in (doc.get("paths") or {}).items():
        if path in _OPEN_PATHS and isinstance(operations, dict) and "get" in operations:
            operations["get"]["security"] = []
        if path == "/score" and isinstance(operations, dict) and "post" in operations:
            _body_required(operations["post"])
    for schema in _schemas(doc).values():
        _tighten_tables(schema, version)
        if version == "2":
            _drop_any_of(schema)
    return doc


def _drop_any_of(schema: Any) -> None:
    """Swagger 2.0 has no ``anyOf``: such a value is left untyped there (OpenAPI 3 types it)."""
    if not isinstance(schema, dict):
        return
    for child in list(_children(schema)):
        if isinstance(child, dict) and "anyOf" in child:
            del child["anyOf"]
        _drop_any_of(child)


def _body_required(post: dict[str, Any]) -> None:
    """``POST /score`` without a body is refused (415 or 400): the body is required."""
    if isinstance(post.get("requestBody"), dict):
        post["requestBody"]["required"] = True
    for parameter in post.get("parameters") or ():
        if isinstance(parameter, dict) and parameter.get("in") == "body":
            parameter["required"] = True


def _schemas(doc: dict[str, Any]) -> dict[str, Any]:
    found = doc.get("definitions") or (doc.get("components") or {}).get("schemas") or {}
    return found if isinstance(found, dict) else {}


def _children(schema: dict[str, Any]) -> Iterator[Any]:
    yield schema.get("items")
    yield schema.get("additionalProperties")
    yield from (schema.get("properties") or {}).values()
    for key in ("allOf", "anyOf", "oneOf"):
        yield from schema.get(key) or ()


def _tighten_tables(schema: Any, version: str) -> None:
    """Say of every pandas records table in ``schema`` what inference-schema does with it."""
    if not isinstance(schema, dict):
        return
    row = schema.get("items")
    if schema.get("format") == PANDAS_RECORDS and isinstance(row, dict) and "properties" in row:
        schema.setdefault("minItems", 1)
        row.setdefault("additionalProperties", False)
        for cell in row["properties"].values():
            if isinstance(cell, dict):
                _cell(cell, version)
        return
    for child in _children(schema):
        _tighten_tables(child, version)


def _cell(cell: dict[str, Any], version: str) -> None:
    kind = cell.get("type")
    if kind == "integer" and cell.get("format") in _INTEGER_RANGES:
        low, high = _INTEGER_RANGES[cell["format"]]
        cell.setdefault("minimum", low)
        cell.setdefault("maximum", high)
    elif kind in ("number", "string"):  # read_json: null is NaN / None, and astype keeps it
        if version == "3.1":
            cell["type"] = [kind, "null"]
        else:
            cell["x-nullable" if version == "2" else "nullable"] = True


def _json_schema(schema: Any, schemas: dict[str, Any], depth: int = 0) -> Any:
    """An OpenAPI 3.0 schema as JSON Schema: ``$ref`` inlined, ``nullable`` as a null type."""
    if isinstance(schema, list):
        return [_json_schema(s, schemas, depth) for s in schema]
    if not isinstance(schema, dict) or depth > 32:
        return schema
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.rsplit("/", 1)[-1] in schemas:
        return _json_schema(schemas[ref.rsplit("/", 1)[-1]], schemas, depth + 1)
    out = {k: _json_schema(v, schemas, depth + 1) for k, v in schema.items() if k != "example"}
    if out.pop("nullable", False) and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
        if isinstance(out.get("enum"), list):
            out["enum"] = [*out["enum"], None]
    return out


class InputContract:
    """The ``ServiceInput`` of a scripted deployment's (true) document, checked per request."""

    def __init__(self, service_input: dict[str, Any], schemas: dict[str, Any]) -> None:
        from jsonschema import Draft7Validator

        schema = _json_schema(service_input, schemas)
        Draft7Validator.check_schema(schema)  # jsonschema's SchemaError: no contract
        #: ``ServiceInput`` as JSON Schema (draft 7): ``$ref`` inlined, ``nullable`` a null type.
        self.json_schema: dict[str, Any] = schema
        self._validator = Draft7Validator(schema)  # the verdict and the message
        # The fast yes: jsonschema-rs takes ~0.1 us a row where jsonschema takes ~36 us
        # (1,000 rows: 0.4 ms instead of 36 ms). Its "no" is confirmed by jsonschema.
        import jsonschema_rs

        self._fast = jsonschema_rs.Draft7Validator(schema)

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> InputContract | None:
        """The contract of ``document`` (a true one), or None when it describes no parameters
        (an undecorated or ``@rawhttp`` ``run()`` takes the body as it is)."""
        from jsonschema.exceptions import SchemaError

        schemas = _schemas(document)
        service_input = schemas.get("ServiceInput")
        if not isinstance(service_input, dict) or not service_input.get("properties"):
            return None
        try:
            return cls(service_input, schemas)
        except SchemaError:
            return None

    def check(self, body: bytes, content_type: str) -> None:
        """Raise a 400 ScoringError if ``body`` breaks the contract; pass what the server
        itself answers (not JSON, not an object, a missing ``run()`` parameter)."""
        if "json" not in content_type.lower():
            return
        try:
            data = json.loads(body)  # the parser azmlinfsrv uses, so both read the same value
        except UnicodeDecodeError as exc:  # azmlinfsrv lets this one out: a 500 there
            raise ScoringError(
                400,
                f"Request refused before the scoring script ran: the body "
                f"is not UTF-8 text ({exc.reason} at byte {exc.start}). Send "
                "the JSON body encoded as UTF-8.",
            ) from None
        except ValueError:
            return  # azmlinfsrv answers its own 400 ("POST body could not be decoded as JSON")
        if not isinstance(data, dict) or self._fast.is_valid(data):
            return
        # A missing run() parameter (top-level "required") is azmlinfsrv's own 400.
        errors = [
            e for e in self._validator.iter_errors(data) if e.path or e.validator != "required"
        ]
        if errors:
            from jsonschema.exceptions import best_match

            raise ScoringError(400, violation_message(best_match(errors)))


_ARTICLED = {
    "string": "a string",
    "object": "an object",
    "array": "a list",
    "number": "a number",
    "integer": "an integer",
    "boolean": "a boolean",
}


def _where(path: Iterable[Any]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "the request body"


def _shown(value: Any) -> str:
    kind = {
        dict: "an object",
        list: "a list",
        str: "a string",
        bool: "a boolean",
        type(None): "null",
    }.get(type(value), "a number")
    text = json.dumps(value, default=str)
    text = text if len(text) <= 60 else text[:57] + "..."
    return text if kind == "null" else f"{text} ({kind})"


def violation_message(error: Any) -> str:
    """One line for a jsonschema ``ValidationError``: the field, the value given, the fix."""
    where, given, rule = _where(error.absolute_path), _shown(error.instance), error.validator
    wanted = error.validator_value
    if rule == "type":
        names: list[str] = wanted if isinstance(wanted, list) else [str(wanted)]
        kinds = " or ".join(_ARTICLED.get(k, k) for k in names)
        text = f"{where} is {given}; the script's schema wants {kinds}. Send {kinds} there"
    elif rule == "enum":
        text = (
            f"{where} is {given}; the script's schema allows "
            f"{', '.join(json.dumps(v) for v in wanted)}. Send one of them"
        )
    elif rule == "required":
        missing = ", ".join(repr(n) for n in wanted if n not in error.instance)
        text = f"{where} has no {missing}; the script's schema requires it. Add it"
    elif rule == "additionalProperties":
        known = set(error.schema.get("properties") or ())
        extra = sorted(str(k) for k in error.instance if k not in known)
        text = (
            f"{where} has {', '.join(map(repr, extra))}, which the script's schema does not "
            f"take (its columns are fixed: {', '.join(sorted(known))}). Remove them"
        )
    elif rule == "minItems":
        text = f"{where} is an empty list; the script's schema wants at least {wanted}. Send rows"
    elif rule in ("minimum", "maximum"):
        text = (
            f"{where} is {given}, {'below' if rule == 'minimum' else 'above'} the "
            f"{rule} {wanted} of its column type. Send a value within range"
        )
    else:
        text = f"{where} is {given}: {error.message}. Send what the script's schema says"
    return (
        f"Request refused before the scoring script ran: {text} "
        "(GET /swagger.json?version=3 describes every field)."
    )
