#!/usr/bin/env python3
"""Route optimizer for a delivery drone: nearest neighbour, then 2-opt, over lat/lon stops.

Python 3 standard library only, deterministic (no randomness; ties broken by input order).
Reads stops.json ({"depot": {name, lat, lon}, "stops": [{name, lat, lon}, ...]}) and writes
route.json with the visiting order and the total great-circle distance in metres.
"""
import argparse
import json
import math
import os
import sys

EARTH_RADIUS_M = 6371000.0


def haversine_m(a, b):
    la1, lo1, la2, lo2 = map(math.radians, (a["lat"], a["lon"], b["lat"], b["lon"]))
    h = math.sin((la2 - la1) / 2) ** 2 + math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(h))


def tour_length(tour, dist):
    return sum(dist[tour[i]][tour[i + 1]] for i in range(len(tour) - 1))


def nearest_neighbour(n, dist):
    tour, left = [0], set(range(1, n))
    while left:
        last = tour[-1]
        nxt = min(left, key=lambda j: (dist[last][j], j))
        tour.append(nxt)
        left.remove(nxt)
    return tour


def two_opt(tour, dist, closed):
    """Reverses segments while that shortens the tour (first improvement, fixed scan order)."""
    passes = 0
    improved = True
    end = len(tour) if closed else len(tour) - 1
    while improved:
        improved = False
        passes += 1
        for i in range(1, len(tour) - 1):
            for k in range(i + 1, end):
                a, b = tour[i - 1], tour[i]
                c = tour[k]
                d = tour[k + 1] if k + 1 < len(tour) else tour[0]
                if not closed and k + 1 >= len(tour):
                    continue
                delta = dist[a][c] + dist[b][d] - dist[a][b] - dist[c][d]
                if delta < -1e-9:
                    tour[i:k + 1] = reversed(tour[i:k + 1])
                    improved = True
    return tour, passes


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--stops", default="stops.json")
    ap.add_argument("--out", default="route.json")
    args = ap.parse_args()
    closed = os.environ.get("RETURN_TO_DEPOT", "1") == "1"
    try:
        with open(args.stops) as f:
            data = json.load(f)
        points = [data["depot"]] + list(data["stops"])
        for p in points:
            if not (-90 <= float(p["lat"]) <= 90 and -180 <= float(p["lon"]) <= 180):
                raise ValueError(f"stop {p.get('name')} has coordinates out of range")
    except (OSError, ValueError, KeyError, TypeError) as e:
        print(f"error: cannot read {args.stops}: {e}", file=sys.stderr)
        return 2
    n = len(points)
    dist = [[haversine_m(points[i], points[j]) for j in range(n)] for i in range(n)]
    nn = nearest_neighbour(n, dist)
    closed_nn = nn + [0] if closed else nn
    nn_len = tour_length(closed_nn, dist)
    tour, passes = two_opt(list(nn), dist, closed)
    full = tour + [0] if closed else tour
    total = tour_length(full, dist)
    route = {
        "algorithm": "nearest-neighbour + 2-opt",
        "return_to_depot": closed,
        "order": [points[i]["name"] for i in full],
        "total_distance_m": round(total),
        "nearest_neighbour_distance_m": round(nn_len),
        "two_opt_passes": passes,
        "stops": n - 1,
    }
    with open(args.out, "w") as f:
        json.dump(route, f, indent=2, sort_keys=True)
        f.write("\n")
    print(f"{n - 1} stops: nearest neighbour {nn_len / 1000:.3f} km -> 2-opt {total / 1000:.3f} km "
          f"({passes} passes)")
    print(" -> ".join(route["order"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
