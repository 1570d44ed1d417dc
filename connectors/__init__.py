"""Upstream vendor binds (SMPP client connectors) and the SMSC simulator; see README.md."""
