"""Shared tools any crew can bind by name in its YAML (least privilege: only agents that name a tool get it)."""
