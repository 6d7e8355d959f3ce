#!/usr/bin/env python3
"""Build the router's own reference data (data/reference/*.tsv) from the shared sources.

Usage (from the repo root):

    python3 tools/build_reference.py [--source DIR] [--out DIR]

--source defaults to ../shared/reference relative to the repo root and --out to
data/reference under the repo root (the repo root is this script's directory's parent).

Python 3.11, standard library only. The output is deterministic: the same input gives
byte-identical files (UTF-8 without BOM, LF line endings, tab-separated, header row).
Every check runs before anything is written; any failure exits with status 1 and a list
of the problems, leaving the output directory untouched.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import tempfile
from collections import Counter, defaultdict
from pathlib import Path

SCRIPT_DIR = Path(__file__).resolve().parent
REPO_ROOT = SCRIPT_DIR.parent
DEFAULT_SOURCE = REPO_ROOT.parent / "shared" / "reference"
DEFAULT_OUT = REPO_ROOT / "data" / "reference"

# ---------------------------------------------------------------------------
# Expectations
# ---------------------------------------------------------------------------

EXPECTED_PREFECTURES = 47
EXPECTED_LOCAL_GOVERNMENTS = 1916
EXPECTED_PROCEDURES = 22
EXPECTED_NOTIFICATIONS = 4
EXPECTED_OFFICES = 15
EXPECTED_KIND_COUNTS = {
    "DESIGNATED_CITY": 20,
    "CITY_WARD": 175,
    "SPECIAL_WARD": 23,
    "MUNICIPALITY": 1698,
}

# Tokyo's 23 special wards: 5-digit codes 13101..13123 (6-digit 131016..131237).
SPECIAL_WARD_PREFECTURE = "13"
SPECIAL_WARD_FIRST = 13101
SPECIAL_WARD_LAST = 13123

SOURCE_FILES = {
    "prefectures": "prefjp-utf8.csv",
    "local_governments": "localgovjp-utf8.csv",
    "offices": "immigration_offices.tsv",
    "notifications": "notifications.tsv",
    "procedures": "procedures.tsv",
}

SOURCE_HEADERS = {
    "offices": ["code", "kind", "parent", "name_ja", "name_en",
                "residence_prefectures", "routable", "confidence"],
    "notifications": ["code", "name_ja", "name_en", "legal_basis"],
    "procedures": ["code", "card", "jurisdiction", "eligible", "name_ja", "name_en",
                   "legal_basis", "deemed_with", "photo_with_accompanying",
                   "confidence", "source"],
}
PREF_COLUMNS = ["pid", "pref", "prefkana", "pref_en"]
LG_COLUMNS = ["pid", "pref", "cid", "city", "citykana", "lgcode"]

# Notifications that themselves record the person in the municipality's 住民基本台帳 (our reading).
REGISTERS_RESIDENT = {
    "JUMIN_22": "yes",      # 転入届
    "JUMIN_23": "no",       # 転居届: move within the same municipality, already recorded
    "JUMIN_30_46": "yes",
    "JUMIN_30_47": "yes",
}
NOTIFICATION_CONFIDENCE = "INFERRED"

# Accompanying procedures where the current card / certificate is NOT shown.
CARD_NOT_SHOWN = {"NEW_LANDING_RESIDENCE", "SPR_REISSUE_LOSS", "CARD_REISSUE_LOSS"}
# Status applications and new landings: passport required.
PASSPORT_REQUIRED = {
    "PERIOD_OF_STAY_EXTENSION", "CHANGE_OF_STATUS", "PERMANENT_RESIDENCE",
    "STATUS_ACQUISITION", "NEW_LANDING_RESIDENCE",
}
# Statutory 14-day periods.
DEADLINE_DAYS = {
    "NEW_LANDING_RESIDENCE": "14",      # 入管法19条の7
    "STATUS_ACQUIRED_RESIDENCE": "14",  # 入管法19条の8
    "CHANGE_OF_RESIDENCE": "14",        # 入管法19条の9
    "CARD_ITEM_CHANGE": "14",           # 入管法19条の10
    "SPR_CHANGE_OF_RESIDENCE": "14",    # 入管特例法10条
    "SPR_ITEM_CHANGE_REISSUE": "14",    # 入管特例法11条
    "SPR_REISSUE_LOSS": "14",           # 入管特例法13条
    "CARD_REISSUE_LOSS": "14",          # 入管法19条の12
}

POLICIES = [
    ("operation_start", "2026-06-14", "OFFICIAL", "令和6年法律第59号 施行日"),
    ("online_channel_supported", "false", "3P",
     "the online residence application system cannot carry a tokutei application for now"),
    ("proxy_under_age", "16", "3P",
     "a relative or legal representative may file for an applicant under this age"),
    ("proxy_when_unable", "true", "3P",
     "a relative or legal representative may also file for an applicant unable to appear "
     "through illness etc."),
    ("photo_max_age_months", "6", "OFFICIAL", "施行規則: 六月以内"),
    ("photo_height_mm", "40", "OFFICIAL", "縦"),
    ("photo_width_mm", "30", "OFFICIAL", "横"),
    ("photo_waiver_min_age", "16", "INFERRED",
     "age16plus procedures submit a photo for applicants aged this or older"),
    ("source_date", "2026-07-09", "OFFICIAL", "date of the local government list"),
]

OFFICE_KINDS = {"REGIONAL_BUREAU", "DISTRICT_OFFICE", "AIRPORT_OFFICE"}
CARDS = {"RESIDENCE_CARD", "SPR_CERTIFICATE"}
JURISDICTIONS = {"REGIONAL_BUREAU", "MUNICIPALITY"}
PHOTO_VALUES = {"age16plus", "never"}
YES_NO = {"yes", "no"}


class BuildError(Exception):
    pass


class Errors:
    """Collects every problem found so that one run reports all of them."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, where: str, message: str) -> None:
        self.items.append(f"{where}: {message}")

    def check(self, condition: bool, where: str, message: str) -> None:
        if not condition:
            self.add(where, message)


