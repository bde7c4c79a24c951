import Crypto
import Foundation

/// What an import of one ICE list did. JSON keys are snake_case.
public struct ImportReport: Sendable, Equatable, Codable {
    /// A row that was not imported: its physical line in the file (1 is the header),
    /// the ICE column at fault (`SIGNED`, `SUPPORT TYPE`, …; `STATE` for rows outside
    /// Florida; `*` for a row with the wrong number of fields) and why.
    public struct Skip: Error, Sendable, Equatable, Codable {
        public var line: Int
        public var field: String
        public var value: String
        public var reason: String

        /// `value` is stored escaped (`NameText.escaped`: control, format and line-separator
        /// characters as `\u{XXXX}`, at most 120 characters), so a report never prints a raw
        /// NUL, newline or bidi control from the file (reasons escape what they quote).
        public init(line: Int, field: String, value: String, reason: String) {
            self.line = line
            self.field = field
            self.value = NameText.escaped(value, limit: 120)
            self.reason = reason
        }
    }

    /// The file's name as given (no directory), or nil for text passed in directly.
    public var file: String?
    /// The edition written into every command's `source_edition`, e.g. `2025-07-18`.
    public var edition: String
    /// Data rows read (header and blank lines not counted).
    public var rowsRead = 0
    /// Commands this run added to the queue.
    public var submitted = 0
    /// Rows whose command was already in the queue (same login, same idempotency key):
    /// an earlier import of the same rows; nothing was added for them.
    public var alreadySubmitted = 0
    /// Rows not imported, in line order.
    public var skipped: [Skip] = []
    /// Distinct agencies (by `AgencyID` slug) among the imported rows.
    public var agencies = 0
    /// Of those, sheriff's offices (slug contains `sheriffs-office`).
    public var sheriffsOffices = 0
    /// Imported rows by model code (`TFM`, `WSO`, `JEM`).
    public var byModel: [String: Int] = [:]
    /// Imported rows by ICE's TYPE (`County`, `Municipality`, `State Agency`).
    public var byType: [String: Int] = [:]
    /// What the daemon decided, when the caller waited for it (`sbie import --wait`).
    public var outcome: ImportOutcome?
    /// The queue's command ids of the imported rows (submitted now or earlier), in file order.
    /// Not part of the JSON form.
    public var commandIDs: [UUID] = []

    /// Rows imported: `rowsRead - skipped.count` (valid Florida rows, whether or not they
    /// needed a command: an unchanged row of a later edition needs none).
    public var imported = 0
    /// With reconciliation (`submitEdition`): rows and live agreements by class
    /// (`EditionPlan.Kind` raw values), and the items that need a registrar's decision.
    public var classes: [String: Int]?
    public var needsDecision: [EditionPlan.Item]?
    /// True when this edition was imported before (by any login): nothing was enqueued.
    public var alreadyImported: Bool?
    /// The `record_edition` command's id (not part of the JSON form).
    public var editionCommandID: UUID?

    public init(file: String? = nil, edition: String) {
        self.file = file
        self.edition = edition
    }

    enum CodingKeys: String, CodingKey {
        case file, edition, skipped, agencies, submitted, outcome
        case imported, classes
        case needsDecision = "needs_decision"
        case alreadyImported = "already_imported"
        case rowsRead = "rows_read"
        case alreadySubmitted = "already_submitted"
        case sheriffsOffices = "sheriffs_offices"
        case byModel = "by_model"
        case byType = "by_type"
    }
}

/// What the daemon decided for an import's commands (see `ImportSubmission.importOutcome(of:on:)`).
public struct ImportOutcome: Sendable, Equatable, Codable {
    /// A rejected or failed command: the agency name from its payload, its code and message.
    public struct Refusal: Sendable, Equatable, Codable {
        public var agencyName: String
        public var status: String
        public var errorCode: String
        public var errorMessage: String

        enum CodingKeys: String, CodingKey {
            case status
            case agencyName = "agency_name"
            case errorCode = "error_code"
            case errorMessage = "error_message"
        }
    }

    public var pending = 0
    public var accepted = 0
    public var rejected = 0
    public var failed = 0
    /// Events the commands appended, in total and by event type.
    public var eventsAppended = 0
    public var eventsByType: [String: Int] = [:]
    /// Rejected and failed commands.
    public var refusals: [Refusal] = []

    public init() {}

    enum CodingKeys: String, CodingKey {
        case pending, accepted, rejected, failed, refusals
        case eventsAppended = "events_appended"
        case eventsByType = "events_by_type"
    }
}

