"""API tokens over HTTP, for admin tokens only. A secret is returned once, when the token is created."""

from __future__ import annotations

from typing import Annotated

from fastapi import Request, status

from orderly.auth import service
from orderly.auth.gate import TokenGate
from orderly.auth.schemas import IssuedTokenOut, TokenIn, TokenOut
from orderly.core.db import transaction
from orderly.core.web import DbSession, Factory, ReadSession, api_router, id_path

router = api_router("auth", admin=True)

TokenId = Annotated[int, id_path("token")]


@router.get("/tokens", response_model=list[TokenOut])
def list_tokens(session: ReadSession) -> list[TokenOut]:
    """Every token, revoked ones included; never the secrets."""
    return [TokenOut.model_validate(info) for info in service.list_tokens(session)]


@router.post("/tokens", response_model=IssuedTokenOut, status_code=status.HTTP_201_CREATED)
def create_token(session: DbSession, body: TokenIn) -> IssuedTokenOut:
    """A token with a scope (`write` unless asked) and perhaps an expiry."""
    issued = service.create_token(session, body.name, scope=body.scope, expires_at=body.expires_at)
    return IssuedTokenOut.model_validate(issued)


@router.delete("/tokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke_token(request: Request, factory: Factory, token_id: TokenId) -> None:
    """Revoke: refused from the next request on by this hub process, within seconds by others;
    revoking a revoked token changes nothing."""
    with transaction(factory) as session:
        service.revoke_token(session, token_id)
    gate: TokenGate = request.app.state.tokens
    gate.forget(token_id)  # once committed: a check made before would find the token live again
