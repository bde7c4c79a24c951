import Foundation
import Testing
import Workflow

/// A small deterministic generator (SplitMix64), so a failing case can be replayed.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// One malformed submission and what must happen to it.
struct MalformedCase: CustomStringConvertible {
    enum Outcome {
        /// Refused by `submitCommand` with this `SubmissionError` code; nothing queued.
        case refused(String)
        /// Queued, then rejected by the daemon with one of these codes; the message names `field`.
        case rejected(Set<String>, field: String?)
    }

    var label: String
    var type: String
    var payload: String
    var outcome: Outcome
    var description: String { "\(label) [\(type)] \(payload.prefix(160))" }
}

/// Builds malformed payloads from valid templates, one defect each, so the expected
/// rejection code (and field) is known.
enum MalformedPayloads {
    enum Kind {
        /// Free text with a length limit (Characters).
        case text(Int)
        /// A string from a closed set or with a strict shape (model, seat, UUID, slug, id).
        case choice
        case date
        case bool
        case list
        case votes
    }

    struct Field {
        var name: String
        var kind: Kind
        var required: Bool
        var value: Any
    }

    static let requestID = "6f9619ff-8b86-4011-b42d-00c04fc964ff"
    static let agreementID = "tallahassee-police-department.tfm.2025-03-10"

