"""OIDC bearer tokens, verified against a real issuer served over HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from sqlalchemy import func, select

from haven.accounts.models import Identity, User
from haven.app import create_app
from haven.db.session import Database
from haven.settings import Settings
from tests.factories import Account, bearer, register
from tests.support import advance, event_types, freeze_clock, fullwidth

AUDIENCE = "haven-test"


@dataclass
class FakeIssuer:
    """An OpenID provider's public side: discovery document and JWKS, over real HTTP."""

    url: str
    documents: dict[str, Any] = field(default_factory=dict)
    hits: Counter[str] = field(default_factory=Counter)

    def publish(self, *jwks: dict[str, Any]) -> None:
        self.documents["/.well-known/openid-configuration"] = {
            "issuer": self.url,
            "jwks_uri": f"{self.url}/jwks.json",
        }
        self.documents["/jwks.json"] = {"keys": list(jwks)}


@dataclass
class SigningKey:
    kid: str
    algorithm: str
    private: Any
    jwk: dict[str, Any]

    def sign(self, claims: dict[str, Any], *, kid: str | None = "default") -> str:
        headers = {"kid": self.kid if kid == "default" else kid} if kid is not None else {}
        return jwt.encode(claims, self.private, algorithm=self.algorithm, headers=headers)


def rsa_key(kid: str) -> SigningKey:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = RSAAlgorithm.to_jwk(private.public_key(), as_dict=True)
    return SigningKey(kid, "RS256", private, {**jwk, "kid": kid, "use": "sig", "alg": "RS256"})


def ec_key(kid: str) -> SigningKey:
    private = ec.generate_private_key(ec.SECP256R1())
    jwk = ECAlgorithm.to_jwk(private.public_key(), as_dict=True)
    return SigningKey(kid, "ES256", private, {**jwk, "kid": kid, "use": "sig", "alg": "ES256"})


@pytest.fixture(scope="module")
def issuer_server() -> Iterator[FakeIssuer]:
    issuer = FakeIssuer(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            issuer.hits[self.path] += 1
            document = issuer.documents.get(self.path)
            body = json.dumps(document).encode()
            self.send_response(200 if document is not None else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    issuer.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield issuer
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def main_key() -> SigningKey:
    return rsa_key("main")


@pytest.fixture
def issuer(issuer_server: FakeIssuer, main_key: SigningKey) -> FakeIssuer:
    issuer_server.documents.clear()
    issuer_server.hits.clear()
    issuer_server.publish(main_key.jwk)
    return issuer_server


def _oidc_client(settings: Settings, database: Database, **overrides: Any) -> httpx.AsyncClient:
    app = create_app(settings.model_copy(update=overrides), database=database)
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50001))
    return httpx.AsyncClient(transport=transport, base_url="http://test/api/v1")


@pytest.fixture
async def oidc(
    settings: Settings, database: Database, issuer: FakeIssuer
) -> AsyncIterator[httpx.AsyncClient]:
    async with _oidc_client(
        settings, database, oidc_issuer=issuer.url, oidc_audience=AUDIENCE
    ) as client:
        yield client


def claims(issuer: FakeIssuer, **overrides: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    base: dict[str, Any] = {
        "iss": issuer.url,
        "aud": AUDIENCE,
        "sub": "user-123",
        "email": "Dana@Example.com",
        "email_verified": True,
        "name": "Dana",
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(hours=1)).timestamp()),
    }
    base.update(overrides)
    return {key: value for key, value in base.items() if value is not None}


async def test_a_valid_token_signs_in_and_creates_the_account_once(
    oidc: httpx.AsyncClient, issuer: FakeIssuer, main_key: SigningKey, database: Database
) -> None:
    headers = bearer(main_key.sign(claims(issuer)))

    first = await oidc.get("/me", headers=headers)
    second = await oidc.get("/me", headers=headers)

    assert first.status_code == 200, first.text
    assert first.json()["email"] == "dana@example.com"
    assert first.json()["name"] == "Dana"
    assert second.json()["id"] == first.json()["id"]
    workspaces = (await oidc.get("/workspaces", headers=headers)).json()["items"]
    assert [(w["is_personal"], w["role"]) for w in workspaces] == [(True, "owner")]
    async with database.sessions() as session:
        identities = await session.scalar(select(func.count()).select_from(Identity))
        user = await session.get(User, uuid.UUID(first.json()["id"]))
    assert identities == 1
    assert user is not None
    assert user.password_hash is None
    assert "haven.user.registered" in await event_types(database)
    # The keys were fetched once and served from the cache after that.
    assert issuer.hits["/jwks.json"] == 1
    assert issuer.hits["/.well-known/openid-configuration"] == 1


async def test_concurrent_first_sign_ins_make_one_account(
    oidc: httpx.AsyncClient, issuer: FakeIssuer, main_key: SigningKey, database: Database
) -> None:
    headers = bearer(main_key.sign(claims(issuer, sub="racer", email="racer@example.com")))

    responses = await asyncio.gather(*(oidc.get("/me", headers=headers) for _ in range(3)))

    assert [r.status_code for r in responses] == [200, 200, 200], [r.text for r in responses]
    assert len({r.json()["id"] for r in responses}) == 1
    async with database.sessions() as session:
        users = await session.scalar(select(func.count()).select_from(User))
    assert users == 1


async def test_the_account_cannot_sign_in_with_a_password(
    oidc: httpx.AsyncClient, issuer: FakeIssuer, main_key: SigningKey
) -> None:
    await oidc.get("/me", headers=bearer(main_key.sign(claims(issuer))))

    response = await oidc.post(
        "/auth/login", json={"email": "dana@example.com", "password": "anything at all"}
    )

    assert response.status_code == 401


@pytest.mark.parametrize(
    ("case", "overrides"),
    [
        ("wrong audience", {"aud": "someone-else"}),
        ("no audience", {"aud": None}),
        ("wrong issuer", {"iss": "https://evil.example.com"}),
        ("expired", {"exp": int((datetime.now(UTC) - timedelta(minutes=5)).timestamp())}),
        ("no expiry", {"exp": None}),
        ("no subject", {"sub": None}),
        ("not yet valid", {"nbf": int((datetime.now(UTC) + timedelta(hours=1)).timestamp())}),
        ("unverified email", {"email_verified": False}),
        ("no email", {"email": None}),
    ],
)
async def test_bad_tokens_are_refused(
    oidc: httpx.AsyncClient,
    issuer: FakeIssuer,
    main_key: SigningKey,
    case: str,
    overrides: dict[str, Any],
) -> None:
    response = await oidc.get("/me", headers=bearer(main_key.sign(claims(issuer, **overrides))))

    assert response.status_code == 401, case
    assert response.headers["content-type"] == "application/problem+json"


async def test_a_token_signed_by_another_key_is_refused(
    oidc: httpx.AsyncClient, issuer: FakeIssuer
) -> None:
    impostor = rsa_key("main")  # claims the published key id, but is not that key

    response = await oidc.get("/me", headers=bearer(impostor.sign(claims(issuer))))

    assert response.status_code == 401


async def test_an_unknown_key_id_is_refused_after_one_refetch(
    oidc: httpx.AsyncClient, issuer: FakeIssuer, main_key: SigningKey
) -> None:
    await oidc.get("/me", headers=bearer(main_key.sign(claims(issuer))))
    now = freeze_clock(datetime.now(UTC))
    advance(now, seconds=31)

    unknown = await oidc.get("/me", headers=bearer(main_key.sign(claims(issuer), kid="nope")))
    again = await oidc.get("/me", headers=bearer(main_key.sign(claims(issuer), kid="nope")))

    assert unknown.status_code == again.status_code == 401
    # One refetch for the unknown key id, then none while the issuer was just asked.
    assert issuer.hits["/jwks.json"] == 2


async def test_a_rotated_key_is_picked_up(
    oidc: httpx.AsyncClient, issuer: FakeIssuer, main_key: SigningKey
) -> None:
    now = freeze_clock(datetime.now(UTC))
    assert (await oidc.get("/me", headers=bearer(main_key.sign(claims(issuer))))).status_code == 200
    rotated = rsa_key("next")
    issuer.publish(main_key.jwk, rotated.jwk)

    advance(now, seconds=31)
    response = await oidc.get("/me", headers=bearer(rotated.sign(claims(issuer))))

    assert response.status_code == 200


