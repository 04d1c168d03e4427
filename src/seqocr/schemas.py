"""The answer format and the service's requests: how a reading is written as JSON.

pydantic models: FastAPI derives the service's OpenAPI schema from them, and
`Prediction.answer()` gives `seqocr predict --json` the same fields (plus the file's
`path`) as the service's results.
"""

from __future__ import annotations

from pydantic import BaseModel, Field


class CharAnswer(BaseModel):
    char: str
    confidence: float = Field(ge=0, le=1)
    x: float | None = Field(None, description="where the character was read: x in the input image's pixels")


class Alternative(BaseModel):
    text: str
    confidence: float = Field(ge=0, le=1)


class Answer(BaseModel):
    """One image read: the text, how sure (calibrated), and each character."""

    text: str
    confidence: float = Field(ge=0, le=1, description="calibrated: among answers given c, a share c is right")
    chars: list[CharAnswer]
    alternatives: list[Alternative] | None = Field(None, description="with n-best decoding: answers, best first")
    rejected: bool | None = Field(None, description="with a reject threshold: confidence below it")
    box: list[float] | None = Field(
        None, description="where the string stands: [x0, y0, x1, y1] in the input image's pixels (none: nothing found)"
    )


class ImageError(BaseModel):
    """An image that could not be read, and why; the request's other images are still read."""

    error: str


class RecognizeResponse(BaseModel):
    model: str
    results: list[Answer | ImageError]


class ModelInfo(BaseModel):
    name: str
    charset: str
    label_length: int | None = Field(
        None, description="the length every answer has: the one every training label had (None: any)"
    )
    backend: str
    device: str
    metrics: dict[str, object]
    images_read: int
    batches: int


class ModelsResponse(BaseModel):
    default: str
    models: list[ModelInfo]


class Health(BaseModel):
    status: str
    models: list[str]
    worker: int = Field(description="the worker process's id: tells a balancer which worker answered")
    workers: int = Field(description="worker processes serving on this port")


class UploadRequest(BaseModel):
    """multipart/form-data: image files as `images` fields."""

    images: list[bytes] = Field(min_length=1, description="image files (PNG, JPEG, ...)")
    model: str | None = Field(None, description="a served model's name (default: the first)")


class Base64Request(BaseModel):
    """application/json: images as base64 strings or data: URLs."""

    images: list[str] = Field(min_length=1, description="base64-encoded image files, or data: URLs")
    model: str | None = Field(None, description="a served model's name (default: the first)")
