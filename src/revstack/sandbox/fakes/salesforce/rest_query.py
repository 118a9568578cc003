"""REST queries and replication: ``query``, ``queryAll`` and their ``nextRecordsUrl`` pages,
``sobjects/{X}/updated`` and ``sobjects/{X}/deleted``."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from revstack.errors import TerminalApiError
from revstack.sandbox.fakes.salesforce import query
from revstack.sandbox.fakes.salesforce.api import Api, json_response
from revstack.sandbox.fakes.salesforce.render import json_records, sf_datetime
from revstack.sandbox.fakes.salesforce.rest import DATA, sobject_name
from revstack.sandbox.fakes.salesforce.service import Registry, SalesforceService

DEFAULT_BATCH = 2000
MIN_BATCH = 200
UPDATED_DAYS = 30
DELETED_DAYS = 15
CURSORS_KEPT = 500
_DAY_MS = 86_400_000
_MINUTE_MS = 60_000
_BATCH_SIZE = re.compile(r"batchSize\s*=\s*(\d+)", re.IGNORECASE)


def _batch_size(request: Request) -> int:
    """``Sforce-Query-Options: batchSize=N`` (200 to 2,000; a hint, as in Salesforce)."""
    match = _BATCH_SIZE.search(request.headers.get("sforce-query-options", ""))
    if not match:
        return DEFAULT_BATCH
    return min(max(int(match.group(1)), MIN_BATCH), DEFAULT_BATCH)


def _replication_moment(request: Request, name: str) -> int:
    """Unix ms of the ``start``/``end`` parameter, floored to the minute (seconds are
    ignored, as Salesforce does)."""
    raw = request.query_params.get(name)
    if not raw:
        raise TerminalApiError(
            f"Missing required parameter: {name}", status=400, code="MISSING_ARGUMENT"
        )
    text = raw.strip().replace(" ", "+").replace("Z", "+00:00")
    if re.search(r"[+-]\d{4}$", text):
        text = text[:-2] + ":" + text[-2:]
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise TerminalApiError(
            f"{name}: '{raw}' is not a valid dateTime (use ISO-8601 with an offset)",
            status=400,
            code="INVALID_REPLICATION_DATE",
        ) from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    ms = int(moment.timestamp() * 1000)
    return ms - ms % _MINUTE_MS


def _replication_window(request: Request, now_ms: int) -> tuple[int, int]:
    start = _replication_moment(request, "start")
    end = min(_replication_moment(request, "end"), now_ms - now_ms % _MINUTE_MS)
    if start >= end:
        raise TerminalApiError(
            "startDate must chronologically precede endDate by more than one minute (and not "
            "be in the future)",
            status=400,
            code="INVALID_REPLICATION_DATE",
        )
    return start, end


def query_routes(service: SalesforceService, api: Api) -> list[Route]:
    cursors: Registry[query.Result] = Registry("01g", CURSORS_KEPT)

    def page(result: query.Result, cursor: str | None, start: int, request: Request) -> Response:
        total = result.total
        if result.count_only:
            return json_response({"totalSize": total, "done": True, "records": []})
        stop = min(start + _batch_size(request), total)
        body: dict[str, Any] = {"totalSize": total, "done": stop >= total}
        version = request.path_params["version"]
        if stop < total:
            cursor = cursor or cursors.add(result)
            body["nextRecordsUrl"] = f"{DATA.format(version=version)}/query/{cursor}-{stop}"
        body["records"] = json_records(result, start, stop, version)
        return json_response(body)

    def run_query(request: Request, include_deleted: bool) -> Response:
        text = request.query_params.get("q")
        if text is None:
            raise TerminalApiError(
                "A query string (q) is required", status=400, code="MALFORMED_QUERY"
            )
        result = query.run(service.store, text, service.now_ms(), include_deleted=include_deleted)
        return page(result, None, 0, request)

    async def run_rest_query(request: Request) -> Response:
        return await run_in_threadpool(run_query, request, False)

    async def run_rest_query_all(request: Request) -> Response:
        return await run_in_threadpool(run_query, request, True)

    async def query_more(request: Request) -> Response:
        cursor, _, start = request.path_params["locator"].rpartition("-")
        result = cursors.get(cursor) if start.isdigit() else None
        if result is None or int(start) > result.total:
            raise TerminalApiError(
                "invalid query locator", status=400, code="INVALID_QUERY_LOCATOR"
            )
        return await run_in_threadpool(page, result, cursor, int(start), request)

    async def updated(request: Request) -> Response:
        sobject = sobject_name(service, request)
        now = service.now_ms()
        start, end = _replication_window(request, now)
        if start < now - now % _DAY_MS - UPDATED_DAYS * _DAY_MS:
            raise TerminalApiError(
                f"startDate cannot be more than {UPDATED_DAYS} days ago",
                status=400,
                code="INVALID_REPLICATION_DATE",
            )
        versions = service.store.versions(sobject)
        ids = await run_in_threadpool(versions.updated_ids, start, end, now)
        return json_response({"ids": ids, "latestDateCovered": sf_datetime(end)})

    async def deleted(request: Request) -> Response:
        sobject = sobject_name(service, request)
        now = service.now_ms()
        start, end = _replication_window(request, now)
        earliest = now - now % _DAY_MS - DELETED_DAYS * _DAY_MS
        versions = service.store.versions(sobject)
        gone = await run_in_threadpool(versions.deleted, max(start, earliest), end, now)
        return json_response(
            {
                "deletedRecords": [
                    {"id": record_id, "deletedDate": sf_datetime(ms)} for record_id, ms in gone
                ],
                "earliestDateAvailable": sf_datetime(earliest),
                "latestDateCovered": sf_datetime(end),
            }
        )

    return [
        *api.route(DATA + "/query", run_rest_query),
        *api.route(DATA + "/queryAll", run_rest_query_all),
        *api.route(DATA + "/query/{locator}", query_more),
        *api.route(DATA + "/queryAll/{locator}", query_more),
        *api.route(DATA + "/sobjects/{sobject}/updated", updated),
        *api.route(DATA + "/sobjects/{sobject}/deleted", deleted),
    ]
