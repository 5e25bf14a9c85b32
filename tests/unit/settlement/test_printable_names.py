"""Names a person typed are printable text: a NUL byte (which PostgreSQL's text refuses, once a
500 found by schemathesis) or a control character is refused before any database sees it."""

from __future__ import annotations

import pytest

from escrow.refusals import Refusal
from settlement.campaigns.model import CampaignRequest, checked
from settlement.merchants.model import MerchantRequest, MerchantStatus
from settlement.merchants.service import validate
from settlement.tenders import Tender

HOSTILE = ["Pecel\x00Bu Tin", "Pecel\x1bBu Tin", "Pecel\nBu Tin"]


@pytest.mark.parametrize("name", HOSTILE)
def test_a_campaign_name_is_printable(name: str) -> None:
    request = CampaignRequest("MPZ1", name, 3000, 10_000_00, 1_000_00, 5_000_00, None, 0, 10)
    with pytest.raises(Refusal) as refused:
        checked(request)
    assert refused.value.code == "campaign_invalid"
    assert (
        checked(
            CampaignRequest("MPZ1", "Pi-Zone", 3000, 10_000_00, 1_000_00, 5_000_00, None, 0, 10)
        ).name
        == "Pi-Zone"
    )


@pytest.mark.parametrize("name", HOSTILE)
def test_a_merchant_name_is_printable(name: str) -> None:
    request = MerchantRequest(
        id="UM001", name=name, kelurahan="Kelurahan A", tenders=frozenset({Tender.PI})
    )
    with pytest.raises(Refusal) as refused:
        validate(request, status=MerchantStatus.ACTIVE, by="t", now_us=0)
    assert refused.value.code == "merchant_invalid"
