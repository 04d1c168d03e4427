"""`seqocr serve`: a FastAPI app under uvicorn, models loaded once per worker (serve/app.py).

With `--workers N`, uvicorn starts N worker processes on one port; each builds the app
from the configuration passed in SEQOCR_SERVE_CONFIG and loads its models once, and
each reads with 1/N of the machine's cores.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import signal

from fastapi import FastAPI

from seqocr.config import ServeConfig, from_dict, to_dict
from seqocr.loading import load
from seqocr.machine import usable_cores
from seqocr.serve.counters import Counters
from seqocr.serve.deadline import DeadlineH11Protocol

CONFIG_VARIABLE = "SEQOCR_SERVE_CONFIG"
COUNTERS_VARIABLE = "SEQOCR_SERVE_COUNTERS"
LOG = logging.getLogger("seqocr.serve")


def build_app(config: ServeConfig, threads: int = 0, counters: Counters | None = None) -> FastAPI:
    """The app with its models loaded; `threads` caps ONNX Runtime's (0: every core)."""
    from seqocr.serve.app import create_app

    recognizers = {
        name: load(
            name, config.backend, threads, device=config.device, precision=config.precision, locate=config.locate
        )
        for name in config.models
    }
    return create_app(recognizers, config, counters)


def app_from_environment() -> FastAPI:
    """A worker's app (uvicorn's factory): the configuration `serve` left in the environment."""
    import torch

    end_with_parent()
    config = from_dict(ServeConfig, json.loads(os.environ[CONFIG_VARIABLE]))
    LOG.warning("worker %d started", os.getpid())  # a restarted worker says so in the log
    threads = max(1, usable_cores() // config.workers)  # the workers share the cores
    torch.set_num_threads(threads)
    return build_app(config, threads, Counters(config.models, os.environ[COUNTERS_VARIABLE]))


def end_with_parent() -> None:
    """Ask Linux to end this worker when the process that started it dies (the supervisor
    killed with -9 would otherwise leave its workers serving the port, parented by PID 1)."""
    parent = os.getppid()
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):  # not Linux: no such call
        return
    if os.getppid() != parent:  # the parent died before the request took effect
        os.kill(os.getpid(), signal.SIGTERM)


PR_SET_PDEATHSIG = 1


def serve(config: ServeConfig) -> None:
    import uvicorn

    # a bad model name fails here, once, before any worker starts; an ONNX twin is exported here, not by each worker
    app = build_app(config)
    options = {
        "host": config.host,
        "port": config.port,
        "http": functools.partial(
            DeadlineH11Protocol, request_timeout=config.request_timeout_s, line_timeout=config.line_timeout_s
        ),
        "timeout_keep_alive": config.keep_alive_s,
        "limit_concurrency": config.max_connections,
        "log_level": "warning",
        "access_log": False,
    }
    where = f"http://{config.host}:{config.port}"
    if config.workers == 1:
        print(f"seqocr: serving {', '.join(config.models)} on {where}", flush=True)
        uvicorn.run(app, **options)  # type: ignore[arg-type]
        return
    del app
    counters = Counters.create(config.models)  # one count for the service, whichever worker reads
    os.environ[CONFIG_VARIABLE] = json.dumps(to_dict(config))
    os.environ[COUNTERS_VARIABLE] = str(counters.path)
    print(f"seqocr: serving {', '.join(config.models)} on {where} with {config.workers} workers", flush=True)
    try:
        uvicorn.run("seqocr.serve:app_from_environment", factory=True, workers=config.workers, **options)  # type: ignore[arg-type]
    finally:
        counters.remove()
