"""HTTP plumbing shared by the edges (``api``, ``delivery``, ``web``): how a domain error
becomes a response. Domains never import it."""
