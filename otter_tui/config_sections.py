"""The sections of config.toml that are plain values (each checked by ``config``'s schema walk).

Split from :mod:`otter_tui.config`, which reads, checks and resolves them; the sections with
checks of their own live beside them (``api_settings``, ``console_settings``,
``database_settings``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PathSettings:
    """``[paths]``: where the data and the plans live."""

    data_dir: str = ""
    """Where the database, the app's known_hosts and the demo sandbox live; empty: user data dir."""
    plans_dir: str = "plans"
    """The folder of plan files (``*.py``)."""


@dataclass(frozen=True)
class EngineSettings:
    """``[engine]``: how jobs run in this process."""

    max_parallel: int = 200
    """How many server runs one process (console, daemon, `run`) runs at once, across its jobs."""
    log_batch_ms: int = 50
    """Log lines are published and stored in batches at most this old..."""
    log_batch_lines: int = 200
    """...or this long, whichever comes first."""
    lease_seconds: int = 30
    """A worker renews the lease on its jobs this often; a job whose lease expired was orphaned."""
    cancel_grace_seconds: int = 10
    """After a soft time limit or a cancel, how long a run gets to clean up before it is killed."""


@dataclass(frozen=True)
class JobSettings:
    """``[jobs]``: how a worker splits a large job."""

    slice_size: int = 100
    """A job run by a worker on more server runs than this is split into slices of this many,
    which any worker of its queue may claim (see docs/deploy.md)."""


@dataclass(frozen=True)
class SshSettings:
    """``[ssh]``: how servers are reached and trusted, and the warm connection pool."""

    known_hosts: str = "~/.ssh/known_hosts"
    """The user's known_hosts; the app also keeps its own in the data dir."""
    connect_timeout: float = 10.0
    """Seconds to wait for a connection and login (not counting a wait for a connect slot)."""
    max_concurrent_connects: int = 64
    """At most this many SSH handshakes (TCP, key exchange, login) at once per process; the
    rest wait their turn. Hundreds of simultaneous key exchanges starve a small client (and the
    servers' MaxStartups) until they time out; sessions after login are not limited by this."""
    use_agent: bool = True
    """Offer keys from ssh-agent. Agent forwarding is always off."""
    client_keys: tuple[str, ...] = ()
    """Private key files to offer, in addition to the agent."""
    ssh_config: str = "~/.ssh/config"
    """Honoured for host, port, user and ProxyJump; never for host-key checking."""
    pool_size: int = 200
    """The console and the daemon keep up to this many idle connections open for the next job
    on the same servers (least recently used closed first); 0: close each after its run."""
    pool_idle_seconds: float = 300.0
    """An idle kept connection is closed after this many seconds unused; 0: keep none."""
    ciphers: tuple[str, ...] = ()
    """Ciphers to offer, most preferred first; empty: AES-GCM first on a CPU with AES
    instructions (the cheapest per packet there), else asyncssh's order (transport/ciphers.py).
    ``Ciphers`` in ssh_config still applies to its hosts when this is empty."""


@dataclass(frozen=True)
class RetentionSettings:
    """``[retention]``: how long logs and jobs are kept."""

    log_days: int = 30
    """Log lines older than this are pruned."""
    job_days: int = 180
    """Finished jobs older than this are pruned (with their server runs and logs)."""


@dataclass(frozen=True)
class SchedulerSettings:
    """``[scheduler]``: the one active scheduler, its misfires and catch-up."""

    lease_seconds: int = 15
    """Only one scheduler is active per database; it renews its lease this often."""
    misfire_grace_seconds: int = 3600
    """A missed firing older than this is recorded as missed, not run."""
    run_all_cap: int = 10
    """With the ``run_all`` misfire policy, at most this many missed firings are run."""


@dataclass(frozen=True)
class DaemonSettings:
    """``[daemon]``: how often the daemon polls for work, and how it stops."""

    shutdown_grace_seconds: int = 30
    """On SIGTERM the daemon claims nothing more and gives running jobs this long to finish; the
    rest are cancelled (``engine.cancel_grace_seconds`` to clean up) and marked ``interrupted``."""
    poll_seconds: float = 2.0
    """How often workers look for jobs created by other processes (the CLI, the console)."""


@dataclass(frozen=True)
class ApprovalSettings:
    """``[approvals]``: who may approve their own jobs; how late a timed job may be approved."""

    self_approval_exceptions: tuple[str, ...] = ()
    """Users allowed to approve their own jobs (for one-person teams)."""
    one_shot_window_seconds: int = 3600
    """A job asked for a time (``run --at``) that needs approval must be approved within this
    long after that time; approved later, it expires instead of running late."""


@dataclass(frozen=True)
class InventorySettings:
    """``[inventory]``: how an inventory import reads groups."""

    environment_prefix: str = ""
    """``inventory import ansible``: groups whose name starts with this become environments
    (empty: only the groups named by ``--environments``)."""
