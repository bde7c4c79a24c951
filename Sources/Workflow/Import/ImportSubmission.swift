import Crypto
import Foundation

/// Enqueues an ICE edition (or a plain import) as commands, pipelined in one transaction,
/// and reads back what the daemon decided for them.
public enum ImportSubmission {
    /// Submits commands (type, JSON payload, idempotency key) through `submit_command`,
    /// pipelined `IceImport.batchSize` at a time, in order; call inside a transaction.
    /// - Parameter progress: called after each batch with (commands done, commands in all).
    /// - Returns: the command ids, in order.
    fileprivate static func submitPipelined(
        _ commands: [(type: String, payload: String, key: String)],
        on connection: isolated Connection,
        progress: (@Sendable (_ done: Int, _ total: Int) -> Void)?
    ) throws -> [UUID] {
        var ids: [UUID] = []
        var start = 0
        while start < commands.count {
            let batch = commands[start..<min(start + IceImport.batchSize, commands.count)]
            let results = try connection.pipeline(batch.map {
                Statement("SELECT command_id FROM submit_command($1, $2::json, $3)", [$0.type, $0.payload, $0.key])
            })
            for result in results {
                guard let row = result.first else {
                    throw PostgresError(kind: .protocolViolation, message: "submit_command returned no row")
                }
                ids.append(try row.decode(0))
            }
            start = batch.endIndex
            progress?(start, commands.count)
        }
        return ids
    }

    /// Submits the parsed rows' `register_agreement` commands through `submit_command`,
    /// pipelined `IceImport.batchSize` at a time, all in one transaction (every row is
    /// enqueued or none is), in file order.
    ///
    /// - Parameter progress: called after each batch with (rows done, rows in all).
    /// - Returns: `parsed.report` with `submitted`, `alreadySubmitted` and `commandIDs` filled.
    /// - Throws: `PostgresError` (e.g. the login may not submit register commands); then
    ///   nothing was enqueued.
    public static func submitImport(
        _ parsed: IceImport.Parsed, on connection: isolated Connection,
        progress: (@Sendable (_ done: Int, _ total: Int) -> Void)? = nil
    ) throws -> ImportReport {
        var report = parsed.report
        let rows = parsed.rows
        let keys = String(decoding: try JSONEncoder().encode(rows.map(\.idempotencyKey)), as: UTF8.self)
        let (existingCount, ids): (Int, [UUID]) = try connection.transaction { db in
            let existing = Set(try db.query(
                """
                SELECT idempotency_key FROM commands WHERE submitted_by = session_user
                AND idempotency_key IN (SELECT json_array_elements_text($1::json))
                """, [keys], name: "import: existing keys"
            ).rows.map { try $0.decode(0, as: String.self) })
            let ids = try ImportSubmission.submitPipelined(
                rows.map { (CommandType.registerAgreement.rawValue, $0.payload, $0.idempotencyKey) }, on: db, progress: progress)
            return (rows.filter { existing.contains($0.idempotencyKey) }.count, ids)
        }
        report.commandIDs = ids
        report.alreadySubmitted = existingCount
        report.submitted = rows.count - existingCount
        return report
    }

    /// How many of `ids` are still pending, and what the decided ones did.
    /// - Throws: `PostgresError`.
    public static func importOutcome(of ids: [UUID], on connection: isolated Connection) throws -> ImportOutcome {
        let array = PostgresArray(ids)
        var outcome = ImportOutcome()
        for row in try connection.query(
            "SELECT status, count(*) FROM commands WHERE command_id = ANY($1::uuid[]) GROUP BY status",
            [array], name: "import: statuses"
        ).rows {
            let count: Int = try row.decode(1)
            switch try row.decode(0, as: String.self) {
            case "pending": outcome.pending = count
            case "accepted": outcome.accepted = count
            case "rejected": outcome.rejected = count
            default: outcome.failed += count
            }
        }
        for row in try connection.query(
            """
            SELECT e.event_type, count(*) FROM commands c CROSS JOIN unnest(c.event_positions) AS p(position)
            JOIN events e ON e.global_position = p.position
            WHERE c.command_id = ANY($1::uuid[]) GROUP BY e.event_type ORDER BY e.event_type
            """, [array], name: "import: events"
        ).rows {
            let count: Int = try row.decode(1)
            outcome.eventsByType[try row.decode(0)] = count
            outcome.eventsAppended += count
        }
        outcome.refusals = try connection.query(
            """
            SELECT coalesce(payload ->> 'agency_name', ''), status, coalesce(error_code, ''), coalesce(error_message, '')
            FROM commands WHERE command_id = ANY($1::uuid[]) AND status IN ('rejected', 'failed') ORDER BY seq
            """, [array], name: "import: refusals"
        ).rows.map {
            ImportOutcome.Refusal(agencyName: try $0.decode(0), status: try $0.decode(1),
                                  errorCode: try $0.decode(2), errorMessage: try $0.decode(3))
        }
        return outcome
    }

