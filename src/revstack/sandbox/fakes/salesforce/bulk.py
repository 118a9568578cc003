"""Bulk API 2.0 query jobs: create, poll, page through CSV results, abort, delete, list.

A job runs its query when it is created, on the world as of the sandbox clock at that moment,
and keeps that snapshot. It reports ``UploadComplete`` on creation, ``InProgress`` at the
first poll and ``JobComplete`` from the second. Result pages are streamed as CSV; the locator
is the base64 of the next record's offset (``null`` on the last page).
"""

from __future__ import annotations

import base64
import binascii
import threading
from dataclasses import dataclass, field
from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from revstack.errors import TerminalApiError
from revstack.sandbox.fakes.salesforce import query
from revstack.sandbox.fakes.salesforce.api import Api, json_response, not_found
from revstack.sandbox.fakes.salesforce.render import (
    DELIMITERS,
    LINE_ENDINGS,
    csv_chunks,
    sf_datetime,
)
from revstack.sandbox.fakes.salesforce.rest import DATA
from revstack.sandbox.fakes.salesforce.service import Registry, SalesforceService
from revstack.sandbox.world.crm_common import INTEGRATION_USER, salesforce_user_id

JOBS_KEPT = 200
DEFAULT_MAX_RECORDS = 50_000
OPERATIONS = ("query", "queryAll")


@dataclass
class QueryJob:
    operation: str
    sobject: str
    created_ms: int
    delimiter: str
    line_ending: str
    version: str
    result: query.Result
    id: str = ""
    state: str = "UploadComplete"
    polls: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def info(self, *, detail: bool) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": self.id,
            "operation": self.operation,
            "object": self.sobject,
            "createdById": salesforce_user_id(INTEGRATION_USER),
            "createdDate": sf_datetime(self.created_ms),
            "systemModstamp": sf_datetime(self.created_ms),
            "state": self.state,
            "concurrencyMode": "Parallel",
            "contentType": "CSV",
            "apiVersion": float(self.version),
            "lineEnding": self.line_ending,
            "columnDelimiter": self.delimiter,
        }
        if detail:
            done = self.state == "JobComplete"
            body.update(
                jobType="V2Query",
                numberRecordsProcessed=self.result.total if done else 0,
                retries=0,
                totalProcessingTime=0,
                isPkChunkingSupported=True,
            )
        return body

    def poll(self) -> dict[str, Any]:
        with self.lock:
            self.polls += 1
            if self.state in ("UploadComplete", "InProgress"):
                self.state = "InProgress" if self.polls < 2 else "JobComplete"
            return self.info(detail=True)


def _locator(offset: int) -> str:
    return base64.b64encode(str(offset).encode()).decode().rstrip("=")


def _offset(locator: str) -> int:
    padded = locator + "=" * (-len(locator) % 4)
    try:
        return int(base64.b64decode(padded, validate=True).decode())
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise TerminalApiError(
            f"Invalid locator: {locator}", status=400, code="INVALIDLOCATOR"
        ) from exc


def _job_error(message: str) -> TerminalApiError:
    return TerminalApiError(message, status=400, code="INVALIDJOB")


async def _json_body(request: Request) -> dict[str, Any]:
    try:
        body = orjson.loads(await request.body())
    except orjson.JSONDecodeError as exc:
        raise TerminalApiError(
            f"The request body is not valid JSON: {exc}", status=400, code="JSON_PARSER_ERROR"
        ) from exc
    if not isinstance(body, dict):
        raise TerminalApiError(
            "The request body must be a JSON object", status=400, code="JSON_PARSER_ERROR"
        )
    return body


def bulk_routes(service: SalesforceService, api: Api) -> list[Route]:
    jobs: Registry[QueryJob] = Registry("750", JOBS_KEPT)

    def job_of(request: Request) -> QueryJob:
        job = jobs.get(request.path_params["job_id"])
        if job is None:
            raise not_found()
        return job

    def create(body: dict[str, Any], version: str) -> QueryJob:
        operation = body.get("operation")
        if operation not in OPERATIONS:
            raise _job_error(f"Invalid operation '{operation}': use query or queryAll")
        text = body.get("query")
        if not isinstance(text, str):
            raise _job_error("A query job needs a query")
        delimiter = body.get("columnDelimiter", "COMMA")
        line_ending = body.get("lineEnding", "LF")
        if delimiter not in DELIMITERS or line_ending not in LINE_ENDINGS:
            raise _job_error(f"Invalid columnDelimiter or lineEnding: {delimiter}/{line_ending}")
        if body.get("contentType", "CSV") != "CSV":
            raise _job_error("Bulk API 2.0 query jobs return CSV only")
        now = service.now_ms()
        try:
            result = query.run(
                service.store, text, now, include_deleted=operation == "queryAll", bulk=True
            )
        except TerminalApiError as exc:
            raise _job_error(f"Failed to process query: {exc.code}: {exc.message}") from exc
        job = QueryJob(operation, result.sobject, now, delimiter, line_ending, version, result)
        job.id = jobs.add(job)
        service.budget.count_bulk_job()
        return job

    async def jobs_root(request: Request) -> Response:
        if request.method == "POST":
            body = await _json_body(request)
            job = await run_in_threadpool(create, body, request.path_params["version"])
            return json_response(job.info(detail=False))
        records = [job.info(detail=False) for job in jobs.values()]
        return json_response({"done": True, "records": records, "nextRecordsUrl": None})

    async def job_info(request: Request) -> Response:
        job = job_of(request)
        if request.method == "DELETE":
            jobs.remove(job.id)
            return Response(status_code=204)
        if request.method == "PATCH":
            body = await _json_body(request)
            with job.lock:
                if body.get("state") != "Aborted":
                    raise _job_error("A query job can only be set to the state Aborted")
                if job.state == "JobComplete":
                    raise TerminalApiError(
                        "The job is complete and cannot be aborted",
                        status=400,
                        code="INVALIDJOBSTATE",
                    )
                job.state = "Aborted"
                return json_response(job.info(detail=False))
        return json_response(job.poll())

    async def results(request: Request) -> Response:
        job = job_of(request)
        if job.state != "JobComplete":
            raise TerminalApiError(
                f"The job is not complete (state {job.state}); poll it until JobComplete",
                status=400,
                code="INVALIDJOBSTATE",
            )
        params = request.query_params
        locator = params.get("locator") or ""
        start = _offset(locator) if locator and locator != "null" else 0
        raw_max = params.get("maxRecords") or str(DEFAULT_MAX_RECORDS)
        if not raw_max.isdigit() or int(raw_max) < 1:
            raise TerminalApiError(
                f"maxRecords must be a positive integer, not '{raw_max}'",
                status=400,
                code="INVALIDLOCATOR",
            )
        total = job.result.total
        if start > total:
            raise TerminalApiError(f"Invalid locator: {locator}", status=400, code="INVALIDLOCATOR")
        stop = min(start + int(raw_max), total)
        chunks = csv_chunks(job.result, start, stop, DELIMITERS[job.delimiter], job.line_ending)
        response = StreamingResponse(chunks, media_type="text/csv")
        response.headers["Sforce-NumberOfRecords"] = str(stop - start)
        response.headers["Sforce-Locator"] = _locator(stop) if stop < total else "null"
        return response

    base = DATA + "/jobs/query"
    return [
        *api.route(base, jobs_root, ("GET", "POST")),
        *api.route(base + "/{job_id}/results", results),
        *api.route(base + "/{job_id}", job_info, ("GET", "PATCH", "DELETE")),
    ]
