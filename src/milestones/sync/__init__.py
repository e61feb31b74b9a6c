"""The engine as small steps: pull -> mirror -> derive -> plan -> write, resumable at each."""