async def test_the_algorithm_must_be_rs256_or_es256(
    oidc: httpx.AsyncClient, issuer: FakeIssuer, main_key: SigningKey
) -> None:
    hs256 = jwt.encode(
        claims(issuer),
        "a-shared-secret-of-sufficient-length!",
        algorithm="HS256",
        headers={"kid": "main"},
    )
    unsigned = jwt.encode(claims(issuer), "", algorithm="none", headers={"kid": "main"})

    assert (await oidc.get("/me", headers=bearer(hs256))).status_code == 401
    assert (await oidc.get("/me", headers=bearer(unsigned))).status_code == 401


async def test_es256_tokens_work(
    settings: Settings, database: Database, issuer: FakeIssuer, main_key: SigningKey
) -> None:
    ec_signing = ec_key("ec")
    issuer.publish(main_key.jwk, ec_signing.jwk)

    async with _oidc_client(
        settings, database, oidc_issuer=issuer.url, oidc_audience=AUDIENCE
    ) as client:
        response = await client.get("/me", headers=bearer(ec_signing.sign(claims(issuer))))

    assert response.status_code == 200, response.text


async def test_a_configured_jwks_url_skips_discovery_and_a_lone_key_needs_no_kid(
    settings: Settings, database: Database, issuer: FakeIssuer, main_key: SigningKey
) -> None:
    async with _oidc_client(
        settings,
        database,
        oidc_issuer=issuer.url,
        oidc_audience=None,
        oidc_jwks_url=f"{issuer.url}/jwks.json",
    ) as client:
        token = main_key.sign(claims(issuer, aud=None), kid=None)
        response = await client.get("/me", headers=bearer(token))

    assert response.status_code == 200, response.text
    assert issuer.hits["/.well-known/openid-configuration"] == 0


async def test_an_unreachable_issuer_means_401(
    settings: Settings, database: Database, main_key: SigningKey
) -> None:
    nowhere = "http://127.0.0.1:9"  # discard port: nothing listens

    async with _oidc_client(settings, database, oidc_issuer=nowhere) as client:
        token = main_key.sign({"iss": nowhere, "sub": "x", "exp": 4102444800})
        response = await client.get("/me", headers=bearer(token))

    assert response.status_code == 401


async def test_a_verified_email_links_the_existing_account(
    oidc: httpx.AsyncClient, client: httpx.AsyncClient, issuer: FakeIssuer, main_key: SigningKey
) -> None:
    alice = await register(client, email="alice@example.com")

    response = await oidc.get(
        "/me", headers=bearer(main_key.sign(claims(issuer, email="alice@example.com")))
    )

    assert response.status_code == 200
    assert response.json()["id"] == alice.id
    password_login = await client.post(
        "/auth/login", json={"email": alice.email, "password": alice.password}
    )
    assert password_login.status_code == 200


async def test_a_verified_email_links_the_account_however_it_is_spelled(
    oidc: httpx.AsyncClient, client: httpx.AsyncClient, issuer: FakeIssuer, main_key: SigningKey
) -> None:
    alice = await register(client, email="alice@example.com")
    spelled = fullwidth("ALICE") + "@Example.COM"

    response = await oidc.get("/me", headers=bearer(main_key.sign(claims(issuer, email=spelled))))

    assert response.status_code == 200
    assert response.json()["id"] == alice.id


async def test_an_unverified_claim_does_not_take_over_an_existing_account(
    oidc: httpx.AsyncClient, client: httpx.AsyncClient, issuer: FakeIssuer, main_key: SigningKey
) -> None:
    await register(client, email="alice@example.com")

    without_claim = claims(issuer, email="alice@example.com", email_verified=None)
    response = await oidc.get("/me", headers=bearer(main_key.sign(without_claim)))

    assert response.status_code == 401


async def test_a_new_user_without_the_claim_is_created(
    oidc: httpx.AsyncClient, issuer: FakeIssuer, main_key: SigningKey
) -> None:
    token = main_key.sign(claims(issuer, email_verified=None, zoneinfo="Europe/Paris"))

    response = await oidc.get("/me", headers=bearer(token))

    assert response.status_code == 200
    assert response.json()["timezone"] == "Europe/Paris"


async def test_local_tokens_still_work_when_oidc_is_on(
    oidc: httpx.AsyncClient, alice: Account
) -> None:
    response = await oidc.get("/me", headers=alice.headers)

    assert response.status_code == 200
    assert response.json()["id"] == alice.id
