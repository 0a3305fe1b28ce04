"""The request path, one module per step: what a client's call goes through.

    options    the client keywords, checked once into one frozen `ClientOptions`
    pipeline   query -> clock -> limiter -> signing -> transport -> reply, with retries
    clock      the measured offset to a server's clock, shared per server and event loop
    signing    credentials and the signing primitives (secrets never shown)
    reply      bytes -> envelope -> data or the mapped error; ``Retry-After``
    decoder    bytes -> the declared type, as its fields' metadata say (blanks, spellings)
    retry      the one place that decides what is retried and how long to wait

Import the modules themselves (``from .pipeline.pipeline import Pipeline``): this package
re-exports nothing, so the declarations can use `reply` without importing the pipeline.
"""
