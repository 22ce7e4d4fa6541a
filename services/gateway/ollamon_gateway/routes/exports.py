"""`GET /api/ai/ollama/performance/export/{path}`: an export file, streamed as a download.

`POST .../export` has storage write the export into its export folder and answers the
file's path; this route streams that file to the client. The gateway need not share
storage's disk (compose gives storage its own volume; in a fleet they may be machines
apart), so it asks storage for the file in chunks over NATS (`subjects.QUERY_EXPORT_CHUNK`,
at most `EXPORT_CHUNK_BYTES` each, one in flight per download): memory stays bounded
whatever the size, and storage reads only regular files inside its export folder.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import PurePosixPath
from typing import Annotated
from urllib.parse import quote

from litestar import get
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import PathParameter
from litestar.response import Stream

from ollamon_core import subjects
from ollamon_core.events.limits import MAX_FILE_PATH_CHARS
from ollamon_core.events.queries import ExportChunkReply, ExportChunkRequest
from ollamon_gateway.openapi_docs import problem_responses
from ollamon_gateway.resources import Gateway, GatewayDep, build_query

EXPORT_DOWNLOAD_PATH = "/api/ai/ollama/performance/export"
MEDIA_TYPES = {".json": "application/json", ".csv": "text/csv; charset=utf-8"}


class ExportChangedError(Exception):
    """The file changed size while it was being sent (the download is cut short)."""


def content_disposition(name: str) -> str:
    """An attachment header naming the file (ASCII fallback plus RFC 5987 form)."""
    fallback = "".join(c if c.isalnum() or c in "._-" else "_" for c in name)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name)}"


async def _chunk(gateway: Gateway, path: str, offset: int) -> ExportChunkReply:
    request = ExportChunkRequest(path=path, offset=offset)
    reply: ExportChunkReply = await gateway.request(subjects.QUERY_EXPORT_CHUNK, request)
    return reply


async def file_chunks(gateway: Gateway, path: str, first: ExportChunkReply) -> AsyncIterator[bytes]:
    """The file's bytes, chunk after chunk, from `first` to its size when first read."""
    chunk = first
    sent = 0
    while True:
        if chunk.size != first.size:
            raise ExportChangedError(f"{path} changed size while being sent")
        if chunk.data:
            yield chunk.data
            sent += len(chunk.data)
        if sent >= first.size:
            return
        if not chunk.data:
            raise ExportChangedError(f"{path} ended before its size")
        chunk = await _chunk(gateway, path, sent)


@get(
    f"{EXPORT_DOWNLOAD_PATH}/{{path:path}}",
    tags=["performance"],
    summary="Download an export",
    responses={
        200: ResponseSpec(
            data_container=bytes,
            media_type="application/octet-stream",
            description=(
                "The file (`application/json` or `text/csv`): `Content-Disposition: attachment`"
                " names it, `Content-Length` is its size"
            ),
            generate_examples=False,
        ),
        **problem_responses(400, 404, 503),
    },
)
async def download_export(
    gateway: GatewayDep,
    path: Annotated[
        str,
        PathParameter(
            max_length=MAX_FILE_PATH_CHARS + 1,
            description="The file as `POST .../export` named it (`path` or one of `files`)",
        ),
    ],
) -> Stream:
    """Stream an export file storage wrote (inside its export folder only) as an attachment.

    `Content-Length` is the file's size, so a client can show progress. A path outside the
    export folder is a 400 problem, a file that is not there a 404.
    """
    relative = path.lstrip("/")
    first = await _chunk(gateway, build_query(ExportChunkRequest, path=relative).path, 0)
    name = PurePosixPath(relative).name
    return Stream(
        file_chunks(gateway, relative, first),
        media_type=MEDIA_TYPES.get(PurePosixPath(name).suffix, "application/octet-stream"),
        headers={
            "Content-Disposition": content_disposition(name),
            "Content-Length": str(first.size),
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )
