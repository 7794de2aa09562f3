"""Replay and freshness attacks: timestamps (expired, future, missing, malformed) and MessageID reuse."""
from __future__ import annotations

import copy
from datetime import timedelta

from protocol.timestamps import format_utc, utcnow

from .. import builders
from .kit import REPLAY, Attack, Kit, case


@case(REPLAY, "security.timestamp.expired")
def timestamp_expired(kit: Kit) -> Attack:
    """Created 10 minutes ago, expired 5 minutes ago (beyond the 2 minute skew)."""
    return kit.seal(now=utcnow() - timedelta(minutes=10)).attack()


@case(REPLAY, "security.timestamp.future")
def timestamp_future(kit: Kit) -> Attack:
    """Created 5 minutes from now (the skew allowed is 2 minutes)."""
    return kit.seal(now=utcnow() + timedelta(minutes=5)).attack()


@case(REPLAY, "security.timestamp.invalid", valid_signature=True)
def timestamp_missing(kit: Kit) -> Attack:
    """No wsu:Timestamp at all, re-signed by the member over the rest."""
    msg = kit.seal()
    msg.security.remove(msg.stamp)
    parts = msg.required_parts()
    return msg.resign(targets=parts[:1] + parts[2:]).attack()


@case(REPLAY, "security.timestamp.invalid")
def timestamp_lifetime_too_long(kit: Kit) -> Attack:
    """A timestamp valid for 10 minutes (the profile allows 5)."""
    return kit.seal(lifetime=timedelta(minutes=10)).attack()


@case(REPLAY, "security.timestamp.invalid", valid_signature=True)
def timestamp_not_utc(kit: Kit) -> Attack:
    """Created/Expires with a +08:00 offset instead of the profile's Z form, re-signed."""
    msg = kit.seal()
    for child in msg.stamp:
        child.text = child.text.replace("Z", "+08:00")
    return msg.resign().attack()


@case(REPLAY, "security.timestamp.invalid", valid_signature=True)
def timestamp_two_created(kit: Kit) -> Attack:
    """A second Created (an hour later) after Expires, re-signed: which one would a verifier read?"""
    msg = kit.seal()
    later = copy.deepcopy(msg.stamp[0])
    later.text = format_utc(utcnow() + timedelta(hours=1))
    msg.stamp.append(later)
    return msg.resign().attack()


@case(REPLAY, "security.timestamp.invalid", valid_signature=True)
def timestamp_expires_before_created(kit: Kit) -> Attack:
    """Expires one second before Created, re-signed."""
    msg = kit.seal()
    now = utcnow()
    msg.stamp[0].text, msg.stamp[1].text = format_utc(now), format_utc(now - timedelta(seconds=1))
    return msg.resign().attack()


@case(REPLAY, "security.replay", authenticated=True)
def replay_get_status(kit: Kit) -> Attack:
    """The same GetStatus request sent twice: the second is a replay."""
    msg = kit.seal(op="GetStatus")
    data = msg.bytes()
    return msg.attack(data, prime=(data,))


@case(REPLAY, "security.replay", authenticated=True)
def replay_get_status_resigned(kit: Kit) -> Attack:
    """A fresh GetStatus (new timestamp, new signature) reusing the MessageID of an earlier one."""
    first = kit.seal(op="GetStatus")
    again = kit.seal(op="GetStatus", message_id=first.message_id)
    return again.attack(prime=(first.bytes(),))


@case(REPLAY, "security.replay", authenticated=True)
def replay_fetch_replies(kit: Kit) -> Attack:
    """FetchReplies sent twice with the same MessageID."""
    msg = kit.seal(op="FetchReplies", content=builders.operation("FetchReplies", Max="5"))
    return msg.attack(prime=(msg.bytes(),))
