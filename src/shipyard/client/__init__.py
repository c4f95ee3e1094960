"""The client: the Python surface of a workspace, spoken over the REST API of a server."""
