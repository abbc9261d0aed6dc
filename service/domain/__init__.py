"""Domain logic: orders, shipping decisions, product identity, stock. No I/O."""
