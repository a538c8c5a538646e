"""``main.py serve``: every crew behind an HTTP API shaped like CrewAI's hosted one, and a web console.

The web process never imports crewai and never runs a crew: it validates a kickoff against
the crew's typed inputs, records it in the run store (``queued``) and only then answers;
worker processes (``rolecall.workers``) run it. Everything the API and the console show is
read back from the store, which the workers write as crewai's events arrive.

    catalog.py    the crews served and their typed inputs, from the validation cache (no crewai)
    kickoffs.py   the queue: store before answer, one thread feeding the worker pool, restart recovery
    live.py       what changed in a run since last asked: the SSE stream and the webhooks read it
    webhooks.py   POSTs on task, step and crew completion, retried with backoff, each delivery recorded
    answers.py    JSON answers and errors (what, where, how to fix; never a traceback), redacted
    guard.py      the ASGI middleware: bearer token or console cookie, request size limit
    openapi.py    the OpenAPI document and the offline /docs page
    routes.py     the API routes (per crew, at the root for one crew, runs)
    console.py    the web console's pages (Jinja2 templates and static files in console/)
    server.py     the Starlette app, its lifespan, and binding a socket for uvicorn
"""
