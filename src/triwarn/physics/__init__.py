"""Flight over a rotating WGS84 Earth: gravity, atmosphere, free flight, boost and the launch solver."""
