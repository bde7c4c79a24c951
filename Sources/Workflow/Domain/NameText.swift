import Foundation

/// Rules for the characters of names (agency names, counties, Board members, local bodies)
/// and for echoing untrusted text in messages. Pure.
///
/// A name may not hold a control character (Unicode general category Cc: NUL..U+001F,
/// U+007F..U+009F, so no newline or tab) or a format character (Cf: the bidi controls
/// U+202A..U+202E and U+2066..U+2069, zero-width U+200B..U+200F and U+2060, the soft hyphen,
/// the BOM U+FEFF, tags, ...): they change how a name prints (a newline breaks a listing,
/// U+202E reverses it) or hide a difference (a zero-width space makes a second agency that
/// looks identical). The database refuses the same set (`Sql/0016`, SQLSTATE CQ006).
/// Project rule (not a legal one).
public enum NameText {
    /// The first control (Cc) or format (Cf) scalar in `text`, with its offset in scalars; nil when none.
    public static func forbiddenScalar(in text: String) -> (scalar: Unicode.Scalar, offset: Int)? {
        for (offset, scalar) in text.unicodeScalars.enumerated() where isForbidden(scalar) {
            return (scalar, offset)
        }
        return nil
    }

    /// True for a control (Cc) or format (Cf) scalar.
    public static func isForbidden(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .control, .format: return true
        default: return false
        }
    }

    /// `U+202E`.
    public static func codePoint(_ scalar: Unicode.Scalar) -> String {
        let hex = String(scalar.value, radix: 16, uppercase: true)
        return "U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
    }

    /// `text` safe to print on one line: every control, format, line or paragraph separator
    /// scalar written as `\u{XXXX}` (a newline as `\u{A}`), a backslash doubled; at most
    /// `limit` characters of the original are kept (then `…`).
    public static func escaped(_ text: String, limit: Int = 200) -> String {
        var out = ""
        var count = 0
        for character in text {
            if count == limit { out += "…"; break }
            count += 1
            for scalar in character.unicodeScalars {
                if isForbidden(scalar) || scalar == "\u{2028}" || scalar == "\u{2029}" {
                    out += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
                } else if scalar == "\\" {
                    out += "\\\\"
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }

    /// Latin look-alikes of Cyrillic and Greek letters (Unicode's confusables for the letters
    /// of English agency names), lowercase; for `skeleton(of:)`.
    static let confusables: [Unicode.Scalar: String] = [
        // Cyrillic
        "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p", "с": "c",
        "т": "t", "у": "y", "х": "x", "ѕ": "s", "і": "i", "ї": "i", "ј": "j", "ԁ": "d", "ԛ": "q", "ԝ": "w",
        "ɡ": "g", "һ": "h", "ӏ": "l", "ь": "b",
        "А": "a", "В": "b", "Е": "e", "К": "k", "М": "m", "Н": "h", "О": "o", "Р": "p", "С": "c", "Т": "t",
        "У": "y", "Х": "x", "Ѕ": "s", "І": "i", "Ј": "j",
        // Greek
        "α": "a", "ε": "e", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p", "τ": "t", "υ": "u", "χ": "x",
        "Α": "a", "Β": "b", "Ε": "e", "Ζ": "z", "Η": "h", "Ι": "i", "Κ": "k", "Μ": "m", "Ν": "n", "Ο": "o",
        "Ρ": "p", "Τ": "t", "Υ": "y", "Χ": "x",
    ]

    /// The name's slug once look-alike letters are read as the Latin letters they imitate
    /// (and accents dropped): two names with the same skeleton look the same to a reader.
    public static func skeleton(of name: String) -> String {
        var text = ""
        for scalar in name.unicodeScalars {
            if let latin = confusables[scalar] { text += latin } else { text.unicodeScalars.append(scalar) }
        }
        return AgencyID.slug(of: text)
    }

    /// True when the name mixes ASCII letters with letters outside ASCII (e.g. a Cyrillic
    /// "е" in "Dеpartment"): ICE's Florida names are ASCII, so such a name is held for review.
    public static func mixesScripts(_ name: String) -> Bool {
        var ascii = false, other = false
        for scalar in name.unicodeScalars where scalar.properties.isAlphabetic {
            if scalar.isASCII { ascii = true } else { other = true }
        }
        return ascii && other
    }

    /// True when slug `a` equals `b` but for positions where `a` has a `-` in place of `b`'s
    /// letter or digit (the slug of a name whose non-ASCII letter was dropped, e.g.
    /// `tallahassee-police-d-partment` against `tallahassee-police-department`). Directional:
    /// `b` is the cleaner of the two.
    public static func differsOnlyByReplacedCharacters(_ a: String, _ b: String) -> Bool {
        guard a != b, a.utf8.count == b.utf8.count else { return false }
        for (x, y) in zip(a.utf8, b.utf8) where x != y {
            if x != UInt8(ascii: "-") || y == UInt8(ascii: "-") { return false }
        }
        return true
    }
}
