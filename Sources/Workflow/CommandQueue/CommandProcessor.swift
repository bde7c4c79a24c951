import Foundation
import Synchronization
import Logging

/// Decides queued commands against the current state, exactly once each.
///
/// One batch is one transaction:
/// 1. take the writer's lock (`writer_lock_acquire`, a row lock only writer roles can take)
///    and, in the same round trip, claim up to `batchSize` commands (`claim_commands`);
/// 2. prove the in-memory state current: the event at the position last folded must still
///    have the hash last folded; if not (the database was restored, failed over or rewound),
///    the state is rebuilt from the log, loudly;
/// 3. fold the events appended since (by other daemons), then decide each claimed command;
/// 4. in one pipeline: append the events, write the inline projections, enqueue timers,
///    record every outcome (`record_outcomes`, which refuses any command no longer
///    pending), read back the new head's hash (`batch_head`, which refuses a head elsewhere
///    than predicted) and commit.
///
/// A crash anywhere rolls everything back and the commands are claimed again, so each
/// takes effect exactly once. Several processors (daemons) may run at once: the writer's
/// lock makes them take turns, with the same results as one.
///
/// **Order.** Commands are decided in the order of the queue: due commands
/// (`available_at <= now`) by `(available_at, seq)`; a command waiting for a retry after a
/// failure blocks the ones after it (backoff delays the queue, it never reorders it), and a
/// timer is ordered at the later of its due time and the moment it was scheduled. The
/// outcomes are therefore a function of the queue, whatever the batch size, backoff or
/// restarts.
///
/// **Failures.** A batch that fails unexpectedly is retried one command per transaction, so
/// a bad command is isolated; its failure is recorded with `record_command_failure`, fenced
/// by the attempt count it was claimed at (a stale record changes nothing), kept in
/// `command_attempts`, retried after 1 s, 2 s, 4 s … and after `maxAttempts` failures marked
/// `failed` (dead letter). A failure before any command is claimed (the writer's lock busy,
/// the log unreadable, a cancelled statement) is thrown to the caller, which retries.
public struct CommandProcessor: Sendable {
    public struct Configuration: Sendable {
        /// Commands claimed per transaction (1 … 10,000).
        public var batchSize = 200
        /// Unexpected failures before a command is marked `failed`.
        public var maxAttempts = 5
        /// Who this processor is in `command_attempts` (the database adds the login): `host:pid`.
        public var daemonID = CommandProcessor.defaultDaemonID
        public init() {}
    }

    /// What one call to `processBatch` did.
    public struct BatchResult: Sendable, Equatable {
        public var accepted = 0
        public var rejected = 0
        public var failed = 0
        public var eventsAppended = 0
        public var processed: Int { accepted + rejected + failed }

        public init(accepted: Int = 0, rejected: Int = 0, failed: Int = 0, eventsAppended: Int = 0) {
            (self.accepted, self.rejected, self.failed, self.eventsAppended) = (accepted, rejected, failed, eventsAppended)
        }
    }

    /// The register as of `position`, folded from the log.
    public private(set) var state = RegisterState()
    /// The last global position folded into `state` (0: none).
    public private(set) var position: Int64 = 0
    /// The hash of the event at `position` (empty when `position` is 0).
    public private(set) var positionHash: [UInt8] = []
    /// Each stream's version as of `position` (for expected-version checks).
    public private(set) var streamVersions: [String: Int] = [:]
    /// How many times the state was found stale and rebuilt from the log.
    public private(set) var rebuilds = 0
    public var configuration: Configuration
    /// Commands to run one per transaction after a batch failed.
    private var isolating = 0

    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    public static let defaultDaemonID: String = {
        var name = [CChar](repeating: 0, count: 256)
        let host = gethostname(&name, name.count - 1) == 0 ? String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : "unknown-host"
        return "\(host):\(getpid())"
    }()

