"""`seqocr serve`: a FastAPI app under uvicorn, models loaded once (serve/app.py)."""

from __future__ import annotations

from seqocr.config import ServeConfig
from seqocr.recognizer import load


def serve(config: ServeConfig) -> None:
    import uvicorn

    from seqocr.serve.app import create_app

    recognizers = {name: load(name, config.backend) for name in config.models}
    app = create_app(recognizers, config)
    print(f"seqocr: serving {', '.join(recognizers)} on http://{config.host}:{config.port}", flush=True)
    uvicorn.run(app, host=config.host, port=config.port, log_level="warning", access_log=False)
