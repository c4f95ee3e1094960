"""Examples that ship with shipyard: the quickstart's data generator and its steps."""