    /// A valid payload for every command type, field by field.
    nonisolated(unsafe) static let templates: [String: [Field]] = [
        "register_agreement": [
            Field(name: "agency_name", kind: .text(500), required: true, value: "Tallahassee Police Department"),
            Field(name: "agency_type", kind: .choice, required: true, value: "Municipality"),
            Field(name: "county", kind: .text(500), required: false, value: "Leon"),
            Field(name: "model", kind: .choice, required: true, value: "TFM"),
            Field(name: "signed_on", kind: .date, required: true, value: "2025-03-10"),
            Field(name: "moa_url", kind: .text(2000), required: false, value: "https://www.ice.gov/moa.pdf"),
            Field(name: "source_edition", kind: .text(500), required: true, value: "2025-07-18pm"),
        ],
        "rename_agency": [
            Field(name: "agency_id", kind: .choice, required: true, value: "tallahassee-police-department"),
            Field(name: "new_name", kind: .text(500), required: true, value: "Tallahassee PD"),
            Field(name: "source_edition", kind: .text(500), required: false, value: "2025-08-01am"),
        ],
        "correct_signed_date": [
            Field(name: "agreement_id", kind: .choice, required: true, value: agreementID),
            Field(name: "signed_on", kind: .date, required: true, value: "2025-03-11"),
            Field(name: "note", kind: .text(4000), required: false, value: "ICE re-dated the row"),
        ],
        "submit_termination_request": [
            Field(name: "request_id", kind: .choice, required: true, value: requestID),
            Field(name: "agency_id", kind: .choice, required: true, value: "tallahassee-police-department"),
            Field(name: "model", kind: .choice, required: true, value: "TFM"),
            Field(name: "agreement_id", kind: .choice, required: false, value: agreementID),
            Field(name: "reason", kind: .text(4000), required: true, value: "Commission vote"),
            Field(name: "local_authorization", kind: .text(4000), required: true, value: "Resolution 2025-17"),
            Field(name: "filed_on", kind: .date, required: true, value: "2025-08-01"),
        ],
        "withdraw_termination_request": [
            Field(name: "request_id", kind: .choice, required: true, value: requestID),
            Field(name: "agency_id", kind: .choice, required: true, value: "tallahassee-police-department"),
            Field(name: "withdrawn_on", kind: .date, required: true, value: "2025-08-02"),
            Field(name: "reason", kind: .text(4000), required: false, value: "Changed our minds"),
        ],
        "record_termination_notice": [
            Field(name: "request_id", kind: .choice, required: true, value: requestID),
            Field(name: "agency_id", kind: .choice, required: true, value: "tallahassee-police-department"),
            Field(name: "served_on", kind: .date, required: false, value: "2025-09-12"),
            Field(name: "received_on", kind: .date, required: true, value: "2025-09-15"),
        ],
        "schedule_review": [
            Field(name: "request_id", kind: .choice, required: true, value: requestID),
            Field(name: "meeting_date", kind: .date, required: true, value: "2025-09-10"),
            Field(name: "scheduled_on", kind: .date, required: false, value: "2025-08-20"),
        ],
        "record_board_vote": [
            Field(name: "request_id", kind: .choice, required: true, value: requestID),
            Field(name: "meeting_date", kind: .date, required: true, value: "2025-09-10"),
            Field(name: "votes", kind: .votes, required: true, value: ["governor": "yes", "attorney_general": "no"]),
        ],
        "fill_board_seat": [
            Field(name: "seat", kind: .choice, required: true, value: "governor"),
            Field(name: "member", kind: .text(500), required: true, value: "Ron DeSantis"),
            Field(name: "effective_on", kind: .date, required: true, value: "2025-01-01"),
            Field(name: "date_uncertain", kind: .bool, required: false, value: true),
            Field(name: "note", kind: .text(4000), required: false, value: "seed"),
            Field(name: "sources", kind: .list, required: false, value: ["https://example.org/a"]),
            Field(name: "replaces_entry_on", kind: .date, required: false, value: "2024-12-31"),
        ],
        "vacate_board_seat": [
            Field(name: "seat", kind: .choice, required: true, value: "chief_financial_officer"),
            Field(name: "effective_on", kind: .date, required: true, value: "2025-07-01"),
            Field(name: "date_uncertain", kind: .bool, required: false, value: false),
        ],
        "record_local_government_vote": [
            Field(name: "agreement_id", kind: .choice, required: true, value: agreementID),
            Field(name: "body", kind: .text(500), required: true, value: "City Commission"),
            Field(name: "voted_on", kind: .date, required: true, value: "2025-07-30"),
            Field(name: "motion", kind: .text(4000), required: true, value: "Declare the agreement void"),
            Field(name: "tally", kind: .text(500), required: true, value: "3-2"),
            Field(name: "sources", kind: .list, required: false, value: ["https://example.org/minutes"]),
        ],
        "record_edition": [
            Field(name: "edition", kind: .date, required: true, value: "2025-07-18"),
            Field(name: "source_edition", kind: .text(500), required: true, value: "2025-07-18pm"),
        ],
        "change_agreement_holder": [
            Field(name: "agreement_id", kind: .choice, required: true, value: agreementID),
            Field(name: "agency_name", kind: .text(500), required: true, value: "Leon County Board of County Commissioners"),
            Field(name: "edition", kind: .date, required: true, value: "2025-07-18"),
            Field(name: "note", kind: .text(4000), required: false, value: "moved"),
        ],
        "record_resigned_agreement": [
            Field(name: "agreement_id", kind: .choice, required: true, value: agreementID),
            Field(name: "signed_on", kind: .date, required: true, value: "2025-07-01"),
            Field(name: "moa_url", kind: .text(2000), required: true, value: "https://www.ice.gov/moa2.pdf"),
            Field(name: "edition", kind: .date, required: true, value: "2025-07-18"),
        ],
        "mark_duplicate_agreement": [
            Field(name: "agreement_id", kind: .choice, required: true, value: agreementID),
            Field(name: "duplicate_of", kind: .choice, required: true, value: "leon-county-sheriffs-office.tfm.2025-02-26"),
            Field(name: "edition", kind: .date, required: true, value: "2025-07-18"),
            Field(name: "note", kind: .text(4000), required: false, value: "same agreement listed twice"),
        ],
        "end_agreement": [
            Field(name: "agreement_id", kind: .choice, required: true, value: agreementID),
            Field(name: "request_id", kind: .choice, required: true, value: requestID),
            Field(name: "effective_on", kind: .date, required: true, value: "2025-12-14"),
        ],
        "adopt_policy_entry": [
            Field(name: "entry_id", kind: .choice, required: true, value: "approval-scope.statute-text.from-2025-10-01"),
            Field(name: "topic", kind: .choice, required: true, value: "approval_scope"),
            Field(name: "reading", kind: .choice, required: true, value: "sheriffs_and_county_jails"),
            Field(name: "effective_on", kind: .date, required: true, value: "2025-10-01"),
            Field(name: "basis", kind: .choice, required: true, value: "statute_text"),
            Field(name: "text", kind: .text(4000), required: true, value: "must approve the termination of any such agreement"),
            Field(name: "source", kind: .text(4000), required: true, value: "s. 908.11(1), F.S. (2025C)"),
            Field(name: "note", kind: .text(4000), required: false, value: "issue 13"),
        ],
    ]

