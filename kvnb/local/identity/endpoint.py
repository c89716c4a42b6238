"""The managed-identity token endpoint, speaking App Service's protocol (api-version 2019-08-01).

With ``IDENTITY_ENDPOINT`` and ``IDENTITY_HEADER`` set, an unmodified ``DefaultAzureCredential``
(sync through MSAL, async through azure-core) asks here for tokens. The header value picks the
local identity; a disabled or unknown identity gets the error an App Service endpoint gives, which
the SDK turns into ``CredentialUnavailableError``.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


def _error(status: int, code: str, description: str) -> JSONResponse:
    return JSONResponse({"error": code, "error_description": description}, status_code=status)


async def token(request: Request) -> JSONResponse:
    service = request.app.state.service
    resource = request.query_params.get("resource", "").strip()
    if not resource:
        return _error(400, "invalid_request", "The 'resource' query parameter is required.")
    header = request.headers.get("x-identity-header") or request.headers.get("secret", "")
    principal = service.principal_for_identity_header(header)
    if principal is None or principal["kind"] == "Group":
        return _error(401, "invalid_identity_header", "Unknown X-IDENTITY-HEADER for this endpoint.")
    if not principal["enabled"]:
        return _error(400, "invalid_grant", f"The account {principal['display_name']} is disabled.")
    access_token, expires_on = service.issuer.issue(principal, resource)
    return JSONResponse(
        {
            "access_token": access_token,
            "expires_on": str(expires_on),
            "resource": resource,
            "token_type": "Bearer",
            "client_id": principal["app_id"] or principal["id"],
        }
    )


routes = [Route("/msi/token", token, methods=["GET"])]
