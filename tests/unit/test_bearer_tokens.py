"""Bearer tokens (API keys, admin tokens) are made, read and checked in one format."""
from smscd.bearer_tokens import TokenFormat, same_digest


def test_a_minted_token_parses_back_to_its_id_and_stored_digest() -> None:
    fmt = TokenFormat("sk_")
    minted = fmt.mint()
    assert minted.token.startswith(f"sk_{minted.id}_")
    assert len(minted.id) == 12 and len(minted.token) == len("sk_") + 12 + 1 + 43
    assert fmt.parse(minted.token) == (minted.id, minted.secret_sha256)
    assert fmt.mint().token != minted.token


def test_a_token_of_another_prefix_or_shape_is_refused() -> None:
    minted = TokenFormat("adm_").mint()
    assert TokenFormat("sk_").parse(minted.token) is None
    assert TokenFormat("adm_").parse(minted.token + "x") is None
    assert TokenFormat("adm_").parse(minted.token[:-1]) is None
    assert TokenFormat("a.m_").parse("abm_" + minted.token[4:]) is None


def test_a_changed_secret_has_another_digest() -> None:
    fmt = TokenFormat("sk_")
    minted = fmt.mint()
    last = "A" if minted.token[-1] != "A" else "B"
    parsed = fmt.parse(minted.token[:-1] + last)
    assert parsed is not None and parsed[0] == minted.id
    assert not same_digest(minted.secret_sha256, parsed[1])
    assert same_digest(minted.secret_sha256, minted.secret_sha256)
