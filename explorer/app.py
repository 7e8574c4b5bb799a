"""The read-only web app: server-rendered pages (Jinja2) and the same data as JSON under /api/.

Pages poll their own JSON (``/api/...``) every couple of seconds and update in place (plain
``fetch``); the loss curve is drawn by uPlot, served from the npm toolchain's ``node_modules``
(installed by ``scripts/bootstrap``; never copied into the repository). The app only reads the
index: it holds no key and sends no transaction. Bad ids and query parameters get a 400 or 404
page (JSON under /api/), never a traceback.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Query, Request
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

from explorer import db, queries
from explorer.models import (
    Court,
    DisputeDetail,
    DisputeSummary,
    NodeDetail,
    NodeInfo,
    Overview,
    TaskDetail,
    TaskPage,
)
from ledger.protocol import TaskStatus, format_amount
from veritrain.errors import ExplorerError, leaf

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
#: uPlot from the npm toolchain (package.json pins it); looked up from the repository root.
UPLOT_DIRS = (
    HERE.parent / "node_modules" / "uplot" / "dist",
    Path.cwd() / "node_modules" / "uplot" / "dist",
)
ADDRESS_CHARS = set("0123456789abcdefABCDEF")
#: Ids are uint256 on chain; anything past SQLite's integers cannot be in the index.
MAX_ID = 2**63 - 1


@leaf
class BadRequestError(ExplorerError):
    """A path or query parameter is malformed."""

    param: str


def _status(value: str | None) -> TaskStatus | None:
    if value is None or value == "":
        return None
    names = [s.name.lower() for s in TaskStatus if s is not TaskStatus.NONE]
    if value.lower() not in names:
        raise BadRequestError(
            f"status must be one of {', '.join(names)}; got {value[:40]!r}", param="status"
        )
    return TaskStatus[value.upper()]


def _address(value: str) -> str:
    if not (len(value) == 42 and value.startswith("0x") and set(value[2:]) <= ADDRESS_CHARS):
        raise BadRequestError(
            f"{value[:60]!r} is not an address (0x and 40 hex digits)", param="address"
        )
    return value


def _uplot_dir() -> Path | None:
    return next((d for d in UPLOT_DIRS if (d / "uPlot.iife.min.js").is_file()), None)


def create_app(db_path: str | Path, access: queries.Access, *, live_ms: int = 2000) -> FastAPI:
    """The app over the index at ``db_path`` (which the indexer keeps up to date)."""
    app = FastAPI(
        title="veritrain explorer",
        version="1",
        description="Tasks, segments, audits, disputes and loss curves of one veritrain "
        "deployment, read from the explorer's index. Read-only.",
        openapi_url="/api/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.filters["veri"] = lambda v: format_amount(int(v or 0))
    templates.env.filters["short"] = lambda v: (v[:10] + "…" + v[-4:]) if v and len(v) > 18 else v
    templates.env.globals["live_ms"] = live_ms
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    uplot = _uplot_dir()
    if uplot is not None:
        app.mount("/vendor/uplot", StaticFiles(directory=str(uplot)), name="uplot")
    else:
        log.warning("uPlot is missing from node_modules (run scripts/bootstrap): no loss curves")
    local = threading.local()

    def conn() -> sqlite3.Connection:
        c = getattr(local, "conn", None)
        if c is None:
            c = local.conn = db.connect(db_path, readonly=True)
        return c

    def page(request: Request, name: str, status_code: int = 200, **ctx: Any) -> Response:
        return templates.TemplateResponse(
            request, name, {"uplot": uplot is not None, **ctx}, status_code=status_code
        )

    def problem(request: Request, code: int, message: str) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": message, "status": code}, status_code=code)
        return page(request, "error.html", status_code=code, code=code, message=message)

    @app.exception_handler(queries.NotFoundError)
    async def _not_found(request: Request, exc: queries.NotFoundError) -> Response:
        return problem(request, 404, str(exc))

    @app.exception_handler(queries.AmbiguousDisputeError)
    async def _ambiguous(request: Request, exc: queries.AmbiguousDisputeError) -> Response:
        return problem(request, 409, str(exc))

    @app.exception_handler(BadRequestError)
    async def _bad(request: Request, exc: BadRequestError) -> Response:
        return problem(request, 400, str(exc))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        errs = exc.errors()
        where = (
            ", ".join(f"{e['loc'][-1]}: {e['msg']}" for e in errs[:3]) if errs else "bad request"
        )
        return problem(request, 400, f"bad parameter ({where})")

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        msg = "no such page" if exc.status_code == 404 else str(exc.detail)
        return problem(request, exc.status_code, msg)

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> Response:
        log.exception("explorer: %s failed", request.url.path)
        return problem(request, 500, "the explorer failed on this request (see its log)")

    # ---- JSON API -------------------------------------------------------------------------
    @app.get("/api/overview", response_model=Overview, tags=["api"])
    def api_overview() -> Overview:
        """Chain, addresses, counts and the latest events."""
        return queries.overview(conn())

    @app.get("/api/tasks", response_model=TaskPage, tags=["api"])
    def api_tasks(page: int = Query(1, ge=1, le=10**9), status: str | None = None) -> TaskPage:
        """Tasks, newest first, 50 a page; ``status``: open, claimed, completed or cancelled."""
        return queries.tasks(conn(), page, _status(status))

    @app.get("/api/tasks/{task_id}", response_model=TaskDetail, tags=["api"])
    def api_task(task_id: int = PathParam(ge=0, le=MAX_ID)) -> TaskDetail:
        """A task: spec summary, segments, disputes, loss curve, final checkpoints."""
        return queries.task(conn(), task_id, access)

    @app.get("/api/nodes", response_model=list[NodeInfo], tags=["api"])
    def api_nodes() -> list[NodeInfo]:
        """Every account with stake history: stake, locked, jail, tasks, slashes, rewards."""
        return queries.nodes(conn())

    @app.get("/api/nodes/{address}", response_model=NodeDetail, tags=["api"])
    def api_node(address: str) -> NodeDetail:
        return queries.node(conn(), _address(address))

    @app.get("/api/disputes", response_model=list[DisputeSummary], tags=["api"])
    def api_disputes(court: Court | None = None) -> list[DisputeSummary]:
        """Disputes of both courts, the latest opened first (``?court=jury|referee``: one)."""
        return queries.disputes(conn(), court)

    @app.get("/api/disputes/{court}/{dispute_id}", response_model=DisputeDetail, tags=["api"])
    def api_court_dispute(
        court: Court, dispute_id: int = PathParam(ge=0, le=MAX_ID)
    ) -> DisputeDetail:
        """A dispute of the jury or the referee, the timeline of every move in it and, for a
        referee game, where the fault was."""
        return queries.dispute(conn(), dispute_id, court)

    @app.get("/api/disputes/{dispute_id}", response_model=DisputeDetail, tags=["api"])
    def api_dispute(dispute_id: int = PathParam(ge=0, le=MAX_ID)) -> DisputeDetail:
        """The dispute of that id when only one court has it (409 when both do)."""
        return queries.dispute(conn(), dispute_id)

    # ---- pages ----------------------------------------------------------------------------
    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def overview_page(request: Request) -> Response:
        return page(request, "overview.html", o=queries.overview(conn()))

    @app.get("/tasks", response_class=HTMLResponse, include_in_schema=False)
    def tasks_page(
        request: Request,
        page_no: int = Query(1, alias="page", ge=1, le=10**9),
        status: str | None = None,
    ) -> Response:
        return page(request, "tasks.html", p=queries.tasks(conn(), page_no, _status(status)))

    @app.get("/tasks/{task_id}", response_class=HTMLResponse, include_in_schema=False)
    def task_page(request: Request, task_id: int = PathParam(ge=0, le=MAX_ID)) -> Response:
        return page(request, "task.html", t=queries.task(conn(), task_id, access))

    @app.get("/nodes", response_class=HTMLResponse, include_in_schema=False)
    def nodes_page(request: Request) -> Response:
        return page(request, "nodes.html", nodes=queries.nodes(conn()))

    @app.get("/nodes/{address}", response_class=HTMLResponse, include_in_schema=False)
    def node_page(request: Request, address: str) -> Response:
        return page(request, "node.html", n=queries.node(conn(), _address(address)))

    @app.get("/disputes", response_class=HTMLResponse, include_in_schema=False)
    def disputes_page(request: Request, court: Court | None = None) -> Response:
        return page(request, "disputes.html", disputes=queries.disputes(conn(), court),
                    court=court)

    @app.get("/disputes/{court}/{dispute_id}", response_class=HTMLResponse, include_in_schema=False)
    def court_dispute_page(
        request: Request, court: Court, dispute_id: int = PathParam(ge=0, le=MAX_ID)
    ) -> Response:
        return page(request, "dispute.html", d=queries.dispute(conn(), dispute_id, court))

    @app.get("/disputes/{dispute_id}", response_class=HTMLResponse, include_in_schema=False)
    def dispute_page(request: Request, dispute_id: int = PathParam(ge=0, le=MAX_ID)) -> Response:
        return page(request, "dispute.html", d=queries.dispute(conn(), dispute_id))

    return app
