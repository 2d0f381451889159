"""Demo deploy: an orchestration plan, i.e. steps run in order on each targeted server.

The three parts most deployments have:

1. probe: look before changing (``ctx.probe`` is read-only and runs even in simulation);
2. change: ``ctx.ensure(op)`` changes only what is not yet as desired, ``ctx.shell`` runs a
   command (in simulation it only logs "would run", and its result is marked unknown);
3. verify: check the result, and fail the server run loudly if it is wrong.

Paths start with the server variable ``root`` (the demo servers' sandbox folder).
"""

from __future__ import annotations

from otter_tui.plan import Command, Int, OrchestrationPlan, RunContext, StepFailed, Text
from otter_tui.plan import operations as ops


class DemoDeploy(OrchestrationPlan):
    """Deploy a version of the demo app: new release folder, switch the link, verify."""

    name = "Demo deploy"
    grouping = "Demo"
    soft_time_limit = 60
    """After a minute the run is asked to stop; after two it is killed (``time_limit``)."""
    time_limit = 120
    exclusive = True
    """Two deploys never switch one server's release at once: a later one waits its turn."""
    variables = {
        "version": Text(help="the version to deploy, e.g. 1.4.2"),
        "workers": Int(default=2, help="how many app workers the release starts"),
    }

    async def run(self, ctx: RunContext) -> None:
        """Probe, change, verify; see the module docstring."""
        if ctx.server is None:
            ctx.warn("no server in context: target the 'demo' role")
            return
        root = ctx.server.var("root").rstrip("/")
        if not root:
            raise StepFailed(f"{ctx.server.name}: no 'root' variable: this plan needs a sandbox")
        version = str(ctx.vars["version"])
        release, current = f"{root}/srv/app/releases/{version}", f"{root}/srv/app/current"

        live = await ctx.probe(Command.argv("readlink", "--", current))
        ctx.log(f"live release: {live.stdout.strip() or 'none'}")

        await ctx.ensure(ops.file(f"{release}/VERSION", content=f"{version}\n"))
        await ctx.ensure(ops.file(f"{release}/app.env", content=f"WORKERS={ctx.vars['workers']}\n"))
        await ctx.ensure(ops.symlink(current, release))
        if ctx.in_role("demo"):
            # Role-specific part: only servers targeted through (or in) the demo role restart.
            await ctx.shell(Command.argv("touch", "--", f"{root}/srv/app/restart.txt"))

        await self.verify(ctx, current, version)

    async def verify(self, ctx: RunContext, current: str, version: str) -> None:
        """The live release must report the version just deployed."""
        if ctx.simulation:
            ctx.log("simulation: nothing was changed, so there is nothing to verify")
            return
        found = await ctx.probe(Command.argv("cat", "--", f"{current}/VERSION"))
        if found.stdout.strip() != version:
            raise StepFailed(f"live release reports {found.stdout.strip()!r}, wanted {version!r}")
        ctx.log(f"verified: {version} is live")