/// A file-level problem: nothing was imported.
public enum ImportError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The file could not be read or is not UTF-8.
    case unreadable(String)
    /// The CSV library refused the text (e.g. an unterminated quote).
    case malformedCSV(String)
    /// The header lacks ICE columns that are needed.
    case missingColumns([String])
    /// No `--edition` and none in the file name; or not `YYYY-MM-DD` (optionally `am`/`pm`).
    case invalidEdition(String)

    public var description: String {
        switch self {
        case .unreadable(let reason): return "cannot read the file: \(reason)"
        case .malformedCSV(let reason): return "not a readable CSV file: \(reason)"
        case .missingColumns(let columns): return "the header lacks ICE's column(s) \(columns.joined(separator: ", "))"
        case .invalidEdition(let text):
            return text.isEmpty
                ? "no edition date: name the file …-YYYY-MM-DD.csv or pass --edition YYYY-MM-DD"
                : "edition '\(text)' is not YYYY-MM-DD (optionally followed by am or pm)"
        }
    }
}

/// Imports ICE's list of 287(g) participating agencies (one CSV export of the
/// spreadsheet) as one `register_agreement` command per row.
///
/// Columns are found by ICE's header names (case and surrounding spaces ignored):
/// `STATE`, `LAW ENFORCEMENT AGENCY`, `TYPE`, `COUNTY`, `SUPPORT TYPE`, `SIGNED` and
/// `MOA` are required; a column whose name starts with `MOA_URL` gives the MOA's PDF
/// link; other columns (`ADDENDUM`, derived URLs) are ignored. Values are taken as
/// ICE printed them: `#N/A` county is no county, `link pending` is no MOA link.
///
/// Each row is checked on its own (field count, Florida, name, type, model, date, and
/// the domain's own payload validation); a bad row is reported with its line and field
/// and skipped, and the others go in.
public enum IceImport {
    /// One valid row, ready to submit.
    public struct Entry: Sendable, Equatable {
        /// Physical line of the row in the file (the header is line 1).
        public var line: Int
        public var agreement: RegisterAgreement
        /// The canonical JSON payload (`DomainCommand.payloadJSON()`).
        public var payload: String
        /// `import:<edition>:<model>:<signed>:<agency slug>:<payload digest>`; see `idempotencyKey(for:)`.
        public var idempotencyKey: String
    }

    /// A parsed file: the rows to submit and a report of everything read.
    public struct Parsed: Sendable {
        public var rows: [Entry]
        /// Counts and skipped rows; nothing submitted yet.
        public var report: ImportReport
        /// Whether the edition has ICE's TYPE and COUNTY columns (when not, rows carry
        /// `AgencyType.unknown` and no county, and reconciliation keeps the register's values).
        public var hasTypeColumn = true
        public var hasCountyColumn = true
    }

    /// ICE's header names that must be present. `TYPE` and `COUNTY` are optional: some
    /// editions (the 2024 web table) have neither; their rows import with type and county
    /// unknown (`AgencyType.unknown`, no county).
    public static let requiredColumns = ["STATE", "LAW ENFORCEMENT AGENCY", "SUPPORT TYPE", "SIGNED", "MOA"]

    /// ICE's TYPE values, as printed in some edition, and what they mean (case and
    /// surrounding spaces ignored). ICE's typos are data: `Muncipality` is a municipality,
    /// `State` a state agency.
    public static let typeSpellings: [String: AgencyType] = [
        "county": .county, "municipality": .municipality, "state agency": .stateAgency,
        "muncipality": .municipality, "state": .stateAgency,
    ]

    /// COUNTY values that mean "no county given" (ICE's `#N/A`, and `#NA` in some editions).
    public static let noCountySpellings: Set<String> = ["", "#n/a", "#na", "n/a", "na"]

    /// ICE's TYPE as printed -> the agency type; nil for an unknown spelling.
    public static func agencyType(ofICE text: String) -> AgencyType? {
        typeSpellings[text.trimmingCharacters(in: .whitespaces).lowercased()]
    }

    /// Rows per pipelined round trip when submitting.
    public static let batchSize = 100

    /// The edition in a file name such as `ice-287g-participating-fl-2025-07-18.csv`
    /// (`…-YYYY-MM-DD.csv`, optionally `…-YYYY-MM-DDpm.csv`); nil when it has none.
    public static func edition(fromFileName name: String) -> String? {
        let stem = URL(fileURLWithPath: name).deletingPathExtension().lastPathComponent
        let candidate = stem.split(separator: "-", omittingEmptySubsequences: false).suffix(3).joined(separator: "-")
        return isValidEdition(candidate) ? candidate : nil
    }

    /// `YYYY-MM-DD` (a real date), optionally followed by `am` or `pm` (ICE publishes twice some days).
    public static func isValidEdition(_ edition: String) -> Bool {
        var date = edition
        if date.hasSuffix("am") || date.hasSuffix("pm") { date.removeLast(2) }
        return FloridaDate(iso: date) != nil
    }

