"""The hotel reservation application (apps/hotel, docs/apps.md): both arms, the Nightjar
functions and the gRPC servers, answer the same requests with the same results, over real
Redis and memcached; and the results are the ones the dataset implies, computed here on our
own from the dataset's JSON dump (not by the code under test).
"""
from __future__ import annotations

import http.client
import json
import math
import os
from pathlib import Path

import pytest

import hotel_harness as hh
from nightjar_harness import nightjar_up

pytestmark = pytest.mark.skipif(hh.missing_prerequisites() is not None,
                                reason=f"hotel app not built or stores missing: "
                                       f"{hh.missing_prerequisites()}")

CENTER = (38.0235, -122.095)


def post(port: int, path: str, body: str) -> tuple:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("POST", path, body=body.encode())
        resp = conn.getresponse()
        return resp.status, resp.read().decode()
    finally:
        conn.close()


def distance_km(lat1, lon1, lat2, lon2) -> float:
    r = math.pi / 180
    a = (math.sin((lat2 - lat1) * r / 2) ** 2 +
         math.cos(lat1 * r) * math.cos(lat2 * r) * math.sin((lon2 - lon1) * r / 2) ** 2)
    return 2 * 6371.0088 * math.asin(min(1.0, math.sqrt(a)))


def nearest_with_rates(data: dict, lat: float, lon: float) -> list:
    near = sorted((distance_km(lat, lon, h["lat"], h["lon"]), int(h["id"])) for h in data["hotels"])
    near = [i for d, i in near if d <= 10.0][:5]
    return [str(i) for i in near if data["hotels"][i - 1]["rates"]]


def best(data: dict, key) -> list:
    scores = [key(h) for h in data["hotels"]]
    return [h["id"] for h, s in zip(data["hotels"], scores) if s == min(scores)]


def scenario(data: dict) -> list:
    """(request body, check) pairs, run in order against a freshly loaded arm. Each check
    asserts on the parsed answer; the answers of both arms are compared on top."""
    lat, lon = CENTER
    # The hotel with the fewest rooms, for a booking that fills it.
    small = min(data["hotels"], key=lambda h: (h["capacity"], int(h["id"])))
    hid, cap = small["id"], small["capacity"]
    steps = []

    def features(answer):
        return [f["id"] for f in answer["features"]]

    def check_search(want_ids):
        def check(answer):
            assert features(answer) == want_ids
            for f in answer["features"]:
                hotel = data["hotels"][int(f["id"]) - 1]
                want = sorted(hotel["rates"], key=lambda r: (-r["total_rate"], r["code"]))
                got = [{"code": r["code"], "total_rate": r["total_rate"]}
                       for r in f["properties"]["rates"]]
                assert got == want, f"hotel {f['id']}"
                assert f["properties"]["name"] == hotel["name"]
                assert f["geometry"]["coordinates"] == [hotel["lon"], hotel["lat"]]
        return check

    def check_ids(ids):
        def check(answer):
            assert features(answer) == ids
        return check

    want = nearest_with_rates(data, lat, lon)
    assert len(want) >= 3, "the dataset should put several rated hotels near the center"
    steps.append((f"/hotels?inDate=2015-04-09&outDate=2015-04-12&lat={lat}&lon={lon}",
                  check_search(want)))
    for require, key in (("dis", lambda h: distance_km(lat, lon, h["lat"], h["lon"])),
                         ("rate", lambda h: -h["rate"]), ("price", lambda h: h["price"])):
        ids = best(data, key)
        steps.append((f"/recommendations?require={require}&lat={lat}&lon={lon}",
                      check_ids(ids)))

    def message(text):
        def check(answer):
            assert answer == {"message": text}
        return check

    steps.append(("/user?username=Cornell_7&password=7777777777", message("Login successfully!")))
    steps.append(("/user?username=Cornell_7&password=7777777", message(
        "Failed. Please check your username and password. ")))
    steps.append(("/user?username=nobody&password=x", message(
        "Failed. Please check your username and password. ")))
    reserve = ("/reservation?inDate=2015-04-10&outDate=2015-04-12&hotelId={h}&customerName=c"
               "&username=Cornell_42&password={pw}&number={n}")
    steps.append((reserve.format(h=hid, pw="42" * 10, n=cap), message("Reserve successfully!")))
    # Every room of that hotel is taken on 04-11 now: one more fails, on any overlapping stay.
    steps.append((reserve.format(h=hid, pw="42" * 10, n=1).replace("04-10", "04-11"),
                  message("Failed. Already reserved. ")))
    steps.append((reserve.format(h=hid, pw="wrong", n=1),
                  message("Failed. Please check your username and password. ")))
    # A search around the full hotel leaves it out for those nights, and keeps it after them.
    near_full = nearest_with_rates(data, small["lat"], small["lon"])
    if hid in near_full:
        steps.append((f"/hotels?inDate=2015-04-11&outDate=2015-04-13&lat={small['lat']}"
                      f"&lon={small['lon']}", check_search([i for i in near_full if i != hid])))
        steps.append((f"/hotels?inDate=2015-04-12&outDate=2015-04-13&lat={small['lat']}"
                      f"&lon={small['lon']}", check_search(near_full)))
    return steps


