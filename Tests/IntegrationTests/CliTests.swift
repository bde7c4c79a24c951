import Foundation
import SwiftCSV
import Testing
import Workflow

/// A Florida date literal (traps on a bad literal: tests only).
private func day(_ iso: String) -> FloridaDate {
    guard let date = FloridaDate(iso: iso) else { fatalError("bad test date \(iso)") }
    return date
}

private let tallahassee = AgencyID(slug: "tallahassee-police-department")!
private let tallahasseeAgreement = AgreementID("tallahassee-police-department.tfm.2025-03-10")!
/// A reason with every character CSV must quote.
private let trickyReason = "Commission vote, 4-1; \"void\" as of July\nsee the minutes "

/// Submits a typed command (as the CLI does) and returns its record.
@discardableResult
private func enqueue(_ db: Connection, _ command: DomainCommand) async throws -> CommandRecord {
    try await CommandQueue.submit(type: command.commandType, payload: String(decoding: command.payloadJSON(), as: UTF8.self),
                               idempotencyKey: UUID().uuidString, on: db)
}

/// The register for these tests: Tallahassee PD's Task Force Model agreement and four sitting members.
private func seed(_ db: Connection) async throws {
    try await enqueue(db, .registerAgreement(RegisterAgreement(
        agencyName: "Tallahassee Police Department", agencyType: .municipality, county: "Leon", model: .taskForce,
        signedOn: day("2025-03-10"), moaURL: nil, sourceEdition: "2025-07-18pm")))
    for (seat, member) in [(BoardSeat.governor, "Ron DeSantis"), (.attorneyGeneral, "James Uthmeier"),
                           (.chiefFinancialOfficer, "Blaise Ingoglia"), (.commissionerOfAgriculture, "Wilton Simpson")] {
        try await enqueue(db, .fillBoardSeat(FillBoardSeat(seat: seat, member: member, effectiveOn: day("2025-01-07"))))
    }
    var processor = CommandProcessor()
    #expect(try await drain(&processor, db).accepted == 5)
}

private func fileRequest(_ db: Connection, _ id: UUID) async throws {
    try await enqueue(db, .submitTerminationRequest(SubmitTerminationRequest(
        requestID: id, agencyID: tallahassee, model: .taskForce, reason: trickyReason,
        localAuthorization: "City Commission, 2025-07-23", filedOn: day("2025-08-01"))))
}

@Suite("Auditor reads: point in time, history, export (live database)", .enabled(if: TestDatabase.available, "set SBIE_TEST_DSN"))
struct AuditorReadTests {
    @Test("the register as of a position or a date differs before and after a request, and equals the projections now")
    func pointInTime() async throws {
        try await TestDatabase.with { dsn in
            let db = try await Connection.connect(dsn)
            try await seed(db)
            let before = try await EventStore.lastPosition(on: db)
            let request = UUID()
            try await fileRequest(db, request)
            var processor = CommandProcessor()
            _ = try await drain(&processor, db)
            let after = try await EventStore.lastPosition(on: db)
            #expect(after == before + 1)

            let then = try await PointInTime.register(asOf: .position(before), on: db)
            #expect(then.position == before)
            #expect(then.state.agreements[tallahasseeAgreement]?.status == .active)
            #expect(then.state.requests[request] == nil)
            let now = try await PointInTime.register(asOf: .position(after), on: db)
            #expect(now.state.agreements[tallahasseeAgreement]?.status == .terminationRequested)
            #expect(now.state.agreements[tallahasseeAgreement]?.currentRequest == request)
            #expect(try await PointInTime.request(request, asOf: .position(after), on: db)?.status == .submitted)

            // Legal time: filed on 2025-08-01, signed on 2025-03-10.
            #expect(try await PointInTime.request(request, asOf: .endOf(day("2025-07-31")), on: db) == nil)
            #expect(try await PointInTime.request(request, asOf: .endOf(day("2025-08-01")), on: db)?.status == .submitted)
            #expect(try await PointInTime.agreement(tallahasseeAgreement, asOf: .endOf(day("2025-07-31")), on: db)?.status == .active)
            #expect(try await PointInTime.agreement(tallahasseeAgreement, asOf: .endOf(day("2025-03-09")), on: db) == nil)
            #expect(AsOf(parsing: "2025-08-01") == .endOf(day("2025-08-01")))
            #expect(AsOf(parsing: "12") == .position(12))
            #expect(AsOf(parsing: "2025-08-01T12:00:00Z") != nil)
            #expect(AsOf(parsing: "last tuesday") == nil)

            // Folded rows equal the inline projections' rows.
            #expect(try AgreementStatusRow.rows(in: now.state) == (try await ReadModels.agreementStatusRows(on: db)))
            #expect(try TerminationRequestRow.rows(in: now.state) == (try await ReadModels.terminationRequestRows(on: db)))
            #expect(try AgreementStatusRow.rows(in: then.state, agency: tallahassee).map(\.state) == ["active"])
        }
    }

