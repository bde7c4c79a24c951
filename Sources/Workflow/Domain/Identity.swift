import Foundation

/// A 287(g) model, as listed in ICE's "SUPPORT TYPE" column.
/// JSON form: the code (`"TFM"`, `"WSO"`, `"JEM"`).
public enum Model: String, Sendable, Hashable, Codable, CaseIterable {
    case taskForce = "TFM"
    case warrantServiceOfficer = "WSO"
    case jailEnforcement = "JEM"

    /// ICE's printed name: "Task Force Model", "Warrant Service Officer", "Jail Enforcement Model".
    public var iceName: String {
        switch self {
        case .taskForce: return "Task Force Model"
        case .warrantServiceOfficer: return "Warrant Service Officer"
        case .jailEnforcement: return "Jail Enforcement Model"
        }
    }

    /// Lower-case code used inside agreement ids: `tfm`, `wso`, `jem`.
    public var slug: String { rawValue.lowercased() }

    /// From ICE's printed name (case and surrounding spaces ignored).
    public init?(iceName: String) {
        let wanted = iceName.trimmingCharacters(in: .whitespaces).lowercased()
        guard let model = Model.allCases.first(where: { $0.iceName.lowercased() == wanted }) else { return nil }
        self = model
    }

    /// From the code (`TFM`/`tfm`) or ICE's printed name.
    public init?(codeOrName: String) {
        if let model = Model(rawValue: codeOrName.uppercased()) { self = model; return }
        self.init(iceName: codeOrName)
    }

    /// Whether the agreement ends 90 days after ICE receives the notice (WSO) rather than
    /// on receipt (TFM, JEM). Source: the MOA templates' termination clauses.
    public var endsNinetyDaysAfterNotice: Bool { self == .warrantServiceOfficer }

    /// A jail model (WSO, JEM): one a county detention facility's operator holds.
    public var isJailModel: Bool { self != .taskForce }
}

/// ICE's "TYPE" column. JSON form: ICE's word (`"County"`, `"Municipality"`, `"State Agency"`).
/// ICE's value is kept as printed, mistakes included (Alachua Police Departent reads County).
public enum AgencyType: String, Sendable, Hashable, Codable, CaseIterable {
    case county = "County"
    case municipality = "Municipality"
    case stateAgency = "State Agency"
    /// The edition had no TYPE column (e.g. ICE's 2024 web table); the register keeps an
    /// agreement's known type when a later row has none.
    case unknown = "Unknown"
}

/// Stable identity of a law enforcement agency: a slug of its name, never ICE's raw
/// string (ICE renames agencies between editions; the raw name is an attribute).
///
/// Slug rules, applied in order (see `AgencyID.slug(of:)`):
/// 1. `&` becomes the word `and`; apostrophes (`'`, `’`, `‘`, `` ` ``) are removed
///    (`Sheriff's` -> `sheriffs`); accents are folded (`é` -> `e`);
/// 2. lower-cased; every other character that is not an ASCII letter or digit
///    separates words (so `.`, `,`, `-`, `/`, spaces and non-ASCII all split);
/// 3. ICE's common abbreviations are expanded, word by word:
///    `ft` -> `fort`, `pd` -> `police department`, `so` -> `sheriffs office`,
///    `dept` -> `department`, `co` -> `county`, `bocc` -> `board of county commissioners`;
/// 4. words are joined with `-`.
///
/// So "Ft. Myers PD" and "Fort Myers Police Department" are both
/// `fort-myers-police-department`. JSON form: the slug string.
public struct AgencyID: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    /// The slug: `[a-z0-9]+(-[a-z0-9]+)*`.
    public let slug: String

    /// The id of an agency name as ICE prints it; nil when no letter or digit is left.
    public init?(name: String) {
        let slug = AgencyID.slug(of: name)
        guard !slug.isEmpty else { return nil }
        self.slug = slug
    }

    /// An already-formed slug; nil unless it matches `[a-z0-9]+(-[a-z0-9]+)*`.
    public init?(slug: String) {
        guard AgencyID.isValidSlug(slug) else { return nil }
        self.slug = slug
    }

    public var description: String { slug }

    public static func < (lhs: AgencyID, rhs: AgencyID) -> Bool { lhs.slug < rhs.slug }

    /// Word-by-word abbreviation table (rule 3 above).
    public static let abbreviations: [String: [String]] = [
        "ft": ["fort"],
        "pd": ["police", "department"],
        "so": ["sheriffs", "office"],
        "dept": ["department"],
        "co": ["county"],
        "bocc": ["board", "of", "county", "commissioners"],
    ]

    /// The slug of a name (may be empty).
    public static func slug(of name: String) -> String {
        // Fast path for ASCII names (all of ICE's list): the same rules without Foundation's
        // folding, which cost a fifth of the daemon's time.
        // Written straight into one buffer, each word expanded as it ends (no array of words:
        // a rebuild check computes a slug per agreement).
        if name.utf8.allSatisfy({ $0 < 0x80 }) {
            var slug: [UInt8] = []
            slug.reserveCapacity(name.utf8.count + 16)
            var wordStart = -1  // where the current word starts in `slug`; -1: between words
            func flush() {
                guard wordStart >= 0 else { return }
                // Every key of the table has 2 to 4 letters.
                if (2...4).contains(slug.count - wordStart),
                   let expansion = abbreviations[String(decoding: slug[wordStart...], as: UTF8.self)] {
                    slug.removeSubrange(wordStart...)
                    slug.append(contentsOf: expansion.joined(separator: "-").utf8)
                }
                wordStart = -1
            }
            func append(_ byte: UInt8) {
                if wordStart < 0 {
                    if !slug.isEmpty { slug.append(UInt8(ascii: "-")) }
                    wordStart = slug.count
                }
                slug.append(byte)
            }
            for byte in name.utf8 {
                switch byte {
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"): append(byte)
                case UInt8(ascii: "A")...UInt8(ascii: "Z"): append(byte + 32)
                case UInt8(ascii: "'"), UInt8(ascii: "`"): continue
                case UInt8(ascii: "&"): flush(); append(UInt8(ascii: "a")); append(UInt8(ascii: "n")); append(UInt8(ascii: "d")); flush()
                default: flush()
                }
            }
            flush()
            return String(decoding: slug, as: UTF8.self)
        }
        var text = name.replacingOccurrences(of: "&", with: " and ")
        for apostrophe in ["'", "\u{2019}", "\u{2018}", "`"] {
            text = text.replacingOccurrences(of: apostrophe, with: "")
        }
        text = text.folding(options: [.diacriticInsensitive, .caseInsensitive], locale: nil).lowercased()
        var words: [String] = []
        var current = ""
        for scalar in text.unicodeScalars {
            if scalar.isASCII, scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) {
                current.unicodeScalars.append(scalar)
            } else if !current.isEmpty {
                words.append(current)
                current = ""
            }
        }
        if !current.isEmpty { words.append(current) }
        return words.flatMap { abbreviations[$0] ?? [$0] }.joined(separator: "-")
    }

    /// Non-empty; only `a-z`, `0-9` and `-`; no `-` first, last or twice in a row.
    /// (Byte by byte: every event's agreement id is checked here on a fold.)
    static func isValidSlug(_ slug: String) -> Bool {
        var previous: UInt8?
        for byte in slug.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"): break
            case UInt8(ascii: "-"): if previous == nil || previous == UInt8(ascii: "-") { return false }
            default: return false
            }
            previous = byte
        }
        return previous != nil && previous != UInt8(ascii: "-")
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let id = AgencyID(slug: text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "not an agency slug: \(text)")
        }
        self = id
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(slug)
    }
}