# ---------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------

def read_csv(path: Path, delimiter: str) -> tuple[list[str], list[dict[str, str]]]:
    if not path.is_file():
        raise BuildError(f"{path}: source file not found")
    # utf-8-sig drops a leading BOM if present (localgovjp-utf8.csv has one).
    with path.open("r", encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f, delimiter=delimiter)
        try:
            header = next(reader)
        except StopIteration:
            raise BuildError(f"{path}: empty file") from None
        rows = []
        for line_no, fields in enumerate(reader, start=2):
            if not fields:
                continue  # blank line
            if len(fields) != len(header):
                raise BuildError(
                    f"{path}:{line_no}: {len(fields)} fields, header has {len(header)}")
            rows.append(dict(zip(header, fields)))
    return header, rows


def require_columns(path: Path, header: list[str], needed: list[str]) -> None:
    missing = [c for c in needed if c not in header]
    if missing:
        raise BuildError(f"{path}: missing column(s) {', '.join(missing)}; header is {header}")


def require_header(path: Path, header: list[str], expected: list[str]) -> None:
    if header != expected:
        raise BuildError(f"{path}: header is {header}, expected {expected}")


# ---------------------------------------------------------------------------
# Checks
# ---------------------------------------------------------------------------

def check_digit(code5: str) -> int:
    total = sum(int(d) * w for d, w in zip(code5, (6, 5, 4, 3, 2)))
    return (11 - total % 11) % 10


def check_count(errors: Errors, what: str, actual: int, expected: int) -> None:
    errors.check(actual == expected, what, f"{actual} rows, expected {expected}")


def check_duplicates(errors: Errors, what: str, codes: list[str]) -> None:
    for code, n in sorted(Counter(codes).items()):
        if n > 1:
            errors.add(what, f"duplicate code {code} ({n} rows)")


# ---------------------------------------------------------------------------
# Builders: each returns (header, rows) with rows as lists of strings
# ---------------------------------------------------------------------------

def build_prefectures(source: Path, errors: Errors):
    path = source / SOURCE_FILES["prefectures"]
    header, rows = read_csv(path, ",")
    require_columns(path, header, PREF_COLUMNS)
    check_count(errors, path.name, len(rows), EXPECTED_PREFECTURES)
    out = []
    for i, r in enumerate(rows, start=2):
        pid = r["pid"]
        if not pid.isascii() or not pid.isdigit() or not 1 <= int(pid) <= 47:
            errors.add(f"{path.name}:{i}", f"pid {pid!r} is not 1..47")
            continue
        code = f"{int(pid):02d}"
        for col in ("pref", "prefkana", "pref_en"):
            errors.check(r[col] != "", f"{path.name}:{i}", f"empty {col}")
        out.append([code, r["pref"], r["prefkana"], r["pref_en"]])
    check_duplicates(errors, path.name, [row[0] for row in out])
    expected_codes = {f"{n:02d}" for n in range(1, 48)}
    missing = sorted(expected_codes - {row[0] for row in out})
    errors.check(not missing, path.name, f"missing prefecture code(s) {', '.join(missing)}")
    out.sort(key=lambda row: row[0])
    return ["code", "name_ja", "name_kana", "name_en"], out


