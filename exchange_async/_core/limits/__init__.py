"""Rate limits: the documented limits, kept in-process or shared through Redis.

Layout (imports run down this list, never up):

- `declarations`: `RateLimit`, `Scope`, the margin and the GCRA tolerance math.
- `seam`: `Budget` and the `Limiter` / `Permit` / `WaitGroup` protocols the pipeline uses.
- `schedule`, `memory`: the in-process `MemoryLimiter` (budget schedules, tickets, one timer).
- `carry`: each event loop's `MemoryLimiter`, starting from the budgets earlier loops left.
- `redis`: the `RedisLimiter` package (scripts, keys, permits, outage, line-up strategies).
- `registry`: `limiter_for` / `release_limiter`, one concrete limiter per event loop.
"""

from .carry import memory_limiter_for_running_loop
from .declarations import CATCH_UP, DEFAULT_MARGIN, RateLimit, Scope, validate_margin
from .memory import MemoryLimiter, MemoryWaitGroup
from .redis import RedisLimiter, RedisPermit, RedisWaitGroup, check_redis_url
from .registry import LoopLimiters, limiter_for, limiter_here, release_limiter
from .seam import Budget, Limiter, Permit, WaitGroup, budgets_for

__all__ = [
    "CATCH_UP",
    "DEFAULT_MARGIN",
    "Budget",
    "Limiter",
    "LoopLimiters",
    "MemoryLimiter",
    "MemoryWaitGroup",
    "Permit",
    "RateLimit",
    "RedisLimiter",
    "RedisPermit",
    "RedisWaitGroup",
    "Scope",
    "WaitGroup",
    "budgets_for",
    "check_redis_url",
    "limiter_for",
    "limiter_here",
    "memory_limiter_for_running_loop",
    "release_limiter",
    "validate_margin",
]
