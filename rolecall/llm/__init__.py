"""Model profiles and the LLM classes rolecall ships (scripted, local)."""
