"""API tokens over HTTP. A secret is returned once, when the token is created."""

from __future__ import annotations

from typing import Annotated

from fastapi import status

from orderly.auth import service
from orderly.auth.schemas import IssuedTokenOut, TokenIn, TokenOut
from orderly.core.web import DbSession, ReadSession, api_router, id_path

router = api_router("auth")

TokenId = Annotated[int, id_path("token")]


@router.get("/tokens", response_model=list[TokenOut])
def list_tokens(session: ReadSession) -> list[TokenOut]:
    """Every token, revoked ones included; never the secrets."""
    return [TokenOut.model_validate(info) for info in service.list_tokens(session)]


@router.post("/tokens", response_model=IssuedTokenOut, status_code=status.HTTP_201_CREATED)
def create_token(session: DbSession, body: TokenIn) -> IssuedTokenOut:
    return IssuedTokenOut.model_validate(service.create_token(session, body.name))


@router.delete("/tokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke_token(session: DbSession, token_id: TokenId) -> None:
    """Revoke at once; revoking a revoked token changes nothing."""
    service.revoke_token(session, token_id)
