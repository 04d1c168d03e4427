"""The HTTP service: models loaded once, requests batched together, limits with clear 4xx.

POST /v1/recognize takes images as multipart `images` fields or as JSON
{"images": ["<base64>", ...]}, optionally `model`, and answers in input order. A bad
image fails alone: its result is {"error": ...} and the others are still read (422
only when none could be). GET /v1/models, GET /healthz, GET / (a drawing page) and
the OpenAPI schema at /openapi.json and /docs.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import functools
import io
import json
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse
from PIL import Image
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import ClientDisconnect
from torch import Tensor

from seqocr.config import ServeConfig
from seqocr.data.images import decode_image
from seqocr.errors import SeqocrError, attempt_each, in_place
from seqocr.recognizer import Placement, Recognizer
from seqocr.schemas import (
    Answer,
    Base64Request,
    Health,
    ImageError,
    ModelInfo,
    ModelsResponse,
    RecognizeResponse,
    UploadRequest,
)
from seqocr.serve.batcher import MicroBatcher
from seqocr.serve.counters import Counters

FIELDS = {"images", "model"}
REFUSED_WORK_DELAY_S = 0.5  # a request refused for the network's work is answered this late
MAX_NAME_SHOWN = 64  # an unknown model's name is echoed back at most this long
LOG = logging.getLogger("seqocr.serve")


def create_app(recognizers: dict[str, Recognizer], config: ServeConfig, counters: Counters | None = None) -> FastAPI:
    """An app serving `recognizers` (name -> loaded model); the first is the default.
    `counters` count what the whole service read (shared by its workers)."""
    default = next(iter(recognizers))
    counts = counters or Counters(tuple(recognizers))
    batchers = {
        name: MicroBatcher(r, config.max_batch, config.batch_wait_ms, functools.partial(counts.add, name))
        for name, r in recognizers.items()
    }

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        for batcher in batchers.values():
            batcher.start()
        yield
        for batcher in batchers.values():
            await batcher.stop()

    app = FastAPI(
        title="seqocr",
        summary="Read a line of characters (digit strings, captchas) from images.",
        lifespan=lifespan,
    )

    @app.get("/healthz", response_model=Health)
    async def healthz() -> Health:
        return Health(status="ok", models=list(recognizers), worker=os.getpid(), workers=config.workers)

    @app.get("/v1/models", response_model=ModelsResponse)
    async def models() -> ModelsResponse:
        return _models(recognizers, default, counts)

    @app.post(
        "/v1/recognize",
        response_model=RecognizeResponse,
        responses={422: {"model": RecognizeResponse, "description": "no image could be read"}},
        openapi_extra={
            "requestBody": {
                "content": {
                    "multipart/form-data": {"schema": UploadRequest.model_json_schema()},
                    "application/json": {"schema": Base64Request.model_json_schema()},
                }
            }
        },
    )
    async def recognize(request: Request) -> JSONResponse:
        """Read one or more images; results come in input order."""
        return await _recognize(request, recognizers, batchers, default, config)

    @app.get("/", response_class=HTMLResponse)
    async def page() -> str:
        return resources.files("seqocr.serve").joinpath("page.html").read_text()

    return app


def _models(recognizers: dict[str, Recognizer], default: str, counts: Counters) -> ModelsResponse:
    """Each model served, with what the whole service has read with it."""
    return ModelsResponse(
        default=default,
        models=[
            ModelInfo(
                name=name,
                charset=r.charset.chars,
                label_length=r.label_length,
                backend=r.backend,
                device=str(r.device),
                metrics=r.info.metrics,
                images_read=counts.read(name)[0],
                batches=counts.read(name)[1],
            )
            for name, r in recognizers.items()
        ],
    )


async def _recognize(
    request: Request,
    recognizers: dict[str, Recognizer],
    batchers: dict[str, MicroBatcher],
    default: str,
    config: ServeConfig,
) -> JSONResponse:
    """Read one or more images; results come in input order. Each image is decoded and
    prepared on the thread pool, read by its model's micro-batcher across requests, and
    given the later looks (`Recognizer.looks_again`) where they may change a reading, as every
    other reading path does."""
    name, blobs, sizes = await _parse(request, config)
    model = name or default
    if model not in recognizers:
        shown = model if len(model) <= MAX_NAME_SHOWN else model[:MAX_NAME_SHOWN] + "..."
        raise HTTPException(404, f"unknown model {shown!r}; available: {', '.join(recognizers)}")
    recognizer = recognizers[model]
    height, max_width = recognizer.preprocess.height, recognizer.preprocess.max_width
    work = sum(min(max_width, -(-w * height // max(1, h))) * height for w, h in sizes)
    if work > config.max_request_work:
        # answered late: a client sending such requests in a loop gets few of them answered, and the
        # event loop is free for everyone else meanwhile
        await asyncio.sleep(REFUSED_WORK_DELAY_S)
        _refuse_work(work, config, "from their headers")
    prepared = await run_in_threadpool(_prepare_all, recognizer, blobs, config)
    good = [p for p in prepared if not isinstance(p, SeqocrError)]
    _refuse_work(sum(t.shape[-1] * t.shape[-2] for _, t, _ in good), config, "after preprocessing")
    read = await batchers[model].read([t for _, t, _ in good], [b for _, _, b in good]) if good else []
    images = [image for image, _, _ in good]
    if read and any(map(recognizer.may_look_again, images, read)):
        # the same later looks as every other reading path; on the thread pool only when one may change a reading
        read = await run_in_threadpool(recognizer.looks_again, images, read)
    results: list[Answer | ImageError] = [
        ImageError(error=str(p)) if isinstance(p, SeqocrError) else p.answer() for p in in_place(prepared, read)
    ]
    answer = RecognizeResponse(model=model, results=results)
    return JSONResponse(answer.model_dump(mode="json", exclude_none=True), status_code=200 if good else 422)


async def _parse(
    request: Request, config: ServeConfig
) -> tuple[str | None, list[tuple[str, bytes]], list[tuple[int, int]]]:
    """The requested model, the (name, bytes) of each image and its (width, height) from its
    header ((0, 0) when it has none), or a 4xx saying what is wrong."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > config.max_body_bytes:
        raise HTTPException(413, f"request body too large ({int(declared):,} bytes, limit {config.max_body_bytes:,})")
    body = bytearray()
    try:
        async for chunk in request.stream():  # also bounds bodies sent without a length
            body += chunk
            if len(body) > config.max_body_bytes:
                raise HTTPException(413, f"request body too large (limit {config.max_body_bytes:,} bytes)")
    except ClientDisconnect:  # the client left (or was timed out) mid-body: one line, no traceback
        client = f"{request.client.host}:{request.client.port}" if request.client else "a client"
        LOG.warning("%s disconnected after %d bytes of the request body", client, len(body))
        raise HTTPException(400, "client disconnected before the body was complete") from None
    request._body = bytes(body)  # let Starlette parse the form from what was read
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "multipart/form-data":
        model, blobs = await _parse_form(request, config)
    elif kind == "application/json":
        model, blobs = _parse_json(bytes(body))
    else:
        raise HTTPException(415, "send multipart/form-data with 'images' files, or JSON {\"images\": [base64, ...]}")
    if not blobs:
        raise HTTPException(422, "no images: send one or more 'images'")
    if len(blobs) > config.max_images:
        raise HTTPException(413, f"too many images ({len(blobs)}, limit {config.max_images} per request)")
    sizes = [_header_size(data) for _, data in blobs]
    pixels = sum(w * h for w, h in sizes)
    if pixels > config.max_request_pixels:
        raise HTTPException(
            413, f"images too large together ({pixels:,} pixels, limit {config.max_request_pixels:,} per request)"
        )
    return model, blobs, sizes


