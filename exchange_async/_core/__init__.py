"""The exchange-neutral core. Exchange packages use it; it never imports them.

client.py        BaseClient: lifecycle and stats around one pipeline
declarations.py  what an exchange declares: Endpoint (path, limits, reply, page shape),
                 ExchangeSpec (success code, error table, headers, clock endpoint)
params.py        argument checks: a bad argument is a ValidationError before any request
paging.py        one Paginator for every cursor-paged endpoint
pipeline/        the request path: options, pipeline, clock, signing, reply, retry
limits/          the rate limiters, in-process and on Redis, behind one seam
transport/       the transports behind the Transport seam (the network is only there)
"""
