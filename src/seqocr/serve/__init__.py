"""`seqocr serve`: a FastAPI app under uvicorn, models loaded once (serve/app.py)."""

from __future__ import annotations

import functools

from seqocr.config import ServeConfig
from seqocr.recognizer import load
from seqocr.serve.deadline import DeadlineH11Protocol


def serve(config: ServeConfig) -> None:
    import uvicorn

    from seqocr.serve.app import create_app

    recognizers = {name: load(name, config.backend) for name in config.models}
    app = create_app(recognizers, config)
    print(f"seqocr: serving {', '.join(recognizers)} on http://{config.host}:{config.port}", flush=True)
    uvicorn.run(
        app,
        host=config.host,
        port=config.port,
        http=functools.partial(DeadlineH11Protocol, request_timeout=config.request_timeout_s),  # type: ignore[arg-type]
        timeout_keep_alive=config.keep_alive_s,
        limit_concurrency=config.max_connections,
        log_level="warning",
        access_log=False,
    )
