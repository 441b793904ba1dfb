"""Users, roles, passwords, sessions, CSRF, API tokens and login rate limiting."""
