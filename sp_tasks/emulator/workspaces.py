"""API rules for workspaces and connections (reference §3–§4, recorded-atlas): lookups, duplicates, shapes.

Each public method is one endpoint's behaviour and returns the response document (or None for
bodiless answers); problems are raised as ``ApiError`` with Atlas's codes. What the real
recordings show is reproduced: no ``maxTierSize`` unless asked, ``failoverRegions: []``,
hostnames carrying the full ``_id``, and a Kafka connection's ``region`` (the workspace's) and
``networking.access.type: PUBLIC`` filled in when the request leaves them out. Write-only
secrets are dropped before anything is stored, so they can never come back out. Connections
with private networking deploy (PENDING) and are deleted (DELETING) asynchronously
(``lifecycle``); deleting a Kafka connection still deploying answers 409
STREAM_KAFKA_CONNECTION_IS_DEPLOYING.
"""
from __future__ import annotations

import random
import re
import string
import time
from typing import Any, Callable

from sp_tasks.atlas import unconfirmed
from sp_tasks.emulator import bodies, errors, lifecycle
from sp_tasks.emulator.lifecycle import PENDING
from sp_tasks.emulator.store import ControlStore, new_object_id
from sp_tasks.emulator.vocabulary import SAMPLE_SOURCES, TIERS, without_write_only

NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class Workspaces:
    def __init__(self, store: ControlStore, clock: Callable[[], float] = time.time,
                 delays: dict[str, float] | None = None, schedule: lifecycle.Schedule | None = None):
        self.store = store
        self.clock = clock
        self.delays = dict(delays if delays is not None else lifecycle.ZERO_DELAYS)
        self.schedule = schedule or lifecycle.Schedule()

    # -- workspaces ---------------------------------------------------------------------
    def list(self, group_id: str) -> list[dict[str, Any]]:
        return self.store.list("workspaces", group_id)

    def require(self, group_id: str, name: str) -> dict[str, Any]:
        doc = self.store.get("workspaces", group_id, name)
        if doc is None:
            raise errors.tenant_not_found(group_id, name)
        return doc

    def get(self, group_id: str, name: str, include_connections: bool = False) -> dict[str, Any]:
        doc = self.require(group_id, name)
        if include_connections:
            doc["connections"] = self.list_connections(group_id, name)
        return doc

    def create(self, group_id: str, body: Any, *, with_sample: bool = False) -> dict[str, Any]:
        body = bodies.checked(body, bodies.WORKSPACE_CREATE, required=("name",))
        name = body["name"]
        _check_name(name, "workspace")
        if self.store.get("workspaces", group_id, name):
            raise errors.duplicate("stream workspace", name)
        region = body.get("dataProcessRegion") or {"cloudProvider": "AWS", "region": "VIRGINIA_USA"}
        if not region.get("cloudProvider") or not region.get("region"):
            raise errors.validation("dataProcessRegion needs both cloudProvider and region.")
        asked = {k: v for k, v in (body.get("streamConfig") or {}).items() if v is not None}
        config = {"tier": unconfirmed.DEFAULT_WORKSPACE_TIER, **asked}
        _check_tier_order(config)
        ws_id = new_object_id()
        doc = {
            "_id": ws_id,
            "dataProcessRegion": region,
            "failoverRegions": body.get("failoverRegions") or [],
            "groupId": group_id,
            "hostnames": [_hostname(ws_id, region["region"])],
            "name": name,
            "streamConfig": config,
        }
        self.store.insert("workspaces", group_id, doc)
        if with_sample or (body.get("sampleConnections") or {}).get("solar"):
            self.create_connection(group_id, name, {"name": "sample_stream_solar", "type": "Sample"})
        return doc

    def update(self, group_id: str, name: str, body: Any) -> dict[str, Any]:
        doc = self.require(group_id, name)
        body = bodies.checked(body, bodies.WORKSPACE_UPDATE)
        if ("region" in body) != ("cloudProvider" in body):
            raise errors.validation("cloudProvider must accompany region.")
        if "region" in body:
            doc["dataProcessRegion"] = {"cloudProvider": body["cloudProvider"], "region": body["region"]}
        if "streamConfig" in body:
            config = {**doc["streamConfig"], **body["streamConfig"]}
            _check_tier_order(config)
            doc["streamConfig"] = config
        if "failoverRegions" in body:
            doc["failoverRegions"] = body["failoverRegions"] or []
        self.store.replace("workspaces", group_id, name, doc)
        return doc

    def delete(self, group_id: str, name: str, has_processors: bool) -> None:
        self.require(group_id, name)
        if has_processors:  # recorded wording (Terraform CI), whatever state the processors are in
            raise errors.ApiError(403, errors.TENANT_HAS_PROCESSORS,
                                  f"Stream workspace with name {name} has active processors, and cannot be changed.",
                                  [name])
        self.store.delete_workspace_children(group_id, name)
        self.store.delete("workspaces", group_id, name)

    # -- connections ----------------------------------------------------------------------
    def list_connections(self, group_id: str, workspace: str) -> list[dict[str, Any]]:
        self.require(group_id, workspace)
        return [lifecycle.public(c) for c in self.store.list("connections", group_id, workspace)]

    def get_connection(self, group_id: str, workspace: str, name: str) -> dict[str, Any]:
        return lifecycle.public(self._connection(group_id, workspace, name))

    def create_connection(self, group_id: str, workspace: str, body: Any) -> dict[str, Any]:
        ws = self.require(group_id, workspace)
        body = _checked_connection(body)
        name = body["name"]
        if body["type"] == "Sample" and name not in SAMPLE_SOURCES:
            raise errors.validation(f"Unknown sample source {name}; use one of {', '.join(SAMPLE_SOURCES)}.")
        if self.store.get("connections", group_id, name, workspace):
            raise errors.duplicate_connection(name)
        doc = {**_server_filled(without_write_only(body), ws), "id": new_object_id(), "state": "READY"}
        seconds = self.delays[_delay_key(doc, "create")]
        if seconds > 0:
            doc = lifecycle.schedule({**doc, "state": "PENDING"}, self.clock(), [("READY", seconds)])
        self.store.insert("connections", group_id, doc, workspace)
        self.schedule.add(("connections", group_id, workspace, name), doc)
        return lifecycle.public(doc)

    def update_connection(self, group_id: str, workspace: str, name: str, body: Any) -> dict[str, Any]:
        ws = self.require(group_id, workspace)
        current = self._connection(group_id, workspace, name)
        body = _checked_connection({"name": name, "type": current["type"], **(body or {})})
        if body["type"] != current["type"]:
            raise errors.validation("A connection's type cannot be changed; delete and recreate it.", "type")
        for key in ("networking", "publicPrivateNetworking"):
            if key in body and _access(body[key]) != _access(current.get(key)):
                raise errors.ApiError(400, errors.NETWORKING_IMMUTABLE,
                                      "Stream networking access type cannot be modified.", [workspace, name])
        if body["name"] != name and self.store.get("connections", group_id, body["name"], workspace):
            raise errors.duplicate_connection(body["name"])
        kept = {k: current[k] for k in ("region", "networking") if k in current and k not in body}
        doc = {**_server_filled(without_write_only(body), ws), **kept, "id": current["id"],
               "state": current.get("state", "READY")}
        if PENDING in current:
            doc[PENDING] = current[PENDING]
        self.store.replace("connections", group_id, name, doc, workspace)
        # Recorded: the PATCH answer carries no state (a GET afterwards does).
        return {k: v for k, v in lifecycle.public(doc).items() if k != "state"}

    def delete_connection(self, group_id: str, workspace: str, name: str) -> None:
        doc = self._connection(group_id, workspace, name)
        if doc.get("state") == "DELETING":
            return  # already going
        if doc.get("state") == "PENDING" and doc.get("type") == "Kafka":
            raise errors.ApiError(409, errors.KAFKA_CONNECTION_DEPLOYING,
                                  f"Stream Kafka connection {name} is currently deploying. Please retry the "
                                  "request later.", [name])
        seconds = self.delays[_delay_key(doc, "delete")]
        if seconds <= 0:
            self.store.delete("connections", group_id, name, workspace)
            self.schedule.add(("connections", group_id, workspace, name), {})
            return
        doc = lifecycle.schedule({**lifecycle.public(doc), "state": "DELETING"}, self.clock(),
                                 [(lifecycle.GONE, seconds)])
        self.store.replace("connections", group_id, name, doc, workspace)
        self.schedule.add(("connections", group_id, workspace, name), doc)

    def apply_due(self, group_id: str, workspace: str, name: str) -> None:
        doc = self.store.get("connections", group_id, name, workspace)
        if doc is None or PENDING not in doc:
            self.schedule.add(("connections", group_id, workspace, name), {})
            return
        new, entered = lifecycle.advance(doc, self.clock())
        if lifecycle.GONE in entered:
            self.store.delete("connections", group_id, name, workspace)
            new = {}
        elif entered:
            self.store.replace("connections", group_id, name, new, workspace)
        self.schedule.add(("connections", group_id, workspace, name), new)

    def reindex(self) -> None:
        """After a restart: put every connection with a pending transition back on the schedule."""
        for group_id, workspace, doc in self.store.all_rows("connections"):
            self.schedule.add(("connections", group_id, workspace, doc["name"]), doc)

    def _connection(self, group_id: str, workspace: str, name: str) -> dict[str, Any]:
        self.require(group_id, workspace)
        doc = self.store.get("connections", group_id, name, workspace)
        if doc is None:
            raise errors.connection_not_found(name, group_id, workspace)
        return doc


