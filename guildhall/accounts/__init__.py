"""User accounts: e-mail sign-in, the staff second factor and sign-in rate limits."""
