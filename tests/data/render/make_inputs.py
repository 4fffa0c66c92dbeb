#!/usr/bin/env python3
"""Writes the input readings of the render cases (the /readings answer
bodies the cases' case.txt files name). Deterministic; run it from this
folder to regenerate them. Offsets come from Python's zoneinfo, not from
dexmafs."""
import datetime as dt
import json
import math
import random
from zoneinfo import ZoneInfo


def series(tz, start, end, step, value, skip=lambda t: False, units="kWh"):
    zone = ZoneInfo(tz)
    t = start.replace(tzinfo=zone).astimezone(dt.timezone.utc)
    stop = end.replace(tzinfo=zone).astimezone(dt.timezone.utc)
    values = []
    i = 0
    while t < stop:
        local = t.astimezone(zone)
        if not skip(local):
            values.append({"ts": local.isoformat(), "v": value(i, local)})
        t += step
        i += 1
    return {"timezone": tz, "units": units, "values": values}


def write(path, body):
    with open(path, "w") as f:
        json.dump(body, f, ensure_ascii=False)
        f.write("\n")


def main():
    hour = dt.timedelta(hours=1)
    rng = random.Random(9)
    # A DST month (Madrid, October 2024: 02:00 twice on the 27th), hourly,
    # with a reading either side of the month; POWER misses the 10th
    # (a gap), EACTIVE misses three hours on the 20th.
    start, end = dt.datetime(2024, 9, 30, 23), dt.datetime(2024, 11, 1, 1)
    write("dst-month/eactive.json", series(
        "Europe/Madrid", start, end, hour,
        lambda i, t: round(2 + 1.5 * math.sin((t.hour - 6) / 24 * 2 * math.pi)
                           + rng.random(), 3),
        skip=lambda t: t.day == 20 and t.month == 10 and 8 <= t.hour < 11))
    write("dst-month/power.json", series(
        "Europe/Madrid", start, end, hour,
        lambda i, t: round(8 + 6 * math.sin((t.hour - 6) / 24 * 2 * math.pi)
                           + 2 * rng.random(), 2),
        skip=lambda t: t.day == 10 and t.month == 10, units="kW"))
    # A location's mixed units over the same month: a second energy series
    # (a solar meter, kWh, daytime only) beside EACTIVE, and an outdoor
    # temperature (ºC) beside POWER (kW): three panels.
    write("mixed-units/solar.json", series(
        "Europe/Madrid", start, end, hour,
        lambda i, t: round(max(0.0, 3 * math.sin((t.hour - 7) / 12 * math.pi)), 3),
        units="kWh"))
    write("mixed-units/temp.json", series(
        "Europe/Madrid", start, end, hour,
        lambda i, t: round(17 + 5 * math.sin((t.hour - 9) / 24 * 2 * math.pi)
                           - t.day / 10, 1),
        units="ºC"))
    # Odd names and awkward numbers over two days, 15-minute data.
    q = dt.timedelta(minutes=15)
    s, e = dt.datetime(2023, 3, 14), dt.datetime(2023, 3, 16)
    write("odd-names/a.json", series(
        "America/Sao_Paulo", s, e, q, lambda i, t: round(11.436 + i * 0.001, 3)))
    write("odd-names/b.json", series(
        "America/Sao_Paulo", s, e, q,
        lambda i, t: [-0.5, 1e-9, 1e20, 1234567.25, 0.1, 3][i % 6],
        skip=lambda t: t.hour == 12))
    write("odd-names/c.json", series(
        "America/Sao_Paulo", s, e, 2 * q, lambda i, t: round(21.5 + (i % 7) / 10, 1),
        units="ºC"))
    # A period with no readings at all, and one whose readings lie outside.
    write("empty/none.json", {"timezone": "Europe/Madrid", "units": "kWh", "values": []})
    write("empty/outside.json", series(
        "Europe/Madrid", dt.datetime(2024, 2, 28), dt.datetime(2024, 3, 1), hour,
        lambda i, t: 1.0, units="kW"))


if __name__ == "__main__":
    main()
