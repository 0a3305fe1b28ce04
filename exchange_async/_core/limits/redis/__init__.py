"""Rate limits shared through Redis (`RedisLimiter`), one module per concern:

- `scripts`: the Lua scripts (the slot rule, lost-state detection, re-dates, give-backs).
- `keys`: key names and `Plan`, what one set of budgets means on Redis.
- `connection`: the URL check, the client, the script runner (`Scripts`).
- `permits`: `RedisPermit`, `RedisWaitGroup`, this process's queues per account budget.
- `waits`: the callers' sleeps (`Sleeps`).
- `outage`: `Outage`, this process's share while Redis is unreachable.
- `lineup`: `SingleServer` or `ClusterLineUp`, chosen at construction.
- `limiter`: `RedisLimiter`, which composes them.
"""

from .connection import check_redis_url
from .limiter import RedisLimiter
from .permits import RedisPermit, RedisWaitGroup

__all__ = ["RedisLimiter", "RedisPermit", "RedisWaitGroup", "check_redis_url"]
