"""Attendees: their fields and how they are checked, codes, CSV import and export, purge.

No Flask here. Every field an attendee gives (at the kiosk, in a CSV cell) goes through
the same checks, which refuse what cannot be right on a badge with a message naming the
field, so the kiosk, the API and the import all apply the same rules: `clean_fields()`
refuses the first bad field, `check_fields()` tells every one (the import reports them all).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import secrets
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from sqlite_utils import Database

from .db import transaction
from .errors import N_, Message, Refusal, as_written

# (key, French label as organisers write it); the UI translates the label.
CATEGORIES: tuple[tuple[str, str], ...] = (
    ("elu", N_("Elected official")),
    ("agent", N_("Local government officer")),
    ("diplomate", N_("Diplomat")),
    ("ong", N_("NGO")),
    ("chercheur", N_("Researcher")),
    ("presse", N_("Press")),
    ("intervenant", N_("Speaker")),
    ("organisation", N_("Organising team")),
    ("autre", N_("Other")),
)
CATEGORY_KEYS = tuple(key for key, _ in CATEGORIES)
# What French (and English) spreadsheets write in the category column.
CATEGORY_ALIASES = {
    "elu": "elu",
    "elue": "elu",
    "elu e": "elu",
    "elus": "elu",
    "elected official": "elu",
    "agent": "agent",
    "agent territorial": "agent",
    "agente territoriale": "agent",
    "local government officer": "agent",
    "diplomate": "diplomate",
    "diplomat": "diplomate",
    "ong": "ong",
    "ngo": "ong",
    "association": "ong",
    "chercheur": "chercheur",
    "chercheuse": "chercheur",
    "chercheur euse": "chercheur",
    "researcher": "chercheur",
    "presse": "presse",
    "press": "presse",
    "journaliste": "presse",
    "intervenant": "intervenant",
    "intervenante": "intervenant",
    "intervenant e": "intervenant",
    "speaker": "intervenant",
    "organisation": "organisation",
    "organisateur": "organisation",
    "organising team": "organisation",
    "autre": "autre",
    "other": "autre",
    "": "autre",
}
# Civilities as forms and ticketing tools write them, in French and English, each kept in
# its French short form; looked up by civility_key() (case, accents, dots and spaces aside).
CIVILITIES = {
    "": "",
    "m": "M.",
    "monsieur": "M.",
    "mr": "M.",
    "mister": "M.",
    "mme": "Mme",
    "madame": "Mme",
    "mrs": "Mme",
    "ms": "Mme",
    "miss": "Mme",
    "mlle": "Mme",
    "mademoiselle": "Mme",
    "mx": "Mx",
    "dr": "Dr",
    "docteur": "Dr",
    "docteure": "Dr",
    "doctor": "Dr",
    "pr": "Pr",
    "prof": "Pr",
    "professeur": "Pr",
    "professeure": "Pr",
    "professor": "Pr",
    "me": "Me",
    "maitre": "Me",
    "sem": "S.E. M.",
    "sonexcellencemonsieur": "S.E. M.",
    "semme": "S.E. Mme",
    "sonexcellencemadame": "S.E. Mme",
}


def civility_key(value: str) -> str:
    """« Dr. », « dr », « DOCTEUR » and « Maître » -> « dr », « docteur », « maitre »."""
    key = fold(value).replace(".", "").replace(" ", "")
    return key if key or not value.strip() else "?"  # « 😀 » folds to nothing


# What the kiosk's walk-in form offers, in this order; each is a value of CIVILITIES.
CIVILITY_CHOICES = ("Mme", "M.", "Mx", "Dr", "Pr", "Me")
# Offices whose holder's arrival the organisers want to know at once (see is_vip()).
VIP_FUNCTION = re.compile(
    r"\b(ministre|secretaire d etat|depute|deputee|eurodepute|eurodeputee|senateur|senatrice|"
    r"maire|ambassadeur|ambassadrice|presidente? de la republique|prefet|prefete)\b"
)
# « Adjointe au maire », « Chargée de mission auprès du député », « Collaborateur de la
# sénatrice »: an article or preposition between a word and the office makes the office
# someone else's, unless that word is a form of address: « Madame la Maire de Paris ».
_SOMEONE_ELSES = {"au", "aux", "du", "des", "de", "d", "la", "le", "l", "les"}
_ADDRESS = {"madame", "monsieur"}
# « Maire adjoint », « Député suppléant », « Préfet honoraire »: a word after the office
# says it is not held; « Ministre-conseiller » is an embassy's second, not a minister.
_NOT_HELD = {"adjoint", "adjointe", "suppleant", "suppleante", "honoraire"}
_NOT_HELD_MINISTER = _NOT_HELD | {"conseiller", "conseillere"}
# « Ancien ministre », « Ex-ambassadeur », « Ancienne Première ministre ».
_FORMER = {"ancien", "ancienne", "ex"}
# One function may list several: « Maire de Pau, ancien Premier ministre ».
_FUNCTIONS_APART = re.compile(r"[,;/()|–—]|\s-\s")
CODE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
FIELDS = ("civility", "first_name", "last_name", "organisation", "function", "email", "category")
LIMITS = {
    "category": 80,
    "first_name": 80,
    "last_name": 80,
    "organisation": 160,
    "function": 240,
    "email": 254,
}
_NAME_CHARS = " -'’."
_TEXT_CHARS = " -'’.,&()/+°:«»\"!?@#–·"  # · for inclusive writing: « élu·e »
_NAME_OK = set(_NAME_CHARS)
_TEXT_OK = set(_TEXT_CHARS)
_EMAIL = re.compile(r"^[^@\s<>()\[\],;:\"]+@[^@\s<>()\[\],;:\"]+\.[A-Za-z]{2,}$")


# Each field as the subject of a sentence, so that a refusal reads « Le prénom est
# obligatoire. », not « Prénom : est obligatoire » (French needs the article).
FIELD_SUBJECTS = {
    "civility": N_("The civility"),
    "first_name": N_("The first name"),
    "last_name": N_("The last name"),
    "organisation": N_("The organisation"),
    "function": N_("The function"),
    "email": N_("The email address"),
    "category": N_("The category"),
    "body": N_("The form"),
}


class InvalidField(Refusal):
    """A value that cannot be stored; `field` names it, the message says what is wrong."""

    def __init__(self, field: str, message: str, **params: Any):
        super().__init__("invalid", message, **params)
        self.field = field

    def __str__(self) -> str:
        return f"{self.field}: {super().__str__()}"

    def describe(self, gettext) -> str:
        """« Le prénom est obligatoire. »: the field as the subject, then the problem."""
        subject = FIELD_SUBJECTS.get(self.field)
        return gettext(
            N_("%(field)s %(problem)s."),
            field=gettext(subject) if subject else self.field,
            problem=super().describe(gettext),
        )

    def details(self) -> dict[str, Any]:
        return {"field": self.field}

    @property
    def problem(self) -> str:
        """What is wrong, untranslated and without the field: « is required »."""
        return self.message % self.params if self.params else self.message


class Attendee(NamedTuple):
    """One registered guest. A named tuple rather than a frozen dataclass: every scan
    builds one, and a dataclass's frozen __init__ cost five times as much."""

    id: int
    code: str
    civility: str
    first_name: str
    last_name: str
    organisation: str
    function: str
    email: str
    category: str
    vip: bool
    source: str

    @property
    def display_name(self) -> str:
        """How the kiosk greets: « Mme Dupont », or « Camille Dupont » without civility."""
        if self.civility:
            return f"{self.civility} {self.last_name}"
        return f"{self.first_name} {self.last_name}"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


