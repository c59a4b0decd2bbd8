"""The one way to change the risk app's rows; each topic has its module."""