def build_local_governments(source: Path, prefecture_names: dict[str, str], errors: Errors):
    path = source / SOURCE_FILES["local_governments"]
    header, rows = read_csv(path, ",")
    require_columns(path, header, LG_COLUMNS)
    check_count(errors, path.name, len(rows), EXPECTED_LOCAL_GOVERNMENTS)

    parsed = []  # (code, pref, city, kana, where)
    for i, r in enumerate(rows, start=2):
        where = f"{path.name}:{i}"
        raw = r["lgcode"]
        if not raw.isascii() or not raw.isdigit() or len(raw) > 6:
            errors.add(where, f"lgcode {raw!r} is not a code of at most 6 digits")
            continue
        code = raw.zfill(6)
        expected = check_digit(code[:5])
        if int(code[5]) != expected:
            errors.add(where, f"lgcode {code} ({r['city']}): check digit {code[5]}, "
                              f"expected {expected}")
        pref = code[:2]
        if not r["pid"].isdigit() or f"{int(r['pid']):02d}" != pref:
            errors.add(where, f"lgcode {code}: pid {r['pid']!r} does not match the code's "
                              f"prefecture {pref}")
        if pref not in prefecture_names:
            errors.add(where, f"lgcode {code}: unknown prefecture {pref}")
        elif r["pref"] != prefecture_names[pref]:
            errors.add(where, f"lgcode {code}: pref {r['pref']!r} differs from "
                              f"{prefecture_names[pref]!r} in the prefecture list")
        if r["cid"].isdigit() and int(r["cid"]) != int(code[:5]):
            errors.add(where, f"lgcode {code}: cid {r['cid']} does not match")
        city, kana = r["city"], r["citykana"]
        for col, value in (("city", city), ("citykana", kana)):
            if value == "" or value != value.strip() or value.count(" ") > 1 \
                    or "\u3000" in value:
                errors.add(where, f"lgcode {code}: unexpected {col} {value!r}")
        if city.count(" ") != kana.count(" "):
            errors.add(where, f"lgcode {code}: city {city!r} and citykana {kana!r} "
                              f"are split differently")
        parsed.append((code, pref, city, kana, where))

    check_duplicates(errors, path.name, [p[0] for p in parsed])

    by_name = {}
    for code, pref, city, _kana, _where in parsed:
        if " " not in city:
            if (pref, city) in by_name:
                errors.add(path.name, f"two rows named {city} in prefecture {pref}")
            by_name[(pref, city)] = code

    # Designated cities: X such that rows "X <ward>" exist in the same prefecture.
    designated = {}  # (pref, city name) -> code of the city row
    out = []
    for code, pref, city, kana, where in parsed:
        parent_code = ""
        if " " in city:
            prefix, rest = city.split(" ")
            kana_prefix = kana.split(" ")[0]
            if prefix.endswith("郡"):
                kind = "MUNICIPALITY"  # 郡 (district) prefix: not a ward
            elif (pref, prefix) in by_name:
                kind = "CITY_WARD"
                parent_code = by_name[(pref, prefix)]
                designated[(pref, prefix)] = parent_code
                if not prefix.endswith("市") or not rest.endswith("区"):
                    errors.add(where, f"lgcode {code}: ward row {city!r} is not '<市> <区>'")
                parent_kana = next(k for c, _p, _n, k, _w in parsed if c == parent_code)
                if kana_prefix != parent_kana:
                    errors.add(where, f"lgcode {code}: kana {kana!r} does not start with the "
                                      f"city's kana {parent_kana!r}")
            else:
                errors.add(where, f"lgcode {code}: {city!r} has a space but no city "
                                  f"{prefix!r} in prefecture {pref} and no 郡 prefix")
                kind = "MUNICIPALITY"
        elif pref == SPECIAL_WARD_PREFECTURE and \
                SPECIAL_WARD_FIRST <= int(code[:5]) <= SPECIAL_WARD_LAST:
            kind = "SPECIAL_WARD"
            errors.check(city.endswith("区"), where,
                         f"lgcode {code}: special ward {city!r} does not end in 区")
        else:
            kind = "MUNICIPALITY"
        out.append([code, pref, kind, city.replace(" ", ""), kana.replace(" ", ""), parent_code])

    for (code, pref, city, _kana, where), row in zip(parsed, out):
        if " " not in city and (pref, city) in designated:
            if row[2] != "MUNICIPALITY":
                errors.add(where, f"lgcode {code}: designated city already kind {row[2]}")
            errors.check(city.endswith("市"), where,
                         f"lgcode {code}: designated city {city!r} does not end in 市")
            row[2] = "DESIGNATED_CITY"

    kinds = Counter(row[2] for row in out)
    for kind, expected in EXPECTED_KIND_COUNTS.items():
        errors.check(kinds[kind] == expected, path.name,
                     f"{kinds[kind]} rows of kind {kind}, expected {expected}")
    out.sort(key=lambda row: row[0])
    header = ["code", "prefecture_code", "kind", "name_ja", "name_kana", "parent_code"]
    return header, out, kinds


