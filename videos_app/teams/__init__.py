"""Teams: their members and roles, the team settings pages, the create forms' team fields."""
