"""A congress day for the benchmarks and the tests of big events: 8 rooms, 239 talks, 384 turns.

    python bench/bigday.py [-o FILE] [--rooms 8] [--talks 239] [--turns 384] [--date 2023-07-03]

The colloque is one room; congresses run eight or sixteen at once. This writes such a day as
a `schedule.yaml` that `kiosk check` accepts: every room opens with a welcome at 08:00, has
lunch at 12:30 and a coffee break at 16:00, and ends at 19:40; its talks share the rest of
the day. Most talks have one speaker; panels have a chair and several speakers, so that the
day has exactly the number of turns asked. Names, organisations and titles are French, with
accents (the programme's search must find « Hélène » when « helene » is typed).

The output depends only on the arguments: tests and benchmarks regenerate it and compare.
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

import yaml

ROOM_NAMES = [
    "Amphithéâtre Lamartine",
    "Salle Victor-Hugo",
    "Salle Colbert",
    "Salle Delacroix",
    "Salle Aimé-Césaire",
    "Salle Simone-Veil",
    "Salle Jean-Jaurès",
    "Salle Olympe-de-Gouges",
    "Salle Condorcet",
    "Salle George-Sand",
    "Salle Gambetta",
    "Salle Molière",
    "Salle Clemenceau",
    "Salle Montesquieu",
    "Salle Rousseau",
    "Salle Voltaire",
]
FIRST = [
    "Hélène", "Frédéric", "Amélie", "Jérôme", "Zoé", "Noël", "Maëlle", "François", "Cécile",
    "Grégoire", "Léa", "Benoît", "Agnès", "Stéphane", "Inès", "Anaïs", "Raphaël", "Chloé",
    "Loïc", "Mathilde", "Joël", "Élodie", "Thierry", "Bérénice", "Yannick", "Océane",
]  # fmt: skip
LAST = [
    "Dupré", "Lefèvre", "Garnier", "Bézier", "Mercier", "Châtelet", "Fournier", "Benoît",
    "Leroy", "Gauthier", "Périer", "Moreau", "Rousseau", "Faure", "Ménard", "Lécuyer",
    "Boucher", "Daumier", "Hébert", "Laîné", "Besnard", "Cœur", "Pelletier", "Brûlé",
]  # fmt: skip
FUNCTIONS = [
    "Maire de {city}", "Adjointe au maire de {city}", "Présidente de la région {region}",
    "Vice-président du département {dept}", "Chargée de mission à l’AFD",
    "Directeur des relations internationales de {city}", "Chercheuse au CNRS",
    "Professeur à l’université de {city}", "Déléguée générale de Cités Unies France",
    "Ambassadeur pour l’action extérieure des collectivités territoriales",
]  # fmt: skip
CITIES = ["Lyon", "Besançon", "Orléans", "Nîmes", "Évry", "Créteil", "Sète", "Pézenas", "Metz"]
REGIONS = ["Île-de-France", "Provence-Alpes-Côte d’Azur", "Grand Est", "Occitanie", "Bretagne"]
DEPTS = ["de l’Hérault", "de l’Isère", "du Gers", "de la Drôme", "des Côtes-d’Armor"]
TOPICS = [
    "La coopération décentralisée face aux crises", "Villes et climat : l’adaptation",
    "L’eau, bien commun des territoires", "Jumelages franco-allemands, soixante ans après",
    "Réfugiés : l’accueil par les communes", "Sécurité alimentaire et agriculture urbaine",
    "La diplomatie des villes en Méditerranée", "Reconstruire après un séisme",
    "Numérique et services publics locaux", "Jeunesse et mobilité européenne",
    "Les élus locaux, diplomates de proximité", "Santé mondiale : le rôle des régions",
    "Patrimoine et tourisme durable", "Énergie : les coopératives citoyennes",
    "Mobilités douces entre villes jumelles", "Culture et francophonie",
]  # fmt: skip
# Each room's day: its blocks fill these windows (minutes after midnight).
WINDOWS = [(8 * 60 + 30, 12 * 60 + 30), (13 * 60 + 30, 16 * 60), (16 * 60 + 20, 19 * 60 + 40)]
BREAKS = [
    (8 * 60, 8 * 60 + 30, "accueil", "Accueil"),
    (12 * 60 + 30, 13 * 60 + 30, "dejeuner", "Déjeuner"),
    (16 * 60, 16 * 60 + 20, "cafe", "Pause café"),
]


def hm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def person(rng: random.Random, taken: set[str]) -> dict:
    while True:
        name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        if len(taken) > len(FIRST) * len(LAST) // 2:  # a big day: double-barrelled names
            name += f"-{rng.choice(LAST)}"
        if name not in taken:  # a speaker is one person: the search must find one
            taken.add(name)
            break
    function = rng.choice(FUNCTIONS).format(
        city=rng.choice(CITIES), region=rng.choice(REGIONS), dept=rng.choice(DEPTS)
    )
    civility = "Mme" if name.split()[0] in FEMININE else "M."
    return {"civility": civility, "name": name, "function": function}


FEMININE = {
    "Hélène", "Amélie", "Zoé", "Maëlle", "Cécile", "Léa", "Agnès", "Inès", "Anaïs", "Chloé",
    "Mathilde", "Élodie", "Bérénice", "Océane",
}  # fmt: skip


def split(total: int, parts: int) -> list[int]:
    """`total` shared as evenly as possible, larger shares first."""
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def generate(rooms: int = 8, talks: int = 239, turns: int = 384, date: str = "2023-07-03") -> dict:
    """The day as the dictionary `schedule.yaml` holds."""
    if not 1 <= rooms <= len(ROOM_NAMES):
        raise ValueError(f"rooms: 1 to {len(ROOM_NAMES)}")
    if turns < talks:
        raise ValueError("every talk has at least one turn")
    rng = random.Random(f"{rooms}/{talks}/{turns}/{date}")
    room_ids = [chr(ord("a") + i) for i in range(rooms)]
    # Panels take the turns beyond one per talk, three more speakers at most each.
    extra = split(turns - talks, max(1, -(-(turns - talks) // 3))) if turns > talks else []
    panels = set(rng.sample(range(talks), len(extra)))
    extra_of = dict(zip(sorted(panels), extra, strict=True))
    taken: set[str] = set()
    blocks = []
    talk = 0
    for room, count in zip(room_ids, split(talks, rooms), strict=True):
        for start, end, key, label in BREAKS:
            blocks.append(
                {
                    "id": f"{room}-{key}",
                    "room": room,
                    "start": hm(start),
                    "end": hm(end),
                    "kind": "break",
                    "label": label,
                }
            )
        # The room's talks over its windows, in proportion to each window's length.
        lengths = [b - a for a, b in WINDOWS]
        per_window = [count * n // sum(lengths) for n in lengths]
        for i in sorted(range(len(WINDOWS)), key=lambda i: -lengths[i])[: count - sum(per_window)]:
            per_window[i] += 1
        for (w_start, w_end), n in zip(WINDOWS, per_window, strict=True):
            if n == 0:
                continue
            slot = (w_end - w_start) // n // 5 * 5
            for k in range(n):
                talk += 1
                start = w_start + k * slot
                end = w_end if k == n - 1 else start + slot
                more = extra_of.get(talk - 1, 0)
                block = {
                    "id": f"{room}-{talk}",
                    "room": room,
                    "start": hm(start),
                    "end": hm(end),
                    "label": f"Table ronde {talk}" if more else f"Conférence {talk}",
                    "title": rng.choice(TOPICS),
                }
                if more:
                    block["moderators"] = [{**person(rng, taken), "role": "Animation"}]
                block["turns"] = [person(rng, taken) for _ in range(1 + more)]
                blocks.append(block)
    blocks.sort(key=lambda b: (b["start"], b["room"]))
    return {
        "event": {
            "title": "Congrès des territoires",
            "organiser": "Cités Unies France",
            "date": date,
            "venue": "Palais des congrès",
            "timezone": "Europe/Paris",
        },
        "rooms": [{"id": i, "name": ROOM_NAMES[n]} for n, i in enumerate(room_ids)],
        "blocks": blocks,
    }


def write(path: Path, **kwargs) -> Path:
    path.write_text(
        yaml.safe_dump(generate(**kwargs), allow_unicode=True, sort_keys=False), encoding="utf-8"
    )
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-o", "--out", type=Path, help="file to write (default: stdout)")
    parser.add_argument("--rooms", type=int, default=8)
    parser.add_argument("--talks", type=int, default=239)
    parser.add_argument("--turns", type=int, default=384)
    parser.add_argument("--date", default="2023-07-03")
    args = parser.parse_args(argv)
    kwargs = dict(rooms=args.rooms, talks=args.talks, turns=args.turns, date=args.date)
    if args.out:
        write(args.out, **kwargs)
    else:
        sys.stdout.write(yaml.safe_dump(generate(**kwargs), allow_unicode=True, sort_keys=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
