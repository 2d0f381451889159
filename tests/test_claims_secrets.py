"""A job with sensitive values runs only where those values are: the process that created it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from otter_tui.services.claims import ClaimService
from otter_tui.services.jobs import JobRequest
from otter_tui.targeting import TargetSpec
from tests.fixtures_core import make_runtime

PLAN = """\
from otter_tui.plan import OrchestrationPlan, Secret


class Login(OrchestrationPlan):
    name = "Login"
    variables = {"token": Secret()}

    async def run(self, ctx):
        ctx.log("logged in")
"""


def test_a_queue_worker_never_takes_a_job_whose_secrets_it_lacks(tmp_path: Path) -> None:
    plans = tmp_path / "plans"
    plans.mkdir()
    (plans / "login.py").write_text(PLAN)
    rt = make_runtime(tmp_path, seed=False)
    rt.plans.set_enabled("login.Login", True)
    secrets: dict[str, Any] = {}
    job = rt.jobs.create(
        JobRequest(plan="login.Login", targets=TargetSpec(), variables={"token": "s3cret"}),
        secrets_out=secrets,
    )
    assert secrets == {"token": "s3cret"}

    daemon = ClaimService(rt.ctx, "daemon:elsewhere")
    assert daemon.claim_next(["default"]) is None
    creator = ClaimService(rt.ctx, "console:here")
    assert creator.claim(job.id)
    assert rt.jobs.show(job.id).state == "running"
