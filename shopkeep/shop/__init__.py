"""The shop Shopkeep serves, as its store holds it: the profile every process reads, and the imports that bring a
shop's own catalog, customers and help pages into the store (``shopkeep init``, ``catalog``, ``customers`` and
``kb import``)."""