COLUMNS = ", ".join(("id", "code", *FIELDS[:6], "category", "vip", "source"))


def from_row(row: tuple) -> Attendee:
    (id_, code, civility, first, last, org, function, email, category, vip, source) = row
    return Attendee(
        id_,
        code,
        civility or "",
        first,
        last,
        org or "",
        function or "",
        email or "",
        category,
        bool(vip),
        source,
    )


# Unicode does not decompose œ and æ, yet French writes « Oeuvray » for « Œuvray » and
# « Laetitia » for « Lætitia » when a keyboard has no ligature. (ß needs nothing: casefold
# writes it ss.)
_LIGATURES = str.maketrans({"œ": "oe", "æ": "ae"})


def fold(text: str) -> str:
    """Accent-, case-, ligature- and hyphen-insensitive form: « Grégory-Doucet » ->
    « gregory doucet », « Œuvray » -> « oeuvray »."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    return " ".join(re.sub(r"[^\w@.]+|_", " ", bare.translate(_LIGATURES)).split())


def name_key(first_name: str, last_name: str) -> str:
    """« Jean-Pierre Martin », « jean pierre MARTIN » and « Jeanpierre Martin » are one key."""
    return fold(f"{first_name}{last_name}").replace(" ", "")


def new_code() -> str:
    """About 144 random bits, URL-safe, starting with a letter or digit: what the QR code
    carries, and nothing else.

    A spreadsheet computes a cell that starts with - (as with = + @), so the mail merge of
    an exported list would print #NAME? or an apostrophe in place of such a code. Drawing
    again the 2 in 64 codes that start with - or _ keeps the other 23 characters as
    random as before: 5.95 + 23 × 6 = 143.95 bits.
    """
    while True:
        code = secrets.token_urlsafe(18)
        if code[0].isalnum():
            return code


def _check_text(field: str, value: Any, allowed: set[str] | None, required: bool) -> str:
    """Tidied text, or InvalidField; `allowed` None takes any printable character."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidField(field, N_("must be text"))
    if any(unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co") for c in value):
        raise InvalidField(field, N_("contains control characters"))
    value = " ".join(value.split())
    if not value:
        if required:
            raise InvalidField(field, N_("is required"))
        return ""
    limit = LIMITS.get(field, 40)
    if len(value) > limit:
        raise InvalidField(field, N_("is longer than %(max)d characters"), max=limit)
    for c in value if allowed is not None else ():
        kind = unicodedata.category(c)
        if not (kind[0] in "LM" or (kind[0] == "N" and field != "first_name") or c in allowed):
            raise InvalidField(
                field, N_("contains a character that is not allowed: %(char)s"), char=c
            )
    return value


def _civility(value: Any) -> str:
    value = value or ""
    if not isinstance(value, str) or civility_key(value) not in CIVILITIES:
        raise InvalidField("civility", N_("is not one of M., Mme, Mx, Dr, Pr, Me"))
    return CIVILITIES[civility_key(value)]


def _category(value: Any) -> str:
    value = value or ""
    if (
        not isinstance(value, str)
        or fold(value) not in CATEGORY_ALIASES
        or (value.strip() and not fold(value))  # « 😀 » folds to nothing
    ):
        raise InvalidField("category", N_("is not one of the event's categories"))
    return CATEGORY_ALIASES[fold(value)]


def _email(value: Any) -> str:
    email = _check_text("email", value, set("@.+-_"), required=False)
    if email and not _EMAIL.match(email):
        raise InvalidField("email", N_("is not valid"))
    return email.lower()


# One check per field, in the order a walk-in's refusal names the first bad one.
_CHECKS: dict[str, Callable[[Any], str]] = {
    "civility": _civility,
    "category": _category,
    "email": _email,
    "first_name": lambda v: _check_text("first_name", v, _NAME_OK, True),
    "last_name": lambda v: _check_text("last_name", v, _NAME_OK, True),
    "organisation": lambda v: _check_text("organisation", v, _TEXT_OK, False),
    "function": lambda v: _check_text("function", v, _TEXT_OK, False),
}


# What an import takes that the kiosk's walk-in form does not: the organisers' own list
# writes a function as it likes, « Directrice | Pôle Europe » included; a stranger at the
# kiosk types within the characters a badge needs.
_IMPORT_CHECKS = {**_CHECKS, "function": lambda v: _check_text("function", v, None, False)}


def check_fields(
    data: dict[str, Any], imported: bool = False
) -> tuple[dict[str, str], list[InvalidField]]:
    """Every field checked on its own: the tidied values, and one refusal per bad field
    (an import reports them all at once)."""
    cleaned: dict[str, str] = {}
    refused: list[InvalidField] = []
    for field, check in (_IMPORT_CHECKS if imported else _CHECKS).items():
        try:
            cleaned[field] = check(data.get(field))
        except InvalidField as exc:
            refused.append(exc)
    return cleaned, refused


def clean_fields(data: Any) -> dict[str, str]:
    """The attendee's fields checked and tidied, or InvalidField for the first bad one."""
    if not isinstance(data, dict):
        raise InvalidField("body", N_("must be an object with the attendee's fields"))
    cleaned, refused = check_fields(data)
    if refused:
        raise refused[0]
    return {field: cleaned[field] for field in FIELDS}


def is_vip(fields: dict[str, str]) -> bool:
    """Whether the function names an office its holder holds now: « Maire de Lyon » yes,
    « Adjointe au maire », « Maire adjoint », « Ancien ministre » no.

    A former office-holder is not flagged (protocol ranks people by the office they hold;
    the import's VIP column flags anyone the organisers want told of), except a former
    President of the Republic, who keeps a protection detail and a rank for life.
    """
    return any(
        _holds(office)
        for part in _FUNCTIONS_APART.split(fields.get("function", ""))
        for office in VIP_FUNCTION.finditer(fold(part))
    )


def _holds(office: re.Match[str]) -> bool:
    """Whether the office found in one function of the list is held by the guest."""
    before = office.string[: office.start()].split()
    after = office.string[office.end() :].split()
    if len(before) > 1 and before[-1] in _SOMEONE_ELSES and before[-2] not in _ADDRESS:
        return False
    not_held = _NOT_HELD_MINISTER if office[0] == "ministre" else _NOT_HELD
    if after and after[0] in not_held:
        return False
    return "republique" in office[0] or not _FORMER & set(before[-2:])


def record(
    fields: dict[str, str],
    source: str,
    now: dt.datetime,
    vip: bool | None = None,
    code: str | None = None,
):
    """The row to insert for a new attendee: their ticket's own code, or a new one."""
    return {
        **fields,
        "code": code or new_code(),
        "vip": int(is_vip(fields) if vip is None else vip),
        "source": source,
        "name_key": name_key(fields["first_name"], fields["last_name"]),
        "org_key": fold(fields["organisation"]),
        "created_at": now.astimezone(dt.UTC).isoformat(),
    }


def find_by_name(db: Database, first_name: str, last_name: str) -> list[Attendee]:
    rows = db.execute(
        f"SELECT {COLUMNS} FROM attendees WHERE name_key = ? ORDER BY id",
        [name_key(first_name, last_name)],
    ).fetchall()
    return [from_row(r) for r in rows]


def get(db: Database, attendee_id: int) -> Attendee | None:
    row = db.execute(f"SELECT {COLUMNS} FROM attendees WHERE id = ?", [attendee_id]).fetchone()
    return from_row(row) if row else None


# --- CSV import ------------------------------------------------------------------------

# Each field's column names (folded: see fold()) as the tools that sold or collected the
# registrations write them, in English and French, by rank: the attendee's own column
# first, then a plain one, then the buyer's. A row takes each field from the first of its
# columns that is not empty, as pretix's own check-in list falls back from the attendee to
# the invoice address: a group order's colleagues keep their buyer's email.
HEADERS: dict[str, tuple[tuple[str, ...], ...]] = {
    "civility": (
        ("attendee name title", "nom du participant titre", "civilite participant"),
        ("civilite", "civility", "title", "titre", "prefix", "salutation"),
        ("invoice address name title", "civilite payeur", "civilite acheteur", "buyer prefix"),
    ),
    "first_name": (
        (
            "attendee name given name",
            "nom du participant prenom",
            "prenom participant",
            "prenom du participant",
            "participant first name",
        ),
        ("prenom", "first name", "firstname", "given name", "first_name", "prenom s"),
        (
            "invoice address name given name",
            "prenom payeur",
            "prenom acheteur",
            "buyer first name",
        ),
    ),
    "last_name": (
        (
            "attendee name family name",
            "nom du participant nom de famille",
            "nom participant",
            "nom du participant nom",
            "participant last name",
        ),
        ("nom", "last name", "lastname", "surname", "family name", "nom de famille", "last_name"),
        ("invoice address name family name", "nom payeur", "nom acheteur", "buyer last name"),
    ),
    # A whole name, split when a row has no first and last name (see _split_name()).
    "name": (
        ("attendee name", "nom du participant", "participant"),
        ("name", "nom complet", "full name", "nom et prenom", "prenom et nom"),
        ("invoice address name", "nom de l acheteur", "buyer name"),
    ),
    "organisation": (
        ("societe participant", "structure participant", "entreprise participant"),
        (
            "organisation",
            "organization",
            "structure",
            "collectivite",
            "organisme",
            "institution",
            "company",
            "societe",
            "entreprise",
            "employeur",
            "employer",
            "organisation name",
            "organization name",
        ),
        ("raison sociale", "societe payeur", "societe acheteur", "buyer company"),
    ),
    "function": (
        ("fonction participant", "poste participant"),
        (
            "fonction",
            "function",
            "job title",
            "position",
            "poste",
            "titre du poste",
            "profession",
        ),
        (),
    ),
    "email": (
        (
            "attendee email",
            "attendee e mail",
            "email participant",
            "e mail participant",
            "e mail du participant",
            "email du participant",
            "courriel participant",
        ),
        (
            "courriel",
            "email",
            "e mail",
            "mail",
            "adresse electronique",
            "adresse mail",
            "adresse e mail",
            "adresse email",
            "email address",
            "e mail address",
        ),
        (
            "email payeur",
            "e mail payeur",
            "email acheteur",
            "email de l acheteur",
            "buyer email",
            "order email",
        ),
    ),
    "category": (
        ("categorie", "category", "type", "profil", "categorie participant"),
        ("ticket type", "product", "produit", "tarif", "formule", "type de billet", "billet"),
        (),
    ),
    "vip": (("vip",), (), ()),
    # The ticket's own code, what its QR code carries: pretix's secret, Eventbrite's and
    # Weezevent's barcode, HelloAsso's ticket number; « Code » in kiosk's own export.
    "code": (
        (
            "ticket secret",
            "secret",
            "secret du billet",
            "barcode",
            "code barre",
            "code barres",
            "numero de billet",
            "n de billet",
            "numero du billet",
            "code",
            "qr code",
            "code du billet",
            "ticket code",
        ),
        (),
        (),
    ),
}
# What `--map "Column=field"` may name.
IMPORT_FIELDS = ("civility", "first_name", "last_name", "name", *FIELDS[3:], "vip", "code")
_YES = {"oui", "o", "yes", "y", "1", "x", "vrai", "true"}
_NO = {"", "non", "n", "no", "0", "faux", "false"}


# What a cell may hold, for the import's report (untranslated: the command line says it
# in its language, as the kiosk and the API say InvalidField's problems in theirs).
_ACCEPTED = {
    "first_name": Message(N_("letters, spaces and %(chars)s"), chars=" ".join(_NAME_CHARS.strip())),
    "last_name": Message(
        N_("letters, digits, spaces and %(chars)s"), chars=" ".join(_NAME_CHARS.strip())
    ),
    "organisation": Message(
        N_("letters, digits, spaces and %(chars)s"), chars=" ".join(_TEXT_CHARS.strip())
    ),
    "function": Message(N_("any printable character")),
    "email": Message(N_("an address such as prenom.nom@example.fr, or nothing")),
    "category": Message(
        N_(
            "%(keys)s, their French or English names (« Élu·e », « Agent territorial », "
            "« NGO »…), or nothing"
        ),
        keys=", ".join(CATEGORY_KEYS),
    ),
    "vip": Message(N_("oui, non, yes, no, x, 1, 0, vrai, faux, or nothing")),
    "code": Message(
        N_("6 to 200 letters, digits and - _ . + / = without spaces, or nothing (a code is made)")
    ),
}


def _accepted(field: str) -> Message:
    return Message(N_("accepted: %(what)s"), what=_ACCEPTED[field])


_SAYS_WHAT_IS_ACCEPTED = {
    N_("is required"),
    N_("is longer than %(max)d characters"),
    N_("is not one of M., Mme, Mx, Dr, Pr, Me"),
}


@dataclass(frozen=True)
class Problem:
    """One thing to fix in a file: its line, the column as the file names it, the cell,
    what is wrong, and a hint (what the cell may hold instead)."""

    line: int
    problem: Message
    column: str = ""
    value: str | None = None
    hint: Message | None = None

    def describe(self, gettext=as_written) -> str:
        """« line 4, Nom 'Dou<cet': … (accepted: …) », through the reader's gettext."""
        where = Message(N_("line %(line)d"), line=self.line)
        if self.column:
            where = Message(N_("line %(line)d, %(column)s"), line=self.line, column=self.column)
        if self.value is not None:
            shown = self.value if len(self.value) <= 40 else self.value[:40] + "…"
            where = Message(N_("%(where)s %(value)s"), where=where, value=repr(shown))
        if self.hint:
            problem = Message(
                N_("%(where)s: %(problem)s (%(hint)s)"),
                where=where,
                problem=self.problem,
                hint=self.hint,
            )
        else:
            problem = Message(N_("%(where)s: %(problem)s"), where=where, problem=self.problem)
        return problem.describe(gettext)

    def __str__(self) -> str:
        return self.describe()


def _at_line(line: int, template: str, **params: Any) -> Message:
    """A problem of the whole file found on one line (« line 4: … »)."""
    return Message(N_("line %(line)d: %(problem)s"), line=line, problem=Message(template, **params))


class CsvError(ValueError):
    """A file that cannot be imported: every problem found in it, each naming its line,
    or the one reason the whole file cannot be read.

    The messages stay untranslated: str() is English, report() says them through the
    reader's gettext (the command line's language)."""

    def __init__(self, problems: Message | list[Problem]):
        self.problems: list[Problem | Message] = (
            [problems] if isinstance(problems, Message) else list(problems)
        )
        super().__init__("\n".join(map(str, self.problems)))

    def report(self, limit: int = 50, gettext=as_written) -> str:
        """For the organiser: at most `limit` problems, then how many more and where, so a
        file broken on every row does not scroll its first problems away."""
        if len(self.problems) == 1:
            return gettext(
                N_("%(problem)s — nothing was imported"),
                problem=self.problems[0].describe(gettext),
            )
        lines = [gettext(N_("%(n)d problems, nothing was imported:"), n=len(self.problems))]
        lines += [f"  {problem.describe(gettext)}" for problem in self.problems[:limit]]
        rest = self.problems[limit:]
        if rest:
            columns = Counter(getattr(p, "column", "") or gettext(N_("whole rows")) for p in rest)
            where = ", ".join(
                gettext(N_("%(n)d in %(column)s"), n=n, column=column)
                for column, n in columns.most_common()
            )
            lines.append(
                gettext(
                    N_("  … and %(n)d more, not shown (%(where)s); the first %(limit)d are above"),
                    n=len(rest),
                    where=where,
                    limit=limit,
                )
            )
        return "\n".join(lines)


_BOMS = {b"\xef\xbb\xbf": "utf-8", b"\xff\xfe": "utf-16", b"\xfe\xff": "utf-16"}
# Files a spreadsheet saves in its own format (.xlsx and .ods are zip archives, .xls an OLE
# compound file): the most common wrong file, and one that deserves a plainer answer than
# a complaint about its bytes.
_SPREADSHEET_FILES = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0")
# UTF-8 for à…ÿ, Œ œ, « » ° and the no-break space, ’ – — … and €: bytes that a Windows-1252
# file of French names never holds (they read Ã©, Å“, Â«, â€™), and that every UTF-8 file
# of French names does. A file holding them and bytes that are not UTF-8 is UTF-8 damaged,
# or two files pasted together, and reading it as Windows-1252 would garble every accent.
_FRENCH_IN_UTF8 = re.compile(
    rb"\xc3[\x80-\xbf]|\xc5[\x92\x93]|\xc2[\xa0\xab\xb0\xbb]"
    rb"|\xe2\x80[\x93\x94\x99\xa6]|\xe2\x82\xac"
)


_CUT_OFF = Message(N_("the file ends in the middle of a character: is it cut off?"))


def _line_of(raw: bytes, position: int, encoding: str = "utf-8") -> int:
    return raw[:position].decode(encoding, errors="replace").count("\n") + 1


def _cut_off(exc: UnicodeDecodeError) -> bool:
    return exc.end == len(exc.object) and exc.reason in ("unexpected end of data", "truncated data")


def decode(raw: bytes) -> str:
    """The file's text: UTF-8 (with or without BOM), UTF-16 with its BOM (Excel's « Texte
    Unicode »), or Windows-1252, as French offices save a CSV; else CsvError, never a
    UnicodeDecodeError."""
    if raw.startswith(_SPREADSHEET_FILES):
        raise CsvError(
            Message(
                N_(
                    "this is a spreadsheet file (.xlsx, .ods or .xls), not a CSV file: save "
                    "it as « CSV UTF-8 » or « CSV (séparateur : point-virgule) » and import "
                    "that file"
                )
            )
        )
    bom = next((b for b in _BOMS if raw.startswith(b)), b"")
    if _BOMS.get(bom) == "utf-16":
        try:
            text = raw.decode("utf-16")  # its BOM says which byte order
        except UnicodeDecodeError as exc:
            if _cut_off(exc):
                raise CsvError(_CUT_OFF) from None
            line = _line_of(raw, exc.start, "utf-16")
            raise CsvError(
                _at_line(line, N_("bytes that are not UTF-16, as its BOM says"))
            ) from None
    else:
        body = raw[len(bom) :]
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            if _FRENCH_IN_UTF8.search(body):
                if _cut_off(exc):
                    raise CsvError(_CUT_OFF) from None
                problem = N_(
                    "byte %(byte)s is not UTF-8, though the rest of the file is: the file is "
                    "damaged, or mixes two encodings (rows pasted from another file?); save it "
                    "again as « CSV UTF-8 »"
                )
                raise CsvError(
                    _at_line(_line_of(body, exc.start), problem, byte=f"0x{body[exc.start]:02X}")
                ) from None
            # A UTF-8 BOM before Windows-1252 bytes: written by a tool that adds the BOM
            # whatever the encoding; the bytes say more than the BOM.
            try:
                text = body.decode("cp1252")
            except UnicodeDecodeError as exc:
                problem = N_("byte %(byte)s: the file is neither UTF-8 nor Windows-1252")
                raise CsvError(
                    _at_line(_line_of(body, exc.start), problem, byte=f"0x{body[exc.start]:02X}")
                ) from None
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        problem = N_(
            "a NUL character: this is not a text file (a spreadsheet's own format? UTF-16 "
            "without its BOM?); save it as « CSV UTF-8 »"
        )
        raise CsvError(_at_line(line, problem))
    return text


def read_rows(text: str) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The header and the rows, each row with the number of the line it starts on (a
    quoted cell may span several lines)."""
    first = text.split("\n", 1)[0]
    delimiter = max((";", ",", "\t"), key=first.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows = []
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:  # a cell longer than the csv module's limit (128 KiB)
            problem = N_('%(error)s: is a quote (") opened there and never closed?')
            raise CsvError(_at_line(start, problem, error=str(exc))) from None
        rows.append((start, row))
    if not rows:
        raise CsvError(Message(N_("the file is empty")))
    return rows[0][1], rows[1:]


# A ticket's own code as the tools print it in its QR code: pretix's secret (32 letters and
# digits, or base64 for signed secrets), Eventbrite's barcode (20 to 30 digits), Weezevent's
# barcode, HelloAsso's ticket number (digits). Kiosk's own codes match too. No space, no
# « : » (a web address, a Wi-Fi code), nothing a kiosk could not send back as it was read.
TICKET_CODE = re.compile(r"^[A-Za-z0-9_=+/.-]{6,200}$")
# What Excel shows of a long barcode in a column it took for numbers: « 1,04857E+20 ».
_SCIENTIFIC = re.compile(r"^\d[.,]\d+E\+?\d+$", re.IGNORECASE)


@dataclass(frozen=True)
class Columns:
    """Which columns feed each field, best first, and the ones no field reads."""

    header: list[str]
    fields: dict[str, list[int]]
    ignored: list[int]

    def first(self, field: str) -> str:
        return self.header[self.fields[field][0]]

    def describe(self) -> list[tuple[str, str, str | None]]:
        """(column, field, the column it stands in for when that one is empty, or None)
        for every column read, in the file's order."""
        feeds = {
            i: (field, None if n == 0 else self.header[columns[0]])
            for field, columns in self.fields.items()
            for n, i in enumerate(columns)
        }
        return [(self.header[i], *feeds[i]) for i in sorted(feeds)]


def map_headers(header: list[str], mapping: dict[str, str] | None = None) -> Columns:
    """Which columns hold each field; CsvError with every problem of the header line.

    `mapping` names a column for a field (« Votre structure » -> organisation), or for
    nothing (an empty field) to leave it out; it overrides the names known here.
    """
    problems = []
    forced: dict[int, str] = {}
    folded = [fold(name) for name in header]
    for column, field in (mapping or {}).items():
        if fold(column) not in folded:
            problem = Message(
                N_("--map names a column the file does not have: %(column)s"), column=repr(column)
            )
            problems.append(Problem(1, problem))
            continue
        for index, key in enumerate(folded):
            if key == fold(column):
                forced[index] = field
    ranked: dict[str, list[tuple[int, int]]] = {}
    ignored = []
    for index, key in enumerate(folded):
        if index in forced:
            if forced[index]:
                ranked.setdefault(forced[index], []).append((-1, index))
            else:
                ignored.append(index)
            continue
        found = [
            (rank, field)
            for field, ranks in HEADERS.items()
            for rank, names in enumerate(ranks)
            if key in names
        ]
        if not found:
            ignored.append(index)
        for rank, field in found:
            ranked.setdefault(field, []).append((rank, index))
    fields: dict[str, list[int]] = {}
    for field, candidates in ranked.items():
        candidates.sort()
        best = candidates[0]
        # Two different names of the same rank for one field: which one holds it is a
        # guess. The same name twice (pretix's « Company » of the attendee, then of the
        # invoice) is read in the file's order.
        rival = next(
            (c for c in candidates[1:] if c[0] == best[0] and folded[c[1]] != folded[best[1]]),
            None,
        )
        if rival is not None and best[0] >= 0:
            problem = Message(
                N_("two columns for %(field)s: %(first)s and %(second)s"),
                field=field,
                first=repr(header[best[1]]),
                second=repr(header[rival[1]]),
            )
            problems.append(Problem(1, problem))
        fields[field] = [index for _rank, index in candidates]
    missing = [f for f in ("last_name", "first_name") if f not in fields]
    if missing and "name" not in fields:
        problem = N_(
            "no column for %(fields)s (expected headers such as "
            "Nom, Prénom, Civilité, Organisation, Fonction, Courriel, Catégorie)"
        )
        # The fields by their names in the code, as the header hint lists the file's names.
        names: Message | str = missing[0]
        if len(missing) == 2:
            names = Message(N_("%(first)s and %(second)s"), first=missing[0], second=missing[1])
        problems.append(Problem(1, Message(problem, fields=names)))
    if problems:
        raise CsvError(problems)
    return Columns(header, fields, ignored)


def _split_name(name: str) -> tuple[str, str]:
    """« Camille Dupont » -> (« Camille », « Dupont »), « Jean Da Costa » -> (« Jean »,
    « Da Costa »): the first word is the first name (a guess the report owns up to)."""
    first, _, last = " ".join(name.split()).partition(" ")
    return first, last


def _category_of(label: str, categories: dict[str, str]) -> str:
    """A category key for a known label, the organiser's choice for a mapped one, or the
    label as written: a form's « Étudiant·e » stays « Étudiant·e », never refused."""
    if fold(label) in categories:
        label = categories[fold(label)]
    return CATEGORY_ALIASES.get(fold(label), " ".join(label.split()))


def _row_problems(
    number: int,
    row: list[str],
    columns: Columns,
    categories: dict[str, str],
) -> tuple[dict[str, str], list[Problem]]:
    """A row's tidied fields, and a problem for each of its cells that cannot be stored."""
    header = columns.header
    if len(row) > len(header):
        problem = Message(
            N_("%(cells)d cells for %(columns)d columns"), cells=len(row), columns=len(header)
        )
        hint = Message(N_("a separator inside a cell that is not in quotes?"))
        return {}, [Problem(number, problem, hint=hint)]
    cell: dict[str, str] = {}
    source: dict[str, int] = {}
    for field, indexes in columns.fields.items():
        source[field] = indexes[0]
        cell[field] = ""
        for i in indexes:
            if i < len(row) and row[i].strip():
                source[field], cell[field] = i, row[i]
                break
    no_name = not cell.get("first_name", "").strip() and not cell.get("last_name", "").strip()
    if no_name and cell.get("name", "").strip():
        cell["first_name"], cell["last_name"] = _split_name(cell["name"])
        source["first_name"] = source["last_name"] = source["name"]
    category = cell.pop("category", "")
    fields, refused = check_fields(
        {f: cell.get(f, "") for f in FIELDS if f != "category"}, imported=True
    )
    problems = []
    for exc in refused:
        value = cell.get(exc.field, "")
        hint = None
        if "\n" in value or "\r" in value:
            hint = Message(N_('a line break: is a quote (") opened and never closed?'))
        elif exc.message not in _SAYS_WHAT_IS_ACCEPTED:
            hint = _accepted(exc.field)
        column = header[source[exc.field]] if exc.field in source else exc.field
        if exc.field in ("first_name", "last_name") and source.get(exc.field) == source.get("name"):
            value = cell.get("name", value)
        problem = Message(exc.message, **exc.params)
        problems.append(Problem(number, problem, column, value, hint))
    try:
        fields["category"] = (
            _check_text("category", _category_of(category, categories), None, False) or "autre"
        )
    except InvalidField as exc:
        column = header[source["category"]]
        problems.append(Problem(number, Message(exc.message, **exc.params), column, category))
    code = cell.get("code", "").strip()
    if code and not TICKET_CODE.match(code):
        hint = _accepted("code")
        problem = Message(N_("is not a ticket code"))
        if _SCIENTIFIC.match(code):
            problem = Message(
                N_(
                    "is a number a spreadsheet rounded, not the ticket's code: format the "
                    "column as text and export it again"
                )
            )
            hint = None
        problems.append(Problem(number, problem, header[source["code"]], code, hint))
    fields["code"] = code
    vip = fold(cell.get("vip", ""))
    if vip not in _YES | _NO:
        column, hint = header[source["vip"]], _accepted("vip")
        problem = Message(N_("is not oui/non"))
        problems.append(Problem(number, problem, column, cell["vip"], hint))
    # Said either way, the column decides; left empty, the function does (see is_vip()).
    fields["vip"] = "oui" if vip in _YES else "non" if vip else ""
    return fields, problems


@dataclass(frozen=True)
class ImportReport:
    created: int
    already_present: int
    columns: Columns | None = None
    with_their_code: int = 0


def import_csv(
    db: Database,
    raw: bytes,
    now: dt.datetime,
    progress: Callable[[int], None] | None = None,
    mapping: dict[str, str] | None = None,
    categories: dict[str, str] | None = None,
    dry_run: bool = False,
) -> ImportReport:
    """Import attendees all or nothing; the same file twice creates no duplicates.

    A file with problems writes nothing and raises CsvError with all of them, every bad
    cell of every row, so that one run tells the organiser everything to fix. `dry_run`
    checks and counts as the import would, and writes nothing either way.

    Who is already there: the same ticket code; else the same email and name (several
    people share an email: a group order, an assistant registering a delegation); else,
    without an email, the same name and organisation.
    """
    header, rows = read_rows(decode(raw))
    columns = map_headers(header, mapping)
    wanted = {fold(label): value for label, value in (categories or {}).items()}
    new: list[dict[str, Any]] = []
    problems: list[Problem] = []
    already = 0
    with transaction(db):
        codes = {c for (c,) in db.execute("SELECT code FROM attendees").fetchall()}
        emails = set(
            db.execute("SELECT email, name_key FROM attendees WHERE email != ''").fetchall()
        )
        people = {
            (n, o) for n, o in db.execute("SELECT name_key, org_key FROM attendees").fetchall()
        }
        lines: dict[str, int] = {}
        for number, row in rows:
            if progress:
                progress(1)
            if not any(cell.strip() for cell in row):
                continue
            fields, found = _row_problems(number, row, columns, wanted)
            code = fields.get("code", "")
            if code and not found and code in lines:
                problem = Message(N_("the same ticket code as line %(line)d"), line=lines[code])
                found.append(Problem(number, problem, columns.first("code"), code))
            if found:
                problems += found
                continue
            vip = {"oui": True, "non": False}.get(fields.pop("vip"))
            code = fields.pop("code")
            name = name_key(fields["first_name"], fields["last_name"])
            key = (name, fold(fields["organisation"]))
            if (
                (code and code in codes)
                or (fields["email"] and (fields["email"], name) in emails)
                or (not code and not fields["email"] and key in people)
            ):
                already += 1
                continue
            if code:
                lines[code] = number
                codes.add(code)
            if fields["email"]:
                emails.add((fields["email"], name))
            people.add(key)
            new.append(record(fields, "imported", now, vip=vip, code=code or None))
        if problems:
            raise CsvError(problems)
        if new and not dry_run:
            db["attendees"].insert_all(new, batch_size=500)
    with_code = sum(1 for r in new if r["code"] in lines)
    return ImportReport(len(new), already, columns, with_code)


# --- exports ---------------------------------------------------------------------------


def _local(value: str | None, tz) -> str:
    if not value:
        return ""
    return dt.datetime.fromisoformat(value).astimezone(tz).strftime("%Y-%m-%d %H:%M")


def rows_with_checkins(db: Database) -> Iterable[tuple]:
    return db.execute(
        f"SELECT {COLUMNS}, checked_in_at, checked_in_by FROM attendees "
        "ORDER BY last_name COLLATE NOCASE, first_name COLLATE NOCASE, id"
    ).fetchall()


def write_csv(rows: Iterable[Iterable[Any]], header: list[str]) -> str:
    """Semicolon-separated with a BOM: what French spreadsheets open without asking."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_spreadsheet_safe(v) for v in row])
    return out.getvalue()


def _spreadsheet_safe(value: Any) -> Any:
    # A cell starting with = + - @ is run as a formula by spreadsheets (CSV injection).
    # Codes made since new_code() draws them starting with a letter or digit never start
    # so and go out verbatim; a code an older database still holds that starts with - goes
    # out as '-…, as the kiosk reads a code with a spreadsheet's apostrophe as the code.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


# How the exports name a guest's source, in the export's language.
SOURCES = {"imported": N_("Imported"), "walk-in": N_("Walk-in")}


def export_all(db: Database, tz, gettext: Callable[..., str] = as_written) -> str:
    """Everyone with their code and arrival, for mail merge and the sign-in sheet.

    Headers and values (category, source) in the language of `gettext`, all of which the
    import reads back.
    """
    _ = gettext
    labels = dict(CATEGORIES)
    rows = []
    for r in rows_with_checkins(db):
        a = from_row(r[:11])
        rows.append(
            [
                a.civility,
                a.first_name,
                a.last_name,
                a.organisation,
                a.function,
                a.email,
                _(labels[a.category]) if a.category in labels else a.category,
                _("yes") if a.vip else "",
                _(SOURCES[a.source]) if a.source in SOURCES else a.source,
                a.code,
                _local(r[11], tz),
                r[12] or "",
            ]
        )
    header = [
        _("Civility"),
        _("First name"),
        _("Last name"),
        _("Organisation"),
        _("Function"),
        _("Email"),
        _("Category"),
        "VIP",
        _("Source"),
        _("Code"),
        _("Arrival"),
        _("Kiosk"),
    ]
    return write_csv(rows, header)


def export_attendance(db: Database, tz, gettext: Callable[..., str] = as_written) -> str:
    """The émargement: who came, sorted by name, with the time they arrived."""
    _ = gettext
    labels = dict(CATEGORIES)
    rows = []
    for r in rows_with_checkins(db):
        a = from_row(r[:11])
        category = _(labels[a.category]) if a.category in labels else a.category
        rows.append(
            [a.last_name, a.first_name, a.organisation, a.function, category, _local(r[11], tz)]
        )
    header = [_("Last name"), _("First name"), _("Organisation"), _("Function")]
    return write_csv(rows, [*header, _("Category"), _("Arrival")])


def write_qr_codes(
    db: Database, directory: Path, progress: Callable[[int], None] | None = None
) -> int:
    """One SVG QR code per attendee, named after them; the image holds the code only."""
    import qrcode
    import qrcode.image.svg

    directory.mkdir(parents=True, exist_ok=True)
    count = 0
    for r in rows_with_checkins(db):
        if progress:
            progress(1)
        a = from_row(r[:11])
        stem = re.sub(r"[^a-z0-9]+", "-", fold(f"{a.last_name} {a.first_name}")).strip("-")
        image = qrcode.make(a.code, image_factory=qrcode.image.svg.SvgPathImage, border=2)
        image.save(str(directory / f"{stem or 'attendee'}-{a.id}.svg"))
        count += 1
    return count
