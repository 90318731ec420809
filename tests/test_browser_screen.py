"""The room screen: its type read from the back of the room, and what its pauses say.

At 1920×1080 a name (a speaker's or a chair's) is at least 40 px, a function 28 px, the
speaker at the lectern 64 px, and « Ensuite » in the footer is smaller than the names; at
1280×720 the same, scaled by 2/3. An organiser's message of the longest length allowed
never pushes the rest below those sizes, and nothing overflows.
"""

from __future__ import annotations

import json

import pytest

from kiosk.live import MESSAGE_MAX
from kiosk.schedule import load

from .browsing import ARTIFACTS
from .conftest import Server, free_port
from .test_browser import OVERFLOW, set_state

pytestmark = pytest.mark.browser

# A moment inside each block of the colloque, in auto mode.
BLOCKS = [
    ("accueil", "08:40"),
    ("ouverture", "09:30"),
    ("session-1", "10:30"),
    ("session-2", "12:00"),
    ("pause-dejeuner", "13:45"),
    ("session-3", "15:00"),
    ("conclusions", "16:50"),
]

# The smallest sizes at 1920×1080, in px; at 1280×720 they are scaled by 2/3.
FLOOR = {"name": 40, "function": 28, "current": 64}

# The longest message the tablet accepts: 280 characters.
MESSAGE = (
    "Mesdames et Messieurs, la séance reprendra après le débat avec la salle. Merci de "
    "rejoindre vos places et de laisser les premiers rangs aux intervenants. Les micros "
    "circulent dans la salle : levez la main pour poser votre question, présentez-vous "
    "brièvement. Une question chacun !"
)
assert len(MESSAGE) == MESSAGE_MAX

SIZES = """() => {
  const size = (e) => parseFloat(getComputedStyle(e).fontSize);
  const sizes = (selector) => [...document.querySelectorAll(selector)].map(size);
  const message = document.getElementById('message');
  return {
    name: sizes('.turn .name, .moderator .name'),
    function: sizes('.turn .function'),
    current: sizes('.turn.current .name'),
    footer: sizes('#next .next-line, #next .next-line *'),
    message: message.hidden ? null : size(message),
    message_clipped: !message.hidden && message.scrollHeight > message.clientHeight + 1,
  };
}"""


def lectern_turn(block_id: str) -> int | None:
    """The turn with the most to show (role, name, function): the hardest one to fit."""
    turns = load().block(block_id).turns
    if not turns:
        return None

    def length(i: int) -> int:
        shown = turns[i].to_json()
        return sum(len(shown[key] or "") for key in ("role", "display_name", "function"))

    return max(range(len(turns)), key=length)


def check(sizes: dict, scale: float) -> list[str]:
    """What is below the floor (scaled to the screen), as readable lines."""
    wrong = []
    for key in ("name", "function", "current"):
        floor = FLOOR[key] * scale - 0.05
        wrong += [f"{key} {px:.1f} < {floor:.1f}" for px in sizes[key] if px < floor]
    if sizes["footer"] and sizes["name"] and max(sizes["footer"]) >= min(sizes["name"]):
        wrong.append(f"footer {max(sizes['footer']):.1f} >= names {min(sizes['name']):.1f}")
    if sizes["message_clipped"]:
        wrong.append("message clipped")
    return wrong


@pytest.mark.parametrize(("block", "clock"), BLOCKS, ids=[b for b, _ in BLOCKS])
def test_screen_type_sizes_in_every_block(pages, tmp_path, block, clock):
    from playwright.sync_api import expect

    db = tmp_path / "kiosk.db"
    srv = Server(db, free_port(), f"2023-07-03T{clock}").start()
    turn = lectern_turn(block)
    held = {"session": block} if turn is None else {"session": block, "turn": turn}
    ARTIFACTS.mkdir(exist_ok=True)
    measured, wrong = {}, []
    try:
        for mode, commands in (("auto", []), ("lectern", [("goto", held)])):
            set_state(db, *commands)
            for with_message in (False, True):
                set_state(db, ("message", {"text": MESSAGE if with_message else None}))
                for width, height in ((1920, 1080), (1280, 720)):
                    case = f"{block}-{mode}{'-message' if with_message else ''}-{width}x{height}"
                    page = pages.open(srv.url + "/screen/lamartine", width, height)
                    expect(page.locator("body")).to_have_attribute("data-online", "yes")
                    page.wait_for_function("document.fonts.ready.then(() => true)")
                    if mode == "auto":
                        assert page.locator(".turn.current").count() == 0, case
                    elif turn is not None:
                        assert page.locator(".turn.current").count() == 1, case
                    sizes = page.evaluate(SIZES)
                    measured[case] = sizes
                    wrong += [f"{case}: {w}" for w in check(sizes, height / 1080)]
                    wrong += [f"{case}: overflow {o}" for o in page.evaluate(OVERFLOW)]
                    page.screenshot(path=ARTIFACTS / f"screen-{case}.png")
                    page.close()
    finally:
        srv.kill()
        (ARTIFACTS / f"screen-sizes-{block}.json").write_text(json.dumps(measured, indent=1))
    assert wrong == []


# What a pause screen says, in each language: (big word, when, what comes next).
PAUSES = {
    "fr": {
        "gap before lunch": ("Pause", "Ensuite à 13 h 00", "Pause déjeuner"),
        "lunch": ("Pause déjeuner", "Reprise à 14 h 30", "Session 3 · La spécificité"),
        "welcome desk": ("Accueil", "Début à 9 h 00", "Ouverture"),
    },
    "en": {
        "gap before lunch": ("Break", "Next at 13:00", "Pause déjeuner"),
        "lunch": ("Pause déjeuner", "Resumes at 14:30", "Session 3 · La spécificité"),
        "welcome desk": ("Accueil", "Starts at 9:00", "Ouverture"),
    },
}


@pytest.mark.parametrize("lang", PAUSES)
def test_a_pause_before_a_break_announces_it_as_next_not_as_a_resumption(pages, tmp_path, lang):
    """12:45-13:00 is a gap before lunch: nothing resumes at 13:00, lunch comes next."""
    from playwright.sync_api import expect

    db = tmp_path / "kiosk.db"
    srv = Server(db, free_port(), "2023-07-03T12:50").start()
    try:
        for case, held in (
            ("gap before lunch", None),  # auto mode, at 12:50
            ("lunch", {"session": "pause-dejeuner"}),
            ("welcome desk", {"session": "accueil"}),
        ):
            if held:
                set_state(db, ("goto", held))
            word, when, what = PAUSES[lang][case]
            page = pages.open(f"{srv.url}/screen/lamartine?lang={lang}", 1280, 720)
            expect(page.locator(".big-word")).to_have_text(word)
            expect(page.locator(".pause .next-when")).to_have_text(when)
            expect(page.locator(".pause .next-what")).to_contain_text(what)
            if case == "gap before lunch":
                ARTIFACTS.mkdir(exist_ok=True)
                page.screenshot(path=ARTIFACTS / f"screen-gap-before-lunch-{lang}-1280x720.png")
            page.close()
    finally:
        srv.kill()
