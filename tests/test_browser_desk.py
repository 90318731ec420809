"""The welcome desk in a real browser against a real server: camera, scanner, walk-in,
live counters. Playwright drives Debian's Chromium; its fake camera shows a QR code."""

from __future__ import annotations

import pytest

from kiosk import db as database
from kiosk.attendees import CIVILITIES, CIVILITY_CHOICES, LIMITS, civility_key, import_csv

from .browsing import ARTIFACTS
from .conftest import KIOSK_TOKEN, TOKEN, at, scan
from .fakecamera import qr_y4m

pytestmark = pytest.mark.browser
GUESTS = (
    "Civilité;Prénom;Nom;Organisation;Fonction;Catégorie\n"
    "Mme;Camille;Dupont;Ville de Lyon;Adjointe au maire;Élu·e\n"
    "M.;François;Hollande;;Ancien Président de la République française;Élu·e\n"
)


def codes(server) -> dict[str, str]:
    db = database.connect(str(server.db))
    import_csv(db, GUESTS.encode("cp1252"), at("07:00"))
    return dict(db.execute("SELECT last_name, code FROM attendees").fetchall())


def kiosk_url(server, device="kiosque 1"):
    return f"{server.url}/kiosk?token={KIOSK_TOKEN}&device={device}"


def test_camera_path_welcomes_the_guest(pages, server, tmp_path):
    from playwright.sync_api import expect

    guest_codes = codes(server)
    video = qr_y4m(guest_codes["Dupont"], tmp_path / "qr.y4m")
    browser = pages.launch(
        "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream",
        f"--use-file-for-fake-video-capture={video}",
    )
    page = pages.open(kiosk_url(server), 1280, 800, browser=browser, permissions=("camera",))
    expect(page.locator("body")).to_have_attribute("data-camera", "on", timeout=15_000)
    result = page.locator("#result")
    expect(page.locator("#result-text")).to_have_text("Bienvenue, Mme Dupont", timeout=15_000)
    assert result.get_attribute("aria-live") == "assertive"
    assert page.locator("#result-icon").text_content() == "✓"
    page.screenshot(path=ARTIFACTS / "kiosk-welcome-1280x800.png")
    # it goes back to scanning by itself, and the same code then says « déjà »
    expect(page.locator("#scan")).to_be_visible(timeout=10_000)
    expect(page.locator("#result-text")).to_have_text(
        "Déjà enregistré·e à 10 h 20 (kiosque 1)", timeout=15_000
    )


def test_handheld_scanner_types_the_code_and_enter(pages, server):
    from playwright.sync_api import expect

    # The unknown code below is answered 404, which Chromium logs.
    pages.expect_console(r"status of 404 .*\[.*/api/checkin\]$")

    guest_codes = codes(server)
    page = pages.open(kiosk_url(server, "kiosque 2"), 1280, 800)
    expect(page.locator("#code")).to_be_focused()
    page.keyboard.type(guest_codes["Hollande"])
    page.keyboard.press("Enter")
    expect(page.locator("#result-text")).to_have_text("Bienvenue, M. Hollande")
    expect(page.locator("#scan")).to_be_visible(timeout=10_000)
    page.keyboard.type("AAAAAAAAAAAAAAAAAAAAAAAA")  # well-formed, but nobody's
    page.keyboard.press("Enter")
    expect(page.locator("#result-text")).to_have_text("Code inconnu — adressez-vous à l’accueil")
    assert page.locator("#result-icon").text_content() == "✗"
    page.screenshot(path=ARTIFACTS / "kiosk-unknown-1280x800.png")
    assert "Dupont" not in page.content()  # nobody else's data on the kiosk


