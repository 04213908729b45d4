"""``cherga serve`` that SIGKILLs itself between the two steps of a redirect saga (test_redirect_saga).

Run as ``python tests/kill_between_redirect_steps.py serve ...``: it wraps ``ClusterHost.issue_at_target`` (step 1:
the target issued the new ticket) so that the process dies right after that step answered and before
``mark_redirected`` (step 2) runs, then starts the ordinary command line. The fault lives here, not in the product.
"""

from __future__ import annotations

import logging
import os
import signal

from cherga.cli import main
from cherga.displays.cluster import ClusterHost
from cherga.engine import commands as c
from cherga.engine import events as e

_step_one = ClusterHost.issue_at_target


async def _step_one_then_die(self: ClusterHost, issue: c.IssueTicket) -> tuple[str, list[e.BaseEvent]]:
    got = await _step_one(self, issue)
    logging.getLogger("cherga.test").error("the target issued %s: dying before step 2 of the redirect", got[0])
    os.kill(os.getpid(), signal.SIGKILL)
    return got  # never reached


ClusterHost.issue_at_target = _step_one_then_die  # type: ignore[method-assign]

if __name__ == "__main__":
    raise SystemExit(main())