def _refuse_work(work: int, config: ServeConfig, how: str) -> None:
    if work > config.max_request_work:
        raise HTTPException(
            413,
            f"images too wide for their height together ({work:,} pixels for the network {how}, limit "
            f"{config.max_request_work:,} per request: --max-request-work)",
        )


def _header_size(data: bytes) -> tuple[int, int]:
    """An image's (width, height) from its header, without decoding it ((0, 0) when it has
    none: the image then fails alone, with its own reason, when it is decoded)."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            return image.width, image.height
    except Exception:  # noqa: BLE001 - any unreadable header is reported per image later
        return 0, 0


async def _parse_form(request: Request, config: ServeConfig) -> tuple[str | None, list[tuple[str, bytes]]]:
    try:
        form = await request.form(max_files=config.max_images, max_fields=config.max_images + 8)
    except Exception as error:  # python-multipart's errors for malformed bodies
        if "too many files" in str(error).lower():  # the same status as too many JSON images
            raise HTTPException(413, f"too many images (limit {config.max_images} per request)") from None
        raise HTTPException(400, f"malformed multipart body ({error})") from None
    unknown = sorted(set(form.keys()) - FIELDS)
    if unknown:
        raise HTTPException(422, f"unexpected field {unknown[0]!r}: send images as 'images' (and optionally 'model')")
    blobs = []
    for index, item in enumerate(form.getlist("images")):
        if not isinstance(item, UploadFile):
            raise HTTPException(422, f"'images' #{index + 1} is text, not a file upload")
        blobs.append((item.filename or f"image {index + 1}", await item.read()))
    model = form.get("model")
    return (model if isinstance(model, str) else None), blobs


def _parse_json(body: bytes) -> tuple[str | None, list[tuple[str, bytes]]]:
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise HTTPException(400, f"body is not valid JSON ({error})") from None
    except RecursionError:
        raise HTTPException(400, "body is not valid JSON (nested too deeply)") from None
    except ValueError as error:  # an integer of more digits than Python converts (4,300)
        raise HTTPException(400, f"body is not valid JSON ({str(error)[:120]})") from None
    if not isinstance(data, dict) or not isinstance(data.get("images"), list):
        raise HTTPException(422, 'expected a JSON object {"images": ["<base64>", ...]}')
    unknown = sorted(set(data) - FIELDS)
    if unknown:
        raise HTTPException(422, f"unexpected field {unknown[0]!r}: send 'images' (and optionally 'model')")
    model = data.get("model")
    if model is not None and not isinstance(model, str):
        raise HTTPException(422, "'model' must be a string")
    blobs = []
    for index, item in enumerate(data["images"]):
        if not isinstance(item, str):
            raise HTTPException(422, f"images[{index}] is not a base64 string")
        payload = item.split(",", 1)[1] if item.startswith("data:") else item  # accept data: URLs
        try:
            blobs.append((f"images[{index}]", base64.b64decode(payload, validate=True)))
        except (binascii.Error, ValueError):
            raise HTTPException(400, f"images[{index}] is not valid base64") from None
    return model, blobs


def _prepare_all(
    recognizer: Recognizer, blobs: list[tuple[str, bytes]], config: ServeConfig
) -> list[tuple[tuple[Image.Image, str], Tensor, Placement] | SeqocrError]:
    """Decode and preprocess each image, keeping the decoded image (a second look may
    locate the number in it); an image that fails keeps its error in its place."""

    def prepare(blob: tuple[str, bytes]) -> tuple[tuple[Image.Image, str], Tensor, Placement]:
        image = decode_image(blob[1], blob[0], config.max_pixels)
        return (image, blob[0]), *recognizer.prepare_with_box(image, blob[0])

    return attempt_each(prepare, blobs)
