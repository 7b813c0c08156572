"""Request-scoped dependencies: the services bundle and the calling principal."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from imgpro import ids
from imgpro.apps.service import SECRET_PREFIX as APP_SECRET_PREFIX
from imgpro.errors import Unauthorized
from imgpro.keys.service import KEY_PREFIX
from imgpro.principal import ANONYMOUS_WORKSPACE_ID, Ability, Mode, Principal
from imgpro.services import Services

ANONYMOUS = Principal(
    mode=Mode.ANONYMOUS,
    workspace_id=ANONYMOUS_WORKSPACE_ID,
    workspace_prefix=ids.shard_prefix(ANONYMOUS_WORKSPACE_ID),
    abilities=frozenset({Ability.WRITE}),
)


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


Svc = Annotated[Services, Depends(get_services)]


async def resolve_principal(request: Request, services: Svc) -> Principal:
    """No Authorization header: anonymous. Otherwise it must be a valid Bearer credential."""
    header = request.headers.get("authorization")
    if header is None:
        return ANONYMOUS
    scheme, _, credential = header.strip().partition(" ")
    credential = credential.strip()
    if scheme.lower() != "bearer" or not credential:
        raise Unauthorized("Authorization must be 'Bearer <API key>'.")
    if credential.startswith(KEY_PREFIX):
        return await services.keys.authenticate(credential)
    if credential.startswith(APP_SECRET_PREFIX):
        return await services.apps.authenticate(
            credential, request.headers.get("x-img-user"), services.clock.now()
        )
    raise Unauthorized("Invalid API key.")


CurrentPrincipal = Annotated[Principal, Depends(resolve_principal)]
