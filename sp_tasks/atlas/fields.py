"""The fields of Atlas's streams resources: those sp-tasks relies on, and all those it knows.

``invoke doctor`` checks every response against this table before a first deploy: a field we
rely on that is missing would break the deploy; a field we do not know is reported (Atlas adds
fields over time; they are ignored, but someone should look). Sources: reference/atlas-sp-api.md
§3–§6 and the real recordings (reference/recorded-atlas, tests/replay/recordings).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Fields:
    relied_on: frozenset[str]  # planner, executor, health gate or profile read these
    known: frozenset[str]  # everything else the reference or the recordings show

    def problems(self, doc: Any) -> tuple[list[str], list[str]]:
        """(missing relied-on fields, unknown fields) of one document."""
        if not isinstance(doc, dict):
            return sorted(self.relied_on), []
        missing = sorted(f for f in self.relied_on if f not in doc)
        unknown = sorted(f for f in doc if f not in self.relied_on and f not in self.known)
        return missing, unknown


def _fields(relied_on: str, known: str) -> Fields:
    return Fields(frozenset(relied_on.split()), frozenset(known.split()))


LIST = _fields("results", "links totalCount")
WORKSPACE = _fields("name dataProcessRegion streamConfig",
                    "_id groupId hostnames failoverRegions connections sampleConnections links")
CONNECTION = _fields(
    "name type",
    "id _id state region links bootstrapServers authentication security config networking clusterName "
    "clusterGroupId dbRoleToExecute url headers aws provider schemaRegistryUrls schemaRegistryAuthentication "
    "azure gcp publicPrivateNetworking")
PROCESSOR = _fields("name _id state pipeline",
                    "options tier stats failoverEnabled eligibleForFailover links effectiveTier")
# The health gate reads the counters; everything else of reference §6 is optional (latency may be absent).
STATS = _fields(
    "inputMessageCount outputMessageCount dlqMessageCount",
    "name processorId status scaleFactor ok inputMessageSize outputMessageSize dlqMessageSize stateSize "
    "memoryTrackerBytes watermark changeStreamState changeStreamTimeDifferenceSecs latency addedParallelism "
    "minOpenWindowStartTime maxOpenWindowStartTime kafkaPartitions partitionOffsetLag kafkaTotalOffsetLag "
    "operatorStats")