def build_offices(source: Path, prefecture_codes: set[str], errors: Errors):
    path = source / SOURCE_FILES["offices"]
    header, rows = read_csv(path, "\t")
    require_header(path, header, SOURCE_HEADERS["offices"])
    check_count(errors, path.name, len(rows), EXPECTED_OFFICES)
    codes = [r["code"] for r in rows]
    check_duplicates(errors, path.name, codes)
    coverage = defaultdict(list)
    out = []
    for i, r in enumerate(rows, start=2):
        where = f"{path.name}:{i} ({r['code']})"
        errors.check(r["code"] != "", where, "empty code")
        errors.check(r["kind"] in OFFICE_KINDS, where, f"unknown kind {r['kind']!r}")
        errors.check(r["routable"] in YES_NO, where, f"routable {r['routable']!r} is not yes/no")
        errors.check(r["parent"] == "" or r["parent"] in codes, where,
                     f"parent {r['parent']!r} is not an office code")
        prefs = r["residence_prefectures"].split(",") if r["residence_prefectures"] else []
        for p in prefs:
            errors.check(p in prefecture_codes, where, f"unknown prefecture code {p!r}")
        check_duplicates(errors, where, prefs)
        if r["kind"] == "AIRPORT_OFFICE":
            errors.check(r["routable"] == "no", where, "airport office is routable")
            errors.check(not prefs, where, "airport office covers prefectures")
        if r["routable"] == "yes":
            for p in prefs:
                coverage[p].append(r["code"])
        out.append([r["code"], r["kind"], r["parent"], r["name_ja"], r["name_en"],
                    r["residence_prefectures"], r["routable"], r["confidence"]])
    for p in sorted(prefecture_codes):
        covering = coverage.get(p, [])
        errors.check(len(covering) == 1, path.name,
                     f"prefecture {p} is covered by {len(covering)} routable offices"
                     + (f" ({', '.join(covering)})" if covering else ""))
    header = ["code", "kind", "parent_code", "name_ja", "name_en", "residence_prefectures",
              "routable", "confidence"]
    return header, out  # source order kept


def build_notifications(source: Path, errors: Errors):
    path = source / SOURCE_FILES["notifications"]
    header, rows = read_csv(path, "\t")
    require_header(path, header, SOURCE_HEADERS["notifications"])
    check_count(errors, path.name, len(rows), EXPECTED_NOTIFICATIONS)
    check_duplicates(errors, path.name, [r["code"] for r in rows])
    seen = {r["code"] for r in rows}
    for code in sorted(set(REGISTERS_RESIDENT) - seen):
        errors.add(path.name, f"notification {code} (registers_resident table) is missing")
    out = []
    for i, r in enumerate(rows, start=2):
        where = f"{path.name}:{i} ({r['code']})"
        if r["code"] not in REGISTERS_RESIDENT:
            errors.add(where, "no registers_resident reading for this notification")
            continue
        out.append([r["code"], r["name_ja"], r["name_en"], r["legal_basis"],
                    REGISTERS_RESIDENT[r["code"]], NOTIFICATION_CONFIDENCE])
    header = ["code", "name_ja", "name_en", "legal_basis", "registers_resident", "confidence"]
    return header, out  # source order kept


