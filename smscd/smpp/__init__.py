"""SMPP 3.4 (+5.0 TLVs) protocol core: pure Python, no I/O. See README.md."""
