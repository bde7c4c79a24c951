import Foundation
import Testing
import Workflow

@Suite("The illustrative scenario, end to end (live database)", .enabled(if: TestDatabase.available, "set SBIE_TEST_DSN"))
struct ScenarioTests {
    static let agreements: [(String, String, String, String)] = [
        ("Escambia County Sheriff's Office", "County", "Task Force Model", "2025-02-26"),
        ("Alachua County Sheriff's Office", "County", "Task Force Model", "2025-02-26"),
        ("Alachua County Sheriff's Office", "County", "Warrant Service Officer", "2025-02-24"),
        ("Tallahassee Police Department", "Municipality", "Task Force Model", "2025-03-10"),
        ("Arcadia Police Department", "Municipality", "Task Force Model", "2025-03-05"),
        ("Bay County Sheriff's Office", "County", "Task Force Model", "2025-02-26"),
        ("Bay County Sheriff's Office", "County", "Warrant Service Officer", "2019-10-15"),
        ("Key West Police Department", "Municipality", "Task Force Model", "2025-03-05"),
        ("Fort Myers Police Department", "Municipality", "Task Force Model", "2025-05-16"),
    ]

    @Test("every step has the outcome the rules require; the WSO timer ends the agreement on 2026-02-01")
    func scenario() async throws {
        try await TestDatabase.with { dsn in
            let db = try await Connection.connect(dsn)
            var processor = CommandProcessor()
            for (index, (name, type, model, signed)) in Self.agreements.enumerated() {
                _ = try await submit(db, "register_agreement", [
                    "agency_name": name, "agency_type": type, "model": model, "signed_on": signed,
                    "source_edition": "2025-07-18pm",
                ], key: "reg-\(index)")
            }
            let seed = try Data(contentsOf: TestDatabase.root.appendingPathComponent("data/board-seats-2025.json"))
            for (index, command) in try BoardSeed.commands(from: seed).get().enumerated() {
                _ = try await CommandQueue.submit(type: command.commandType,
                                               payload: String(decoding: command.payloadJSON(), as: UTF8.self),
                                               idempotencyKey: "seat-\(index)", on: db)
            }
            _ = try await drain(&processor, db)
            #expect(try await db.query("SELECT count(*) FROM commands WHERE status <> 'accepted'").rows[0]
                .decode(0, as: Int.self) == 0)

            for part in try IllustrativeScenario.parts() {
                for step in part.steps {
                    let record = try await CommandQueue.submit(
                        type: step.command.commandType,
                        payload: String(decoding: step.command.payloadJSON(), as: UTF8.self), idempotencyKey: step.key, on: db)
                    _ = try await drain(&processor, db)
                    let outcome = try #require(try await CommandQueue.command(record.commandID, on: db))
                    if let code = step.expectedRejection {
                        #expect(outcome.status == .rejected, "\(step.title)")
                        #expect(outcome.errorCode == code, "\(step.title): \(outcome.errorMessage ?? "")")
                    } else {
                        #expect(outcome.status == .accepted, "\(step.title): \(outcome.errorCode ?? "") \(outcome.errorMessage ?? "")")
                    }
                }
            }
            _ = try await drain(&processor, db)  // the WSO timer is due (2026-02-01 is in the past)
            let states = Dictionary(uniqueKeysWithValues: try await db.query(
                "SELECT agreement_id, state || coalesce(' ' || ended_on::text, '') FROM agreement_status").rows.map {
                    (try $0.decode(0, as: String.self), try $0.decode(1, as: String.self))
                })
            #expect(states["alachua-county-sheriffs-office.tfm.2025-02-26"] == "terminated 2025-10-20")  // issue 13: meeting after 2025-09-20
            #expect(states["alachua-county-sheriffs-office.wso.2025-02-24"] == "active")
            #expect(states["tallahassee-police-department.tfm.2025-03-10"] == "active")
            #expect(states["arcadia-police-department.tfm.2025-03-05"] == "terminated 2025-07-28")  // issue 13: filed from the 2025-07-18 edition
            #expect(states["bay-county-sheriffs-office.wso.2019-10-15"] == "terminated 2026-02-01")
            #expect(states["bay-county-sheriffs-office.tfm.2025-02-26"] == "active")
            #expect(states["key-west-police-department.tfm.2025-03-05"] == "active")
            #expect(states["escambia-county-sheriffs-office.tfm.2025-02-26"] == "active")
            let timer = try #require(try await db.query(
                "SELECT status, available_at::date::text FROM commands WHERE command_type = 'end_agreement'").first)
            #expect(try timer.decode(0, as: String.self) == "accepted")
            #expect(try timer.decode(1, as: String.self) == "2026-02-01")
            #expect(try await db.query("SELECT count(*) FROM board_docket").rows[0].decode(0, as: Int.self) == 0)
            #expect(try await Projections.rebuild(checkOnly: true, on: db).matches)
            #expect(try await AgencyTimeline.catchUp(on: db) > 0)
            #expect(try await ChainVerifier.verify(on: db).isIntact)
        }
    }
}
