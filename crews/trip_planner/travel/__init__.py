"""Flight and hotel search behind one provider interface: offline dataset by default, HTTP by env."""
from .provider import Flight, Hotel, TravelError, TravelProvider, parse_day, provider_from_env, stay

__all__ = ["Flight", "Hotel", "TravelError", "TravelProvider", "parse_day", "provider_from_env", "stay"]