    static let hostile = [
        "'; DROP TABLE events; --", "TFM' OR '1'='1", "Robert\"); DELETE FROM commands;--", "Ünïcødé ünïcørn",
        "🚔🚔", "../../etc/passwd", "<script>alert(1)</script>", "$1::text", "\\", "%s%n%x",
        "\u{202E}drowssap", "中文 中文",
    ]
    static let badDates = [
        "2025-02-30", "2025-2-3", "2025-02-03T00:00:00Z", " 2025-02-03", "02/03/2025", "20250203",
        "２０２５-０２-０３", "2025-13-01", "0000-01-01", "'; DROP TABLE events; --", "", "yesterday", "2025-02-29",
        "+2025-02-03", "2025-02-03\n",
    ]
    nonisolated(unsafe) static let wrongTypes: [Any] = [42, true, [1, "x"], ["nested": ["deeper": 1]], 3.25, -0.0]
    static let unknownKeys = ["x", "'; DROP TABLE events; --", "AGENCY_ID", "ünknown", "🚔", "__proto__", "agency_name "]

    static func encode(_ value: Any) -> String {
        (try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed]))
            .map { String(decoding: $0, as: UTF8.self) } ?? "null"
    }

    static func object(_ fields: [Field], replacing name: String? = nil, with value: Any? = nil,
                       removing removed: String? = nil) -> [String: Any] {
        var object: [String: Any] = [:]
        for field in fields where field.name != removed { object[field.name] = field.value }
        if let name { object[name] = value ?? NSNull() }
        return object
    }

    /// Every generated case (deterministic for a seed).
    static func cases(seed: UInt64) -> [MalformedCase] {
        var rng = SplitMix64(state: seed)
        var cases: [MalformedCase] = []
        func rejected(_ label: String, _ type: String, _ payload: [String: Any], _ codes: Set<String>, field: String?) {
            cases.append(MalformedCase(label: label, type: type, payload: encode(payload),
                                       outcome: .rejected(codes, field: field)))
        }
        for type in DomainCommand.commandTypes {
            guard let fields = templates[type] else { continue }
            for field in fields {
                let name = field.name
                if field.required {
                    rejected("missing", type, object(fields, removing: name), ["missing_field"], field: name)
                    rejected("null", type, object(fields, replacing: name, with: NSNull()), ["missing_field"], field: name)
                }
                for wrong in wrongTypes {
                    if case .bool = field.kind, wrong is Bool { continue }
                    if case .list = field.kind, wrong is [Any] { continue }
                    if case .votes = field.kind, wrong is [String: Any] { continue }
                    rejected("wrong type", type, object(fields, replacing: name, with: wrong), ["invalid_field_type"], field: name)
                }
                switch field.kind {
                case .text(let limit):
                    for blank in ["", "   ", "\n\t "] {
                        // A name holding a control character is refused at submission (0016, CQ006).
                        let nameFields: Set<String> = ["register_agreement.agency_name", "register_agreement.county",
                                                       "rename_agency.new_name", "change_agreement_holder.agency_name",
                                                       "fill_board_seat.member", "record_local_government_vote.body"]
                        if blank.contains("\n"), nameFields.contains("\(type).\(name)") {
                            cases.append(MalformedCase(label: "blank", type: type, payload: encode(object(fields, replacing: name, with: blank)),
                                                       outcome: .refused("invalid_name")))
                            continue
                        }
                        rejected("blank", type, object(fields, replacing: name, with: blank), ["invalid_field_value"], field: name)
                    }
                    let unit = ["a", "é", "🚔", "'", "中"][Int.random(in: 0..<5, using: &rng)]
                    let long = String(repeating: unit, count: limit + Int.random(in: 1...300, using: &rng))
                    rejected("too long", type, object(fields, replacing: name, with: long), ["field_too_long"], field: name)
                    cases.append(MalformedCase(
                        label: "NUL", type: type,
                        payload: encode(object(fields, replacing: name, with: "bad\u{0}value")),
                        outcome: .refused("malformed_payload")))
                case .choice:
                    for value in hostile {
                        rejected("hostile value", type, object(fields, replacing: name, with: value), ["invalid_field_value"], field: name)
                    }
                    rejected("too long", type, object(fields, replacing: name, with: String(repeating: "z", count: 501)),
                             ["field_too_long"], field: name)
                    var lone = object(fields)
                    lone[name] = "__SURROGATE__"
                    // PostgreSQL keeps a lone surrogate in json, but submit_command unescapes
                    // every string (to check keys and agency_id), which refuses it.
                    cases.append(MalformedCase(
                        label: "lone surrogate", type: type,
                        payload: encode(lone).replacingOccurrences(of: "__SURROGATE__", with: "\\ud800"),
                        outcome: .refused("malformed_payload")))
                case .date:
                    for value in badDates {
                        rejected("bad date", type, object(fields, replacing: name, with: value), ["invalid_date"], field: name)
                    }
                case .bool:
                    rejected("bool as string", type, object(fields, replacing: name, with: "true"), ["invalid_field_type"], field: name)
                case .list:
                    rejected("list item type", type, object(fields, replacing: name, with: [1]), ["invalid_field_type"], field: "\(name)[0]")
                    rejected("list item blank", type, object(fields, replacing: name, with: ["ok", ""]), ["invalid_field_value"], field: "\(name)[1]")
                    rejected("list too long", type, object(fields, replacing: name, with: Array(repeating: "s", count: 21)),
                             ["field_too_long"], field: name)
                case .votes:
                    rejected("bad ballot", type, object(fields, replacing: name, with: ["governor": "maybe"]),
                             ["invalid_field_value"], field: "votes.governor")
                    rejected("unknown seat", type, object(fields, replacing: name, with: ["president": "yes"]),
                             ["unknown_field"], field: "votes.president")
                    rejected("ballot type", type, object(fields, replacing: name, with: ["governor": 1]),
                             ["invalid_field_type"], field: "votes.governor")
                    rejected("hostile seat", type, object(fields, replacing: name, with: ["'; DROP TABLE events; --": "yes"]),
                             ["unknown_field"], field: "votes.'; DROP TABLE events; --")
                }
            }
            for key in unknownKeys.shuffled(using: &rng).prefix(3) {
                var payload = object(fields)
                payload[key] = "x"
                rejected("unknown field", type, payload, ["unknown_field"], field: key)
            }
            // Oversized: refused at submission.
            var huge = object(fields)
            huge["x"] = String(repeating: "x", count: 70_000)
            cases.append(MalformedCase(label: "oversized", type: type, payload: encode(huge), outcome: .refused("payload_too_large")))
            // A repeated key.
            let first = fields[0].name
            let body = encode(object(fields))
            cases.append(MalformedCase(label: "repeated key", type: type,
                                       payload: "{\(encode(first)): \"a\", " + body.dropFirst(),
                                       outcome: .refused("malformed_payload")))
        }
        // Random JSON that is not an object: refused at submission.
        for _ in 0..<40 {
            let value = randomJSON(depth: 3, &rng)
            if value is [String: Any] { continue }
            cases.append(MalformedCase(label: "not an object",
                                       type: DomainCommand.commandTypes.randomElement(using: &rng) ?? "schedule_review",
                                       payload: encode(value), outcome: .refused("malformed_payload")))
        }
        // Random JSON objects with keys no command knows: the daemon names one.
        for _ in 0..<60 {
            var object: [String: Any] = [:]
            for _ in 0..<Int.random(in: 1...6, using: &rng) { object["k_\(randomString(&rng, 8))"] = randomJSON(depth: 3, &rng) }
            rejected("random object", DomainCommand.commandTypes.randomElement(using: &rng) ?? "schedule_review", object,
                     ["unknown_field"], field: nil)
        }
        // Text that is not JSON at all.
        for text in ["{", "{'a': 1}", "{\"a\": }", "", "NaN", "{\"a\":1,}", "[1,2", "{\"a\": 01}", "{\"a\": \"\\x41\"}",
                     "'; DROP TABLE events; --", "{\"a\": undefined}", "{\"a\": 1} {\"b\": 2}"] {
            cases.append(MalformedCase(label: "not JSON", type: "register_agreement", payload: text,
                                       outcome: .refused("malformed_payload")))
        }
        // Nesting: too deep for the database; deep enough to test the daemon's parser.
        let deep = 30_000
        cases.append(MalformedCase(label: "nesting (database)", type: "register_agreement",
                                   payload: "{\"x\": " + String(repeating: "[", count: deep) + String(repeating: "]", count: deep) + "}",
                                   outcome: .refused("malformed_payload")))
        for depth in [100, 600, 2_000, 10_000] {
            cases.append(MalformedCase(label: "nesting \(depth)", type: "register_agreement",
                                       payload: "{\"x\": " + String(repeating: "[", count: depth) + String(repeating: "]", count: depth) + "}",
                                       outcome: .rejected(["unknown_field", "malformed_payload"], field: nil)))
        }
        // Numbers Swift cannot hold, where a string is due.
        for number in ["1e999", "-1e999", "123456789012345678901234567890"] {
            cases.append(MalformedCase(label: "huge number", type: "schedule_review",
                                       payload: "{\"request_id\": \(number), \"meeting_date\": \"2025-09-10\"}",
                                       outcome: .rejected(["invalid_field_type", "malformed_payload"], field: nil)))
        }
        // Unknown command types (queued by the owner, rejected by the daemon) and invalid ones.
        for type in ["launch_rocket", "REGISTER_AGREEMENT", "register_agreement ", "'; DROP TABLE commands; --",
                     "régister_agreement", "🚀"] {
            cases.append(MalformedCase(label: "unknown type", type: type, payload: "{}",
                                       outcome: .rejected(["unknown_command_type"], field: nil)))
        }
        for type in ["", String(repeating: "t", count: 101)] {
            cases.append(MalformedCase(label: "invalid type", type: type, payload: "{}", outcome: .refused("invalid_submission")))
        }
        return cases
    }

    static func randomString(_ rng: inout SplitMix64, _ length: Int) -> String {
        let alphabet = Array("abcXYZ019 '\"\\;-_é中🚔\u{7}")
        return String((0..<length).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &rng)] })
    }

    static func randomJSON(depth: Int, _ rng: inout SplitMix64) -> Any {
        switch Int.random(in: 0..<(depth > 0 ? 7 : 5), using: &rng) {
        case 0: return NSNull()
        case 1: return Bool.random(using: &rng)
        case 2: return Int.random(in: -1_000_000...1_000_000, using: &rng)
        case 3: return Double.random(in: -1e6...1e6, using: &rng)
        case 4: return randomString(&rng, Int.random(in: 0...20, using: &rng))
        case 5: return (0..<Int.random(in: 0...4, using: &rng)).map { _ in randomJSON(depth: depth - 1, &rng) }
        default:
            var object: [String: Any] = [:]
            for _ in 0..<Int.random(in: 0...4, using: &rng) { object[randomString(&rng, 5)] = randomJSON(depth: depth - 1, &rng) }
            return object
        }
    }
}