def _server_filled(body: dict[str, Any], ws: dict[str, Any]) -> dict[str, Any]:
    """Recorded: a Kafka connection comes back with the workspace's region and PUBLIC networking
    when the request said nothing; other types get the region too (unconfirmed.py)."""
    if body["type"] == "Sample":
        return body
    out = dict(body)
    out.setdefault("region", ws["dataProcessRegion"]["region"])
    if body["type"] == "Kafka":
        out.setdefault("networking", {"access": {"type": "PUBLIC"}})
    return out


def _access(networking: Any) -> str:
    return ((networking or {}).get("access") or {}).get("type") or "PUBLIC"


def _delay_key(doc: dict[str, Any], action: str) -> str:
    return f"{'private' if lifecycle.private_networking(doc) else 'public'}_connection_{action}"


def _hostname(ws_id: str, region: str) -> str:
    # Recorded: atlas-stream-<full _id>-<6 random lowercase letters>.<region>.a.query.mongodb(-dev).net
    suffix = "".join(random.choices(string.ascii_lowercase, k=6))
    return unconfirmed.HOSTNAME_TEMPLATE.format(id=ws_id, suffix=suffix, region=region.lower().replace("_", "-"))


def _checked_connection(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise errors.validation("The request body must be a JSON object.")
    conn_type = body.get("type")
    if conn_type not in bodies.CONNECTION_TYPES:
        raise errors.invalid_enum(conn_type)
    body = bodies.checked(body, bodies.connection_shape(conn_type), required=("name", "type"))
    _check_name(body["name"], "connection")
    return body


def _check_name(name: Any, kind: str) -> None:
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise errors.validation(
            f"Invalid {kind} name {name!r}: use 1-64 ASCII letters, digits, '-' or '_'.", "name")


def _check_tier_order(config: dict[str, Any]) -> None:
    if "maxTierSize" in config and TIERS.index(config["tier"]) > TIERS.index(config["maxTierSize"]):
        raise errors.validation(
            f"streamConfig.tier {config['tier']} exceeds maxTierSize {config['maxTierSize']}.")
