import Foundation

// MARK: - Rules as sourced, dated policy (issue 13)
//
// Where the law leaves a choice of reading, or the record must assume something the law
// does not say, the rule is a *policy entry*: data with an effective date, the text it
// rests on, and whether that text is the statute's, an MOA template's, a reported
// interpretation or our own inference. `decide` asks the register which entry is in force
// on the legal date of the act it decides, applies it, and names it (`policy_entries` on
// the events it accepts, the entry id in every rejection). Entries change only through
// `adopt_policy_entry`, a registrar's command that is an event (`PolicyEntryAdopted`,
// stream `policy`), so a change of reading has an effective date and never rewrites a
// decision already recorded.

/// What a policy entry decides.
public enum PolicyTopic: String, Sendable, Hashable, Codable, CaseIterable, Comparable {
    /// Which agreements need the State Board of Immigration Enforcement's approval before
    /// they may be terminated (DESIGN.md rule 4).
    case approvalScope = "approval_scope"
    /// Who must keep a 287(g) agreement (DESIGN.md rule 3).
    case mandatoryAgreement = "mandatory_agreement"
    /// When a Warrant Service Officer agreement ends after ICE receives the notice.
    case noticeEffectWSO = "notice_effect_wso"
    /// When a Task Force Model or Jail Enforcement Model agreement ends after ICE receives the notice.
    case noticeEffectTFMJEM = "notice_effect_tfm_jem"

    /// The readings an entry on this topic may take (`PolicyEntry.reading`).
    public var readings: [PolicyReading] {
        switch self {
        case .approvalScope: return [.allAgencies, .sheriffsAndCountyJails]
        case .mandatoryAgreement: return [.sheriffsAndCountyJails]
        case .noticeEffectWSO: return [.ninetyDaysAfterReceipt, .onReceipt]
        case .noticeEffectTFMJEM: return [.onReceipt, .ninetyDaysAfterReceipt]
        }
    }

    public static func < (lhs: PolicyTopic, rhs: PolicyTopic) -> Bool {
        (allCases.firstIndex(of: lhs) ?? 0) < (allCases.firstIndex(of: rhs) ?? 0)
    }
}

/// How a policy entry resolves its topic.
public enum PolicyReading: String, Sendable, Hashable, Codable, CaseIterable {
    /// Approval scope: every law enforcement agency's agreement (the State's position as reported in 2025).
    case allAgencies = "all_agencies"
    /// Approval scope / mandatory agreement: only the agreements of sheriffs and of operators
    /// of county detention facilities (the text of s. 908.11(1), F.S.).
    case sheriffsAndCountyJails = "sheriffs_and_county_jails"
    /// Notice effect: the agreement ends 90 days after ICE receives the notice.
    case ninetyDaysAfterReceipt = "ninety_days_after_receipt"
    /// Notice effect: the agreement ends on the day ICE receives the notice.
    case onReceipt = "on_receipt"
}

/// What kind of text a policy entry rests on. Says honestly how strong the entry is.
public enum PolicyBasis: String, Sendable, Hashable, Codable, CaseIterable {
    /// The statute's own words.
    case statuteText = "statute_text"
    /// The words of ICE's MOA template.
    case moaText = "moa_text"
    /// An official position reported in public sources (not the statute's text).
    case reportedInterpretation = "reported_interpretation"
    /// Our inference where the sources are silent.
    case inference = "inference"
    /// A rule of this register (record keeping), not of law.
    case recordRule = "record_rule"
}

/// One policy entry. JSON keys: `entry_id`, `topic`, `reading`, `effective_on`
/// (YYYY-MM-DD), `basis`, `text` (the words relied on, quoted), `source` (citation),
/// `note` (optional).
public struct PolicyEntry: Sendable, Hashable, Codable {
    /// Stable id cited in events and rejections, e.g. `approval-scope.reported-2025`.
    public var entryID: String
    public var topic: PolicyTopic
    public var reading: PolicyReading
    /// The Florida date from which the entry is in force (until the topic's next entry).
    public var effectiveOn: FloridaDate
    public var basis: PolicyBasis
    /// The words relied on, quoted from the source.
    public var text: String
    /// Where the words are: statute section and edition, MOA template, press report.
    public var source: String
    public var note: String?

