"""A fleet of pollers on Redis: leases, checkpoints, an event stream.

`Fleet` is what every worker process is given (``Poller(fleet=...)``); `FleetEvents` reads
the events every worker committed. The parts, one module each:

    keys         where the fleet's state lives in Redis; which shard an account is in
    scripts      the Lua scripts (lease, renew, release, heartbeat, commit)
    leases       a worker's leases, trusted by its own clock
    guard        the check right before a request leaves
    checkpoints  each account's last announced orders, and the commit that moves them
    codec        events and orders as msgpack, Decimal and int exact
    worker       the rounds: heartbeat, renew, rebalance, (re)start accounts
    consumer     `FleetEvents`: a consumer group over the stream
"""

from ..poller.publish import CommitError, LeaseLostError
from .codec import register_order_type
from .consumer import FleetEvents
from .fleet import Fleet

__all__ = ["CommitError", "Fleet", "FleetEvents", "LeaseLostError", "register_order_type"]
