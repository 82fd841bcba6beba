"""The API's one JSON error shape: ``{"error": {"code", "message"}}``; internals never leave the server."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from tgportrait.errors import InputError, NotFound, TgPortraitError


class ApiError(Exception):
    """An error answered to the client as-is: HTTP status, stable code, a message safe to show."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def error_response(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.code, exc.message)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return error_response(exc.status_code, f"HTTP-{exc.status_code}", str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(422, "TGP-W422", "request parameters are invalid")

    @app.exception_handler(Exception)
    async def unexpected_error(_request: Request, _exc: Exception) -> JSONResponse:
        return error_response(500, "TGP-W500", "internal error; nothing was stored, please retry")

    @app.exception_handler(TgPortraitError)
    async def library_error(_request: Request, exc: TgPortraitError) -> JSONResponse:
        status = 404 if isinstance(exc, NotFound) else 422 if isinstance(exc, InputError) else 503
        return error_response(status, exc.code, exc.message if status != 503 else "temporarily unavailable")