    /// Processes at most one batch of due commands.
    /// - Returns: the counts; `processed == 0` means nothing was due (or claimable).
    /// - Throws: `PostgresError` (of kind `.connection` when the database is unreachable; SQLSTATE
    ///   55P03 when the writer's lock stayed busy for the session's `lock_timeout`; others when a
    ///   statement before the decisions failed), `UnreadableEvent` when the log holds an event this
    ///   version cannot read (nothing is decided until it is readable). Failures of the decisions
    ///   themselves are recorded on the commands, not thrown (unless the connection is lost).
    public mutating func processBatch(on db: Connection, logger: Logger) async throws -> BatchResult {
        let size = min(isolating > 0 ? 1 : max(configuration.batchSize, 1), 10_000)
        // The cell holds the only reference to the register while the batch runs, so the batch
        // changes it in place (no copy of the register per batch); whatever happens, the
        // processor takes it back below, undoing what did not commit.
        let cell = SnapshotCell(Snapshot(state: state, position: position, hash: positionHash, streamVersions: streamVersions))
        (state, streamVersions) = (RegisterState(), [:])
        let outcome: Result<Done, any Error>
        do {
            outcome = .success(try await db.transactionInPipelines { c in try Self.runBatch(c, cell, limit: size) })
        } catch {
            outcome = .failure(error)
        }
        var snapshot: Snapshot, journal: Snapshot.Journal
        (snapshot, journal) = cell.take()
        if case .failure = outcome { snapshot.undo(journal) }  // also a COMMIT that failed after the batch
        adopt(snapshot)
        do {
            let done = try outcome.get()
            if done.rebuiltFrom != nil { noteRebuild(done.rebuiltFrom, logger: logger) }
            if isolating > 0 && done.result.processed > 0 { isolating -= 1 }
            for rejection in done.rejections {
                logger.info("command rejected", metadata: rejection.metadata)
            }
            return done.result
        } catch let failure as CatchUpFailure {
            // Nothing was decided; the state kept is what was folded (a prefix of the log, hash-checked next time).
            if failure.rebuiltFrom != nil { noteRebuild(failure.rebuiltFrom, logger: logger) }
            throw failure.underlying
        } catch let failure as BatchFailure {
            if let error = failure.underlying as? PostgresError, error.kind == .connection { throw error }
            guard let first = failure.commands.first else { throw failure.underlying }
            if failure.commands.count > 1 {
                logger.warning("batch failed; retrying its commands one at a time",
                               metadata: ["commands": "\(failure.commands.count)", "error": "\(failure.underlying)"])
                isolating = failure.commands.count
                return BatchResult()
            }
            let recorded = try await CommandProcessor.recordFailure(
                first, error: failure.underlying, daemonID: configuration.daemonID, maxAttempts: configuration.maxAttempts, on: db)
            if isolating > 0 { isolating -= 1 }
            var metadata = first.metadata
            metadata["error"] = "\(failure.underlying)"
            metadata["error_code"] = "internal_error"
            guard recorded.applied else {
                // Another daemon decided or failed this command since our claim: our record is stale.
                metadata["attempts"] = "\(recorded.attempts)"
                logger.warning("stale failure record ignored: the command was decided or failed by another daemon",
                               metadata: metadata)
                return BatchResult()
            }
            metadata["attempts"] = "\(recorded.attempts)"
            metadata["dead_letter"] = "\(recorded.deadLetter)"
            logger.error("command failed", metadata: metadata)
            return BatchResult(failed: 1)
        }
    }

    private mutating func adopt(_ snapshot: Snapshot) {
        (state, position, positionHash, streamVersions) = (snapshot.state, snapshot.position, snapshot.hash, snapshot.streamVersions)
    }

    private mutating func noteRebuild(_ from: Int64?, logger: Logger) {
        rebuilds += 1
        logger.critical(
            "the log is not the one this daemon had folded (database restored, failed over or rewound): state rebuilt from the log",
            metadata: ["was_at_position": "\(from ?? 0)", "now_at_position": "\(position)"])
    }

    struct Snapshot: Sendable {
        var state = RegisterState()
        var position: Int64 = 0
        var hash: [UInt8] = []
        var streamVersions: [String: Int] = [:]

        /// What a batch changed in a snapshot (see `RegisterJournal`): the position and hash
        /// before it, and each stream version it changed as it was before.
        struct Journal: Sendable {
            var state = RegisterJournal()
            var streamVersions: [String: Int?] = [:]
            var position: Int64?
            var hash: [UInt8]?
        }

        /// Returns to the snapshot as it was when `journal` was started.
        mutating func undo(_ journal: Journal) {
            state.undo(journal.state)
            streamVersions.restore(journal.streamVersions)
            if let position = journal.position { self.position = position }
            if let hash = journal.hash { self.hash = hash }
        }
    }

    /// The processor's snapshot while a batch runs on the connection's executor: moved in and
    /// out, never shared, with the journal of what the batch changed in it (empty unless a
    /// batch was decided: its changes are undone when the transaction does not commit).
    final class SnapshotCell: Sendable {
        private let slot: Mutex<(snapshot: Snapshot, journal: Snapshot.Journal)>

