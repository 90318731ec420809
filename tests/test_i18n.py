"""French first, English ready: catalogs complete and in step with the source."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "kiosk" / "translations"


def key(message_id):
    """A message's id; a plural's (singular, plural), a list in a compiled catalog."""
    return tuple(message_id) if isinstance(message_id, list | tuple) else message_id


def ids(catalog):
    return {key(m.id) for m in catalog if m.id}


def test_catalog_template_is_in_step_with_the_source(tmp_path):
    fresh = tmp_path / "messages.pot"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "-F",
            str(ROOT / "babel.cfg"),
            "-k",
            "N_",
            "-o",
            str(fresh),
            "--no-location",
            "--omit-header",
            ".",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    with open(fresh, "rb") as f, open(TRANSLATIONS / "messages.pot", "rb") as g:
        assert ids(read_po(f)) == ids(read_po(g))


def test_french_and_english_translate_every_message():
    with open(TRANSLATIONS / "messages.pot", "rb") as f:
        wanted = ids(read_po(f))
    for lang in ("fr", "en"):
        with open(TRANSLATIONS / lang / "LC_MESSAGES" / "messages.mo", "rb") as f:
            compiled = {key(m.id): m.string for m in read_mo(f) if m.id}
        assert set(compiled) == wanted, lang
        # every form of a plural too (French has three: 0–1, millions, the rest)
        assert all(compiled.values()), lang
        assert all(all(s) for s in compiled.values() if isinstance(s, list)), lang


def test_pages_are_french_by_default_and_english_on_request(client):
    french = client.get("/screen/lamartine").get_data(as_text=True)
    assert '<html lang="fr">' in french
    assert "Le programme sur votre téléphone" in french
    response = client.get("/screen/lamartine?lang=en")
    assert "lang=en" in response.headers["Set-Cookie"]
    english = response.get_data(as_text=True)
    assert '<html lang="en">' in english
    assert "Programme on your phone" in english
    # the choice is remembered for the next page
    assert "Programme (phones)" in client.get("/").get_data(as_text=True)


def test_french_times_read_like_10_h_05(client):
    page = client.get("/programme").get_data(as_text=True)
    assert ">8 h 30</time>" in page
    assert "lundi 3 juillet 2023" in page
    assert ">8:30</time>" in client.get("/programme?lang=en").get_data(as_text=True)
