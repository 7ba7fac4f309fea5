"""The API's edges: bounded paging, every response in the OpenAPI document (and in docs/api.md),
token revocation through the API."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from qiao.api.models import ApiToken
from qiao.api.services import api_token_issue
from qiao.audit.models import AuditEvent

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"


def _bearer(raw: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


@pytest.mark.parametrize(
    "query, field",
    [
        ("page=9223372036854775807", "page"),
        ("page=99999999999999999999999999", "page"),
        ("page=1000001", "page"),
        ("page=0", "page"),
        ("page=-3", "page"),
        ("page_size=101", "page_size"),
        ("page_size=9223372036854775807", "page_size"),
        ("page_size=0", "page_size"),
        ("page_size=-1", "page_size"),
    ],
)
def test_page_out_of_bounds_is_a_400_naming_the_parameter(bank, client, query, field):
    raw, _token = api_token_issue(staff=bank.staff["head_office"])
    response = client.get(f"/api/customers?{query}", **_bearer(raw))
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["error"] == "The filter is not valid."
    assert set(body["fields"]) == {field}
    assert "between" in body["fields"][field]


def test_pages_at_the_bounds_still_answer(bank, client):
    raw, _token = api_token_issue(staff=bank.staff["head_office"])
    last = client.get("/api/customers?page=1000000&page_size=100", **_bearer(raw))
    assert last.status_code == 200
    assert last.json() == {"items": [], "count": 5}
    first = client.get("/api/customers?page=1&page_size=1", **_bearer(raw)).json()
    assert len(first["items"]) == 1 and first["count"] == 5
    not_a_number = client.get("/api/customers?page=two", **_bearer(raw))
    assert not_a_number.status_code == 422
    assert "page" in not_a_number.json()["fields"]


def _responses(client) -> dict[tuple[str, str], set[int]]:
    schema = client.get("/api/openapi.json").json()
    return {
        (method.upper(), path): {int(code) for code in operation["responses"]}
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
    }


def test_openapi_lists_every_response_of_every_route(bank, client):
    documented = _responses(client)
    expected = {
        ("POST", "/api/auth/token"): {200, 401, 422, 429},
        ("DELETE", "/api/auth/token"): {204, 401},
        ("GET", "/api/auth/tokens"): {200, 401},
        ("DELETE", "/api/auth/tokens/{token_id}"): {204, 401, 404, 422},
        ("GET", "/api/customers"): {200, 400, 401, 422},
        ("GET", "/api/customers/{customer_no}"): {200, 401, 404},
        ("PATCH", "/api/customers/{customer_no}"): {200, 400, 401, 403, 404, 422},
        ("POST", "/api/customers/{customer_no}/reveal"): {200, 400, 401, 403, 404, 422, 429},
    }
    for route, codes in expected.items():
        assert documented.get(route) == codes, route
    # Every route behind the token documents the 401; every route that takes typed input, the 422.
    schema = client.get("/api/openapi.json").json()
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            codes = {int(c) for c in operation["responses"]}
            if operation.get("security"):
                assert 401 in codes, (method, path)
            if operation.get("requestBody") or any(
                p.get("in") == "query" for p in operation.get("parameters", [])
            ):
                assert 422 in codes, (method, path)
            for code, response in operation["responses"].items():
                if int(code) >= 400:
                    ref = json.dumps(response)
                    assert "ErrorOut" in ref, (method, path, code)


def test_docs_api_md_agrees_with_the_openapi_document(bank, client):
    documented = _responses(client)
    text = DOC.read_text(encoding="utf-8")
    # Each route's section: a heading "### `METHOD /api/path`" and a line "Responses: 200, 404 …".
    sections = re.findall(
        r"^### `(GET|POST|PATCH|PUT|DELETE) (/api/[^`]*)`\n(.*?)(?=^#{2,3} |\Z)",
        text,
        flags=re.M | re.S,
    )
    in_doc: dict[tuple[str, str], set[int]] = {}
    for method, path, body in sections:
        # The paragraph "Responses: 200, 400 (why), 401 …" up to the next blank line.
        para = re.search(r"^Responses: (.*?)(?:\n\n|\Z)", body, flags=re.M | re.S)
        assert para, f"{method} {path}: no 'Responses:' paragraph in docs/api.md"
        # Drop the explanations in brackets, keep the codes of the comma-separated list.
        listed = re.sub(r"\([^)]*\)", "", para.group(1).replace("\n", " "))
        in_doc[(method, path)] = {int(c) for c in re.findall(r"(?:^|,)\s*([1-5]\d\d)\b", listed)}
    ours = {route: codes for route, codes in documented.items() if "/worklist" not in route[1]}
    ours = {route: codes for route, codes in ours.items() if "/contacts" not in route[1]}
    assert in_doc == ours


def test_reveal_without_a_reason_is_the_documented_422(bank, client):
    raw, _token = api_token_issue(staff=bank.staff["cm_owner"])
    response = client.post(
        "/api/customers/P0000001/reveal",
        json.dumps({"field": "mobile"}),
        content_type="application/json",
        **_bearer(raw),
    )
    assert response.status_code == 422
    assert "reason" in response.json()["fields"]
    assert 422 in _responses(client)[("POST", "/api/customers/{customer_no}/reveal")]


def test_a_token_revokes_itself(bank, client):
    owner = bank.staff["cm_owner"]
    raw, token = api_token_issue(staff=owner)
    other_raw, _other = api_token_issue(staff=owner)
    assert client.get("/api/customers", **_bearer(raw)).status_code == 200
    response = client.delete("/api/auth/token", **_bearer(raw))
    assert response.status_code == 204
    assert not ApiToken.objects.filter(pk=token.pk).exists()
    assert client.get("/api/customers", **_bearer(raw)).status_code == 401
    assert client.delete("/api/auth/token", **_bearer(raw)).status_code == 401
    # The person's other token (another device) is untouched.
    assert client.get("/api/customers", **_bearer(other_raw)).status_code == 200
    event = AuditEvent.objects.get(action="TOKEN_REVOKE")
    assert (event.username, event.channel) == ("cm_owner", "API")
    assert event.detail == {"prefix": token.prefix, "how": "itself"}
    assert raw not in json.dumps(event.detail)


def test_list_and_revoke_ones_own_tokens_by_id(bank, client):
    owner, peer = bank.staff["cm_owner"], bank.staff["cm_peer"]
    raw, current = api_token_issue(staff=owner)
    _raw2, second = api_token_issue(staff=owner)
    _peer_raw, peers = api_token_issue(staff=peer)
    listing = client.get("/api/auth/tokens", **_bearer(raw))
    assert listing.status_code == 200
    items = listing.json()["items"]
    assert {i["id"] for i in items} == {current.pk, second.pk}
    assert [i["current"] for i in items if i["id"] == current.pk] == [True]
    assert all(
        set(i) == {"id", "prefix", "created_at", "expires_at", "last_used_at", "current"}
        for i in items
    )
    assert current.key_hash not in listing.content.decode()
    # Somebody else's token: the same answer as no such token, and it stays.
    foreign = client.delete(f"/api/auth/tokens/{peers.pk}", **_bearer(raw))
    assert foreign.status_code == 404
    assert ApiToken.objects.filter(pk=peers.pk).exists()
    assert client.delete("/api/auth/tokens/999999999", **_bearer(raw)).status_code == 404
    assert client.delete(f"/api/auth/tokens/{second.pk}", **_bearer(raw)).status_code == 204
    assert not ApiToken.objects.filter(pk=second.pk).exists()
    assert client.get("/api/customers", **_bearer(raw)).status_code == 200
    assert AuditEvent.objects.filter(action="TOKEN_REVOKE", username="cm_owner").count() == 1
    assert client.delete("/api/auth/tokens/x", **_bearer(raw)).status_code == 422
    assert client.get("/api/auth/tokens").status_code == 401


def test_nul_characters_are_refused_not_a_server_error(bank, client):
    # PostgreSQL stores no NUL in text or JSON: a reason with one was a 500 there (the audit row).
    raw, _token = api_token_issue(staff=bank.staff["cm_owner"])
    bodies = [
        ("post", "/api/customers/P0000001/reveal", {"field": "mobile", "reason": "回访\x00"}),
        ("patch", "/api/customers/P0000001", {"hobbies": "钓鱼\x00"}),
        ("patch", "/api/customers/P0000001", {"na\x00me": "x"}),
        ("post", "/api/auth/token", {"username": "cm_owner\x00", "password": "x"}),
    ]
    for method, path, body in bodies:
        response = getattr(client, method)(
            path, json.dumps(body), content_type="application/json", **_bearer(raw)
        )
        assert response.status_code == 422, (path, response.content)
        assert response.json()["fields"] == {"body": "Text may not contain NUL characters."}
    assert not AuditEvent.objects.filter(action="REVEAL").exists()
    assert client.get("/api/customers/P00%0001", **_bearer(raw)).status_code == 404
    not_json = client.post(
        "/api/customers/P0000001/reveal", "{", content_type="application/json", **_bearer(raw)
    )
    assert not_json.status_code == 422
    assert not_json.json()["fields"] == {"body": "The request body is not valid JSON."}
