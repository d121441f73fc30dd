"""The intake's limit: a bare FastAPI app that validates the same release notice model (``ReleaseNoticeV1``) and
answers 202, with nothing else (no authentication, storage, audit or outbox). Run by uvicorn in its own process,
as the intake is, so that the ratio P3 compares like with like.

    python -m benchmarks.bench.bare_app PORT
"""

from __future__ import annotations

import sys
import uuid

import uvicorn
from fastapi import FastAPI
from fastapi.responses import JSONResponse

from contracts.release_notice import ReleaseNoticeV1

app = FastAPI()


@app.post("/v1/release-notices", status_code=202)
async def accept(notice: ReleaseNoticeV1) -> JSONResponse:
    return JSONResponse({"notice_id": str(uuid.uuid4()), "status": "accepted"}, status_code=202)


@app.get("/healthz")
async def health() -> dict[str, str]:
    return {"status": "ok"}


def main() -> None:
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
