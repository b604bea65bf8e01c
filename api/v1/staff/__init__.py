"""What staff call: sign-in and accounts, the warden handheld's API, the police feed, stay searches."""
