"""Accounts: people who sign in. ``users`` hashes passwords, authenticates and rotates session
tokens; ``accounts`` handles invitations and password resets by one-time emailed tokens."""
