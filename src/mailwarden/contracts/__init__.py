"""Pydantic wire models shared by the server and its device processes (edge, vision).

No Django here: the edge and vision processes import this package without the server.
"""