    enum CodingKeys: String, CodingKey {
        case entryID = "entry_id", topic, reading, effectiveOn = "effective_on", basis, text, source, note
    }

    public init(entryID: String, topic: PolicyTopic, reading: PolicyReading, effectiveOn: FloridaDate,
                basis: PolicyBasis, text: String, source: String, note: String? = nil) {
        self.entryID = entryID
        self.topic = topic
        self.reading = reading
        self.effectiveOn = effectiveOn
        self.basis = basis
        self.text = text
        self.source = source
        self.note = note
    }

    /// How messages cite it: `policy entry 'approval-scope.reported-2025' (reported interpretation, ...)`.
    public var citation: String {
        "policy entry '\(entryID)' (\(basis.label): \(source))"
    }
}

extension PolicyBasis {
    /// `statute text`, `MOA text`, `reported interpretation`, `inference`, `record rule`.
    public var label: String {
        switch self {
        case .statuteText: return "statute text"
        case .moaText: return "MOA text"
        case .reportedInterpretation: return "reported interpretation"
        case .inference: return "inference"
        case .recordRule: return "record rule, not law"
        }
    }
}

/// The entries that apply when the log holds none for a topic (so logs written before
/// policy entries existed keep their meaning), and the register's own named record rules.
/// `data/policy-2025.json` holds the same entries for `sbie policy load`.
public enum PolicyCatalog {
    static let boardCreated = FloridaDate(year: 2025, month: 2, day: 13) ?? FloridaDate(floridaDateOf: Date(timeIntervalSince1970: 1_739_448_000))

    /// s. 908.11(1), F.S. (2025C), quoted.
    public static let section90811Text = "The sheriff or the chief correctional officer operating a county detention facility must enter into a written agreement with the United States Immigration and Customs Enforcement to participate in the immigration program established under 8 U.S.C. s. 1357(g). ... The State Board of Immigration Enforcement must approve the termination of any such agreement."

    /// The State's broad reading of the approval requirement: the default.
    public static let approvalBroad = PolicyEntry(
        entryID: "approval-scope.reported-2025", topic: .approvalScope, reading: .allAgencies, effectiveOn: boardCreated,
        basis: .reportedInterpretation,
        text: "The State's position, as reported in 2025 (e.g. that Tallahassee Police Department must obtain the Board's approval to end its agreement): every law enforcement agency's 287(g) agreement needs the Board's approval to be terminated.",
        source: "as reported in 2025; extends s. 908.11(1), F.S. beyond its text",
        note: "Default reading. The statute's text ties the approval to 'such' agreements (sheriffs' and county jail operators'); see approval-scope.statute-text.")

    /// The statute's text: only sheriffs' and county jail operators' agreements.
    public static let approvalText = PolicyEntry(
        entryID: "approval-scope.statute-text", topic: .approvalScope, reading: .sheriffsAndCountyJails, effectiveOn: boardCreated,
        basis: .statuteText, text: section90811Text, source: "s. 908.11(1), F.S. (2025C)",
        note: "'any such agreement': the agreements the sheriff or the chief correctional officer operating a county detention facility must enter into.")

    /// Who must keep an agreement: the statute's text.
    public static let mandatoryText = PolicyEntry(
        entryID: "mandatory-agreement.statute-text", topic: .mandatoryAgreement, reading: .sheriffsAndCountyJails,
        effectiveOn: boardCreated, basis: .statuteText, text: section90811Text, source: "s. 908.11(1), F.S. (2025C)",
        note: "Read as a continuing duty: a sheriff or county jail operator may not end its last agreement. Which agencies are covered: mandatoryAgreementReason (sheriff's offices; county corrections; county commissions running a jail).")

