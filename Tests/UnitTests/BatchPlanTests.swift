import Foundation
import Testing
@testable import Workflow

/// The batch plan is pure: these tests decide commands and check the plan and the writer's
/// statements without a database (issue 16 item 5).
@Suite("Batch plan and writer (no database)")
struct BatchPlanTests {
    static let tallahassee = "{\"agency_name\":\"Tallahassee Police Department\",\"agency_type\":\"Municipality\","
        + "\"model\":\"Task Force Model\",\"signed_on\":\"2025-03-10\",\"source_edition\":\"2025-07-18pm\"}"

    func claimed(_ n: Int, _ type: String, _ payload: String) -> CommandProcessor.Claimed {
        CommandProcessor.Claimed(id: uuid(n), type: type, payload: payload, submittedBy: "registrar_1",
                                 submittedAt: Timestamp(Date(timeIntervalSince1970: 1_756_000_000)), attempts: 0)
    }

    func request(_ n: Int) -> String {
        "{\"request_id\":\"\(uuid(5_000 + n).uuidString.lowercased())\",\"agency_id\":\"tallahassee-police-department\","
            + "\"model\":\"TFM\",\"reason\":\"Commission vote\",\"local_authorization\":\"Resolution 2025-01\",\"filed_on\":\"2025-08-01\"}"
    }

    @Test("accepted commands: appends in order at predicted positions after the snapshot; rejections name their code")
    func plan() {
        var start = CommandProcessor.Snapshot()
        start.position = 10
        var plan = BatchPlan(snapshot: start)
        plan.add(claimed(1, "register_agreement", Self.tallahassee), today: d("2025-08-05"))
        plan.add(claimed(2, "register_agreement", "{\"agency_name\":42}"), today: d("2025-08-05"))
        plan.add(claimed(3, "submit_termination_request", request(1)), today: d("2025-08-05"))
        plan.add(claimed(4, "submit_termination_request", request(2)), today: d("2025-08-05"))
        #expect(plan.result == CommandProcessor.BatchResult(accepted: 2, rejected: 2, eventsAppended: 2))
        #expect(plan.predictedPositions == [11, 12])
        #expect(plan.appends.map(\.stream) == ["agreement-tallahassee-police-department.tfm.2025-03-10",
                                               "request-\(uuid(5_001).uuidString.lowercased())"])
        #expect(plan.appends.map(\.expected) == [.noStream, .noStream])
        #expect(plan.outcomes.map(\.status) == [.accepted, .rejected, .accepted, .rejected])
        #expect(plan.outcomes.map(\.errorCode) == [nil, "invalid_field_type", nil, "request_already_open"])
        #expect(plan.outcomes[2].positions == [12])
        #expect(plan.rejections.map(\.code) == ["invalid_field_type", "request_already_open"])
        #expect(plan.snapshot.position == 12)
        #expect(plan.snapshot.streamVersions["agreement-tallahassee-police-department.tfm.2025-03-10"] == 1)
        #expect(plan.appends[0].events[0].metadata.contains("\"command_id\":\"\(uuid(1).uuidString.lowercased())\""))
    }

    @Test("undoing a plan's journal gives back the snapshot it started from (a batch that does not commit)")
    func undo() {
        var first = BatchPlan(snapshot: CommandProcessor.Snapshot())
        first.add(claimed(1, "register_agreement", Self.tallahassee), today: d("2025-08-05"))
        var start = first.snapshot
        start.hash = [1, 2, 3]
        var plan = BatchPlan(snapshot: start)
        plan.add(claimed(3, "submit_termination_request", request(1)), today: d("2025-08-05"))
        plan.add(claimed(4, "submit_termination_request", request(2)), today: d("2025-08-05"))  // rejected: changes nothing
        plan.add(claimed(5, "register_agreement", Self.tallahassee.replacingOccurrences(of: "Tallahassee", with: "Quincy")),
                 today: d("2025-08-05"))
        plan.snapshot.hash = [9]
        #expect(plan.result.accepted == 2 && plan.result.rejected == 1)
        #expect(plan.snapshot.state.requests.count == 1 && plan.snapshot.state.agreements.count == 2)
        var back = plan.snapshot
        back.undo(plan.journal)
        #expect(back.state == start.state)
        #expect(back.position == 1 && back.hash == [1, 2, 3])
        #expect(back.streamVersions == start.streamVersions)
    }

    @Test("the writer: append first, record_outcomes, a wake-up, the new head's hash at the last predicted position, COMMIT")
    func writer() throws {
        var plan = BatchPlan(snapshot: CommandProcessor.Snapshot())
        plan.add(claimed(1, "register_agreement", Self.tallahassee), today: d("2025-08-05"))
        plan.add(claimed(2, "launch_rocket", "{}"), today: d("2025-08-05"))
        let writer = try BatchWriter(plan: plan)
        let sql = writer.statements.map(\.sql)
        #expect(sql.first?.contains("append_events_batch") == true)
        #expect(sql.contains { $0.contains("record_outcomes") })
        #expect(!sql.contains { $0.contains("UPDATE commands") || $0.contains("INSERT INTO commands") },
                "the daemon writes the queue only through its functions")
        // Then the new head's hash, which batch_head refuses unless the head is the last
        // predicted position, and the COMMIT in the same round trip.
        #expect(sql.last == "COMMIT")
        #expect(sql.dropLast().last == "SELECT batch_head($1)")
        #expect(writer.statements.dropLast().last?.parameters == [.text("1")])

        let outcomes = try #require(try JSONSerialization.jsonObject(
            with: CanonicalJSON.encode(plan.outcomes.map(OutcomeRow.init))) as? [[String: Any]])
        #expect(outcomes.count == 2)
        #expect(outcomes[0]["command_id"] as? String == uuid(1).uuidString.lowercased())
        #expect(outcomes[0]["event_positions"] as? [Int] == [1])
        #expect(outcomes[1]["status"] as? String == "rejected")
        #expect(outcomes[1]["error_code"] as? String == "unknown_command_type")
        #expect(outcomes[1]["outcome"] is NSNull)
    }

    @Test("a batch of rejections only: no append, no head read")
    func rejectionsOnly() throws {
        var plan = BatchPlan(snapshot: CommandProcessor.Snapshot())
        plan.add(claimed(1, "launch_rocket", "{}"), today: d("2025-08-05"))
        let sql = try BatchWriter(plan: plan).statements.map(\.sql)
        #expect(!sql.contains { $0.contains("append_events_batch") || $0.contains("SELECT hash") })
        #expect(plan.predictedPositions.isEmpty)
    }
}
