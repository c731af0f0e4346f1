"""Atlas-shaped API errors raised by the emulator's backend and turned into the error envelope.

The envelope is reference §7.1: ``{detail, error, errorCode, parameters, reason}``. Codes seen in
real Atlas traffic are constants here; guessed ones come from ``atlas.unconfirmed``.
"""
from __future__ import annotations

from http import HTTPStatus
from typing import Any

from sp_tasks.atlas import unconfirmed

TENANT_NOT_FOUND = "STREAM_TENANT_NOT_FOUND_FOR_NAME"
CONNECTION_NOT_FOUND = "STREAM_CONNECTION_NOT_FOUND_FOR_NAME"
PROCESSOR_GENERIC = "STREAM_PROCESSOR_GENERIC_ERROR"
TENANT_HAS_PROCESSORS = "STREAM_TENANT_HAS_STREAM_PROCESSORS"
VALIDATION_ERROR = "VALIDATION_ERROR"
RATE_LIMITED = "RATE_LIMITED"
RATE_LIMITED_TOKEN_BUCKET = "RATE_LIMITED_TOKEN_BUCKET"
CONNECTION_NAME_EXISTS = "STREAM_CONNECTION_NAME_ALREADY_EXISTS"  # recorded (Terraform CI, 2026)
KAFKA_CONNECTION_DEPLOYING = "STREAM_KAFKA_CONNECTION_IS_DEPLOYING"  # recorded: 409, retryable
NETWORKING_IMMUTABLE = "STREAM_NETWORKING_ACCESS_TYPE_CANNOT_BE_MODIFIED"  # recorded: 400
INVALID_ENUM_VALUE = "INVALID_ENUM_VALUE"
UNEXPECTED_ERROR = "UNEXPECTED_ERROR"
UNAUTHORIZED = "UNAUTHORIZED"
NOT_FOUND = "RESOURCE_NOT_FOUND"


class ApiError(Exception):
    def __init__(self, status: int, code: str, detail: str, parameters: list[Any] | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.parameters = list(parameters or [])
        self.headers = dict(headers or {})  # e.g. Retry-After on a 429

    def envelope(self) -> dict[str, Any]:
        return {
            "detail": self.detail,
            "error": self.status,
            "errorCode": self.code,
            "parameters": self.parameters,
            "reason": HTTPStatus(self.status).phrase,
        }


def tenant_not_found(group_id: str, workspace: str) -> ApiError:
    detail = f"Stream instance for project {group_id} and name {workspace} not found."
    return ApiError(404, TENANT_NOT_FOUND, detail, [group_id, workspace])


def connection_not_found(name: str, group_id: str, workspace: str) -> ApiError:
    detail = f"Stream connection with name {name} for project {group_id} and name {workspace} not found."
    return ApiError(404, CONNECTION_NOT_FOUND, detail, [name, group_id, workspace])


def processor_not_found(name: str, group_id: str, workspace: str) -> ApiError:
    detail = f"Stream processor with name {name} for project {group_id} and name {workspace} not found."
    return ApiError(404, unconfirmed.PROCESSOR_NOT_FOUND_CODE, detail, [name, group_id, workspace])


def processor_problem(name: str, message: str) -> ApiError:
    detail = f"Streams Processor with this name ({name}) had a problem occur: {message}"
    return ApiError(400, PROCESSOR_GENERIC, detail, [name, message])


def duplicate(kind: str, name: str) -> ApiError:
    return ApiError(409, unconfirmed.DUPLICATE_NAME_CODE, f"A {kind} named {name} already exists.", [name])


def duplicate_connection(name: str) -> ApiError:
    return ApiError(409, CONNECTION_NAME_EXISTS, f"A Stream connection with the name {name} already exists.", [name])


def invalid_enum(value: Any) -> ApiError:
    # Atlas's generic wording for a value outside an enum (INVALID_ENUM_VALUE, recorded code).
    return ApiError(400, INVALID_ENUM_VALUE, f"An invalid enumeration value {value} was specified.", [value])


def invalid_attribute(field: str) -> ApiError:
    return ApiError(400, unconfirmed.INVALID_ATTRIBUTE_CODE, f"Invalid attribute {field} specified.", [field])


def invalid_value(field: str, expected: str) -> ApiError:
    detail = f"Invalid value for attribute {field}: expected {expected}."
    return ApiError(400, unconfirmed.INVALID_VALUE_CODE, detail, [field, expected])


def validation(detail: str, *parameters: Any) -> ApiError:
    return ApiError(400, VALIDATION_ERROR, detail, list(parameters))
