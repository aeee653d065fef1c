"""An auditor checks the audit trail in Python: chain hashes, the verifier, Merkle roots and
inclusion proofs, over the JSON shapes the server's audit endpoints answer with. Hashes are
checked against an independent re-implementation with hashlib, so the bindings cannot agree
with the core merely by sharing its mistakes."""

import copy
import hashlib
import json
from datetime import datetime, timedelta, timezone

import pytest

import legalops
from legalops import GENESIS_HASH, InvalidInputError, entry_hash, merkle_root, verify_audit, verify_inclusion

T0 = datetime(2026, 5, 1, 9, 0, tzinfo=timezone.utc)


def new_entry(i):
    return {
        "at": (T0 + timedelta(seconds=i, microseconds=123456)).isoformat().replace("+00:00", "Z"),
        "actor": "user-1",
        "action": "auth.login",
        "target": None,
        "outcome": "success" if i % 2 else "failure",
        "ip": "192.0.2.7",
        "user_agent": "curl/8.5",
        "request_id": f"r-{i}",
        "details": {"n": i, "route": "/api/auth/login"},
    }


def rechain(entries, start=0):
    """Re-hashes the chain from `entries[start]` on, as a forger with database access would."""
    prev = entries[start - 1]["entry_hash"] if start else GENESIS_HASH
    for e in entries[start:]:
        e["prev_hash"] = prev
        e["entry_hash"] = prev = entry_hash(e["seq"], e, prev)
    return entries


def log(n):
    """A valid log of `n` entries, as `GET /api/audit/entries` returns it."""
    return rechain([dict(new_entry(seq), seq=seq) for seq in range(1, n + 1)])


def checkpoint(entries):
    return {"tree_size": len(entries), "root_hash": merkle_root([e["entry_hash"] for e in entries]), "at": "2026-05-01T10:00:00Z"}


# RFC 6962 in plain Python, for cross-checking.
def leaf(h):
    return hashlib.sha256(b"\x00" + bytes.fromhex(h)).digest()


