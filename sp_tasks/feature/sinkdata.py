"""What a feature environment's processors wrote, and removing it where this tool can: ``env.destroy``.

``written_data`` (pure) reads the live processors before they are deleted, and Git's definitions
(a deploy that failed its health gate wrote, then rolled back): every database and Kafka topic
they write whose name carries the environment's ``SINK_SUFFIX`` (``isolation``), with the cluster
or brokers behind its connection. (``__testLog`` output is the processor's log: it goes with
the processor, ``unconfirmed.TEST_LOG_GOES_WITH_PROCESSOR``.) A name without the suffix is never listed, so a processor someone pointed at the base's sinks by hand can never make
destroy remove the base's data.

``remove_data`` (shell): the embedded emulator drops them through its own admin endpoint
(``DELETE /_emulator/documents``, emulator only), and also every other database and topic it
holds whose name ends in the suffix (``swept``: what processors removed by an earlier push wrote). The Atlas Admin API has no call that drops a
database in a cluster or a Kafka topic (that needs a MongoDB driver or Kafka's admin tools, which
this tool does not have), so against Atlas each is reported as left, with the command that drops
it; nothing pretends otherwise.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sp_tasks.errors import DeployError
from sp_tasks.model import LiveState

LOOPBACK = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class SinkData:
    kind: str  # "database" | "topic"
    connection: str
    where: str  # cluster name or bootstrap servers
    name: str  # database or topic

    def describe(self) -> str:
        via = f" (connection {self.connection})" if self.connection else ""
        if self.kind == "database":
            return f"database {self.name} on cluster {self.where}{via}"
        return f"Kafka topic {self.name} on {self.where}{via}"

    def how_to_drop(self) -> str:
        if self.kind == "database":
            return f"mongosh \"<{self.where} connection string>\" --eval 'db.getSiblingDB(\"{self.name}\").dropDatabase()'"
        return f"kafka-topics.sh --bootstrap-server {self.where} --delete --topic {self.name}"

    def query(self, group_id: str) -> dict[str, str]:
        """The emulator admin query naming this data (sp_tasks/emulator/admin.py)."""
        where, name = ("cluster", "db") if self.kind == "database" else ("bootstrapServers", "topic")
        return {"group": group_id, where: self.where, name: self.name}

    def to_json(self) -> dict[str, str]:
        return {"kind": self.kind, "connection": self.connection, "where": self.where, "name": self.name}


def written_data(processors, connections, suffix: str) -> list[SinkData]:
    """The suffixed databases and topics ``processors`` write. Live processors and Git's may both be
    given (``connections`` likewise: objects with ``name`` and ``body``): a deploy that failed its
    gate and rolled back wrote with Git's. Pure."""
    bodies = {c.name: c.body for c in connections}
    found: dict[tuple[str, str, str], SinkData] = {}
    for processor in processors:
        for connection, key, name in _targets(processor.pipeline, processor.options):
            body = bodies.get(connection) or {}
            where = body.get("clusterName") if key == "db" else body.get("bootstrapServers")
            if suffix and isinstance(name, str) and name.endswith(suffix) and isinstance(where, str):
                kind = "database" if key == "db" else "topic"
                found.setdefault((kind, where, name), SinkData(kind, connection, where, name))
    return sorted(found.values(), key=lambda d: (d.kind, d.where, d.name))


def swept(listing: dict[str, Any], suffix: str) -> list[SinkData]:
    """Every database and topic the emulator holds whose name ends in ``suffix`` (``GET
    /_emulator/documents?group=``): what processors deleted earlier wrote too. Pure."""
    if not suffix:
        return []
    databases = {(cluster, db) for cluster, db, _, _ in listing.get("collections", []) if db.endswith(suffix)}
    topics = {(servers, topic) for servers, topic, _ in listing.get("topics", []) if topic.endswith(suffix)}
    return ([SinkData("database", "", cluster, db) for cluster, db in sorted(databases)]
            + [SinkData("topic", "", servers, topic) for servers, topic in sorted(topics)])


def _targets(pipeline: Any, options: Any) -> list[tuple[Any, str, Any]]:
    """(connection, "db"|"topic"|"", name) of the sink stage and of the DLQ."""
    stage = pipeline[-1] if isinstance(pipeline, list) and pipeline and isinstance(pipeline[-1], dict) else {}
    merge = stage.get("$merge")
    body = merge.get("into") if isinstance(merge, dict) else stage.get("$emit")
    dlq = options.get("dlq") if isinstance(options, dict) else None
    out = []
    for doc in (body, dlq):
        if isinstance(doc, dict):
            key = "topic" if "topic" in doc and doc is not dlq else "db" if "db" in doc else ""
            out.append((doc.get("connectionName"), key, doc.get(key) if key else None))
    return out


def remove_data(settings, client, data: list[SinkData]) -> tuple[list[SinkData], list[SinkData]]:
    """(removed, left). The emulator drops ``data`` and whatever else it holds under the suffix;
    Atlas cannot drop any of it (module docstring), so all of it is left."""
    base = client.transport.base_url
    if not is_emulator(settings, base):
        return [], list(data)
    import requests

    headers = {"X-SP-Emulator": "1", "Content-Type": "application/json"}  # admin writes need both
    try:
        listing = requests.get(f"{base}/_emulator/documents", params={"group": settings.project_id}, timeout=30)
        listing.raise_for_status()
        named = {(d.kind, d.where, d.name) for d in data}
        everything = list(data) + [d for d in swept(listing.json(), settings.sink_suffix)
                                   if (d.kind, d.where, d.name) not in named]
        for item in everything:
            requests.delete(f"{base}/_emulator/documents", params=item.query(settings.project_id),
                            headers=headers, timeout=30).raise_for_status()
    except (requests.RequestException, ValueError) as err:
        raise DeployError(f"the emulator did not drop the data of the environment: {err}") from None
    return everything, []


def is_emulator(settings, base_url: str) -> bool:
    """The embedded emulator, or one on this machine (tests): it answers its own health check."""
    if not (settings.is_emulator or urlsplit(base_url).hostname in LOOPBACK):
        return False  # never send an emulator request to Atlas
    import requests

    try:
        resp = requests.get(f"{base_url}/_emulator/health", timeout=5)
        return resp.status_code == 200 and resp.json().get("ok") is True
    except (requests.RequestException, ValueError, AttributeError):
        return False