def test_walk_in_from_the_form_to_the_printable_badge(pages, server):
    from playwright.sync_api import expect

    # The bad organisation (400) and the second registration (409) are refused on
    # purpose, and Chromium logs each refusal.
    pages.expect_console(r"status of (400|409) .*\[.*/api/attendees\]$")

    codes(server)
    page = pages.open(kiosk_url(server), 1280, 800)
    page.get_by_role("button", name="Pas de QR code ?").click()
    form = page.locator("#walk-in-form")
    # The form offers what the server accepts, and stops typing where it would refuse.
    options = form.locator('select[name="civility"] option').all_text_contents()
    assert options == ["—", "Mme", "M.", "Mx", "Dr", "Pr", "Me"]
    assert options[1:] == [CIVILITIES[civility_key(c)] for c in CIVILITY_CHOICES]
    # (the category is chosen from a list at the kiosk; its limit is for imported labels)
    typed = {name: limit for name, limit in LIMITS.items() if name != "category"}
    maxlengths = {
        name: int(form.locator(f'input[name="{name}"]').get_attribute("maxlength"))
        for name in typed
    }
    assert maxlengths == typed
    form.locator('select[name="civility"]').select_option("M.")
    form.locator('input[name="first_name"]').fill("Gregory")
    form.locator('input[name="last_name"]').fill("Dupont")
    form.locator('input[name="organisation"]').fill("<b>Mairie</b>")
    page.get_by_role("button", name="M’enregistrer").click()
    expect(page.locator("#form-error")).to_have_text(
        "⚠ L’organisation contient un caractère non autorisé : <."
    )
    form.locator('input[name="organisation"]').fill("Métropole de Lyon")
    form.locator('input[name="function"]').fill("Chargé de mission")
    form.locator('select[name="category"]').select_option("agent")
    page.get_by_role("button", name="M’enregistrer").click()
    expect(page.locator("#badge")).to_be_visible()
    expect(page.locator("#badge-name")).to_have_text("Gregory Dupont")
    expect(page.locator("#badge-welcome")).to_have_text("Bienvenue, M. Dupont")
    width = page.locator("#badge-qr").evaluate("img => img.decode().then(() => img.naturalWidth)")
    assert width > 0
    page.screenshot(path=ARTIFACTS / "kiosk-badge-1280x800.png")
    page.emulate_media(media="print")
    assert page.locator(".k-head").evaluate("e => getComputedStyle(e).visibility") == "hidden"
    assert page.locator("#badge-card").evaluate("e => getComputedStyle(e).visibility") == "visible"
    pdf = page.pdf()
    assert pdf.startswith(b"%PDF")
    page.emulate_media(media="screen")
    page.locator("#badge-done").click()
    expect(page.locator("#scan")).to_be_visible()
    # The same walk-in again: pointed to the existing record, not duplicated.
    page.get_by_role("button", name="Pas de QR code ?").click()
    form.locator('input[name="first_name"]').fill("GRÉGORY")
    form.locator('input[name="last_name"]').fill("dupont")
    page.get_by_role("button", name="M’enregistrer").click()
    expect(page.locator("#form-error")).to_contain_text("Ce nom est déjà inscrit")
    db = database.connect(str(server.db))
    assert (
        db.execute("SELECT COUNT(*) FROM attendees WHERE last_name = 'Dupont'").fetchone()[0] == 2
    )  # Camille (imported) and Gregory (walk-in)


def test_organiser_counter_moves_without_reload(pages, server):
    from playwright.sync_api import expect

    guest_codes = codes(server)
    page = pages.open(f"{server.url}/organiser?token={TOKEN}", 1280, 800)
    page.goto(f"{server.url}/organiser/attendees")
    expect(page.locator("body")).to_have_attribute("data-online", "yes")
    expect(page.locator("#n-checked-in")).to_have_text("0")
    expect(page.locator("#n-expected")).to_have_text("2")
    page.evaluate("window.notReloaded = true")
    for name in ("Dupont", "Hollande"):
        assert scan(server.url, guest_codes[name])["status"] == "checked_in"
    expect(page.locator("#n-checked-in")).to_have_text("2", timeout=3_000)
    expect(page.locator("#vip-alert")).to_contain_text("M. François Hollande")
    assert page.evaluate("window.notReloaded") is True
    page.locator("#q").fill("hollande")
    expect(page.locator(".person")).to_have_count(1)
    page.screenshot(path=ARTIFACTS / "organiser-arrivals-1280x800.png")


def test_arrivals_list_follows_check_ins_made_at_a_kiosk(pages, server):
    """A guest who just arrived no longer shows « Pas encore arrivé·e » with a button."""
    from playwright.sync_api import expect

    guest_codes = codes(server)
    page = pages.open(f"{server.url}/organiser?token={TOKEN}", 1280, 800)
    page.goto(f"{server.url}/organiser/attendees")
    expect(page.locator("body")).to_have_attribute("data-online", "yes")
    page.locator("#q").fill("dupont")
    dupont = page.locator(".person")
    expect(dupont).to_have_count(1)
    expect(dupont.locator(".state")).to_have_text("Pas encore arrivé·e")
    expect(dupont.locator("button")).to_have_text("Enregistrer l’arrivée")
    assert scan(server.url, guest_codes["Dupont"])["status"] == "checked_in"
    expect(dupont.locator(".state")).to_have_text("✓ 10 h 20")
    expect(dupont.locator("button")).to_have_text("Annuler l’arrivée")
    expect(page.locator("#bars .bar-col")).to_have_count(1)
