"""End-to-end encryption, the server's part: it stores and routes keys and
encrypted messages, and never sees plaintext."""
