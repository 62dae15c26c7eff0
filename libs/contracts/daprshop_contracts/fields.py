"""Field types every payload shares, with their limits: ids, names, counts and amounts.
A participant trusts nothing it is sent, so the limits sit in the contract itself: ids are
non-empty, bounded and safe as state-key parts; numbers are exact integers (no bool, no
float) within sane bounds; text is real Unicode (no lone UTF-16 surrogate)."""

from typing import Annotated

from pydantic import AfterValidator, Field, Strict, StringConstraints

MAX_ID = 128
MAX_TEXT = 200
MAX_QUANTITY = 10_000  # units of one SKU on one line
MAX_CENTS = 100_000_000_000  # a billion in major units: above any real order
MAX_LINES = 100
MAX_STOCK = 1_000_000_000  # units of one SKU in stock


def _text(value: str) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("contains a lone UTF-16 surrogate, which is not text") from None
    return value


NoSurrogates = AfterValidator(_text)
# Dapr refuses a state key holding "||"; ids here are ASCII words joined by . _ : -
Id = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$", max_length=MAX_ID),
    Field(examples=["3f2c9a6e0d8b4f1e9c7a5b3d1e0f2a4c"]),
]
Sku = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$", max_length=64),
    Field(examples=["SKU-001"]),
]
Text = Annotated[str, StringConstraints(min_length=1, max_length=MAX_TEXT), NoSurrogates]
OptionalText = Annotated[str, StringConstraints(max_length=MAX_TEXT), NoSurrogates]
CountryCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
Count = Annotated[int, Strict(), Field(ge=0, le=MAX_STOCK)]
Quantity = Annotated[int, Strict(), Field(gt=0, le=MAX_QUANTITY)]
Cents = Annotated[int, Strict(), Field(ge=0, le=MAX_CENTS)]
PositiveCents = Annotated[int, Strict(), Field(gt=0, le=MAX_CENTS)]
