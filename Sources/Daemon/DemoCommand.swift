import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import Workflow

struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The main job: import ICE's real list, run the daemon, play the illustrative scenario.",
        discussion: """
            Migrates the database, starts the daemon in this process, imports ICE's list of Florida \
            287(g) agreements through the command queue, seeds the State Board of Immigration \
            Enforcement's 2025 seats, then plays an illustrative scenario (real agencies and \
            agreements; example requests and votes) and prints the register by state, the Board's \
            docket, one agency's history and the log's verification. Running it again on the same \
            database changes nothing (every command has a stable idempotency key). \
            Exit code 1 when an outcome is not the one the rules require or verification fails.
            """)

    @OptionGroup var db: DatabaseOptions
    @Option(help: "ICE's participating-agencies CSV.") var data = "data/ice-287g-participating-fl-2025-07-18.csv"
    @Option(help: "The Board's seat history.") var boardSeats = "data/board-seats-2025.json"
    @Option(help: "The policy entries (readings the rules apply).") var policy = "data/policy-2025.json"
    @Option(help: "Agency whose history is printed at the end.") var historyAgency = "bay-county-sheriffs-office"

    func run() async throws {
        var logging = db
        if logging.logLevel == .info { logging.logLevel = .warning }
        let logger = logging.logger("sbie.demo")
        let connection = try await db.connect(logger)
        let started = Timestamp(Date())
        let (directory, source) = try Migrator.locate()
        let migrator = try Migrator.load(from: directory)
        let applied = try await migrator.migrate(on: connection, logger: logger)
        heading("Database")
        print("migrations: \(applied.isEmpty ? "up to date" : "applied \(applied.count)") (\(migrator.migrations.count) in \(directory.path), \(source))")

        let services = ServiceGroup(configuration: .init(
            services: [DaemonService(conninfo: db.conninfo, pollInterval: .milliseconds(200), logger: logger),
                       AgencyTimelineService(conninfo: db.conninfo, pollInterval: .milliseconds(200), logger: logger)],
            logger: logger))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await services.run() }
            defer { group.cancelAll() }
            try await play(connection, logger: logger, started: started)
            await services.triggerGracefulShutdown()
            try await group.waitForAll()
        }
    }

    /// The demo's steps, while the daemon and the timeline run in the service group.
    func play(_ connection: Connection, logger: Logger, started: Timestamp) async throws {
        var unexpected = 0

        heading("ICE's list of Florida 287(g) agreements")
        let report = try await importList(connection)
        print(report)

        heading("The State Board of Immigration Enforcement's 2025 seats (data/board-seats-2025.json)")
        let board = try await PointInTime.register(asOf: .position(Int64.max), on: connection).state.board
        let seats = try BoardSeed.plan(from: Data(contentsOf: URL(fileURLWithPath: boardSeats)), against: board).get()
        let seatStem = URL(fileURLWithPath: boardSeats).deletingPathExtension().lastPathComponent
        for (index, command) in seats.enumerated() {
            let outcome = try await submitAndWait(connection, command, key: fileEntryKey(seatStem, index, command))
            if outcome.status != .accepted { unexpected += 1 }
        }
        for row in try await connection.query(
            "SELECT data->>'seat', coalesce(data->>'member', '(vacant)'), data->>'effective_on', "
                + "CASE WHEN (data->>'date_uncertain')::boolean THEN ' (date uncertain)' ELSE '' END "
                + "FROM events WHERE stream_id = 'board' ORDER BY global_position").rows
        {
            print("  \(row.values.map { $0 ?? "" }[2]) \(row.values[0] ?? ""): \(row.values[1] ?? "")\(row.values[3] ?? "")")
        }

        heading("Policy entries: the readings the rules apply (\(policy))")
        let policyStem = URL(fileURLWithPath: policy).deletingPathExtension().lastPathComponent
        for (index, command) in try PolicySeed.commands(from: Data(contentsOf: URL(fileURLWithPath: policy))).get().enumerated() {
            let outcome = try await submitAndWait(connection, command, key: fileEntryKey(policyStem, index, command))
            if outcome.status != .accepted { unexpected += 1 }
            if case .adoptPolicyEntry(let p) = command {
                print("  \(p.entry.effectiveOn) \(p.entry.entryID): \(p.entry.topic.rawValue) = \(p.entry.reading.rawValue) (\(p.entry.basis.label); \(p.entry.source))")
            }
        }

        print("""

            ==================================================================================
            ILLUSTRATIVE SCENARIO: the agencies and agreements below are real (ICE's list of
            2025-07-18); the requests, reviews, Board votes and notices are EXAMPLES, not
            events that happened. The steps marked REAL are real 2025 votes of local
            governments (Fort Myers 2025-03-17 and 2025-03-21, Key West 2025-06-30 and
            2025-07-08, Tallahassee 2025-10-22), recorded as annotations with their sources.
            ==================================================================================
            """)
        for part in try IllustrativeScenario.parts() {
            heading(part.heading)
            for step in part.steps {
                let outcome = try await submitAndWait(connection, step.command, key: step.key)
                let ok = step.expectedRejection == nil
                    ? outcome.status == .accepted : outcome.errorCode == step.expectedRejection
                if !ok { unexpected += 1 }
                print("\n• \(step.title)\(step.real ? "" : " [example]")")
                for source in step.sources { print("  source: \(source)") }
                if outcome.submittedAt < started {
                    print("  (recorded by an earlier run of the demo; shown with the state as it stands now)")
                }
                await printOutcome(outcome, on: connection)
                if !ok { print("  UNEXPECTED: the rules require \(step.expectedRejection.map { "rejection \($0)" } ?? "acceptance")") }
            }
        }
        try await waitForQueue(connection)
        try await AgencyTimeline.catchUp(on: connection)

        heading("The register by state")
        for row in try await connection.query(
            "SELECT state, model, count(*) FROM agreement_status GROUP BY 1, 2 ORDER BY 1, 2").rows
        {
            print("  \(pad(row.values[0] ?? "", 22)) \(pad(row.values[1] ?? "", 4)) \(row.values[2] ?? "")")
        }
        for row in try await connection.query(
            "SELECT agency_name, model, state, ended_on FROM agreement_status WHERE state <> 'active' ORDER BY 1").rows
        {
            print("  changed: \(row.values[0] ?? "") \(row.values[1] ?? ""): \(row.values[2] ?? "")"
                  + (row.values[3].map { " on \($0)" } ?? ""))
        }

        heading("The Board's docket (open requests in review order)")
        let docketCommand = try Docket.parse(["--database", db.conninfo])
        try await docketCommand.run()

        heading("History of \(historyAgency)")
        let historyCommand = try History.parse(["--database", db.conninfo, "--agency", historyAgency])
        try await historyCommand.run()

        heading("Verification")
        let verification = try await ChainVerifier.verify(on: connection)
        print(verification.summary)
        let rebuild = try await Projections.rebuild(checkOnly: true, on: connection)
        print(rebuild.matches ? "projections: a rebuild from the log equals the live tables"
              : "projections: MISMATCH between a rebuild and the live tables")
        print(unexpected == 0 ? "scenario: every outcome is the one the rules require"
              : "scenario: \(unexpected) UNEXPECTED outcome(s)")
        if unexpected > 0 || !verification.isIntact || !rebuild.matches { throw ExitCode(1) }
    }

    func importList(_ connection: Connection) async throws -> String {
        // The same path as `sbie import`: reconciled with the register, then enqueued.
        var (report, plan) = try await ImportSubmission.submitEdition(try IceImport.parse(contentsOf: URL(fileURLWithPath: data)), on: connection)
        let all = report.commandIDs + (report.editionCommandID.map { [$0] } ?? [])
        if !all.isEmpty {
            _ = try await ImportSubmission.waitForImport(all, timeout: .seconds(120), on: connection)
            report.outcome = try await ImportSubmission.importOutcome(of: report.commandIDs, on: connection)
        }
        return ImportCommand.summary(report) + "\n" + ImportCommand.planSummary(plan, applied: true)
    }

    func submitAndWait(_ connection: Connection, _ command: DomainCommand, key: String) async throws -> CommandRecord {
        let record = try await CommandQueue.submit(
            type: command.commandType, payload: String(decoding: command.payloadJSON(), as: UTF8.self),
            idempotencyKey: key, on: connection)
        return try await CommandQueue.waitForOutcome(record.commandID, timeout: .seconds(30), on: connection) ?? record
    }

    func waitForQueue(_ connection: Connection) async throws {
        for _ in 0..<300 {
            let due = try await connection.query(
                "SELECT count(*) FROM commands WHERE status = 'pending' AND available_at <= now()").rows[0]
            if try due.decode(0, as: Int.self) == 0 { return }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    func heading(_ text: String) { print("\n## \(text)") }
    func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }
}
