"""The server-rendered web app: login, rep pages, ops pages; every asset served by leadpool."""
