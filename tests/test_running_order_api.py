"""The running order over the JSON API: insert, correct, cancel, reorder, times, undo."""

from __future__ import annotations

from .conftest import TOKEN

AUTH = {"Authorization": f"Bearer {TOKEN}"}


def turns(client, block="session-3"):
    blocks = client.get("/api/schedule").get_json()["blocks"]
    return [t["name"] or t["role"] for b in blocks if b["id"] == block for t in b["turns"]]


def test_insert_a_replacement_speaker_before_a_turn(client):
    answer = client.post(
        "/api/blocks/session-3/turns",
        json={
            "civility": "Mme",
            "name": "Anne Dupont",
            "function": "Maire",
            "before": "session-3-3",
        },
        headers=AUTH,
    )
    assert answer.status_code == 201, answer.get_json()
    new_id = answer.get_json()["id"]
    assert new_id.startswith("session-3-i")
    assert turns(client)[:4] == [
        "Khalil Harfouche",
        "Stéphane Troussel",
        "Anne Dupont",
        "Bertrand Gallet",
    ]


def test_reorder_then_undo(client):
    order = ["session-3-1", "session-3-3", "session-3-2", "session-3-4", "session-3-5"]
    answer = client.post("/api/blocks/session-3/order", json={"turns": order}, headers=AUTH)
    assert answer.status_code == 200, answer.get_json()
    assert turns(client)[:3] == ["Khalil Harfouche", "Bertrand Gallet", "Stéphane Troussel"]
    assert client.post("/api/rooms/lamartine/undo", headers=AUTH).status_code == 200
    assert turns(client)[:3] == ["Khalil Harfouche", "Stéphane Troussel", "Bertrand Gallet"]


def test_cancel_hides_the_turn_from_the_audience(client):
    answer = client.patch("/api/turns/session-3-2", json={"cancelled": True}, headers=AUTH)
    assert answer.status_code == 200, answer.get_json()
    assert "Stéphane Troussel" not in turns(client)


def test_bad_bodies_name_the_field_and_unknown_ids_are_404(client):
    answer = client.post("/api/blocks/session-3/order", json={"turns": ["x"]}, headers=AUTH)
    assert answer.status_code == 400
    assert answer.get_json()["field"] == "turns"
    answer = client.patch("/api/turns/session-3-2", json={"name": 3}, headers=AUTH)
    assert (answer.status_code, answer.get_json()["field"]) == (400, "name")
    assert client.patch("/api/turns/nope", json={}, headers=AUTH).status_code == 404
    assert client.post("/api/blocks/nope/turns", json={}, headers=AUTH).status_code == 404
    assert (
        client.patch("/api/blocks/session-3", json={"start": "25:00"}, headers=AUTH).status_code
        == 400
    )


def test_edits_need_the_organiser_secret(client):
    assert client.patch("/api/turns/session-3-2", json={"cancelled": True}).status_code == 401
    assert "Stéphane Troussel" in turns(client)