    @Test("an agency's history lists its events with positions, actors and summaries; a request's its own")
    func history() async throws {
        try await TestDatabase.with { dsn in
            let db = try await Connection.connect(dsn)
            try await seed(db)
            let request = UUID()
            try await fileRequest(db, request)
            try await enqueue(db, .scheduleReview(ScheduleReview(requestID: request, meetingDate: day("2025-09-16"))))
            try await enqueue(db, .recordBoardVote(RecordBoardVote(requestID: request, meetingDate: day("2025-09-16"), votes: [
                .governor: .yes, .attorneyGeneral: .yes, .chiefFinancialOfficer: .yes, .commissionerOfAgriculture: .no,
            ])))
            var processor = CommandProcessor()
            #expect(try await drain(&processor, db).accepted == 3)
            let login: String = try await db.query("SELECT session_user::text").rows[0].decode(0)

            let agency = try await EventHistory.entries(agency: tallahassee, on: db)
            #expect(agency.map(\.eventType) == [
                "AgreementRegistered", "TerminationRequestSubmitted", "ReviewScheduled", "BoardVoteRecorded", "TerminationDenied",
            ])
            #expect(agency.map(\.position) == agency.map(\.position).sorted())
            #expect(agency.allSatisfy { $0.actor == login && $0.commandID != nil })
            #expect(agency[2].summary.contains("review scheduled for 2025-09-16"))
            #expect(agency[3].summary.contains("Commissioner of Agriculture Wilton Simpson: no"))
            #expect(agency[4].summary.contains("denied on 2025-09-16"))
            #expect(agency[4].recordedAt >= agency[0].recordedAt)

            let ofRequest = try await EventHistory.entries(request: request, on: db)
            #expect(ofRequest.map(\.eventType) == Array(agency.map(\.eventType).dropFirst()))
            #expect(try await ReadModels.resolveAgency("Tallahassee Police Dept.", on: db) == tallahassee)
            #expect(try await ReadModels.resolveAgency("tallahassee-police-department", on: db) == tallahassee)
            #expect(try await ReadModels.resolveAgency("South Miami Police Department", on: db) == nil)
        }
    }

    @Test("events exported as CSV and as JSON lines round-trip: counts, columns and tricky text")
    func export() async throws {
        try await TestDatabase.with { dsn in
            let db = try await Connection.connect(dsn)
            try await seed(db)
            try await fileRequest(db, UUID())
            var processor = CommandProcessor()
            _ = try await drain(&processor, db)
            let events = try await EventStore.readAll(on: db)
            #expect(events.count == 6)

            let csv = Collector()
            let csvRows = try await Exporter.export(.events, format: .csv, batchSize: 4, on: db) { csv.append($0) }
            #expect(csvRows == events.count)
            let parsed = try EnumeratedCSV(string: csv.text, delimiter: .comma, loadColumns: false)
            #expect(parsed.header.first == "global_position")
            #expect(parsed.header.contains("data") && parsed.header.contains("hash"))
            #expect(parsed.rows.count == events.count)
            let dataColumn = try #require(parsed.header.firstIndex(of: "data"))
            #expect(parsed.rows.map { $0[dataColumn] } == events.map(\.data))
            #expect(parsed.rows.map { Int64($0[0]) } == events.map(\.globalPosition))

            let jsonl = Collector()
            let jsonRows = try await Exporter.export(.events, format: .jsonl, batchSize: 4, on: db) { jsonl.append($0) }
            #expect(jsonRows == events.count)
            let lines = jsonl.text.split(separator: "\n")
            #expect(lines.count == events.count)
            let objects = try lines.map { try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
            #expect(objects.compactMap { $0["global_position"] as? Int } == events.map { Int($0.globalPosition) })
            #expect(objects.allSatisfy { $0["data"] is [String: Any] && $0["metadata"] is [String: Any] })

            for source in ExportSource.allCases {
                let out = Collector()
                let rows = try await Exporter.export(source, format: .csv, on: db) { out.append($0) }
                #expect(try EnumeratedCSV(string: out.text, delimiter: .comma, loadColumns: false).rows.count == rows)
            }
            #expect(CSV.record(["a", nil, "", "b,c", "say \"hi\"", " pad"]) == "a,,\"\",\"b,c\",\"say \"\"hi\"\"\",\" pad\"\r\n")
        }
    }
}

/// Collects export output from a `@Sendable` writer.
final class Collector: @unchecked Sendable {
    private let lock = NSLock()
    private var parts: [String] = []
    func append(_ text: String) { lock.withLock { parts.append(text) } }
    var text: String { lock.withLock { parts.joined() } }
}
