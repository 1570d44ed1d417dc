"""MT and MO routing: rules as plain data, evaluated by pure functions; see README.md."""