    /// WSO: 90 days after receipt, per the MOA template.
    public static let noticeWSO = PolicyEntry(
        entryID: "notice-effect.wso-moa", topic: .noticeEffectWSO, reading: .ninetyDaysAfterReceipt, effectiveOn: boardCreated,
        basis: .moaText,
        text: "Termination takes effect 90 days after ICE receives the notice \"unless exigent circumstances involving public safety dictate otherwise\".",
        source: "287(g) Warrant Service Officer MOA template, termination clause",
        note: "ICE may state another effective date (exigent circumstances): record it on the notice with its source.")

    /// TFM/JEM: the templates state no effective time; "on receipt" is our inference.
    public static let noticeTFMJEM = PolicyEntry(
        entryID: "notice-effect.tfm-jem-inferred", topic: .noticeEffectTFMJEM, reading: .onReceipt, effectiveOn: boardCreated,
        basis: .inference,
        text: "The Task Force Model and Jail Enforcement Model templates allow either party to terminate on written notice and state no effective time; we infer that the agreement ends on the day ICE receives the notice.",
        source: "287(g) Task Force Model and Jail Enforcement Model MOA templates (silent on the effective time)",
        note: "An inference, not the templates' words. ICE's stated effective date, when given, is recorded on the notice with its source.")

    /// The entry in force when the log holds none for `topic`.
    public static func defaultEntry(_ topic: PolicyTopic) -> PolicyEntry {
        switch topic {
        case .approvalScope: return approvalBroad
        case .mandatoryAgreement: return mandatoryText
        case .noticeEffectWSO: return noticeWSO
        case .noticeEffectTFMJEM: return noticeTFMJEM
        }
    }

    /// Every entry shipped, by id (defaults and alternatives).
    public static let shipped: [PolicyEntry] = [approvalBroad, approvalText, mandatoryText, noticeWSO, noticeTFMJEM]
}

/// The register's own record-keeping rules, named so rejections cite them. They are not
/// law; messages say so (`policy entry 'record.x' (record rule, not law: ...)`).
public enum RecordRule: String, Sendable, CaseIterable {
    /// DESIGN.md rule 7: no event is dated before the latest legal date already recorded
    /// for what it is about (an agreement with its requests, an agency, a Board seat, a
    /// policy topic), so "as of a date" never shows a state that never existed.
    case legalTimeMonotone = "record.legal-time-monotone"
    /// DESIGN.md rule 7: dates within a request follow the procedure (filing, scheduling,
    /// meeting, approval, service, receipt; none before the agreement was signed).
    case datesInOrder = "record.dates-in-order"
    /// The register records what has happened: no legal date after the processing date.
    case noFutureDates = "record.no-future-dates"
    /// Commands are validated strictly before any rule sees them (field names, types, limits).
    case commandSchema = "record.command-schema"
    /// Identity (DESIGN.md, Domain): agencies by slug, agreements by (agency, model, signed date), requests by UUID.
    case identity = "record.identity"
    /// DESIGN.md rule 2: at most one open request per agreement.
    case oneOpenRequest = "record.one-open-request"
    /// A request may be withdrawn, or a notice recorded, only once, and only while the
    /// record allows it (withdrawal before the Board acts; one notice per approval).
    case requestLifecycle = "record.request-lifecycle"
    /// The Board's composition is data with effective dates; a correction names the entry it corrects.
    case seatHistory = "record.seat-history"
    /// A policy entry id names one entry; its readings are those of its topic.
    case policyEntries = "record.policy-entries"
    /// ICE's editions are followed in publication order; an older edition changes no current
    /// fact, and one agency holds at most one live agreement per model unless ICE lists two
    /// (DESIGN.md, ICE editions).
    case editions = "record.ice-editions"

    /// `policy entry 'record.x' (record rule, not law: what it says)`.
    public var citation: String {
        let what: String
        switch self {
        case .legalTimeMonotone: what = "legal time is monotone for each agreement and its requests, agency, Board seat and policy topic (docs/domain-rules.md rule 7)"
        case .datesInOrder: what = "a request's dates follow its procedure (docs/domain-rules.md rule 7)"
        case .noFutureDates: what = "the register records what has happened; no legal date after today"
        case .commandSchema: what = "a command's payload has exactly its documented fields"
        case .identity: what = "agencies, agreements and requests are identified as in docs/domain-rules.md, Identity"
        case .oneOpenRequest: what = "one open request per agreement (docs/domain-rules.md rule 2)"
        case .requestLifecycle: what = "withdrawal only before the Board acts; one notice per approved request"
        case .seatHistory: what = "the Board's seats are dated entries; corrections name the entry corrected"
        case .policyEntries: what = "policy entries are dated, sourced and changed only by adoption"
        case .editions: what = "ICE's editions apply in publication order; one live agreement per agency and model unless ICE lists two"
        }
        return "policy entry '\(rawValue)' (record rule, not law: \(what))"
    }
}

