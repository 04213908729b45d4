"""Travel minutes between two places from their coordinates: great-circle distance × a road factor ÷ a speed.

Pure arithmetic, no imports from the rest of cherga (the model and the neighbour index both use it, so an office's
minutes are the same float wherever they are computed). Symmetric to the last bit: ``road_min(a, b) ==
road_min(b, a)``.
"""

from __future__ import annotations

import math

EARTH_RADIUS_KM = 6371.0088  # the mean radius (IUGG): the great-circle distance's error is under 0.5 % anywhere

# The defaults a network's ``[roads]`` table may change (loader.py):
# * roads are longer than the straight line: the ratio of road to great-circle distance ("detour index") is about
#   1.2-1.4 for Europe's road networks, 1.3 the usual figure inside a city and between nearby towns;
# * 40 km/h door to door: a bus or a car in a city and its suburbs, stops and traffic lights included (faster on a
#   highway between towns, slower on foot), so a centre 10 km away is about 20 minutes, as the demo's pairs are.
ROAD_FACTOR = 1.3
SPEED_KMH = 40.0


def great_circle_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """The haversine distance in kilometres between two points given in degrees."""
    p1 = math.radians(lat1)
    p2 = math.radians(lat2)
    dp = math.radians(lat2 - lat1)
    dl = math.radians(lon2 - lon1)
    h = math.sin(dp / 2.0) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2.0) ** 2
    return 2.0 * EARTH_RADIUS_KM * math.asin(math.sqrt(min(1.0, h)))


def road_min(lat1: float, lon1: float, lat2: float, lon2: float, road_factor: float, speed_kmh: float) -> float:
    """Minutes on the road between two points, to a tenth of a minute (as the alternatives show them)."""
    return round(great_circle_km(lat1, lon1, lat2, lon2) * road_factor / speed_kmh * 60.0, 1)


def reach_km(minutes: float, road_factor: float, speed_kmh: float) -> float:
    """The great-circle distance that ``minutes`` on the road cover: :func:`road_min`'s inverse."""
    return minutes / 60.0 * speed_kmh / road_factor
