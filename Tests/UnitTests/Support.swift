import Foundation
import Testing
@testable import Workflow

/// A date literal for tests (traps on a bad literal: tests only).
func d(_ iso: String) -> FloridaDate {
    guard let date = FloridaDate(iso: iso) else { fatalError("bad test date \(iso)") }
    return date
}

func agency(_ name: String) -> AgencyID {
    guard let id = AgencyID(name: name) else { fatalError("bad test agency \(name)") }
    return id
}

func uuid(_ n: Int) -> UUID {
    let hex = String(n, radix: 16)
    let padded = String(repeating: "0", count: 12 - hex.count) + hex
    guard let id = UUID(uuidString: "00000000-0000-4000-8000-\(padded)") else { fatalError() }
    return id
}

func context(_ today: String = "2026-06-30") -> CommandContext {
    CommandContext(submittedBy: "test_clerk", commandID: uuid(999_999), today: d(today))
}

/// One row of ICE's list, as the importer will turn it into a command.
func registration(_ name: String, _ type: AgencyType = .municipality, county: String? = nil,
                  _ model: Model = .taskForce, signed: String = "2025-03-10",
                  moa: String? = nil, edition: String = "2025-07-18pm") -> DomainCommand {
    .registerAgreement(RegisterAgreement(agencyName: name, agencyType: type, county: county, model: model,
                                         signedOn: d(signed), moaURL: moa, sourceEdition: edition))
}

/// Given/when/then: a state built by running `given` commands through decide (each must
/// be accepted), then the result of `when`.
struct Scenario {
    var state = RegisterState()
    var log: [(stream: String, event: DomainEvent)] = []

    init(_ given: [DomainCommand] = [], today: String = "2026-06-30") {
        for command in given { accept(command, today: today) }
    }

    @discardableResult
    mutating func accept(_ command: DomainCommand, today: String = "2026-06-30",
                         sourceLocation: SourceLocation = #_sourceLocation) -> Decision {
        switch decide(command, state: state, context: context(today)) {
        case .success(let decision):
            state.apply(decision)
            log += decision.events
            return decision
        case .failure(let rejection):
            Issue.record("expected \(command.commandType) to be accepted, got \(rejection)", sourceLocation: sourceLocation)
            return Decision()
        }
    }

    func when(_ command: DomainCommand, today: String = "2026-06-30") -> Result<Decision, Rejection> {
        decide(command, state: state, context: context(today))
    }

    func rejectionCode(_ command: DomainCommand, today: String = "2026-06-30") -> String? {
        if case .failure(let rejection) = when(command, today: today) { return rejection.code }
        return nil
    }

    func events(_ command: DomainCommand, today: String = "2026-06-30") -> [DomainEvent]? {
        if case .success(let decision) = when(command, today: today) { return decision.events.map(\.event) }
        return nil
    }
}

/// The Board as in data/board-seats-2025.json.
func boardSeedCommands() -> [DomainCommand] {
    guard let data = try? Data(contentsOf: projectRoot.appendingPathComponent("data/board-seats-2025.json")),
          case .success(let commands) = BoardSeed.commands(from: data) else {
        Issue.record("cannot load data/board-seats-2025.json")
        return []
    }
    return commands
}

/// The repository root (the test file's folder, symlinks resolved, two levels up).
let projectRoot: URL = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// ICE's 2025-07-18 list: the project's copy in data/, else ../shared/data/.
func iceRows() -> [[String: String]] {
    let name = "ice-287g-participating-fl-2025-07-18.csv"
    let candidates = [projectRoot.appendingPathComponent("data/\(name)"),
                      projectRoot.deletingLastPathComponent().appendingPathComponent("shared/data/\(name)")]
    guard let url = candidates.first(where: { FileManager.default.fileExists(atPath: $0.path) }),
          let text = try? String(contentsOf: url, encoding: .utf8) else {
        Issue.record("ICE CSV not found")
        return []
    }
    let records = parseCSV(text)
    guard let header = records.first else { return [] }
    return records.dropFirst().filter { $0.count == header.count }.map { Dictionary(uniqueKeysWithValues: zip(header, $0)) }
}

/// Minimal RFC 4180 reader for the test fixture (quoted fields, CRLF).
func parseCSV(_ text: String) -> [[String]] {
    var records: [[String]] = [], field = "", record: [String] = [], quoted = false
    var chars = Array(text.unicodeScalars).makeIterator()
    var pending: Unicode.Scalar? = nil
    while let c = pending ?? chars.next() {
        pending = nil
        if quoted {
            if c == "\"" {
                if let next = chars.next() {
                    if next == "\"" { field.unicodeScalars.append("\"") } else { quoted = false; pending = next }
                } else { quoted = false }
            } else { field.unicodeScalars.append(c) }
        } else if c == "\"" { quoted = true }
        else if c == "," { record.append(field); field = "" }
        else if c == "\r" { continue }
        else if c == "\n" { record.append(field); records.append(record); record = []; field = "" }
        else { field.unicodeScalars.append(c) }
    }
    if !field.isEmpty || !record.isEmpty { record.append(field); records.append(record) }
    return records
}

/// The register command of one CSV row.
func registration(row: [String: String], edition: String = "2025-07-18pm") -> DomainCommand? {
    guard let name = row["LAW ENFORCEMENT AGENCY"], let type = row["TYPE"].flatMap(AgencyType.init(rawValue:)),
          let model = row["SUPPORT TYPE"].flatMap(Model.init(iceName:)),
          let signed = row["SIGNED"].flatMap(FloridaDate.init(iso:)) else { return nil }
    let county = row["COUNTY"].flatMap { $0 == "#N/A" || $0.isEmpty ? nil : $0 }
    let moa = row["MOA_URL (derived from MOA cell hyperlink)"].flatMap { $0.isEmpty ? nil : $0 }
    return .registerAgreement(RegisterAgreement(agencyName: name, agencyType: type, county: county, model: model,
                                                signedOn: signed, moaURL: moa, sourceEdition: edition))
}

/// The whole real register, imported through decide.
func importedRegister() -> Scenario {
    var scenario = Scenario()
    for row in iceRows() {
        guard let command = registration(row: row) else { Issue.record("bad row \(row)"); continue }
        scenario.accept(command)
    }
    return scenario
}