/// The policy entries adopted in the log, by topic, sorted by effective date.
public struct PolicyRegister: Sendable, Equatable, Codable {
    public private(set) var history: [PolicyTopic: [PolicyEntry]] = [:]
    /// Every adopted entry by id.
    public private(set) var byID: [String: PolicyEntry] = [:]

    public init() {}

    /// The entry in force for `topic` on `date`: the latest adopted entry effective on or
    /// before `date`, else the catalog's default (`PolicyCatalog.defaultEntry`).
    public func entry(_ topic: PolicyTopic, on date: FloridaDate) -> PolicyEntry {
        history[topic, default: []].last(where: { $0.effectiveOn <= date }) ?? PolicyCatalog.defaultEntry(topic)
    }

    /// The entry with this id: adopted, else shipped in the catalog.
    public func entry(id: String) -> PolicyEntry? {
        byID[id] ?? PolicyCatalog.shipped.first { $0.entryID == id }
    }

    mutating func adopt(_ entry: PolicyEntry) {
        var entries = history[entry.topic, default: []]
        entries.removeAll { $0.entryID == entry.entryID }
        entries.append(entry)
        entries.sort { $0.effectiveOn < $1.effectiveOn }
        history[entry.topic] = entries
        byID[entry.entryID] = entry
    }
}

/// Loads a policy file (`data/policy-2025.json`) into `adopt_policy_entry` commands.
///
/// File shape: a JSON object whose `entries` is an array of objects, each exactly the
/// payload of `adopt_policy_entry` (`entry_id`, `topic`, `reading`, `effective_on`, `basis`,
/// `text`, `source`, `note`), adopted in order; `alternatives` (optional) is an array of
/// the same shape, entries shipped but not adopted, which `sbie policy set` may adopt from a
/// date. Other top-level keys are documentation. Each entry is validated by
/// `DomainCommand.parse`; a rejection's field is prefixed with `entries[i].`.
public enum PolicySeed {
    /// The adoption commands of the file's `entries`, in order; pure.
    public static func commands(from data: Data) -> Result<[DomainCommand], Rejection> {
        entries(from: data, key: "entries")
    }

    /// The file's `alternatives` (entries a registrar may adopt with `sbie policy set`).
    public static func alternatives(from data: Data) -> Result<[DomainCommand], Rejection> {
        entries(from: data, key: "alternatives")
    }

    private static func entries(from data: Data, key: String) -> Result<[DomainCommand], Rejection> {
        guard let root = try? JSONDecoder().decode(JSONValue.self, from: data), case .object(let top) = root else {
            return .failure(Rejection(.malformedPayload, "policy file is not a JSON object"))
        }
        guard let value = top[key] else {
            if key == "entries" { return .failure(Rejection(.missingField, "policy file has no 'entries' array", field: "entries")) }
            return .success([])
        }
        guard case .array(let items) = value else {
            return .failure(Rejection(.invalidFieldType, "policy file's '\(key)' must be an array", field: key))
        }
        var commands: [DomainCommand] = []
        for (index, item) in items.enumerated() {
            let prefix = "\(key)[\(index)]"
            switch DomainCommand.parse(type: "adopt_policy_entry", payload: canonicalJSON(item)) {
            case .success(let command): commands.append(command)
            case .failure(var rejection):
                rejection.field = rejection.field.map { "\(prefix).\($0)" } ?? prefix
                rejection.message = "\(prefix): \(rejection.message)"
                return .failure(rejection)
            }
        }
        return .success(commands)
    }
}
