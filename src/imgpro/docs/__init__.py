"""The user documentation the server serves at ``/docs/…``, ``/llms.txt`` and ``/llms-full.txt``.

Markdown sources in ``content/`` (package data) are the one source: the pages render them to
HTML, llms-full.txt concatenates them, and the tables that must agree with the code (error codes,
transform parameters) come from :mod:`imgpro.docs.catalog`, which the OpenAPI document uses too.
"""
