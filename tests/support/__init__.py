"""What the tests share, none of it a test: importable as ``support.<module>`` (pytest puts
``tests/`` on ``sys.path``; the fixtures themselves live in ``tests/conftest.py``).

- `virtual_time`: an event loop whose clock jumps to the next timer (marker ``virtual_time``).
- `sim_transport`: the simulator's engine as an in-memory transport (no socket).
- `servers`: real local HTTP servers whose replies a test chooses.
- `rows`: the exchanges' documented example rows as exact bytes, to change one value in.
- `hostile`: hostile values, hypothesis strategies and the decode checks of the property tests.
- `exposure`: everything an error or a log record shows, for the no-secret-shown tests.
- `clients_load`: a script the multi-process Redis tests run in each process.

The exchange replies themselves come from ``exchange_async_sim.testing`` (``bitget_page``,
``coinw_rows``, ``bitget_error``, ...), public so a bot's own tests can use them too.
"""
