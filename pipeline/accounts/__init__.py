"""People: accounts with roles and salted scrypt password hashes, and checking a sign-in.
Reads and writes ``users`` and the audit log.
"""
