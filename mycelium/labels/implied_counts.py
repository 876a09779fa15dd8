"""Counts a text implies without writing them: days named in a list or a range ("Monday,
Wednesday, and Friday" = 3, "Monday through Saturday" = 6), names listed ("Sarah, Mary, and
Tuan" = 3), and one person counted with others ("5 chaperones, and herself" = 1, "Jean and her
three friends" = 1 + 3).

Regex pieces for rows of ``mycelium.labels.args.IMPLICIT``; the table there says what each row
means and how grounding weighs it (a written number of the same value wins).
"""

from __future__ import annotations

_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_DAY = "(?-i:(?:" + "|".join(_DAYS) + ")s?)"  # capitalised; "Mondays" too
# no day name joined on either side: a list or range is counted whole ("Monday, Wednesday, and
# Friday, and Sunday" is no 3 and no 2), and fixed-width look-behinds need one per joint
_DAY_BEFORE = "".join(rf"(?<!{d}{joint})" for d in ("day", "days") for joint in (
    ", ", " and ", ", and ", " & ", ", & ", " to ", " through ", " thru ", " until ", " till ", "-", " - ", "–", " – "))
_DAY_AFTER = rf"(?!,? (?:(?:and|&|to|through|thru|until|till) )?{_DAY})"


def named_days(n: int) -> str:
    """The words of ``n`` days named in a list ("Monday, Wednesday, and Friday", "Tuesdays and
    Thursdays") or as an inclusive range ("Monday through Friday", "from Sunday to Thursday")."""
    # "the sum of the kilometers from Monday and Wednesday" adds the two days' amounts: no count
    listed = r"(?<!\bfrom )" + _DAY + rf"(?:, {_DAY}){{{n - 2}}},? (?:and|&) " + _DAY
    ranges = "|".join(f"(?-i:{_DAYS[i]}s?)" + r"(?: (?:to|through|thru|until|till) |\s?[-–]\s?)" +
                      f"(?-i:{_DAYS[(i + n - 1) % 7]}s?)" for i in range(7))
    # the look-ahead for a capital first, so most positions fail before the look-behinds
    return rf"(?=(?-i:[MTWFS])){_DAY_BEFORE}(?:{listed}|{ranges}){_DAY_AFTER}"


SELF = r"(?:him|her|my|your)self"
# "herself and ..." counts her with others only where a noun phrase follows ("and her 5 friends")
SELF_AND = (r" and (?:her|his|my|your|their|the|a|an|some|\d+|one|two|three|four|five|six|seven|eight|nine|ten|"
            r"eleven|twelve)\b")
_FEW = r"(?:\d+|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)"
COUNTED_COMPANY = rf" and (?:(?:her|his|their) {_FEW}|{_FEW} of (?:her|his|their))\b"

_CALENDAR = "|".join(_DAYS) + "|January|February|March|April|May|June|July|August|September|October|November|December"
# a capitalised word that names no one: a day or month, or a sentence's first word before its comma
_NOT_NAME = _CALENDAR + ("|Yesterday|Today|Tonight|Tomorrow|Together|However|Then|Also|So|Now|Finally|Later|First|"
                         "Next|Afterwards|Meanwhile|Overall|Instead|Altogether|Unfortunately|Luckily|Fortunately")
_NAME = rf"(?-i:(?!(?:{_NOT_NAME})s?\b)[A-Z][a-z]+)"
# not the tail of a longer list nor of a longer name ("Los Angeles, Ben and James"): one
# fixed-width look-behind per length of the capitalised word before
_NAME_BEFORE = "".join(rf"(?<!(?-i:[A-Z])[a-z]{{{k}}}{sep})" for k in range(1, 13) for sep in (" ", ", "))


def named_list(n: int) -> str:
    """The words of ``n`` capitalised names listed, "Sarah, Mary, and Tuan" (not days or months;
    not 2: "Jack and Jill" is as often one couple as two people counted)."""
    return (rf"(?=(?-i:[A-Z])){_NAME_BEFORE}{_NAME}(?:, {_NAME}){{{n - 2}}},? (?:and|&) {_NAME}"
            r"(?!,? (?:(?:and|&) )?(?-i:[A-Z]))")
