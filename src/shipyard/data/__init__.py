"""Data: dataset versions, hashing, validation, profiling, personal-data scan."""