    /// The edition's date (without an `am`/`pm` suffix).
    static func editionDate(_ edition: String) -> FloridaDate? {
        FloridaDate(iso: String(edition.prefix(10)))
    }

    /// Parses a whole file.
    /// - Parameters:
    ///   - url: the CSV file (UTF-8; CRLF or LF).
    ///   - edition: the edition; nil takes it from the file name.
    /// - Throws: `ImportError` for a file-level problem (nothing is imported).
    public static func parse(contentsOf url: URL, edition: String? = nil) throws(ImportError) -> Parsed {
        let data: Data
        do { data = try Data(contentsOf: url) } catch { throw .unreadable(error.localizedDescription) }
        guard let text = String(data: data, encoding: .utf8) else { throw .unreadable("not UTF-8 text") }
        guard let edition = edition ?? self.edition(fromFileName: url.lastPathComponent) else {
            throw .invalidEdition("")
        }
        var parsed = try parse(csv: text, edition: edition)
        parsed.report.file = url.lastPathComponent
        return parsed
    }

    /// Parses CSV text into one command per valid row. Pure: no database.
    /// - Parameter edition: written as `source_edition`; `YYYY-MM-DD`, optionally `am`/`pm`.
    ///   A row signed after the edition's date is refused (`SIGNED`).
    /// - Throws: `ImportError` when the edition is invalid, the CSV cannot be parsed or
    ///   required columns are missing.
    public static func parse(csv text: String, edition: String) throws(ImportError) -> Parsed {
        guard isValidEdition(edition), let editionDate = editionDate(edition) else { throw .invalidEdition(edition) }
        // SwiftCSV drops a last field that is empty when the text does not end in a newline.
        let text = text.last?.isNewline == false ? text + "\n" : text
        // Only blank lines (or spaces, a BOM) is an empty file, not a header without ICE's columns.
        if text.unicodeScalars.allSatisfy({ $0.properties.isWhitespace || $0 == "\u{FEFF}" }) {
            throw .malformedCSV("the file is empty (no header, no rows)")
        }
        let records = CSVRecords.read(text)
        if let first = records.first, let error = first.error { throw .malformedCSV("line \(first.line) (the header): \(error)") }
        guard let header = records.first?.fields.map({ $0.trimmingCharacters(in: .whitespaces).uppercased() }) else {
            throw .malformedCSV("the file is empty (no header, no rows)")
        }
        let missing = requiredColumns.filter { !header.contains($0) }
        guard missing.isEmpty else { throw .missingColumns(missing) }
        let column = Dictionary(header.enumerated().map { ($0.element, $0.offset) }, uniquingKeysWith: { first, _ in first })
        let urlColumn = header.firstIndex { $0.hasPrefix("MOA_URL") }

        var report = ImportReport(edition: edition)
        var rows: [Entry] = []
        var seen: [String: Int] = [:]  // agency slug + model -> line
        for record in records.dropFirst() {
            let start = record.line
            let fields = record.fields
            if let error = record.error {
                report.rowsRead += 1
                report.skipped.append(ImportReport.Skip(line: start, field: "*", value: String(record.raw.prefix(120)),
                                                        reason: "malformed CSV: \(error)"))
                continue
            }
            if fields.allSatisfy({ $0.trimmingCharacters(in: .whitespaces).isEmpty }) { continue }  // blank line
            report.rowsRead += 1
            let result = entry(fields, line: start, header: header, column: column, urlColumn: urlColumn,
                             edition: edition, editionDate: editionDate)
            switch result {
            case .failure(let skip):
                report.skipped.append(skip)
            case .success(let entry):
                let slug = AgencyID.slug(of: entry.agreement.agencyName)
                let identity = "\(slug) \(entry.agreement.model.rawValue)"
                if let earlier = seen[identity] {
                    report.skipped.append(ImportReport.Skip(
                        line: start, field: "LAW ENFORCEMENT AGENCY", value: entry.agreement.agencyName,
                        reason: "the same agency and SUPPORT TYPE as line \(earlier): one agreement per agency and model"))
                    continue
                }
                seen[identity] = start
                rows.append(entry)
            }
        }
        let slugs = Set(rows.map { AgencyID.slug(of: $0.agreement.agencyName) })
        report.agencies = slugs.count
        report.sheriffsOffices = slugs.filter { $0.contains("sheriffs-office") }.count
        for row in rows {
            report.byModel[row.agreement.model.rawValue, default: 0] += 1
            report.byType[row.agreement.agencyType.rawValue, default: 0] += 1
        }
        report.imported = rows.count
        return Parsed(rows: rows, report: report, hasTypeColumn: header.contains("TYPE"), hasCountyColumn: header.contains("COUNTY"))
    }