def node(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def mth(leaves):
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    return node(mth(leaves[:k]), mth(leaves[k:]))


def path(m, leaves):
    if len(leaves) <= 1:
        return []
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    if m < k:
        return path(m, leaves[:k]) + [mth(leaves[k:])]
    return path(m - k, leaves[k:]) + [mth(leaves[:k])]


def proof_for(entries, seq, tree_size):
    """What `GET /api/audit/proof?seq=..&treeSize=..` answers."""
    leaves = [leaf(e["entry_hash"]) for e in entries[:tree_size]]
    h = entries[seq - 1]["entry_hash"]
    return {
        "seq": seq,
        "tree_size": tree_size,
        "entry_hash": h,
        "leaf_hash": leaf(h).hex(),
        "proof": [p.hex() for p in path(seq - 1, leaves)],
        "root": mth(leaves).hex(),
    }


def test_entry_hash_is_sha256_of_the_canonical_json_and_prev_hash():
    e = new_entry(1)
    at = datetime(2026, 5, 1, 9, 0, 1, tzinfo=timezone.utc)
    canonical = dict(e, seq=1, at_us=int(at.timestamp()) * 1_000_000 + 123456)
    del canonical["at"]
    text = json.dumps(canonical, sort_keys=True, separators=(",", ":"))
    want = hashlib.sha256((text + GENESIS_HASH).encode()).hexdigest()
    assert entry_hash(1, e, GENESIS_HASH) == want
    assert GENESIS_HASH == "0" * 64
    # Key order, the stored hashes, and sub-microsecond digits do not change it.
    stored = dict(reversed(list(e.items())), seq=99, prev_hash="x", entry_hash="y")
    stored["at"] = "2026-05-01T11:00:01.123456789+02:00"
    assert entry_hash(1, stored, GENESIS_HASH) == want
    assert entry_hash(2, e, GENESIS_HASH) != want
    assert entry_hash(1, dict(e, actor="user-2"), GENESIS_HASH) != want


def test_a_valid_chain_verifies():
    entries = log(5)
    assert entries[0]["prev_hash"] == GENESIS_HASH
    assert verify_audit(entries) == {"entries": 5, "checkpoints": 0, "ok": True, "problem": None}
    assert verify_audit([]) == {"entries": 0, "checkpoints": 0, "ok": True, "problem": None}


def test_an_altered_actor_is_named_by_its_seq():
    entries = log(5)
    entries[2]["actor"] = "admin-token"
    report = verify_audit(entries)
    assert report["ok"] is False and report["entries"] == 5
    problem = report["problem"]
    assert (problem["seq"], problem["kind"]) == (3, "altered")
    assert "3" in problem["message"]


def remove_second(es):
    es.pop(1)


def repeat_second(es):
    es.insert(2, dict(es[1]))


def rewrite_first_and_rehash_it(es):
    es[0]["actor"] = "someone-else"
    es[0]["entry_hash"] = entry_hash(1, es[0], GENESIS_HASH)


@pytest.mark.parametrize(
    ("tamper", "seq", "kind"),
    [(remove_second, 2, "removed"), (repeat_second, 2, "reordered"), (rewrite_first_and_rehash_it, 2, "brokenLink")],
)
def test_removed_reordered_and_relinked_entries_are_named(tamper, seq, kind):
    entries = log(5)
    tamper(entries)
    problem = verify_audit(entries)["problem"]
    assert problem is not None and problem["kind"] == kind, problem
    assert problem["seq"] == seq


def test_checkpoints_catch_a_rewritten_chain_and_a_shortened_log():
    entries = log(5)
    early, full = checkpoint(entries[:2]), checkpoint(entries)
    assert full["root_hash"] == mth([leaf(e["entry_hash"]) for e in entries]).hex()
    assert verify_audit(entries, [full, early]) == {"entries": 5, "checkpoints": 2, "ok": True, "problem": None}

    # A forger with database access edits entry 4 and re-hashes the rest: the chain holds,
    # the checkpoint kept elsewhere does not.
    forged = copy.deepcopy(entries)
    forged[3]["actor"] = "someone-else"
    rechain(forged, 3)
    assert verify_audit(forged)["ok"] is True
    report = verify_audit(forged, [early, full])
    assert report["ok"] is False and report["checkpoints"] == 1
    problem = report["problem"]
    assert problem["kind"] == "checkpointMismatch"
    assert (problem["treeSize"], problem["fromSeq"]) == (5, 3)

    bogus = dict(full, root_hash="ab" * 32)
    assert verify_audit(entries, [bogus])["problem"]["kind"] == "checkpointMismatch"

    truncated = verify_audit(entries[:4], [full])["problem"]
    assert (truncated["kind"], truncated["treeSize"], truncated["entries"]) == ("truncated", 5, 4)


def test_merkle_roots_follow_rfc6962():
    hashes = [e["entry_hash"] for e in log(7)]
    assert merkle_root([]) == hashlib.sha256(b"").hexdigest()
    assert merkle_root(hashes[:1]) == leaf(hashes[0]).hex()
    assert merkle_root(hashes[:2]) == node(leaf(hashes[0]), leaf(hashes[1])).hex()
    for n in range(1, 8):
        assert merkle_root(hashes[:n]) == mth([leaf(h) for h in hashes[:n]]).hex()
    assert merkle_root([h.upper() for h in hashes]) == merkle_root(hashes)
    with pytest.raises(InvalidInputError) as e:
        merkle_root([hashes[0], "not-hex"])
    assert e.value.field == "entry_hashes[1]"


def test_inclusion_proofs_check_against_the_checkpoint_the_auditor_kept():
    entries = log(7)
    kept = checkpoint(entries[:5])
    for seq in range(1, 6):
        p = proof_for(entries, seq, 5)
        assert verify_inclusion(p, root=kept["root_hash"], entry_hash=entries[seq - 1]["entry_hash"]), seq
    p = proof_for(entries, 3, 5)
    assert verify_inclusion(p)
    # Another tree's root, another entry, a doctored path or leaf: not proved.
    assert not verify_inclusion(p, root=checkpoint(entries)["root_hash"])
    assert not verify_inclusion(p, entry_hash=entries[3]["entry_hash"])
    assert not verify_inclusion(dict(p, proof=p["proof"][::-1]))
    assert not verify_inclusion(dict(p, proof=p["proof"][:-1]))
    assert not verify_inclusion(dict(p, leaf_hash=leaf(entries[3]["entry_hash"]).hex()))
    assert not verify_inclusion(dict(p, seq=0))
    assert not verify_inclusion(dict(p, seq=6))


def test_malformed_input_raises_invalid_input_naming_the_field():
    entries = log(3)
    with pytest.raises(InvalidInputError) as e:
        verify_audit(entries[:1] + [{"seq": 2}])
    assert e.value.field == "entries[1]"
    with pytest.raises(InvalidInputError) as e:
        verify_audit(entries, [{"tree_size": 3}])
    assert e.value.field == "checkpoints[0]"
    with pytest.raises(InvalidInputError) as e:
        entry_hash(1, dict(new_entry(1), outcome="maybe"), GENESIS_HASH)
    assert e.value.field == "entry"
    with pytest.raises(InvalidInputError) as e:
        entry_hash(1, dict(new_entry(1), at="yesterday"), GENESIS_HASH)
    assert e.value.field == "entry"
    p = proof_for(entries, 1, 3)
    with pytest.raises(InvalidInputError) as e:
        verify_inclusion(dict(p, proof=["zz"] + p["proof"][1:]))
    assert e.value.field == "proof.proof[0]"
    with pytest.raises(InvalidInputError) as e:
        verify_inclusion(p, root="abc")
    assert e.value.field == "root"
    with pytest.raises(InvalidInputError) as e:
        verify_inclusion({"seq": 1})
    assert e.value.field == "proof"


def test_a_long_log_verifies_in_one_call():
    entries = log(2000)
    report = verify_audit(entries, [checkpoint(entries[:1000]), checkpoint(entries)])
    assert (report["ok"], report["entries"], report["checkpoints"]) == (True, 2000, 2)
    assert legalops.verify_audit is verify_audit