def run_scenario(port: int, path: str, steps: list) -> list:
    answers = []
    for body, check in steps:
        status, text = post(port, path, body)
        assert status == 200, f"{body}: HTTP {status} {text}"
        answer = json.loads(text)
        check(answer)
        answers.append(text)
    return answers


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    s = hh.Stores(tmp_path_factory.mktemp("hotel-stores"))
    yield s
    s.stop()


@pytest.fixture(scope="module")
def dataset(stores, tmp_path_factory) -> dict:
    path = tmp_path_factory.mktemp("hotel-data") / "dataset.json"
    stores.load(dump_json=path)
    return json.loads(path.read_text())


def test_dataset_has_the_original_shape(dataset):
    hotels = dataset["hotels"]
    assert len(hotels) == 1000 and dataset["users"] == 10000
    lat, lon = CENTER
    assert all(distance_km(lat, lon, h["lat"], h["lon"]) < 40 for h in hotels)
    assert 0 < sum(1 for h in hotels if not h["rates"]) < 300


def test_both_arms_answer_alike(stores, dataset, tmp_path):
    steps = scenario(dataset)
    stores.load()
    with nightjar_up(tmp_path / "nightjar", functions=hh.nightjar_functions(),
                     env=dict(os.environ, **stores.env)) as dep:
        nightjar = run_scenario(dep.port, "/function/hotel-frontend", steps)
    stores.load()  # the same starting state for the other arm
    with hh.rpc_arm(tmp_path / "rpc", stores) as port:
        rpc = run_scenario(port, "/hotel", steps)
    assert nightjar == rpc


def test_bad_requests_are_refused_by_both_arms(stores, dataset, tmp_path):
    bad = ["/hotels?inDate=2015-04-09&lat=1&lon=2",           # no outDate
           "/hotels?inDate=2015-04-12&outDate=2015-04-09&lat=1&lon=2",  # backwards stay
           "/recommendations?require=stars&lat=1&lon=2",
           "/nowhere"]
    with nightjar_up(tmp_path / "nightjar", functions=hh.nightjar_functions(),
                     env=dict(os.environ, **stores.env)) as dep:
        for body in bad:
            status, text = post(dep.port, "/function/hotel-frontend", body)
            assert status == 502 and ("400" in text or "404" in text), f"{body}: {status} {text}"
    with hh.rpc_arm(tmp_path / "rpc", stores) as port:
        for body in bad:
            status, text = post(port, "/hotel", body)
            assert status in (400, 404), f"{body}: {status} {text}"
