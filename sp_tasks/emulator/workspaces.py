"""API rules for workspaces and connections (reference §3–§4): lookups, duplicates, shapes, secrets.

Each public method is one endpoint's behaviour and returns the response document (or None for
bodiless answers); problems are raised as ``ApiError`` with Atlas's codes. Write-only secrets are
dropped before anything is stored, so they can never come back out.
"""
from __future__ import annotations

import re
from typing import Any

from sp_tasks.atlas import unconfirmed
from sp_tasks.emulator import bodies, errors
from sp_tasks.emulator.store import ControlStore, new_object_id
from sp_tasks.model import TIERS

NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
SAMPLE_SOURCES = ("sample_stream_solar",)


class Workspaces:
    def __init__(self, store: ControlStore):
        self.store = store

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
        config = {"tier": unconfirmed.DEFAULT_WORKSPACE_TIER, "maxTierSize": unconfirmed.DEFAULT_MAX_TIER_SIZE}
        config.update(body.get("streamConfig") or {})
        _check_tier_order(config)
        ws_id = new_object_id()
        suffix = ws_id[-6:]
        doc = {
            "_id": ws_id,
            "name": name,
            "groupId": group_id,
            "dataProcessRegion": region,
            "streamConfig": config,
            "hostnames": [unconfirmed.HOSTNAME_TEMPLATE.format(
                id=ws_id[:8], suffix=suffix, region=region["region"].lower().replace("_", "-"))],
        }
        if body.get("failoverRegions"):
            doc["failoverRegions"] = body["failoverRegions"]
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
            doc["failoverRegions"] = body["failoverRegions"]
        self.store.replace("workspaces", group_id, name, doc)
        return doc

    def delete(self, group_id: str, name: str, has_running_processors: bool) -> None:
        self.require(group_id, name)
        if has_running_processors:
            raise errors.ApiError(
                unconfirmed.TENANT_HAS_PROCESSORS_STATUS, errors.TENANT_HAS_PROCESSORS,
                f"Stream instance {name} still has running stream processors; stop them first.", [name])
        self.store.delete_workspace_children(group_id, name)
        self.store.delete("workspaces", group_id, name)

    # -- connections ----------------------------------------------------------------------
    def list_connections(self, group_id: str, workspace: str) -> list[dict[str, Any]]:
        self.require(group_id, workspace)
        return self.store.list("connections", group_id, workspace)

    def get_connection(self, group_id: str, workspace: str, name: str) -> dict[str, Any]:
        self.require(group_id, workspace)
        doc = self.store.get("connections", group_id, name, workspace)
        if doc is None:
            raise errors.connection_not_found(name, group_id, workspace)
        return doc

    def create_connection(self, group_id: str, workspace: str, body: Any) -> dict[str, Any]:
        self.require(group_id, workspace)
        body = _checked_connection(body)
        name = body["name"]
        if body["type"] == "Sample" and name not in SAMPLE_SOURCES:
            raise errors.validation(f"Unknown sample source {name}; use one of {', '.join(SAMPLE_SOURCES)}.")
        if self.store.get("connections", group_id, name, workspace):
            raise errors.duplicate("stream connection", name)
        doc = {**bodies.without_write_only(body), "id": new_object_id(), "state": "READY"}
        self.store.insert("connections", group_id, doc, workspace)
        return doc

    def update_connection(self, group_id: str, workspace: str, name: str, body: Any) -> dict[str, Any]:
        current = self.get_connection(group_id, workspace, name)
        body = _checked_connection({"name": name, "type": current["type"], **(body or {})})
        if body["type"] != current["type"]:
            raise errors.validation("A connection's type cannot be changed; delete and recreate it.", "type")
        if "networking" in body and body["networking"] != current.get("networking", body["networking"]):
            raise errors.validation("A connection's networking cannot be changed; delete and recreate it.")
        if body["name"] != name and self.store.get("connections", group_id, body["name"], workspace):
            raise errors.duplicate("stream connection", body["name"])
        doc = {**bodies.without_write_only(body), "id": current["id"], "state": current.get("state", "READY")}
        self.store.replace("connections", group_id, name, doc, workspace)
        return doc

    def delete_connection(self, group_id: str, workspace: str, name: str) -> None:
        self.get_connection(group_id, workspace, name)
        self.store.delete("connections", group_id, name, workspace)


def _checked_connection(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise errors.validation("The request body must be a JSON object.")
    conn_type = body.get("type")
    if conn_type not in bodies.CONNECTION_TYPES:
        raise errors.invalid_value("type", "one of " + ", ".join(bodies.CONNECTION_TYPES))
    body = bodies.checked(body, bodies.connection_shape(conn_type), required=("name", "type"))
    _check_name(body["name"], "connection")
    return body


def _check_name(name: Any, kind: str) -> None:
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise errors.validation(
            f"Invalid {kind} name {name!r}: use 1-64 ASCII letters, digits, '-' or '_'.", "name")


def _check_tier_order(config: dict[str, Any]) -> None:
    if TIERS.index(config["tier"]) > TIERS.index(config["maxTierSize"]):
        raise errors.validation(
            f"streamConfig.tier {config['tier']} exceeds maxTierSize {config['maxTierSize']}.")
