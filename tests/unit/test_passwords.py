"""Passwords are stored scrypt-hashed with a salt and checked in constant time."""
from smscd.passwords import hash_password, verify_password

CHEAP = {"n": 2 ** 10}          # same code path, a fraction of the default cost


def test_right_password_verifies() -> None:
    """Breaks if a customer with the right password cannot bind."""
    assert verify_password("s3cret pw", hash_password("s3cret pw"))


def test_wrong_password_does_not_verify() -> None:
    """Breaks if a wrong, empty or case-changed password would bind."""
    stored = hash_password("s3cret", **CHEAP)
    assert not verify_password("s3cret!", stored)
    assert not verify_password("", stored)
    assert not verify_password("S3CRET", stored)


def test_hash_does_not_contain_the_password() -> None:
    """Breaks if the stored form leaks the password (plain text or plain encodings)."""
    stored = hash_password("hunter2-password", **CHEAP)
    assert "hunter2" not in stored and "aHVudGVy" not in stored
    assert stored.startswith("scrypt$1024$")


def test_two_hashes_of_one_password_differ() -> None:
    """Breaks if hashes are unsalted (equal passwords would show as equal hashes)."""
    assert hash_password("same", **CHEAP) != hash_password("same", **CHEAP)


def test_malformed_stored_strings_never_verify() -> None:
    """Breaks if a corrupt or foreign stored value raises or lets anyone in."""
    good = hash_password("pw", **CHEAP)
    for stored in ("", "pw", "md5$abc", good.replace("scrypt", "bcrypt"),
                   good.rsplit("$", 1)[0] + "$!!notbase64", "scrypt$1000$8$1$AAAA$AAAA",
                   "scrypt$1099511627776$8$1$AAAA$AAAA"):
        assert not verify_password("pw", stored)
