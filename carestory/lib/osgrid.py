"""British National Grid (OSGB36 eastings/northings, EPSG:27700) to WGS84 latitude/longitude.

Pure Python, no GIS libraries. Two steps, as described in Ordnance Survey's "A guide to
coordinate systems in Great Britain":

1. the inverse transverse Mercator projection on the Airy 1830 ellipsoid gives OSGB36
   latitude/longitude (accurate to well under a millimetre of the projection itself);
2. a seven-parameter Helmert transformation shifts the datum from OSGB36 to WGS84 (about
   5 metres of error, the limit of a single Helmert transformation for the whole country;
   OSTN15 is needed for centimetres, which place-finding does not need).
"""

from __future__ import annotations

import math

# Airy 1830 ellipsoid (OSGB36) and the National Grid projection.
_AIRY_A = 6_377_563.396
_AIRY_B = 6_356_256.909
_F0 = 0.9996012717  # scale factor on the central meridian
_LAT0 = math.radians(49.0)  # true origin 49°N, 2°W
_LON0 = math.radians(-2.0)
_E0 = 400_000.0  # false origin
_N0 = -100_000.0

# GRS80 / WGS84 ellipsoid.
_WGS_A = 6_378_137.000
_WGS_B = 6_356_752.3141

# Helmert parameters OSGB36 -> WGS84 (the OS published WGS84 -> OSGB36 set, negated).
_TX, _TY, _TZ = 446.448, -125.157, 542.060  # metres
_S = -20.4894e-6  # scale, parts per million
_ARCSEC = math.pi / (180 * 3600)
_RX, _RY, _RZ = 0.1502 * _ARCSEC, 0.2470 * _ARCSEC, 0.8421 * _ARCSEC

# Rough bounds of the grid, to refuse numbers that cannot be a National Grid reference.
MAX_EASTING = 800_000.0
MAX_NORTHING = 1_400_000.0


def _meridional_arc(lat: float, n: float) -> float:
    d = lat - _LAT0
    s = lat + _LAT0
    return (
        _AIRY_B
        * _F0
        * (
            (1 + n + 5 / 4 * n**2 + 5 / 4 * n**3) * d
            - (3 * n + 3 * n**2 + 21 / 8 * n**3) * math.sin(d) * math.cos(s)
            + (15 / 8 * n**2 + 15 / 8 * n**3) * math.sin(2 * d) * math.cos(2 * s)
            - 35 / 24 * n**3 * math.sin(3 * d) * math.cos(3 * s)
        )
    )


def grid_to_osgb36(easting: float, northing: float) -> tuple[float, float]:
    """National Grid easting/northing (metres) -> OSGB36 latitude/longitude in degrees."""
    a, b = _AIRY_A, _AIRY_B
    e2 = 1 - (b * b) / (a * a)
    n = (a - b) / (a + b)

    lat = _LAT0
    m = 0.0
    # Iterate until the meridional arc matches the northing to 0.01 mm.
    while True:
        lat = (northing - _N0 - m) / (a * _F0) + lat
        m = _meridional_arc(lat, n)
        if abs(northing - _N0 - m) < 0.00001:
            break

    sin_lat = math.sin(lat)
    cos_lat = math.cos(lat)
    tan_lat = math.tan(lat)
    nu = a * _F0 / math.sqrt(1 - e2 * sin_lat**2)
    rho = a * _F0 * (1 - e2) / (1 - e2 * sin_lat**2) ** 1.5
    eta2 = nu / rho - 1

    vii = tan_lat / (2 * rho * nu)
    viii = tan_lat / (24 * rho * nu**3) * (5 + 3 * tan_lat**2 + eta2 - 9 * tan_lat**2 * eta2)
    ix = tan_lat / (720 * rho * nu**5) * (61 + 90 * tan_lat**2 + 45 * tan_lat**4)
    x = 1 / (cos_lat * nu)
    xi = 1 / (cos_lat * 6 * nu**3) * (nu / rho + 2 * tan_lat**2)
    xii = 1 / (cos_lat * 120 * nu**5) * (5 + 28 * tan_lat**2 + 24 * tan_lat**4)
    xiia = (
        1
        / (cos_lat * 5040 * nu**7)
        * (61 + 662 * tan_lat**2 + 1320 * tan_lat**4 + 720 * tan_lat**6)
    )

    de = easting - _E0
    lat_out = lat - vii * de**2 + viii * de**4 - ix * de**6
    lon_out = _LON0 + x * de - xi * de**3 + xii * de**5 - xiia * de**7
    return math.degrees(lat_out), math.degrees(lon_out)


def _to_cartesian(lat: float, lon: float, a: float, b: float) -> tuple[float, float, float]:
    e2 = 1 - (b * b) / (a * a)
    phi, lam = math.radians(lat), math.radians(lon)
    nu = a / math.sqrt(1 - e2 * math.sin(phi) ** 2)
    return (
        nu * math.cos(phi) * math.cos(lam),
        nu * math.cos(phi) * math.sin(lam),
        (1 - e2) * nu * math.sin(phi),
    )


def _from_cartesian(x: float, y: float, z: float, a: float, b: float) -> tuple[float, float]:
    e2 = 1 - (b * b) / (a * a)
    p = math.hypot(x, y)
    phi = math.atan2(z, p * (1 - e2))
    while True:
        nu = a / math.sqrt(1 - e2 * math.sin(phi) ** 2)
        nxt = math.atan2(z + e2 * nu * math.sin(phi), p)
        if abs(nxt - phi) < 1e-12:
            phi = nxt
            break
        phi = nxt
    return math.degrees(phi), math.degrees(math.atan2(y, x))


def osgb36_to_wgs84(lat: float, lon: float) -> tuple[float, float]:
    """Shift an OSGB36 latitude/longitude to WGS84 with the OS Helmert parameters."""
    x, y, z = _to_cartesian(lat, lon, _AIRY_A, _AIRY_B)
    s1 = 1 + _S
    x2 = _TX + s1 * x - _RZ * y + _RY * z
    y2 = _TY + _RZ * x + s1 * y - _RX * z
    z2 = _TZ - _RY * x + _RX * y + s1 * z
    return _from_cartesian(x2, y2, z2, _WGS_A, _WGS_B)


def grid_to_wgs84(easting: float, northing: float) -> tuple[float, float]:
    """National Grid easting/northing (metres) -> WGS84 (latitude, longitude) in degrees.

    Raises ValueError for numbers outside the grid.
    """
    if not (0 <= easting <= MAX_EASTING and 0 <= northing <= MAX_NORTHING):
        raise ValueError(f"({easting}, {northing}) is outside the British National Grid")
    return osgb36_to_wgs84(*grid_to_osgb36(easting, northing))
