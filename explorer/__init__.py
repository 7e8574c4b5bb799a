"""The explorer: an event indexer (SQLite) and a read-only web app over the veritrain contracts."""
