"""The member register: people, organisations, chapters, memberships and access."""
