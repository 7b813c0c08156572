"""The one upload use case: every way an image arrives goes through :meth:`UploadFlow.upload`.

``POST /v1/images`` (API and the try-it form's JavaScript), the try-it form without
JavaScript (``/try``) and the dashboard (``/dashboard/upload``) are thin adapters: they turn
their request into an :class:`UploadRequest` and render the :class:`UploadResult` (JSON or
HTML). The policy lives here, once, in this order:

1. anonymous callers take a slot of their address's rate limit **before a byte of the body is
   read** (429 when none is left; every answer carries the RateLimit headers);
2. the size caps of the principal (anonymous, key, SVG — settings, never literals), and a
   declared ``Content-Length`` past them is refused before reading;
3. the body: multipart streamed to disk while hashed (``images/multipart.py``), or, on the
   API, a JSON URL import;
4. ``Idempotency-Key``: claim, replay, a lease held while storing, and the "done" record
   committed in the image row's own transaction (``images/idempotency.py``);
5. probe and record (``ImageService.create``).

The entry points differ only in what :class:`Entry` says (how many files, whether form fields
are image options, what a missing file is called on that face).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from imgpro.clock import Clock
from imgpro.errors import (
    ApiError,
    BadRequest,
    IdempotencyInProgress,
    UnsupportedMediaType,
    ValidationFailed,
)
from imgpro.images.fields import UploadOptions, upload_options
from imgpro.images.fingerprint import import_fingerprint, upload_fingerprint
from imgpro.images.idempotency import Claim, IdempotencyStore, Replay, check_key
from imgpro.images.import_gate import ImportGate, until_disconnect
from imgpro.images.intake import Caps, SpooledFile
from imgpro.images.multipart import MULTIPART_OVERHEAD, Form, is_multipart, read_multipart
from imgpro.images.schemas import ImportBody
from imgpro.images.service import ImageService, OnCommit
from imgpro.imaging.probe import sniff
from imgpro.jsonbody import is_json, parse_json
from imgpro.principal import Principal
from imgpro.ratelimit import RateLimiter
from imgpro.settings import MB, Settings

# The page forms carry their Idempotency-Key as a hidden field (a plain form sends no headers).
IDEMPOTENCY_FIELD = "idempotency_key"
MAX_FORM_FILES = 20  # the dashboard's plain form may carry several files

# Import failures that cost the server work (lookups, connects, downloads) and count against
# the failed-imports rate limit.
_IMPORT_FAILURES = frozenset(
    {
        "fetch_failed",
        "import_failed",
        "file_too_large",
        "unsupported_format",
        "invalid_image",
        "image_too_large",
    }
)

Receive = Callable[[], Awaitable[Mapping[str, Any]]]


@dataclass(frozen=True)
class Entry:
    """What one entry point may send; everything else is the same policy for all."""

    name: str
    no_file: Callable[[], ApiError]  # no file part (or nothing but empty ones)
    wrong_body: Callable[[], ApiError]  # a body that is not multipart (nor an import)
    max_files: int = 1
    options_from_fields: bool = True  # the API's caption/public/ttl/... form fields
    skip_empty_parts: bool = False  # a browser's empty file input is "no file", not a file
    imports: bool = False  # a JSON body imports from a URL
    # A double-submitted page form: wait this long for the first attempt and show its result
    # rather than a 409 (an API client retries by itself).
    wait_for_first_seconds: float = 0.0


API = Entry(
    "api",
    imports=True,
    wrong_body=UnsupportedMediaType,
    no_file=lambda: ValidationFailed(
        "A 'file' part is required.", details=[{"field": "file", "message": "required"}]
    ),
)
TRY_FORM = Entry(
    "try",
    options_from_fields=False,
    skip_empty_parts=True,
    no_file=lambda: ValidationFailed("Choose an image file to upload."),
    wrong_body=lambda: ValidationFailed("Choose an image file to upload."),
)
DASHBOARD = Entry(
    "dashboard",
    max_files=MAX_FORM_FILES,
    options_from_fields=False,
    skip_empty_parts=True,
    wait_for_first_seconds=60.0,
    no_file=lambda: ValidationFailed("Choose at least one image."),
    wrong_body=lambda: BadRequest("Send the files as multipart/form-data."),
)


@dataclass
class UploadRequest:
    """An upload as the edge received it, with no framework in it."""

    principal: Principal
    entry: Entry
    content_type: str
    content_length: str | None
    body: AsyncIterator[bytes]
    peer: str | None = None  # the socket peer; X-Forwarded-For counts only from a trusted proxy
    forwarded_for: Sequence[str] = ()
    idempotency_key: str | None = None  # the header; page forms may send the field instead
    receive: Receive | None = None  # ASGI receive: a hang-up cancels a URL import
    # Called with the form fields after the body is read, before anything is stored
    # (the pages' CSRF token travels in the body).
    check_form: Callable[[dict[str, str]], None] | None = None


@dataclass
class Failure:
    """One file of a several-file form that was refused (the others were still stored)."""

    filename: str | None
    error: ApiError


@dataclass
class UploadResult:
    images: list[dict[str, Any]] = field(default_factory=list)  # created or replayed
    status: int = 201
    replayed: bool = False  # every image came from an earlier attempt with the same key
    headers: dict[str, str] = field(default_factory=dict)  # RateLimit-* for anonymous callers
    failures: list[Failure] = field(default_factory=list)
    files: int = 0  # how many files the request carried


def megabytes(limit: int) -> str:
    return f"{limit / MB:g}"


class UploadFlow:
    def __init__(
        self,
        *,
        settings: Settings,
        clock: Clock,
        images: ImageService,
        idempotency: IdempotencyStore,
        ratelimits: RateLimiter,
        import_gate: ImportGate,
    ) -> None:
        self.settings, self.clock = settings, clock
        self.images, self.idempotency = images, idempotency
        self.ratelimits, self.import_gate = ratelimits, import_gate

    # -- the caps and the prompt, for the pages to show before an upload ------------------
    def signup_label(self) -> str:
        return f"Sign up for {megabytes(self.settings.limits.key_max_bytes)} MB uploads"

    def signup_action(self) -> dict[str, Any]:
        return {
            "type": "signup",
            "url": f"{self.settings.web_base}/signup",
            "label": self.signup_label(),
        }

    def caps(self, principal: Principal) -> Caps:
        limits = self.settings.limits
        if principal.is_anonymous:
            return Caps(
                limits.anon_max_bytes,
                min(limits.svg_max_bytes, limits.anon_max_bytes),
                too_large_action=self.signup_action(),
            )
        return Caps(limits.key_max_bytes, limits.svg_max_bytes)

    # -- the use case ---------------------------------------------------------------------
    async def upload(self, req: UploadRequest) -> UploadResult:
        headers: dict[str, str] = {}
        address = None
        if req.principal.is_anonymous:
            # Before reading a byte of the body: a refused caller costs no disk and no upload.
            address = self.ratelimits.client_address(req.peer, req.forwarded_for)
            headers = (await self.ratelimits.anonymous_upload(address)).headers()
        try:
            result = await self._upload(req, address)
        except ApiError as e:
            e.headers.update(headers)
            raise
        result.headers.update(headers)
        return result

    async def _upload(self, req: UploadRequest, address: str | None) -> UploadResult:
        key = req.idempotency_key
        if key is not None:
            check_key(key)
        caps = self.caps(req.principal)
        if req.entry.imports and is_json(req.content_type):
            return await self._import(req, address, key, caps)
        if not is_multipart(req.content_type):
            raise req.entry.wrong_body()
        declared = req.content_length
        if (
            declared
            and declared.isdigit()
            and (int(declared) > req.entry.max_files * (caps.max_bytes + MULTIPART_OVERHEAD))
        ):
            raise caps.error(caps.max_bytes)  # refuse before reading a byte
        form = await read_multipart(
            req.content_type,
            req.body,
            self.images.tmp_dir,
            caps,
            max_files=req.entry.max_files,
            skip_empty=req.entry.skip_empty_parts,
        )
        try:
            return await self._store_form(req, form, key)
        finally:
            form.discard()  # whatever was not moved into the blob store

    async def _store_form(self, req: UploadRequest, form: Form, key: str | None) -> UploadResult:
        entry = req.entry
        if req.check_form is not None:
            req.check_form(form.fields)
        if key is None and not entry.options_from_fields and form.fields.get(IDEMPOTENCY_FIELD):
            key = check_key(form.fields[IDEMPOTENCY_FIELD])
        if not form.files:
            raise entry.no_file()
        opts = upload_options(form.fields) if entry.options_from_fields else UploadOptions()
        fields = form.fields if entry.options_from_fields else {}
        result = UploadResult(files=len(form.files))
        all_replayed = True
        for i, spooled in enumerate(form.files):
            # Several files of one form: one key each, derived from the form's, so a
            # double-submitted form replays every file it already stored.
            file_key = key if key is None or len(form.files) == 1 else check_key(f"{key}.{i}")
            fingerprint = upload_fingerprint(
                file_sha256=spooled.sha256,
                filename=spooled.filename,
                content_type=spooled.content_type,
                fields=fields,
            )

            async def create(
                on_commit: OnCommit | None, spooled: SpooledFile = spooled
            ) -> dict[str, Any]:
                return await self.images.create(req.principal, spooled, opts, on_commit=on_commit)

            try:
                image, result.status, replayed = await self._once(
                    req, file_key, fingerprint, create
                )
            except ApiError as e:
                if entry.max_files == 1:
                    raise
                result.failures.append(Failure(spooled.filename, e))  # the others still go
                continue
            result.images.append(image)
            all_replayed = all_replayed and replayed
        if not result.images:
            result.status = result.failures[-1].error.status
        result.replayed = all_replayed and bool(result.images)
        return result

    async def _once(
        self,
        req: UploadRequest,
        key: str | None,
        fingerprint: str,
        work: Callable[[OnCommit | None], Awaitable[dict[str, Any]]],
    ) -> tuple[dict[str, Any], int, bool]:
        """Run ``work`` once per key: (Image object, status, replayed)."""
        if key is None:
            return await work(None), 201, False
        outcome = await self._claim(req, key, fingerprint)
        if isinstance(outcome, Replay):
            return outcome.body, outcome.status, True
        claim = outcome

        async def on_commit(conn: Any, image: dict[str, Any]) -> None:
            await claim.complete_in(conn, 201, image)  # commits with the image row, or neither

        try:
            async with claim.held():  # renews the lease while the upload is stored (or fetched)
                image = await work(on_commit)
        except BaseException:
            # Failed: free the key for a corrected retry. If even that fails (storage down, the
            # process dying), the lease runs out and the next retry takes the claim over.
            with contextlib.suppress(Exception):
                await claim.release()
            raise
        return image, 201, False

    async def _claim(self, req: UploadRequest, key: str, fingerprint: str) -> Replay | Claim:
        scope = req.principal.idempotency_scope
        deadline = time.monotonic() + req.entry.wait_for_first_seconds
        pause = 0.05
        while True:
            try:
                return await self.idempotency.claim(scope, key, fingerprint, self.clock.now())
            except IdempotencyInProgress:
                if time.monotonic() + pause > deadline:
                    raise
            await asyncio.sleep(pause)
            pause = min(pause * 2, 1.0)

    # -- URL imports (API only) -----------------------------------------------------------
    async def _import(
        self, req: UploadRequest, address: str | None, key: str | None, caps: Caps
    ) -> UploadResult:
        data = await parse_json(req.content_length, req.body, ImportBody)
        opts = upload_options({k: v for k, v in data.items() if k != "url"})
        url = str(data["url"])

        async def fetch_and_create(on_commit: OnCommit | None) -> dict[str, Any]:
            return await self._fetch_and_create(req, address, url, caps, opts, on_commit)

        image, status, replayed = await self._once(
            req, key, import_fingerprint(data), fetch_and_create
        )
        return UploadResult(images=[image], status=status, replayed=replayed, files=1)

    async def _fetch_and_create(
        self,
        req: UploadRequest,
        address: str | None,
        url: str,
        caps: Caps,
        opts: UploadOptions,
        on_commit: OnCommit | None,
    ) -> dict[str, Any]:
        # Imported on the first URL import: httpx pulls in click, rich and pygments (its CLI),
        # ~8 MB of every server process's RSS that uploads and the CDN never use (measured).
        from imgpro.images.importer import fetch_to_file

        principal = req.principal
        who = f"anon:{address}" if principal.is_anonymous else principal.idempotency_scope
        # Refused at once (no lookup, no socket) when the caller has failed too often lately
        # or has too many imports running; failures are counted.
        await self.ratelimits.check_imports(who)
        with self.import_gate.admit(who):
            try:
                fetch = fetch_to_file(
                    url,
                    self.images.tmp_dir,
                    max_bytes=caps.max_bytes,
                    settings=self.settings.imports,
                )
                # The body was read already: a hang-up from here on cancels the fetch.
                fetched = await (until_disconnect(fetch, req.receive) if req.receive else fetch)
                spooled = SpooledFile(
                    path=fetched.path,
                    size=fetched.size,
                    head=fetched.head,
                    filename=fetched.filename,
                    digest_hex=fetched.sha256,
                )
                if sniff(spooled.head) == "svg" and spooled.size > caps.svg_max_bytes:
                    spooled.discard()
                    raise caps.error(caps.svg_max_bytes)
                return await self.images.create(principal, spooled, opts, on_commit=on_commit)
            except ApiError as e:
                if e.code in _IMPORT_FAILURES:
                    await self.ratelimits.import_failed(who)
                raise
