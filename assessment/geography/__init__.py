"""geography stage of the assessment workbench.

``registry`` (dated boundary versions in EPSG:27700), ``assign`` (points to polygons),
``crosswalk`` (area / population / best-fit weights, apportionment, measured error),
``coterminosity`` (best fits, split units, index), ``rates`` (rates across geographies)
and ``maps`` (folium co-terminosity map). Boundary files are read by
``assessment.intake.boundaries``.
"""
