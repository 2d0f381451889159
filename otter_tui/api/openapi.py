"""``/v1/openapi.json``: the API described in OpenAPI 3.1, written out rather than generated.

Kept by hand beside the routes (a test checks that every route is in it), so it says what the
handlers promise: the key carriers, the scopes each path needs, the error shape.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.routing import Route

from otter_tui import __version__
from otter_tui.api.render import Json

ERROR = {"$ref": "#/components/responses/Error"}
KEYED: list[dict[str, list[str]]] = [{"header": []}, {"query": []}]


def op(summary: str, scope: str, ok: str = "200", **extra: Any) -> dict[str, Any]:
    """One operation: its summary, the scope it needs, and the answers every path shares."""
    return {
        "summary": summary,
        "description": f"Needs a key with scope `{scope}`." if scope else "Needs no key.",
        "security": KEYED if scope else [],
        "responses": {ok: {"description": "done"}, "400": ERROR, "403": ERROR, "404": ERROR},
        **extra,
    }


def param(name: str, where: str = "query", kind: str = "string", **more: Any) -> dict[str, Any]:
    return {"name": name, "in": where, "schema": {"type": kind}, **more}


JOB_ID = param("job_id", "path", "integer", required=True)
PATHS: dict[str, dict[str, Any]] = {
    "/api/jobs/trigger": {
        "get": op(
            "Trigger a template (Otter); extra pairs are variables",
            "trigger",
            parameters=[param("template", required=True)],
        ),
        "post": op("Trigger a template (Otter); form or JSON pairs are variables", "trigger"),
    },
    "/api/jobs/status": {
        "get": op(
            "Pending|Executing|Succeeded|Warning|Error",
            "view",
            parameters=[param("token", required=True)],
        )
    },
    "/api/jobs/logs": {
        "get": op(
            "The whole log, one prefixed line each",
            "view",
            parameters=[param("token", required=True)],
        )
    },
    "/api/configuration/remediate/{kind}/{name}": {
        "post": op(
            "Remediate drift of a server, role or environment",
            "remediate",
            parameters=[
                param(
                    "kind",
                    "path",
                    required=True,
                    schema={"enum": ["server", "role", "environment"]},
                ),
                param("name", "path", required=True),
                param("job"),
                param("start", kind="boolean"),
                param("simulate", kind="boolean"),
            ],
        ),
    },
    "/v1/jobs": {
        "get": op(
            "Jobs, newest first",
            "view",
            parameters=[
                param("state"),
                param("plan"),
                param("requested_by"),
                param("before", kind="integer"),
                param("limit", kind="integer"),
            ],
        ),
        "post": op(
            "Create a job from a plan or a template",
            "trigger",
            "201",
            requestBody={
                "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/JobRequest"}}
                }
            },
        ),
    },
    "/v1/jobs/{job_id}": {"get": op("A job with its server runs", "view", parameters=[JOB_ID])},
    "/v1/jobs/{job_id}/cancel": {"post": op("Cancel a job", "trigger", parameters=[JOB_ID])},
    "/v1/jobs/{job_id}/logs": {
        "get": op(
            "A page of log lines",
            "view",
            parameters=[
                JOB_ID,
                param("after", kind="integer"),
                param("server"),
                param("limit", kind="integer"),
            ],
        )
    },
    "/v1/jobs/{job_id}/logs/stream": {
        "get": op(
            "Live log lines as Server-Sent Events (resume with Last-Event-ID)",
            "view",
            parameters=[
                JOB_ID,
                param("after", kind="integer"),
                param("server"),
                param("Last-Event-ID", "header", "integer"),
            ],
        )
    },
    "/v1/approvals": {"get": op("Jobs waiting for approval", "view")},
    "/v1/approvals/{job_id}/{decision}": {
        "post": op(
            "Approve or deny (never your own job)",
            "trigger",
            parameters=[
                JOB_ID,
                param("decision", "path", required=True, schema={"enum": ["approve", "deny"]}),
            ],
        )
    },
    "/v1/schedules": {"get": op("Schedules with their next firings", "view")},
    "/v1/drift": {"get": op("Drift by server, role and environment", "view")},
    "/v1/drift/{server}": {
        "get": op(
            "A server's drift items", "view", parameters=[param("server", "path", required=True)]
        )
    },
    "/v1/openapi.json": {"get": op("This document", "")},
    "/healthz": {"get": op("The process answers", "")},
    "/readyz": {"get": op("The database answers; the scheduler leader", "")},
    "/metrics": {"get": op("Prometheus text format", "")},
}
NAMES = {"type": "array", "items": {"type": "string"}}
DOCUMENT: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "otter-tui job orchestration API", "version": __version__},
    "paths": PATHS,
    "components": {
        "securitySchemes": {
            "header": {"type": "apiKey", "in": "header", "name": "X-ApiKey"},
            "query": {"type": "apiKey", "in": "query", "name": "key"},
        },
        "responses": {
            "Error": {
                "description": "refused",
                "content": {
                    "application/json": {
                        "schema": {"type": "object", "properties": {"error": {"type": "string"}}}
                    }
                },
            }
        },
        "schemas": {
            "JobRequest": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "plan": {"type": "string"},
                    "template": {"type": "string"},
                    "variables": {"type": "object"},
                    "simulation": {"type": "boolean"},
                    "queue": {"type": "string"},
                    "run_at": {"type": "string", "format": "date-time"},
                    "targets": {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {
                            "servers": NAMES,
                            "roles": NAMES,
                            "environments": NAMES,
                            "include_inactive": {"type": "boolean"},
                        },
                    },
                },
            }
        },
    },
}


async def openapi(request: Request) -> Json:
    return Json(DOCUMENT)


ROUTES = [Route("/v1/openapi.json", openapi, methods=["GET"])]
