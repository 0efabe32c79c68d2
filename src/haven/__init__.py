"""Haven: a self-hostable home for tasks, calendars and habits."""
