"""Statistics on typed frames: numbers only, no formatting, no plotting, no templates."""
