"""The régie's board, /organiser/board: who may see it, and what it is made of."""

from __future__ import annotations

import re

import pytest

from .conftest import KIOSK_TOKEN, TOKEN, make_app


@pytest.fixture
def congress(tmp_path, bigday, clock):
    """The app serving the generated congress day (8 rooms)."""
    return make_app(tmp_path / "kiosk.db", bigday, clock).test_client()


def test_board_shows_the_login_to_an_anonymous_visitor(congress):
    answer = congress.get("/organiser/board")
    page = answer.get_data(as_text=True)
    assert answer.status_code == 200  # as /organiser does: the login form, not the board
    assert 'name="token"' in page
    assert 'class="tile"' not in page
    assert "Salle Victor-Hugo" not in page


@pytest.mark.parametrize("token", ["wrong-token", KIOSK_TOKEN])
def test_board_refuses_a_link_with_another_secret(congress, token):
    answer = congress.get(f"/organiser/board?token={token}")
    assert answer.status_code == 403
    assert 'class="tile"' not in answer.get_data(as_text=True)
    assert congress.get("/organiser/board").status_code == 200  # still the login
    assert 'class="tile"' not in congress.get("/organiser/board").get_data(as_text=True)


def test_board_link_logs_in_and_drops_the_secret_from_the_address(congress):
    answer = congress.get(f"/organiser/board?token={TOKEN}")
    assert answer.status_code == 302
    assert answer.headers["Location"] == "/organiser/board"


def test_board_has_a_tile_per_room_linking_to_its_controls(congress, bigday):
    congress.get(f"/organiser?token={TOKEN}")  # logged in on the tablet: the board is open
    page = congress.get("/organiser/board").get_data(as_text=True)
    links = re.findall(r'<a class="tile" id="tile-(\w+)" data-room="\1" href="([^"]+)"', page)
    assert links == [(room.id, f"/organiser?room={room.id}") for room in bigday.rooms]
    assert "Amphithéâtre Lamartine" in page and "Salle Olympe-de-Gouges" in page


def test_tablet_links_to_the_board_and_loads_no_screen_before_a_room_is_chosen(congress):
    congress.get(f"/organiser?token={TOKEN}")
    page = congress.get("/organiser").get_data(as_text=True)
    assert 'href="/organiser/board"' in page
    assert page.count('class="room-tab"') == 8
    # Each room's screen preview waits for its room to be chosen (organiser.js).
    assert page.count('<iframe data-src="/screen/') == 8
    assert "<iframe src=" not in page