def build_procedures(source: Path, notification_codes: set[str], errors: Errors):
    path = source / SOURCE_FILES["procedures"]
    header, rows = read_csv(path, "\t")
    require_header(path, header, SOURCE_HEADERS["procedures"])
    check_count(errors, path.name, len(rows), EXPECTED_PROCEDURES)
    codes = [r["code"] for r in rows]
    check_duplicates(errors, path.name, codes)
    for table_name, table in (("card_shown", CARD_NOT_SHOWN),
                              ("passport_required", PASSPORT_REQUIRED),
                              ("deadline_days", DEADLINE_DAYS)):
        for code in sorted(set(table) - set(codes)):
            errors.add(path.name, f"procedure {code} (named in the {table_name} table) "
                                  f"is missing")
    out = []
    for i, r in enumerate(rows, start=2):
        where = f"{path.name}:{i} ({r['code']})"
        errors.check(r["card"] in CARDS, where, f"unknown card {r['card']!r}")
        errors.check(r["jurisdiction"] in JURISDICTIONS, where,
                     f"unknown jurisdiction {r['jurisdiction']!r}")
        errors.check(r["eligible"] in YES_NO, where, f"eligible {r['eligible']!r} is not yes/no")
        photo = r["photo_with_accompanying"]
        if r["eligible"] == "yes":
            errors.check(photo in PHOTO_VALUES, where,
                         f"photo_with_accompanying {photo!r} is not age16plus/never")
        else:
            errors.check(photo == "", where,
                         f"photo_with_accompanying {photo!r} on an ineligible row")
        deemed = r["deemed_with"].split(",") if r["deemed_with"] else []
        for n in deemed:
            errors.check(n in notification_codes, where,
                         f"deemed_with {n!r} is not a notification code")
        check_duplicates(errors, where, deemed)
        code = r["code"]
        out.append([
            code, r["card"], r["jurisdiction"], r["eligible"], r["name_ja"], r["name_en"],
            r["legal_basis"], r["deemed_with"], photo,
            "no" if code in CARD_NOT_SHOWN else "yes",
            "yes" if code in PASSPORT_REQUIRED else "no",
            DEADLINE_DAYS.get(code, ""),
            r["confidence"], r["source"],
        ])
    header = ["code", "card", "jurisdiction", "eligible", "name_ja", "name_en", "legal_basis",
              "deemed_with", "photo_with_accompanying", "card_shown", "passport_required",
              "deadline_days", "confidence", "source"]
    return header, out  # source order kept


def build_policies():
    return ["key", "value", "confidence", "note"], [list(p) for p in POLICIES]


# ---------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------

def render(name: str, header: list[str], rows: list[list[str]], errors: Errors) -> bytes:
    lines = []
    for n, fields in enumerate([header] + rows):
        if len(fields) != len(header):
            errors.add(name, f"row {n} has {len(fields)} fields, header has {len(header)}")
        for value in fields:
            if any(ch in value for ch in "\t\r\n"):
                errors.add(name, f"row {n}: value {value!r} contains a tab or line break")
        lines.append("\t".join(fields))
    return ("\n".join(lines) + "\n").encode("utf-8")


def write_atomically(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE,
                        help=f"source directory (default: {DEFAULT_SOURCE})")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help=f"output directory (default: {DEFAULT_OUT})")
    args = parser.parse_args(argv)
    source: Path = args.source
    out_dir: Path = args.out

    errors = Errors()
    try:
        if not source.is_dir():
            raise BuildError(f"{source}: source directory not found")
        pref_header, prefs = build_prefectures(source, errors)
        pref_names = {row[0]: row[1] for row in prefs}
        lg_header, lgs, kinds = build_local_governments(source, pref_names, errors)
        office_header, offices = build_offices(source, set(pref_names), errors)
        notif_header, notifs = build_notifications(source, errors)
        proc_header, procs = build_procedures(source, {row[0] for row in notifs}, errors)
        pol_header, pols = build_policies()
    except BuildError as e:
        errors.add("source", str(e))

    outputs = {}
    if not errors.items:
        outputs = {
            "prefectures.tsv": render("prefectures.tsv", pref_header, prefs, errors),
            "local_governments.tsv": render("local_governments.tsv", lg_header, lgs, errors),
            "immigration_offices.tsv": render("immigration_offices.tsv", office_header,
                                              offices, errors),
            "notifications.tsv": render("notifications.tsv", notif_header, notifs, errors),
            "procedures.tsv": render("procedures.tsv", proc_header, procs, errors),
            "policies.tsv": render("policies.tsv", pol_header, pols, errors),
        }

    if errors.items:
        print(f"build_reference: FAILED with {len(errors.items)} error(s); nothing written:",
              file=sys.stderr)
        for item in errors.items:
            print(f"  - {item}", file=sys.stderr)
        return 1

    out_dir.mkdir(parents=True, exist_ok=True)
    for name, data in outputs.items():
        write_atomically(out_dir / name, data)

    print(f"build_reference: wrote {len(outputs)} files to {out_dir}")
    print(f"  prefectures.tsv          {len(prefs)}")
    print(f"  local_governments.tsv    {len(lgs)} ("
          + ", ".join(f"{k} {kinds[k]}" for k in EXPECTED_KIND_COUNTS) + ")")
    print(f"  immigration_offices.tsv  {len(offices)}")
    print(f"  notifications.tsv        {len(notifs)}")
    print(f"  procedures.tsv           {len(procs)}")
    print(f"  policies.tsv             {len(pols)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
