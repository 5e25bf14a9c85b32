"""A payee's bank account, validated when it is built: what a transfer line needs to reach it."""

from __future__ import annotations

import re
from dataclasses import dataclass

from chain.bank.errors import BankAccountInvalid

holder_chars_max = 70
"""Account holder names are cut to 70 characters by Indonesian interbank transfers (BI-FAST)."""
_BANK_CODE = re.compile(r"[0-9]{3}")
_ACCOUNT_NUMBER = re.compile(r"[0-9]{5,20}")
_HOLDER = re.compile(rf"[A-Z0-9][A-Z0-9 .'&/-]{{0,{holder_chars_max - 1}}}")


@dataclass(frozen=True, slots=True)
class BankAccount:
    """Bank code (Bank Indonesia's three-digit sandi bank, e.g. ``014`` BCA), account number
    (5 to 20 digits) and the holder's name (upper case, letters, digits, spaces, ``.'&/-``)."""

    bank_code: str
    account_number: str
    holder_name: str

    def __post_init__(self) -> None:
        if not _BANK_CODE.fullmatch(self.bank_code):
            raise BankAccountInvalid(f"bank code {self.bank_code[:8]!r}: three digits")
        if not _ACCOUNT_NUMBER.fullmatch(self.account_number):
            raise BankAccountInvalid("account number: 5 to 20 digits")
        if not _HOLDER.fullmatch(self.holder_name):
            raise BankAccountInvalid(
                f"holder name: 1 to {holder_chars_max} of A-Z, 0-9, space and .'&/-"
            )

    @classmethod
    def of(cls, bank_code: str, account_number: str, holder_name: str) -> BankAccount:
        """The account as typed by a person: spaces and dashes dropped from the number, the
        name upper-cased with its spaces collapsed."""
        number = account_number.replace(" ", "").replace("-", "")
        name = " ".join(holder_name.split()).upper()
        return cls(bank_code.strip(), number, name)

    def view(self) -> dict[str, str]:
        """JSON-ready fields."""
        return {
            "bank_code": self.bank_code,
            "account_number": self.account_number,
            "holder_name": self.holder_name,
        }