        init(_ snapshot: Snapshot) {
            slot = Mutex((snapshot, Snapshot.Journal()))
        }

        /// Takes the snapshot and journal out, leaving an empty snapshot (so the caller holds the only reference).
        func take() -> (snapshot: Snapshot, journal: Snapshot.Journal) {
            slot.withLock { slot in
                let value = slot
                slot = (Snapshot(), Snapshot.Journal())
                return value
            }
        }

        func put(_ snapshot: Snapshot, journal: Snapshot.Journal = Snapshot.Journal()) {
            slot.withLock { $0 = (snapshot, journal) }
        }
    }

    /// The batch failed after commands were claimed; nothing of it committed.
    struct BatchFailure: Error {
        var commands: [Claimed]
        var underlying: any Error
    }

    /// The batch failed before deciding anything (lock, claim or catch-up); the cell holds what was folded.
    struct CatchUpFailure: Error {
        var rebuiltFrom: Int64?
        var underlying: any Error
    }

    /// A claimed command; `attempts` is the claim's fence.
    struct Claimed: Sendable {
        var id: UUID
        var type: String
        var payload: String
        var submittedBy: String
        var submittedAt: Timestamp
        var attempts: Int = 0

        var agencyID: String? {
            guard let object = try? JSONSerialization.jsonObject(with: Data(payload.utf8)) as? [String: Any] else { return nil }
            return object["agency_id"] as? String
        }

        var metadata: Logger.Metadata {
            ["command_id": "\(id.uuidString.lowercased())", "command_type": "\(type)", "agency_id": "\(agencyID ?? "-")"]
        }
    }

    struct Done: Sendable {
        var result: BatchResult
        var rebuiltFrom: Int64?
        var rejections: [Rejected]
    }

    struct Rejected: Sendable {
        var command: Claimed
        var code: String
        var metadata: Logger.Metadata {
            var metadata = command.metadata
            metadata["error_code"] = "\(code)"
            return metadata
        }
    }

    /// Runs one batch on the snapshot in `cell`, and leaves there the snapshot after it
    /// (with the journal of the batch's changes) or, when it throws, what it had folded (with
    /// the journal of the changes to undo).
    private static func runBatch(_ c: isolated Connection, _ cell: SnapshotCell, limit: Int) throws -> Done {
        var snapshot = cell.take().snapshot
        let start = (position: snapshot.position, hash: snapshot.hash)
        var rebuiltFrom: Int64?
        let claimed: [Claimed]
        do {
            // BEGIN travels with the batch's first statements (one round trip less); the
            // COMMIT with its writes (BatchWriter).
            let opening = try c.pipeline([
                Statement("BEGIN"),
                Statement("SELECT head_position, known_hash FROM writer_lock_acquire($1)", [start.position]),
                Statement(
                    "SELECT command_id, command_type, payload, submitted_by, submitted_at, attempts FROM claim_commands($1)",
                    [limit]),
            ])
            guard opening.count == 3, let head = opening[1].rows.first else {
                throw PostgresError(kind: .protocolViolation, message: "writer_lock_acquire returned no row")
            }
            let headPosition: Int64 = try head.decode(0)
            let knownHash: [UInt8]? = try head.decodeIfPresent(1)
            if start.position > 0 && knownHash != start.hash {
                rebuiltFrom = start.position
                snapshot = Snapshot()
            }
            claimed = try opening[2].rows.map {
                Claimed(id: try $0.decode(0), type: try $0.decode(1), payload: try $0.decode(2),
                        submittedBy: try $0.decode(3), submittedAt: try $0.decode(4), attempts: try $0.decode(5))
            }
            if snapshot.position == 0 && headPosition > 0 { try startFromSnapshot(c, &snapshot, head: headPosition) }
            if headPosition > snapshot.position { try catchUp(c, &snapshot) }
        } catch {
            cell.put(snapshot)
            throw CatchUpFailure(rebuiltFrom: rebuiltFrom, underlying: error)
        }
        if claimed.isEmpty {
            cell.put(snapshot)
            // Nothing was written: a rollback ends the transaction without a WAL flush (the
            // writer's row lock made it a writing transaction, whose COMMIT would wait for one).
            try c.executeScript("ROLLBACK")
            return Done(result: BatchResult(), rebuiltFrom: rebuiltFrom, rejections: [])
        }
        var plan = BatchPlan(snapshot: consume snapshot)
        do {
            let today = FloridaDate(floridaDateOf: Date())
            for command in claimed { plan.add(command, today: today) }
            let writes = try BatchWriter(plan: plan)
            let results = try c.pipeline(writes.statements)
            try writes.check(results)
            // The writer shares the plan's register; nothing changes it again in this batch.
            if let head = try writes.headHash(results) { plan.snapshot.hash = head }
            cell.put(plan.snapshot, journal: plan.journal)
            return Done(result: plan.result, rebuiltFrom: rebuiltFrom, rejections: plan.rejections)
        } catch {
            cell.put(plan.snapshot, journal: plan.journal)
            throw BatchFailure(commands: claimed, underlying: error)
        }
    }

