"""smscd: an SMPP/SMSC gateway daemon."""

__version__ = "0.1.0"
