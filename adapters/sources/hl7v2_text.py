"""HL7 v2 bytes → text: message splitting, MSH-18 character sets, escape sequences.

Decoding happens once, at the boundary, before the parser sees the message: in GB 18030 the
second byte of a two-byte character can equal ``|``, ``^`` or ``\\``, so splitting undecoded
bytes on delimiters would cut characters in half. Segment and message boundaries (CR, LF, the MLLP
framing bytes) never occur inside a multi-byte character, so messages are split as bytes first.

Escape sequences are decoded here, not by python-hl7's ``unescape``: that function turns each
``\\Xhh\\`` byte into one Latin-1 character (wrong for UTF-8 and GB 18030 text) and logs the
whole field on an unknown sequence, which would put patient data in the agent's log.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from .values import SourceProblem

_MLLP = re.compile(rb"[\x0b\x1c]")
_ENVELOPE = (b"FHS", b"BHS", b"FTS", b"BTS")
# HL7 table 0211 names (and the spellings Chinese HIS vendors use) → Python codecs. GB 2312 and
# GBK text decodes correctly as GB 18030, which is a superset of both.
CHARSETS = {
    "ASCII": "ascii", "UNICODE UTF-8": "utf-8", "UTF-8": "utf-8", "UTF8": "utf-8",
    "8859/1": "latin-1", "8859/2": "iso8859-2", "8859/5": "iso8859-5", "8859/15": "iso8859-15",
    "GB 18030-2000": "gb18030", "GB18030": "gb18030", "GB 18030": "gb18030", "GB18030-2000": "gb18030",
    "GB 18030-2005": "gb18030", "ISO IR58": "gb18030", "GB2312": "gb18030", "GBK": "gb18030",
}


@dataclass(frozen=True)
class RawMessage:
    """One message's bytes, where it sits in the payload, and a digest for keys of unreadable input."""

    data: bytes
    position: int

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def split_messages(payload: bytes) -> list[RawMessage]:
    """Messages of a file or stream: MLLP frames and FHS/BHS batch envelopes removed, CR/LF/CRLF
    segment separators normalised to CR. Segments before the first MSH form a message of their own
    (reported later as missing its MSH)."""
    lines = [line.strip(b" \t") for line in _MLLP.sub(b"\r", payload).replace(b"\r\n", b"\r").replace(b"\n", b"\r").split(b"\r")]
    messages: list[list[bytes]] = []
    for line in lines:
        if not line or line[:3] in _ENVELOPE:
            continue
        if line.startswith(b"MSH") or not messages:
            messages.append([])
        messages[-1].append(line)
    return [RawMessage(b"\r".join(segments), position) for position, segments in enumerate(messages)]


def _provisional_msh(data: bytes) -> list[str]:
    """MSH fields read before the character set is known (only ASCII fields are relied on)."""
    segment = data.split(b"\r", 1)[0]
    for codec in ("utf-8", "gb18030", "latin-1"):
        try:
            text = segment.decode(codec)
            break
        except UnicodeDecodeError:
            continue
    separator = text[3:4] or "|"
    return ["MSH", separator] + text[4:].split(separator)


def msh_field(data: bytes, number: int) -> str:
    """An MSH field (first repetition, first component) from undecoded bytes; '' if absent."""
    fields = _provisional_msh(data)
    if number >= len(fields):
        return ""
    encoding_characters = fields[2] if len(fields) > 2 else "^~\\&"
    value = fields[number]
    for delimiter in encoding_characters[1:2] + encoding_characters[:1]:  # repetition, then component
        value = value.split(delimiter, 1)[0]
    return value.strip()


def codec_for(data: bytes, default_charset: str) -> str:
    """The Python codec named by MSH-18 (first repetition), or by ``default_charset`` if absent."""
    name = " ".join(msh_field(data, 18).upper().split()) or default_charset.upper()
    try:
        return CHARSETS[name]
    except KeyError:
        raise SourceProblem("source.hl7.encoding.unknown", "MSH-18 names an unsupported character set",
                            "MSH-18") from None


def decode_message(data: bytes, codec: str) -> str:
    """The message text, strictly decoded (a wrong byte quarantines the message, never '?')."""
    try:
        return data.decode(codec)
    except UnicodeDecodeError:
        raise SourceProblem("source.hl7.encoding.invalid",
                            "message bytes are not valid in the declared character set", "MSH-18") from None


def unescape(value: str, *, encoding_characters: str, field_separator: str, codec: str, field: str) -> str:
    """Decode HL7 escape sequences (chapter 2.7): delimiters, hex bytes in the message's character
    set, formatting (.br/.sp → line break; highlighting and other formatting dropped)."""
    component, repetition, escape, subcomponent = (encoding_characters + "^~\\&")[:4]
    if escape not in value:
        return value
    delimiters = {"F": field_separator, "S": component, "T": subcomponent, "R": repetition, "E": escape}
    out: list[str] = []
    position = 0
    while position < len(value):
        start = value.find(escape, position)
        end = value.find(escape, start + 1) if start != -1 else -1
        if start == -1 or end == -1:  # no (complete) sequence left: the rest is literal
            out.append(value[position:])
            break
        out.append(value[position:start])
        out.append(_sequence(value[start + 1:end], delimiters, codec, field))
        position = end + 1
    return "".join(out)


def _sequence(body: str, delimiters: dict[str, str], codec: str, field: str) -> str:
    if body in delimiters:
        return delimiters[body]
    if body.startswith("X") and len(body) % 2 == 1:
        try:
            return bytes.fromhex(body[1:]).decode(codec)
        except (ValueError, UnicodeDecodeError):
            raise SourceProblem("source.hl7.escape.invalid", "hexadecimal escape is not valid text", field) from None
    if body.startswith((".br", ".sp", ".ce")):  # each ends the current output line
        return "\n"
    if body in ("H", "N") or body.startswith((".", "Z")):
        return ""  # highlighting, other formatting and site-defined escapes carry no data
    raise SourceProblem("source.hl7.escape.invalid", "unsupported escape sequence", field)


def lines(value: str) -> str:
    """Free text with its line breaks kept: spaces collapsed within each line, no empty first or last line."""
    return "\n".join(" ".join(line.split()) for line in value.split("\n")).strip("\n")


__all__ = ["CHARSETS", "RawMessage", "split_messages", "msh_field", "codec_for", "decode_message", "unescape",
           "lines"]
