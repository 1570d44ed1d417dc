# tests: tests/unit/test_codec.py
"""The two ways an SMPP byte stream can be wrong, each carrying its wire answer.

InvalidPdu: the frame was intact but its content was not. Answer the request's
*_resp (or generic_nack for an unknown command) with `status`; the bind survives.
FramingError: PDU boundaries are lost. Send generic_nack with `status`, then close.
"""
from .status import CommandStatus, status_name


class SmppError(Exception):
    """Base class; `status` is what we answer on the wire.

    The message text is for logs and operators only, never for the peer.
    `command_id` and `sequence_number` say which request to answer, when they were read.
    """

    def __init__(self, detail: str, status: int = CommandStatus.ESME_RSYSERR,
                 offset: int | None = None, command_id: int | None = None,
                 sequence_number: int | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.status = status
        self.offset = offset
        self.command_id = command_id
        self.sequence_number = sequence_number

    def __str__(self) -> str:
        where = f" at offset {self.offset}" if self.offset is not None else ""
        return f"{self.detail}{where} ({status_name(self.status)})"


class InvalidPdu(SmppError):
    """A field, TLV or command is not acceptable; the frame itself was intact."""


class FramingError(SmppError):
    """command_length is impossible: the stream cannot be resynchronised."""
