"""Commands for checking imageconv under stress: fuzzing and soaking."""