    /// The idempotency key of a row's command:
    /// `import:<edition>:<model>:<signed>:<agency slug, ≤ 100 chars>:<16 hex of SHA-256(payload)>`.
    ///
    /// A function of the row's content only, so importing the same rows again (whether
    /// or not the daemon has processed the first run) finds the first commands and
    /// enqueues nothing; a row that changed (a corrected file) gets a new command, which
    /// `decide` turns into a rename or a date correction. Keys are unique per database
    /// login: another login's re-import enqueues commands that append nothing, since
    /// `decide` appends nothing for identical facts.
    public static func idempotencyKey(for agreement: RegisterAgreement, payload: String) -> String {
        let digest = SHA256.hash(data: Data(payload.utf8)).prefix(8).map { String(format: "%02x", $0) }.joined()
        let slug = AgencyID.slug(of: agreement.agencyName).prefix(100)
        return "import:\(agreement.sourceEdition):\(agreement.model.slug):\(agreement.signedOn):\(slug):\(digest)"
    }

    /// Validates one record; the skip names the first field at fault.
    private static func entry(
        _ fields: [String], line: Int, header: [String], column: [String: Int], urlColumn: Int?,
        edition: String, editionDate: FloridaDate
    ) -> Result<Entry, ImportReport.Skip> {
        func value(_ name: String) -> String {
            column[name].map { fields[$0].trimmingCharacters(in: .whitespacesAndNewlines) } ?? ""
        }
        func skip(_ field: String, _ reason: String, shown: String? = nil) -> Result<Entry, ImportReport.Skip> {
            .failure(ImportReport.Skip(line: line, field: field, value: shown ?? value(field), reason: reason))
        }
        guard fields.count == header.count else {
            return skip("*", "has \(fields.count) fields; the header has \(header.count)",
                        shown: String(fields.joined(separator: ",").prefix(120)))
        }
        guard value("STATE").uppercased() == "FLORIDA" else { return skip("STATE", "not a Florida agency") }
        let name = value("LAW ENFORCEMENT AGENCY")
        guard AgencyID(name: name) != nil else { return skip("LAW ENFORCEMENT AGENCY", "no agency name") }
        let type: AgencyType
        if column["TYPE"] == nil {
            type = .unknown
        } else if let known = agencyType(ofICE: value("TYPE")) {
            type = known
        } else {
            return skip("TYPE", "not County, Municipality or State Agency (nor a spelling in IceImport.typeSpellings)")
        }
        guard let model = Model(codeOrName: value("SUPPORT TYPE")) else {
            return skip("SUPPORT TYPE", "not a 287(g) model (Task Force Model, Warrant Service Officer, Jail Enforcement Model)")
        }
        guard let signed = FloridaDate(iso: value("SIGNED")) else { return skip("SIGNED", "not a YYYY-MM-DD date") }
        guard signed <= editionDate else { return skip("SIGNED", "after the edition's date \(editionDate)") }
        let county = value("COUNTY")
        let link = urlColumn.map { fields[$0].trimmingCharacters(in: .whitespaces) } ?? ""
        // `link` with a URL is the MOA; so is a URL beside an empty MOA cell (2024 web table).
        let moaText = value("MOA").lowercased()
        let agreement = RegisterAgreement(
            agencyName: name, agencyType: type, county: noCountySpellings.contains(county.lowercased()) ? nil : county,
            model: model, signedOn: signed,
            moaURL: (moaText == "link" || moaText.isEmpty) && (link.hasPrefix("https://") || link.hasPrefix("http://")) ? link : nil,
            sourceEdition: edition)
        let command = DomainCommand.registerAgreement(agreement)
        let payload = command.payloadJSON()
        // The daemon's own validation (lengths, characters), so no row is refused later.
        if case .failure(let rejection) = DomainCommand.parse(type: command.commandType, payload: payload) {
            let field = rejection.field.flatMap { iceColumn[$0] } ?? "*"
            return skip(field, rejection.message, shown: field == "*" ? "" : nil)
        }
        let text = String(decoding: payload, as: UTF8.self)
        return .success(Entry(line: line, agreement: agreement, payload: text,
                            idempotencyKey: idempotencyKey(for: agreement, payload: text)))
    }

    /// Payload key -> ICE column, for reporting the daemon's validation errors.
    private static let iceColumn = [
        "agency_name": "LAW ENFORCEMENT AGENCY", "agency_type": "TYPE", "county": "COUNTY",
        "model": "SUPPORT TYPE", "signed_on": "SIGNED", "moa_url": "MOA", "source_edition": "edition",
    ]
}