    /// Waits until the daemon has decided every command in `ids` (LISTEN on
    /// `sbie_outcomes`, re-counting on each wake-up and at least every 500 ms),
    /// or until `timeout` runs out.
    /// - Returns: the outcome; `pending > 0` when time ran out.
    /// - Throws: `PostgresError`.
    public static func waitForImport(
        _ ids: [UUID], timeout: Duration, on connection: isolated Connection
    ) throws -> ImportOutcome {
        try connection.listen(SharedNames.Channel.outcomes)
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while true {
            let outcome = try importOutcome(of: ids, on: connection)
            let remaining = ContinuousClock.now.duration(to: deadline)
            if outcome.pending == 0 || remaining <= .zero { return outcome }
            _ = try connection.waitForNotification(timeout: min(remaining, .milliseconds(500)))
        }
    }
}

extension ImportSubmission {
    /// The reconciliation of an edition with the register as it stands (`currentRegister`):
    /// what `submitEdition` would enqueue. Appends and enqueues nothing. "Newest
    /// edition" is the database's (`newest_edition()`, Sql/0016: recorded, or pending), the
    /// one `claim_edition` checks, and an edition dated after today in Florida is refused.
    /// - Throws: `PostgresError`; a decoding error for a corrupt event.
    public static func planEdition(
        _ parsed: IceImport.Parsed, on connection: isolated Connection
    ) throws -> EditionPlan {
        let (state, newest) = try connection.transaction { db in (try currentRegister(on: db), try newestEdition(on: db)) }
        return EditionReconciler.reconcile(parsed, state: state, newestClaimed: newest, today: FloridaDate(floridaDateOf: Date()))
    }

    /// The register as the whole log has it: the newest usable register snapshot plus the
    /// events after it (`Snapshots.fold`; the same state as folding from position 0, in time
    /// that follows the register's size rather than the log's: at 1M events an import folded
    /// the log for 2 s before reconciling).
    static func currentRegister(on connection: isolated Connection) throws -> RegisterState {
        try Snapshots.fold(asOf: .position(.max), on: connection).state
    }

    /// `newest_edition()` (Sql/0016): the newest edition that counts for the order of imports.
    static func newestEdition(on connection: isolated Connection) throws -> String? {
        try connection.query("SELECT newest_edition()", name: "import: newest edition").rows.first?.decodeIfPresent(0, as: String.self)
    }

    /// Reconciles an edition with the register and enqueues the plan's commands, all in
    /// one transaction: renames, holder changes, re-signings, date corrections and
    /// registrations for the rows that need one, then `record_edition` (agreements not
    /// listed / listed again). Nothing is enqueued when the plan is refused (an older
    /// edition), or when the edition was imported before by any login (`claim_edition`
    /// finds it in `edition_imports`); `report.alreadyImported` says so.
    ///
    /// Idempotency keys: `edition:<label>:<command type>:<16 hex of SHA-256(payload)>`.
    /// - Returns: the report (rows' command ids in `commandIDs`, the `record_edition`
    ///   command's in `editionCommandID`) and the plan.
    /// - Throws: `PostgresError`: SQLSTATE IE001 when a later edition counts (recorded, or its
    ///   `record_edition` pending); IE002 when the edition is dated after today in Florida;
    ///   22023 when its label is not a real date; 42501 when the login may not import.
    ///   Nothing is enqueued then.
    public static func submitEdition(
        _ parsed: IceImport.Parsed, on connection: isolated Connection,
        progress: (@Sendable (_ done: Int, _ total: Int) -> Void)? = nil
    ) throws -> (report: ImportReport, plan: EditionPlan) {
        try connection.transaction { db in
            // The lock claim_edition takes: concurrent imports plan one after the other.
            try db.query("SELECT pg_advisory_xact_lock($1::bigint)", [SharedNames.AdvisoryLock.editionImport], name: "import: edition lock")
            let state = try currentRegister(on: db)
            // The log's newest edition only: a pending or future edition is claim_edition's to
            // refuse (IE001, IE002), so the caller gets the SQLSTATE.
            let plan = EditionReconciler.reconcile(parsed, state: state)
            var report = parsed.report
            report.classes = plan.counts
            report.needsDecision = plan.items.filter(\.needsDecision)
            guard plan.refusal == nil else { return (report, plan) }
            guard !plan.alreadyImported else {
                report.alreadyImported = true
                return (report, plan)
            }
            let claimed = try db.query("SELECT claim_edition($1, $2)", [report.edition, String(plan.commands.count)],
                                       name: "import: claim edition").rows.first?.decode(0, as: Bool.self) ?? false
            guard claimed else {
                report.alreadyImported = true
                return (report, plan)
            }
            report.alreadyImported = false
            let edition = report.edition
            let ids = try ImportSubmission.submitPipelined(plan.commands.map { command in
                (command.commandType, String(decoding: command.payloadJSON(), as: UTF8.self),
                 IceImport.editionKey(edition, command))
            }, on: db, progress: progress)
            report.editionCommandID = ids.last
            report.commandIDs = Array(ids.dropLast())
            report.submitted = ids.count
            return (report, plan)
        }
    }
}

extension IceImport {
    /// `edition:<label>:<command type>:<16 hex of SHA-256(payload)>`.
    static func editionKey(_ edition: String, _ command: DomainCommand) -> String {
        let digest = SHA256.hash(data: command.payloadJSON()).prefix(8).map { String(format: "%02x", $0) }.joined()
        return "edition:\(edition.prefix(20)):\(command.commandType):\(digest)"
    }
}