@Suite("Security: fuzzed malformed payloads (live database)", .enabled(if: TestDatabase.available, "set SBIE_TEST_DSN"))
struct SecurityFuzzTests {
    @Test("every template is valid, so each case's single defect is what gets it rejected")
    func templatesAreValid() {
        for (type, fields) in MalformedPayloads.templates {
            let payload = Data(MalformedPayloads.encode(MalformedPayloads.object(fields)).utf8)
            if case .failure(let rejection) = DomainCommand.parse(type: type, payload: payload) {
                Issue.record("template \(type) is invalid: \(rejection)")
            }
        }
        #expect(Set(MalformedPayloads.templates.keys) == Set(DomainCommand.commandTypes))
    }

    @Test("at least 500 malformed payloads: each refused or rejected with its code, the daemon keeps going, the log is unchanged")
    func fuzz() async throws {
        let cases = MalformedPayloads.cases(seed: 287)
        #expect(cases.count >= 500)
        try await SecurityFixture.with { f in
            // One good event first, so "unchanged" is not merely "empty".
            let registrar = try await f.connect(f.registrar)
            try await rawSubmit(registrar, "register_agreement", json(registration("Tallahassee Police Department")))
            let daemon = try await f.connect(f.daemon)
            var processor = CommandProcessor()
            #expect(try await drain(&processor, daemon).accepted == 1)
            let before = try await EventStore.lastPosition(on: f.admin)

            var queued: [(UUID, MalformedCase)] = []
            var problems: [String] = []
            for (index, c) in cases.enumerated() {
                do {
                    let record = try await CommandQueue.submit(type: c.type, payload: c.payload, idempotencyKey: "fuzz:\(index)", on: f.admin)
                    if case .refused(let code) = c.outcome {
                        problems.append("\(c): expected refusal \(code), was queued")
                    }
                    queued.append((record.commandID, c))
                } catch let error as SubmissionError {
                    if case .refused(let code) = c.outcome, code == error.code { continue }
                    problems.append("\(c): unexpected refusal \(error.code): \(error.message)")
                } catch {
                    problems.append("\(c): submission threw \(error)")
                }
            }
            let result = try await drain(&processor, daemon)
            #expect(result.failed == 0)
            #expect(result.accepted == 0)
            #expect(result.rejected == queued.count)
            for (id, c) in queued {
                guard let record = try await CommandQueue.command(id, on: f.admin) else { problems.append("\(c): vanished"); continue }
                guard case .rejected(let codes, let field) = c.outcome else { continue }
                guard record.status == .rejected, let code = record.errorCode, codes.contains(code) else {
                    problems.append("\(c): expected \(codes.sorted()), got \(record.status) \(record.errorCode ?? "-"): \(record.errorMessage ?? "")")
                    continue
                }
                if let field, !(record.errorMessage ?? "").contains("'\(field)'") {
                    problems.append("\(c): message does not name '\(field)': \(record.errorMessage ?? "")")
                }
            }
            #expect(problems.isEmpty, "\(problems.count) problems, first: \(problems.prefix(15).joined(separator: "\n"))")
            #expect(try await EventStore.lastPosition(on: f.admin) == before)

            // The daemon is still working.
            try await rawSubmit(registrar, "register_agreement", json(registration("Gainesville Police Department")))
            #expect(try await drain(&processor, daemon).accepted == 1)
            #expect(try await EventStore.lastPosition(on: f.admin) == before + 1)
            #expect(try await ChainVerifier.verify(on: f.admin).isIntact)
        }
    }
}
