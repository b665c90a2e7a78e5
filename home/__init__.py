"""The public site: page types, site-wide settings, navigation, search and demo content."""
