"""The secret rules (sp_tasks.secrets) and the JSON pointer code (sp_tasks.pointers) on plain data."""
from __future__ import annotations

import pytest

from sp_tasks import pointers, secrets
from sp_tasks.secrets import MARK


@pytest.mark.parametrize("name", ["password", "clientSecret", "sslKey", "sslKeyPassword", "Authorization",
                                  "x-api-key", "apiKey", "X-Auth-Token", "privateKey", "secretAccessKey", "api_key",
                                  "API_TOKEN", "KAFKA_PASSWORD", "SIGNING_KEY"])
def test_credential_looking_names(name):
    assert secrets.is_secret_name(name)


@pytest.mark.parametrize("name", ["username", "tokenEndpointUrl", "partitionKey", "keyFormat", "sslCertificate",
                                  "brokerPublicCertificate", "key", "mechanism", "Content-Type", "KAFKA_USERNAME",
                                  "CLUSTER_NAME", "REGION"])
def test_names_that_are_not_credentials(name):
    assert not secrets.is_secret_name(name)


def test_connection_secrets_are_write_only_fields_credential_keys_and_credential_header_values():
    body = {"type": "Kafka", "authentication": {"username": "u", "password": "p", "clientSecret": "s"},
            "headers": {"X-Custom": "Bearer abc", "Accept": "application/json"}, "list": [{"token": "t"}]}
    assert secrets.connection_secrets(body) == ("/authentication/clientSecret", "/authentication/password",
                                                "/headers/X-Custom", "/list/0/token")
    assert secrets.connection_secrets({"url": "https://x"}) == ()


def test_declared_connection_secrets_are_kept_even_when_the_body_lacks_them():
    # A snapshot's Kafka connection has no password (write-only): the Git file supplies it.
    snapshot_body = {"type": "Kafka", "authentication": {"mechanism": "PLAIN", "username": "u"}}
    assert secrets.connection_secrets(snapshot_body, declared=("/authentication/password",)) == \
        ("/authentication/password",)


def test_a_username_requires_its_write_only_password_and_a_client_id_its_secret():
    assert secrets.required_secrets({"type": "Kafka", "authentication": {"username": "u"}}) == \
        ("/authentication/password",)
    assert secrets.required_secrets({"authentication": {"clientId": "c"}}, "Kafka") == ("/authentication/clientSecret",)
    assert secrets.required_secrets({"type": "SchemaRegistry",
                                     "schemaRegistryAuthentication": {"type": "USER_INFO", "username": "u"}}) == \
        ("/schemaRegistryAuthentication/password",)
    assert secrets.required_secrets({"type": "Kafka", "authentication": {"aws": {"roleArn": "arn:x"}}}) == ()
    assert secrets.required_secrets({"type": ["not", "a", "type"]}) == ()


def test_processor_secrets_live_in_http_stages_only_at_any_depth():
    https = {"$https": {"connectionName": "api", "as": "r", "headers": {"Authorization": "Bearer t", "X-Trace": "1"},
                        "parameters": {"api_key": "k", "q": "solar"},
                        "payload": [{"$project": {"token": "$doc.token", "n": 1}},
                                    {"$addFields": {"apiKey": "k-123", "secret": "$$secret"}}]}}
    window = {"$tumblingWindow": {"interval": {"size": 1, "unit": "second"},
                                  "pipeline": [{"$externalFunction": {"connectionName": "l", "functionName": "f",
                                                                      "payload": [{"$addFields": {"x": "Basic YWJj"}}]}}]}}
    doc = {"pipeline": [{"$project": {"password": 0, "token": "visible"}}, https, window]}
    assert secrets.processor_secrets(doc) == (
        "/pipeline/1/$https/headers/Authorization",
        "/pipeline/1/$https/parameters/api_key",
        "/pipeline/1/$https/payload/1/$addFields/apiKey",
        "/pipeline/2/$tumblingWindow/pipeline/0/$externalFunction/payload/0/$addFields/x",
    )


def test_needed_secrets_come_from_git_when_declared_else_from_a_real_value():
    doc = {"a": "real", "b": MARK}
    assert secrets.needed_secrets(doc, ["/a", "/b", "/c"], declared=["/c"]) == (("/a", "/b", "/c"), ("/b",))


def test_redact_hides_present_values_and_never_touches_the_original():
    doc = {"pipeline": [{"$https": {"headers": {"Authorization": "Bearer t"}}}]}
    shown = secrets.redact(doc, ["/pipeline/0/$https/headers/Authorization", "/absent"])
    assert shown == {"pipeline": [{"$https": {"headers": {"Authorization": MARK}}}]}
    assert doc["pipeline"][0]["$https"]["headers"]["Authorization"] == "Bearer t"
    assert secrets.redact(doc, ["/absent"]) is doc
    assert secrets.marked(shown) == ("/pipeline/0/$https/headers/Authorization",)


def test_redact_at_hides_secrets_inside_or_at_a_changed_place():
    secret = ["/pipeline/1/$https/headers/Authorization"]
    stage = {"$https": {"headers": {"Authorization": "Bearer t", "Accept": "json"}}}
    assert secrets.redact_at(stage, "/pipeline/1", secret) == {"$https": {"headers": {"Authorization": MARK,
                                                                                       "Accept": "json"}}}
    assert secrets.redact_at("Bearer t", secret[0], secret) == MARK
    assert secrets.redact_at(None, secret[0], secret) is None
    assert secrets.redact_at({"x": 1}, "/pipeline/0", secret) == {"x": 1}


def test_pointers_escape_join_split_get_put_and_remove():
    pointer = pointers.join("/config", "a/b~c")
    assert pointer == "/config/a~1b~0c" and pointers.split(pointer) == ["config", "a/b~c"]
    doc = {"config": {"a/b~c": 1}, "list": [{"x": 1}, {"x": 2}]}
    assert pointers.get(doc, pointer) == 1 and pointers.get(doc, "/list/1/x") == 2
    assert pointers.get(doc, "/list/7/x") is None and pointers.get(doc, "/config/a~1b~0c/deeper") is None
    assert pointers.remove(doc, "/list/0/x") == {"config": {"a/b~c": 1}, "list": [{}, {"x": 2}]}
    assert pointers.remove(doc, "/list/0") == {"config": {"a/b~c": 1}, "list": [{"x": 2}]}
    assert pointers.remove(doc, "/nothing/here") is doc and doc["list"][0] == {"x": 1}
    pointers.put(doc, "/auth/password", "p")
    pointers.put(doc, "/list/1/x", 3)
    assert doc["auth"] == {"password": "p"} and doc["list"][1] == {"x": 3}
