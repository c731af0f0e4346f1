"""Request-body shapes the emulator accepts, and the type check that answers Atlas-style 400s.

A shape is a dict of field -> type: a Python type, a tuple of allowed string values (enum),
``MapOf(str)`` for free string maps, ``[shape]`` for arrays, a nested dict for objects, or
``ANY``. Unknown fields are refused with INVALID_ATTRIBUTE (Atlas rejects them; the Atlas CLI's
silent ignoring is client-side), a value outside an enum with INVALID_ENUM_VALUE (recorded code).
Read-only fields a client may echo back are dropped first.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sp_tasks.emulator import errors
from sp_tasks.emulator.vocabulary import KAFKA_MECHANISMS, NETWORK_ACCESS, TIERS, without_write_only  # noqa: F401

ANY = object()
READ_ONLY = ("_id", "id", "state", "links", "stats", "groupId", "hostnames", "effectiveTier")


@dataclass(frozen=True)
class MapOf:
    value_type: type


PROVIDERS = ("AWS", "GCP", "AZURE", "TENANT", "SERVERLESS")
REGION = {"cloudProvider": PROVIDERS, "region": str}
STREAM_CONFIG = {"tier": TIERS, "maxTierSize": TIERS}
NETWORKING = {"access": {"type": NETWORK_ACCESS, "connectionId": str,
                         "name": str, "tgwRouteId": str}}
PUBLIC_PRIVATE = {"access": {"type": ("PUBLIC", "PRIVATE_LINK"), "connectionId": str}}

WORKSPACE_CREATE = {"name": str, "dataProcessRegion": REGION, "streamConfig": STREAM_CONFIG,
                    "failoverRegions": [REGION], "sampleConnections": {"solar": bool}}
WORKSPACE_UPDATE = {"cloudProvider": PROVIDERS, "region": str, "streamConfig": STREAM_CONFIG,
                    "failoverRegions": [REGION],
                    "processorStatus": {"status": ("STARTED", "STOPPED", "FAILED_OVER"),
                                        "mode": ("GRACEFUL", "FORCED"), "region": str}}

KAFKA_AUTH = {"mechanism": KAFKA_MECHANISMS,
              "username": str, "password": str, "method": str, "tokenEndpointUrl": str, "clientId": str,
              "clientSecret": str, "scope": str, "saslOauthbearerExtensions": str, "sslCertificate": str,
              "sslKey": str, "sslKeyPassword": str, "aws": {"roleArn": str}}
CONNECTION_TYPES: dict[str, dict[str, Any]] = {
    "Sample": {},
    "Cluster": {"clusterName": str, "clusterGroupId": str,
                "dbRoleToExecute": {"role": str, "type": ("BUILT_IN", "CUSTOM")}},
    "Kafka": {"bootstrapServers": str, "authentication": KAFKA_AUTH,
              "security": {"protocol": ("SASL_PLAINTEXT", "SASL_SSL", "SSL", "PLAINTEXT"),
                           "brokerPublicCertificate": str},
              "config": MapOf(str), "networking": NETWORKING},
    "Https": {"url": str, "headers": MapOf(str)},
    "AWSLambda": {"aws": {"roleArn": str}, "publicPrivateNetworking": PUBLIC_PRIVATE},
    "S3": {"aws": {"roleArn": str, "testBucket": str}, "networking": NETWORKING},
    "AWSKinesisDataStreams": {"aws": {"roleArn": str}, "networking": NETWORKING},
    "SchemaRegistry": {"provider": ("CONFLUENT",), "schemaRegistryUrls": [str],
                       "schemaRegistryAuthentication": {"type": ("USER_INFO", "SASL_INHERIT"),
                                                        "username": str, "password": str}},
    "AzureBlobStorage": {"azure": {"servicePrincipalId": str, "storageAccountName": str, "region": str},
                         "publicPrivateNetworking": PUBLIC_PRIVATE},
    "GCPPubSub": {"gcp": {"serviceAccountId": str}, "publicPrivateNetworking": PUBLIC_PRIVATE},
}
CONNECTION_COMMON = {"name": str, "type": tuple(CONNECTION_TYPES), "region": str}

PROCESSOR_OPTIONS = {"dlq": {"connectionName": str, "db": str, "coll": str}, "resumeFromCheckpoint": bool}
PROCESSOR_CREATE = {"name": str, "pipeline": [dict], "options": PROCESSOR_OPTIONS, "tier": TIERS,
                    "failoverEnabled": bool}
PROCESSOR_MODIFY = PROCESSOR_CREATE
START_WITH = {"tier": TIERS, "resumeFromCheckpoint": bool, "startAtOperationTime": str,
              "failover": {"region": str, "mode": ("GRACEFUL", "FORCED"), "dryRun": bool,
                           "clearCheckpoint": bool}}


def checked(body: Any, shape: dict[str, Any], *, required: tuple[str, ...] = ()) -> dict[str, Any]:
    """Return ``body`` minus read-only fields, or raise the Atlas-style 400 for the first problem."""
    if not isinstance(body, dict):
        raise errors.validation("The request body must be a JSON object.")
    body = _without_links({k: v for k, v in body.items() if k not in READ_ONLY})
    _check_object(body, shape, "")
    for field in required:
        if body.get(field) in (None, ""):
            raise errors.validation(f"The required attribute {field} was not specified.", field)
    return body


def _without_links(value: Any) -> Any:
    """Every schema object may echo its read-only ``links``: recorded, Atlas drops a nested one
    (``dbRoleToExecute.links``) silently."""
    if isinstance(value, dict):
        return {k: _without_links(v) for k, v in value.items() if k != "links"}
    return value


def connection_shape(conn_type: str) -> dict[str, Any]:
    return {**CONNECTION_COMMON, **CONNECTION_TYPES[conn_type]}


def _check_object(value: dict[str, Any], shape: dict[str, Any], prefix: str) -> None:
    for key, item in value.items():
        path = f"{prefix}{key}"
        if key not in shape:
            raise errors.invalid_attribute(path)
        _check_value(item, shape[key], path)


def _check_value(value: Any, spec: Any, path: str) -> None:
    if spec is ANY or value is None:
        return
    if isinstance(spec, dict):
        if not isinstance(value, dict):
            raise errors.invalid_value(path, "an object")
        _check_object(value, spec, path + ".")
    elif isinstance(spec, list):
        if not isinstance(value, list):
            raise errors.invalid_value(path, "an array")
        for index, item in enumerate(value):
            _check_value(item, spec[0], f"{path}[{index}]")
    elif isinstance(spec, tuple):
        if value not in spec:
            raise errors.invalid_enum(value)
    elif isinstance(spec, MapOf):
        if not isinstance(value, dict) or not all(isinstance(v, spec.value_type) for v in value.values()):
            raise errors.invalid_value(path, f"an object of {spec.value_type.__name__} values")
    elif spec is bool or spec is str:
        if not isinstance(value, spec):
            raise errors.invalid_value(path, "a boolean" if spec is bool else "a string")
    elif not isinstance(value, spec):
        raise errors.invalid_value(path, spec.__name__)
