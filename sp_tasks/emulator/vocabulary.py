"""The emulator's own copy of Atlas's vocabulary: tiers, built-in connections, write-only fields, enums.

Written from reference/atlas-sp-api.md (§3.3 tiers, §4 connections, §8 pipelines) and the real
recordings, never imported from the product (``model``, ``secrets``, ``tiers``): a test double
that shares the product's constants would agree with the product by construction.
"""
from __future__ import annotations

from typing import Any

TIERS: tuple[str, ...] = ("SP2", "SP5", "SP10", "SP30", "SP50")  # ascending (reference §3.3)
# Maximum cumulative operator parallelism per tier (reference §3.3 / §8.6).
MAX_PARALLELISM: dict[str, int] = {"SP2": 1, "SP5": 2, "SP10": 8, "SP30": 16, "SP50": 64}

SAMPLE_SOURCES: tuple[str, ...] = ("sample_stream_solar",)
TEST_LOG = "__testLog"  # built-in sink, no connection needed (reference §8.1)
NOOP_SINK = "__noopSink"

# Accepted on write, never returned (reference §4.3, confirmed for the Kafka password by a
# Terraform maintainer; the recorded connection bodies carry no password).
WRITE_ONLY: dict[str, tuple[tuple[str, ...], ...]] = {
    "Kafka": (("authentication", "password"), ("authentication", "clientSecret"), ("authentication", "sslKey"),
              ("authentication", "sslKeyPassword")),
    "SchemaRegistry": (("schemaRegistryAuthentication", "password"),),
}
# Recorded mechanism names are SCRAM-256/SCRAM-512; the docs' SCRAM-SHA-* spelling is not an API value.
KAFKA_MECHANISMS = ("PLAIN", "SCRAM-256", "SCRAM-512", "OAUTHBEARER")
NETWORK_ACCESS = ("PUBLIC", "VPC", "PRIVATE_LINK", "TRANSIT_GATEWAY")
DURATION_UNITS = ("ms", "second", "minute", "hour", "day")


def tier_index(tier: str) -> int:
    return TIERS.index(tier)


def without_write_only(doc: dict[str, Any]) -> dict[str, Any]:
    """Copy of a connection document without its write-only fields (they are never stored)."""
    out = dict(doc)
    for path in WRITE_ONLY.get(doc.get("type", ""), ()):
        out = _removed(out, path)
    return out


def _removed(doc: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    head, rest = path[0], path[1:]
    if head not in doc:
        return doc
    out = dict(doc)
    if not rest:
        del out[head]
    elif isinstance(out[head], dict):
        out[head] = _removed(out[head], rest)
    return out