    /// A processor with nothing folded (a daemon starting, or one that found its log rewound)
    /// starts from the newest usable register snapshot at or below the head (`Snapshots.newest`:
    /// this format, and the log's own hash at its position, read under the writer's lock in this
    /// transaction) instead of position 0; `catchUp` then folds the events after it. Without a
    /// usable snapshot it leaves the processor at position 0 (the whole log is folded).
    ///
    /// The stream versions are read from the log in one query: every stream's version at the
    /// head, which is what they are once `catchUp` has folded the events after the snapshot
    /// (and nothing is decided before it has).
    ///
    /// Cost at a million events (Florida's size): one snapshot decode and one scan of `events`
    /// for the versions (about 0.2 s, linear in events), instead of folding every event (4.4-4.8 s
    /// of CPU; docs/architecture.md, "Snapshots").
    static func startFromSnapshot(_ c: isolated Connection, _ snapshot: inout Snapshot, head: Int64) throws {
        guard let loaded = try Snapshots.newest(atOrBelow: head, on: c) else { return }
        let rows = try c.query(
            "SELECT stream_id, max(stream_version) FROM events GROUP BY stream_id", name: "stream versions").rows
        var versions: [String: Int] = [:]
        versions.reserveCapacity(rows.count)
        for row in rows { versions[try row.decode(0)] = try row.decode(1) }
        snapshot = Snapshot(state: loaded.state, position: loaded.position, hash: loaded.eventHash, streamVersions: versions)
        c.logger.info("register loaded from a snapshot", metadata: [
            "position": "\(loaded.position)", "head": "\(head)", "bytes": "\(loaded.bytes)", "streams": "\(versions.count)"])
    }

    /// Folds every event after the snapshot's position into it, event by event, so that on an
    /// unreadable event the snapshot holds exactly the prefix before it.
    static func catchUp(_ c: isolated Connection, _ snapshot: inout Snapshot) throws {
        let decoder = JSONDecoder()  // one for the whole catch-up
        while true {
            let events = try EventStore.readAll(after: snapshot.position, limit: 5_000, on: c)
            if events.isEmpty { return }
            for event in events {
                guard event.globalPosition == snapshot.position + 1 else {
                    throw PostgresError(kind: .protocolViolation,
                                        message: "the log skips from position \(snapshot.position) to \(event.globalPosition)")
                }
                snapshot.state.apply(try event.domainEvent(using: decoder), stream: event.streamID)
                snapshot.streamVersions[event.streamID] = event.streamVersion
                snapshot.position = event.globalPosition
                snapshot.hash = event.hash
            }
        }
    }
}

/// A failure record's result: whether it applied (the claim was still current), and the
/// command's attempts and dead-letter state as they now stand.
struct FailureRecord: Sendable {
    var applied: Bool
    var attempts: Int
    var deadLetter: Bool
}

extension CommandProcessor {
    /// Records an unexpected failure through `record_command_failure` (fenced by the attempts
    /// the command was claimed at; backoff 2^(attempts-1) s, or `failed` after `maxAttempts`).
    fileprivate static func recordFailure(
        _ command: CommandProcessor.Claimed, error: any Error, daemonID: String, maxAttempts: Int, on connection: isolated Connection
    ) throws -> FailureRecord {
        let row = try connection.query(
            "SELECT applied, attempts, dead_letter FROM record_command_failure($1, $2, $3, $4, $5, $6)",
            [command.id, command.attempts, "internal_error", String("\(error)".prefix(2000)), daemonID, maxAttempts],
            name: "record failure"
        ).rows.first
        guard let row else { return FailureRecord(applied: false, attempts: 0, deadLetter: false) }
        return FailureRecord(applied: try row.decode(0), attempts: try row.decodeIfPresent(1) ?? 0,
                             deadLetter: try row.decodeIfPresent(2) ?? false)
    }
}
