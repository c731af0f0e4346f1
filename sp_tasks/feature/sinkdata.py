"""What a feature environment's processors wrote, and removing it where this tool can: ``env.destroy``.

``written_data`` (pure) reads the live processors before they are deleted: every database and
Kafka topic they write whose name carries the environment's ``SINK_SUFFIX`` (``isolation``), with
the cluster or brokers behind its connection, and each ``__testLog``. A name without the suffix
is never listed, so a processor someone pointed at the base's sinks by hand can never make
destroy remove the base's data.

``remove_data`` (shell): the embedded emulator drops them through its own admin endpoint
(``DELETE /_emulator/documents``, emulator only). The Atlas Admin API has no call that drops a
database in a cluster or a Kafka topic (that needs a MongoDB driver or Kafka's admin tools, which
this tool does not have), so against Atlas each is reported as left, with the command that drops
it; nothing pretends otherwise.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sp_tasks.atlas import unconfirmed
from sp_tasks.errors import DeployError
from sp_tasks.model import LiveState

LOOPBACK = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class SinkData:
    kind: str  # "database" | "topic" | "log"
    connection: str
    where: str  # cluster name, bootstrap servers, or the processor for a log
    name: str  # database, topic, or processor id

    def describe(self) -> str:
        if self.kind == "database":
            return f"database {self.name} on cluster {self.where} (connection {self.connection})"
        if self.kind == "topic":
            return f"Kafka topic {self.name} on {self.where} (connection {self.connection})"
        return f"__testLog of processor {self.where}"

    def how_to_drop(self) -> str:
        if self.kind == "database":
            return f"mongosh \"<{self.where} connection string>\" --eval 'db.getSiblingDB(\"{self.name}\").dropDatabase()'"
        if self.kind == "topic":
            return f"kafka-topics.sh --bootstrap-server {self.where} --delete --topic {self.name}"
        return "nothing: it went with the processor"

    def query(self, group_id: str) -> dict[str, str]:
        """The emulator admin query naming this data (sp_tasks/emulator/admin.py)."""
        key = {"database": ("cluster", "db"), "topic": ("bootstrapServers", "topic"), "log": (None, "processorId")}
        where, name = key[self.kind]
        return {"group": group_id, name: self.name, **({where: self.where} if where else {})}

    def to_json(self) -> dict[str, str]:
        return {"kind": self.kind, "connection": self.connection, "where": self.where, "name": self.name}


def written_data(live: LiveState, suffix: str) -> list[SinkData]:
    """The suffixed databases and topics live processors write, and their test logs (pure)."""
    connections = {c.name: c.body for c in live.connections}
    found: dict[tuple[str, str, str], SinkData] = {}
    for processor in live.processors:
        for connection, key, name in _targets(processor.pipeline, processor.options):
            if connection == "__testLog":
                found[("log", processor.name, processor.id)] = SinkData("log", connection, processor.name, processor.id)
                continue
            body = connections.get(connection) or {}
            where = body.get("clusterName") if key == "db" else body.get("bootstrapServers")
            if suffix and isinstance(name, str) and name.endswith(suffix) and isinstance(where, str):
                kind = "database" if key == "db" else "topic"
                found[(kind, where, name)] = SinkData(kind, connection, where, name)
    return sorted(found.values(), key=lambda d: (d.kind, d.where, d.name))


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


def remove_data(settings, client, data: list[SinkData]) -> list[SinkData]:
    """What is left: nothing on the emulator (it drops each), on Atlas all but the test logs."""
    base = client.transport.base_url
    if not is_emulator(settings, base):
        return [d for d in data if d.kind != "log" or not unconfirmed.TEST_LOG_GOES_WITH_PROCESSOR]
    import requests

    headers = {"X-SP-Emulator": "1", "Content-Type": "application/json"}  # admin writes need both
    for item in data:
        try:
            requests.delete(f"{base}/_emulator/documents", params=item.query(settings.project_id),
                            headers=headers, timeout=30).raise_for_status()
        except requests.RequestException as err:
            raise DeployError(f"the emulator did not drop {item.describe()}: {err}") from None
    return []


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
