"""``POST /v1/connect/exchange``: an app's backend trades a hosted-login code for the user."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from imgpro.api.bodies import body_schema, read_json
from imgpro.api.deps import Svc
from imgpro.apps.service import SECRET_PREFIX
from imgpro.errors import Unauthorized

router = APIRouter(prefix="/v1", tags=["connect"])


class ExchangeBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(..., min_length=1, max_length=512)
    redirect_uri: str = Field(..., min_length=1, max_length=2000)


class ConnectedUser(BaseModel):
    object: str = "user"
    id: str
    email: str


@router.post(
    "/connect/exchange",
    response_model=ConnectedUser,
    summary="Exchange a code",
    openapi_extra=body_schema(ExchangeBody),
)
async def exchange(request: Request, services: Svc) -> dict[str, Any]:
    # The secret alone authenticates this call: no user is named until the code says who.
    scheme, _, secret = request.headers.get("authorization", "").strip().partition(" ")
    secret = secret.strip()
    if scheme.lower() != "bearer" or not secret.startswith(SECRET_PREFIX):
        raise Unauthorized("This endpoint needs the app's secret (Bearer img_sk_live_…).")
    app = await services.apps.authenticate_app(secret, services.clock.now())
    data = await read_json(request, ExchangeBody)
    return await services.apps.exchange(
        app.id, data["code"], data["redirect_uri"], services.clock.now()
    )