/// Identity of an agreement: agency + model + ICE signed date (as first registered;
/// a later `SignedDateCorrected` changes the agreement's `signedOn`, never its id).
/// String form `<agency-slug>.<tfm|wso|jem>.<YYYY-MM-DD>`, e.g.
/// `tallahassee-police-department.tfm.2025-03-10`. JSON form: that string.
public struct AgreementID: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    public let agency: AgencyID
    public let model: Model
    public let signedOn: FloridaDate

    public init(agency: AgencyID, model: Model, signedOn: FloridaDate) {
        self.agency = agency
        self.model = model
        self.signedOn = signedOn
    }

    /// Parses `<agency-slug>.<tfm|wso|jem>.<YYYY-MM-DD>`; nil otherwise.
    public init?(_ text: String) {
        // Split at the two dots byte by byte (every event's agreement id is parsed on a fold);
        // a part with any non-ASCII byte is refused below, as a split by Characters would.
        let utf8 = text.utf8, dot = UInt8(ascii: ".")
        guard let first = utf8.firstIndex(of: dot) else { return nil }
        let modelStart = utf8.index(after: first)
        guard let second = utf8[modelStart...].firstIndex(of: dot) else { return nil }
        let dateStart = utf8.index(after: second)
        guard !utf8[dateStart...].contains(dot) else { return nil }
        let modelText = String(decoding: utf8[modelStart..<second], as: UTF8.self)
        guard let agency = AgencyID(slug: String(decoding: utf8[..<first], as: UTF8.self)),
              let model = Model(rawValue: modelText.uppercased()), modelText == model.slug,
              let date = FloridaDate(iso: String(decoding: utf8[dateStart...], as: UTF8.self)) else { return nil }
        self.init(agency: agency, model: model, signedOn: date)
    }

    public var description: String { "\(agency.slug).\(model.slug).\(signedOn)" }

    /// By agency, then model, then signed date (without building the descriptions; the
    /// models' codes `JEM` < `TFM` < `WSO` sort as their slugs do, with no lower-casing per comparison).
    public static func < (lhs: AgreementID, rhs: AgreementID) -> Bool {
        (lhs.agency.slug, lhs.model.rawValue, lhs.signedOn) < (rhs.agency.slug, rhs.model.rawValue, rhs.signedOn)
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let id = AgreementID(text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "not an agreement id: \(text)")
        }
        self = id
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// Event-store stream names. The stream *category* is the part before the first `-`.
public enum StreamName {
    /// `agreement-<agreementID>`: registration, date corrections, local votes, termination.
    public static func agreement(_ id: AgreementID) -> String { "agreement-\(id)" }
    /// `request-<uuid lowercased>`: one termination request's life.
    public static func request(_ id: UUID) -> String { "request-\(id.uuidString.lowercased())" }
    /// `agency-<agencyID>`: agency-level events (renames).
    public static func agency(_ id: AgencyID) -> String { "agency-\(id)" }
    /// `editions`: the ICE editions the register has followed (`EditionRecorded`).
    public static let editions = "editions"
    /// `board`: the Board's seats.
    public static let board = "board"
    /// `policy`: policy entries adopted (issue 13).
    public static let policy = "policy"

    /// The category of a stream name: `agreement`, `request`, `agency`, `board`, `editions`, `policy`.
    public static func category(of stream: String) -> String {
        stream.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? stream
    }
}
