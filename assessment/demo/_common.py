"""Constants and small deterministic helpers shared by the Riverton generator modules.

Everything here is about *how* files are written (fixed float formatting, ``\\n`` line
endings, fixed timestamps) so that one seed always gives byte-identical files.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import os
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
from pyproj import Transformer

CRS_BNG = "EPSG:27700"
CRS_WGS84 = "EPSG:4326"
FORCE = "riverton"
FORCE_NAME = "Riverton Police"
PARTNERSHIP_CODE = "E07900001"
PARTNERSHIP_NAME = "Riverton"

#: Bounding box of the partnership (easting/northing, metres).
BBOX = (432000.0, 284000.0, 447000.0, 296000.0)
#: Planted pattern anchors (EPSG:27700), as documented in docs/DEMO_DATA.md.
TOWN_CENTRE = (439500.0, 290200.0)
TOWN_CENTRE_RADIUS = 400.0
BURGLARY_CLUSTER = (443000.0, 287000.0)
BURGLARY_CLUSTER_RADIUS = 350.0
#: Series break: Public order counting rule changes from this month.
SERIES_BREAK_MONTH = "2024-04"
WARD_REVIEW_DATE = "2024-05-01"

#: Assessment window, as monthly periods.
MONTHS = pd.period_range("2023-01", "2025-12", freq="M")
MONTH_LABELS = np.array([str(p) for p in MONTHS])

_TO_WGS84 = Transformer.from_crs(CRS_BNG, CRS_WGS84, always_xy=True)
_TO_BNG = Transformer.from_crs(CRS_WGS84, CRS_BNG, always_xy=True)


def bng_to_wgs84(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return (longitude, latitude) arrays for British National Grid eastings and northings."""
    lon, lat = _TO_WGS84.transform(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
    return np.asarray(lon), np.asarray(lat)


def wgs84_to_bng(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return (easting, northing) arrays for WGS84 longitudes and latitudes."""
    x, y = _TO_BNG.transform(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    return np.asarray(x), np.asarray(y)


def format_fixed(values: np.ndarray, decimals: int) -> np.ndarray:
    """Format floats with a fixed number of decimals; NaN becomes the empty string."""
    values = np.asarray(values, dtype=float)
    out = np.char.mod(f"%.{decimals}f", np.nan_to_num(values, nan=0.0)).astype(object)
    out[np.isnan(values)] = ""
    return out


def write_csv(frame: pd.DataFrame, path: Path, encoding: str = "utf-8") -> Path:
    """Write ``frame`` as CSV with ``\\n`` line endings and no index."""
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False, lineterminator="\n", encoding=encoding)
    return path


def fixed_timestamp(seed: int) -> dt.datetime:
    """A fixed, seed-derived timestamp stamped into files that carry one (xlsx, GeoPackage)."""
    return dt.datetime(2026, 1, 5, 9, 0, 0) + dt.timedelta(minutes=int(seed) % 1440)


@contextlib.contextmanager
def gdal_fixed_date(seed: int) -> Iterator[None]:
    """Make GDAL stamp a fixed date into the files it writes (``OGR_CURRENT_DATE``).

    The GeoPackage driver writes the current time into ``gpkg_contents.last_change``;
    GDAL honours the ``OGR_CURRENT_DATE`` configuration option instead when it is set.
    The option (and the environment variable of the same name) is restored on exit.
    """
    import pyogrio

    stamp = fixed_timestamp(seed).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    previous_env = os.environ.get("OGR_CURRENT_DATE")
    previous_opt = pyogrio.get_gdal_config_option("OGR_CURRENT_DATE")
    os.environ["OGR_CURRENT_DATE"] = stamp
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": stamp})
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": previous_opt})
        if previous_env is None:
            os.environ.pop("OGR_CURRENT_DATE", None)
        else:
            os.environ["OGR_CURRENT_DATE"] = previous_env


def rezip_fixed(data: bytes, stamp: dt.datetime) -> bytes:
    """Rewrite a zip archive (an xlsx) with every member's timestamp set to ``stamp``.

    openpyxl writes members with the current local time, and stamps ``dcterms:modified`` in
    ``docProps/core.xml`` with the time of saving whatever the workbook properties say; both
    would make two runs differ, so both are replaced here.
    """
    iso = stamp.strftime("%Y-%m-%dT%H:%M:%SZ").encode("ascii")
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            member = zipfile.ZipInfo(info.filename, date_time=stamp.timetuple()[:6])
            member.compress_type = zipfile.ZIP_DEFLATED
            member.external_attr = 0o600 << 16
            content = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)", rb"\g<1>" + iso + rb"\g<2>",
                                 content)
            target.writestr(member, content)
    return out.getvalue()


def weighted_choice(rng: np.random.Generator, weights: np.ndarray, size: int) -> np.ndarray:
    """Draw ``size`` indices with probability proportional to ``weights``."""
    weights = np.asarray(weights, dtype=float)
    return rng.choice(weights.size, size=size, p=weights / weights.sum())


def distance(x: np.ndarray, y: np.ndarray, point: tuple[float, float]) -> np.ndarray:
    """Euclidean distance in metres from ``point``."""
    return np.hypot(np.asarray(x, dtype=float) - point[0], np.asarray(y, dtype=float) - point[1])


def hex_ids(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` random 64-character lower-case hex strings, like data.police.uk Crime IDs."""
    raw = rng.integers(0, 256, size=(n, 32), dtype=np.uint8).tobytes().hex()
    return np.frombuffer(raw.encode("ascii"), dtype="S64").astype(str).astype(object)
