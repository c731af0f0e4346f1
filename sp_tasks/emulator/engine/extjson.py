"""MongoDB extended JSON for the emulator: datetimes ⇄ ``{"$date": "…Z"}``, ObjectIds ⇄ ``{"$oid"}``.

Documents live in Python as pymongo would return them (naive UTC ``datetime``, ``bson.ObjectId``)
and cross every boundary (SQLite rows, checkpoints, HTTP bodies) as relaxed extended JSON text.
``json_size`` is the one definition of a message size in the stats (bytes of the JSON encoding),
and ``canonical_key`` the one definition of document identity for ``$merge`` and ``$group``.
``bson`` is imported only when an ObjectId is met, so importing this module stays cheap.
"""
from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta, timezone
from typing import Any

EPOCH = datetime(1970, 1, 1)
_MS = timedelta(milliseconds=1)


def to_ms(value: datetime) -> int:
    """Epoch milliseconds of a datetime (naive = UTC)."""
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return (value - EPOCH) // _MS


def from_ms(ms: int) -> datetime:
    """Naive UTC datetime (millisecond precision, as MongoDB stores dates)."""
    return EPOCH + timedelta(milliseconds=int(ms))


def iso(value: datetime) -> str:
    """``2024-08-12T21:41:01.788Z``: the API's date text."""
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def parse_iso(text: str) -> datetime:
    """Naive UTC datetime from ISO-8601 text (``Z`` or an offset; date-only allowed)."""
    parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(timezone.utc).replace(tzinfo=None)
    return parsed


def _object_id_type() -> type | None:
    try:
        from bson import ObjectId
    except ImportError:  # mongomock-ng needs pymongo, so this only happens in a broken install
        return None
    return ObjectId


def new_object_id() -> Any:
    object_id = _object_id_type()
    if object_id is None:
        raise RuntimeError("pymongo (bson) is required for ObjectId values; pip install pymongo")
    return object_id()


def _encode_other(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"$date": iso(value)}
    name = type(value).__name__
    if name == "ObjectId":
        return {"$oid": str(value)}
    if name == "Decimal128":
        return {"$numberDecimal": str(value)}
    if isinstance(value, (bytes, bytearray)):
        return {"$binary": {"base64": base64.b64encode(value).decode(), "subType": "00"}}
    if isinstance(value, (set, tuple)):
        return list(value)
    return str(value)


_ENCODER = json.JSONEncoder(default=_encode_other, separators=(",", ":"), allow_nan=True)


def dumps(value: Any) -> str:
    """Compact relaxed extended JSON text, key order kept."""
    return _ENCODER.encode(value)


def json_size(value: Any) -> int:
    """Bytes of the JSON encoding (ASCII-escaped, so characters are bytes)."""
    return len(_ENCODER.encode(value))


def _decode_wrapper(obj: dict) -> Any:
    if len(obj) != 1:
        return obj
    key, val = next(iter(obj.items()))
    if key == "$date":
        if isinstance(val, dict):
            val = val.get("$numberLong", 0)
        return from_ms(int(val)) if isinstance(val, (int, str)) and str(val).lstrip("-").isdigit() \
            else parse_iso(val)
    if key == "$oid":
        object_id = _object_id_type()
        return object_id(val) if object_id else val
    if key in ("$numberLong", "$numberInt"):
        return int(val)
    if key == "$numberDouble":
        return float(val)
    return obj


def loads(text: str | bytes) -> Any:
    """Parse extended JSON text into Python values (``$date`` → naive UTC datetime)."""
    return json.loads(text, object_hook=_decode_wrapper)


def decode(value: Any) -> Any:
    """Turn extended-JSON wrappers inside an already JSON-decoded structure into Python values."""
    if isinstance(value, dict):
        decoded = {k: decode(v) for k, v in value.items()}
        return _decode_wrapper(decoded)
    if isinstance(value, list):
        return [decode(v) for v in value]
    return value


def _canonical(value: Any) -> Any:
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)  # MongoDB equality: 10 == 10.0
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    return value


def canonical_key(value: Any) -> str:
    """Identity text of a value: equal under MongoDB equality ⇒ equal text (field order counts)."""
    return dumps(_canonical(value))
