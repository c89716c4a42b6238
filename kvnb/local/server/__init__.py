"""The process: the ASGI app (a static route list), uvicorn per vault port, TLS, faults, admin, demo API."""
