"""Identity and access: staff and driver accounts, their passwords and bearer tokens, sign-in
and its limits, and the use cases of signing up, in and out (identity/services.py)."""
