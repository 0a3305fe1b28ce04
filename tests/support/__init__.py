"""What the tests share, none of it a test: importable as ``support.<module>`` (pytest puts
``tests/`` on ``sys.path``; the fixtures themselves live in ``tests/conftest.py``).

- `virtual_time`: an event loop whose clock jumps to the next timer (marker ``virtual_time``).
- `sim_transport`: the simulator's engine as an in-memory transport (no socket).
- `servers`: real local HTTP servers whose replies a test chooses.
- `rows`: the exchanges' documented example rows as exact bytes, to change one value in.
- `raw_server`: a raw-socket HTTP server (optionally TLS) whose every byte a test writes.
- `transports`: the transport conformance suite's fixture (each socket transport) and helpers.
- `hostile`: hostile values, hypothesis strategies and the decode checks of the property tests.
- `exposure`: everything an error or a log record shows, for the no-secret-shown tests.
- `bitget_memory`: a Bitget answered in memory by a function of the test's.
- `clients`: clients of the test accounts built with any options.
- `waiting`: a bounded poll (`until`) and a Redis key watcher, instead of guessed sleeps.
- `redis_server`, `redis_cluster`: a real redis-server / three-node Redis Cluster on loopback
  ports (fixtures ``redis_server``, ``redis_cluster``); `redis_limiting`: the Redis limiter
  tests' budgets, the ``pair`` of limiters and reservations.
- `clients_load`, `limiter_load`: scripts the multi-process Redis tests run in each process.

The exchange replies themselves come from ``exchange_async_sim.testing`` (``bitget_page``,
``coinw_rows``, ``bitget_error``, ...), public so a bot's own tests can use them too.
"""
