"""Who calls the API: roles, principals and the API keys that name them (issue 11)."""
