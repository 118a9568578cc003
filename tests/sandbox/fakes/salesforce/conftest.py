"""The fake Salesforce served over HTTPS from a background thread, driven by simple-salesforce,
and the world's own answer to compare it with (read straight from the version rows)."""

from __future__ import annotations

import datetime as dt
import gc
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
import requests
import uvicorn
from simple_salesforce import Salesforce

from revstack.sandbox.fakes.clock import SandboxClock
from revstack.sandbox.fakes.faults import FaultController, FaultProfile
from revstack.sandbox.fakes.salesforce.app import create_app
from revstack.sandbox.fakes.server import TlsFiles, make_tls, world_period

VERSION = "59.0"


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


@dataclass
class FakeOrg:
    """One running fake Salesforce with its clock and fault controller."""

    url: str
    ca: Path
    clock: SandboxClock
    faults: FaultController
    _sessions: list[requests.Session] = field(default_factory=list)

    def client(self, session_id: str = "sandbox-session") -> Salesforce:
        session = requests.Session()
        session.verify = str(self.ca)
        # requests lets REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE override session.verify.
        session.trust_env = False
        self._sessions.append(session)
        return Salesforce(
            instance_url=self.url, session_id=session_id, session=session, version=VERSION
        )

    def control(self, path: str, body: dict[str, Any] | None = None) -> Any:
        """GET (or POST `body` to) a ``/_sandbox`` control route."""
        url = f"{self.url}/_sandbox/{path}"
        if body is None:
            response = requests.get(url, verify=str(self.ca), timeout=60)
        else:
            response = requests.post(url, json=body, verify=str(self.ca), timeout=120)
        response.raise_for_status()
        return response.json()

    def close(self) -> None:
        for session in self._sessions:
            session.close()


class _Served:
    """A uvicorn server on an ephemeral port, over TLS, in a daemon thread."""

    def __init__(self, app: Any, tls: TlsFiles) -> None:
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=0,
            ssl_certfile=str(tls.certificate),
            ssl_keyfile=str(tls.key),
            log_level="warning",
            access_log=False,
            lifespan="on",
            # A client socket kept alive (say, by a caught exception's traceback) would hold
            # the TLS shutdown for 30 s.
            timeout_graceful_shutdown=5,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> int:
        self.thread.start()
        for _ in range(3000):
            if self.server.started:
                return int(self.server.servers[0].sockets[0].getsockname()[1])
            if not self.thread.is_alive():
                break
            threading.Event().wait(0.01)
        raise RuntimeError("the fake Salesforce did not start")

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


@pytest.fixture(scope="session")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls(tmp_path_factory.mktemp("salesforce-tls"))


StartOrg = Callable[..., FakeOrg]


@pytest.fixture(scope="session")
def _org_factory(world_dir: Path, tls: TlsFiles) -> Iterator[StartOrg]:
    running: list[tuple[_Served, FakeOrg]] = []
    _, end = world_period(world_dir)

    def start(at: dt.datetime | None = None, faults: FaultProfile | None = None) -> FakeOrg:
        moment = end if at is None else int(at.timestamp())
        clock = SandboxClock(moment, end=end)
        controller = FaultController(faults)
        served = _Served(create_app(world_dir, clock, controller), tls)
        port = served.start()
        org = FakeOrg(f"https://127.0.0.1:{port}", tls.ca, clock, controller)
        running.append((served, org))
        return org

    yield start
    for _, org in running:
        org.close()
    gc.collect()  # responses held by exception tracebacks keep their sockets open
    for served, _ in running:
        served.stop()


@pytest.fixture
def start_org(_org_factory: StartOrg) -> StartOrg:
    """Start a fake Salesforce: ``start_org(at=datetime, faults=FaultProfile)`` (default: the
    clock at the world's end, no faults)."""
    return _org_factory


@pytest.fixture(scope="session")
def org(_org_factory: StartOrg) -> FakeOrg:
    """A shared fake at the world's end. Tests using it must not move its clock, inject
    records, change its limits or faults."""
    return _org_factory()


@pytest.fixture(scope="session")
def sf(org: FakeOrg) -> Salesforce:
    return org.client()


class WorldTruth:
    """What the world says Salesforce holds at a moment, computed naively from the rows."""

    def __init__(self, world_dir: Path) -> None:
        self.world_dir = world_dir
        schema = json.loads((world_dir / "salesforce" / "schema.json").read_text())
        self.schema = schema
        self.rename = schema["renames"][0]
        self.addition = schema["additions"][0]
        self._rows: dict[str, list[dict[str, Any]]] = {}

    def rows(self, sobject: str) -> list[dict[str, Any]]:
        if sobject not in self._rows:
            path = self.world_dir / "salesforce" / f"{sobject}.parquet"
            self._rows[sobject] = pq.read_table(path).to_pylist()
        return self._rows[sobject]

    def field_names(self, sobject: str, at: dt.datetime) -> list[str]:
        names = []
        for entry in self.schema["objects"][sobject]["fields"]:
            name = entry["name"]
            added = utc(self.addition["at"].replace("Z", ""))
            renamed = utc(self.rename["at"].replace("Z", ""))
            if (sobject, name) == (self.addition["object"], self.addition["field"]) and at < added:
                continue
            if (sobject, name) == (self.rename["object"], self.rename["old"]) and at >= renamed:
                name = self.rename["new"]
            names.append(name)
        return names

    def latest(self, sobject: str, at: dt.datetime) -> dict[str, dict[str, Any]]:
        """Id -> latest version row with system_modstamp <= at."""
        latest: dict[str, dict[str, Any]] = {}
        for row in self.rows(sobject):
            if row["system_modstamp"] > at:
                continue
            seen = latest.get(row["Id"])
            if seen is None or row["version"] > seen["version"]:
                latest[row["Id"]] = row
        return latest

    def records(
        self, sobject: str, at: dt.datetime, *, include_deleted: bool = False
    ) -> dict[str, dict[str, Any]]:
        """Id -> the record's fields as the API should serve them at `at`."""
        names = self.field_names(sobject, at)
        records = {}
        for record_id, row in self.latest(sobject, at).items():
            if row["op"] == "purge" or (row["op"] == "delete" and not include_deleted):
                continue
            fields = json.loads(row["fields"])
            if self.rename["new"] in names and sobject == self.rename["object"]:
                fields[self.rename["new"]] = fields.pop(self.rename["old"], None)
            records[record_id] = {name: fields.get(name) for name in names}
        return records


@pytest.fixture(scope="session")
def truth(world_dir: Path) -> WorldTruth:
    return WorldTruth(world_dir)


@pytest.fixture(scope="session")
def fields_of() -> Callable[[Salesforce, str], list[str]]:
    """The field names a describe call reports."""

    def names(client: Salesforce, sobject: str) -> list[str]:
        return [f["name"] for f in getattr(client, sobject).describe()["fields"]]

    return names
