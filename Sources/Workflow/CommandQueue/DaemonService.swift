import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// Whether the daemon is deciding commands, readable by anyone (e.g. an HTTP health check).
public final class DaemonStatus: Sendable {
    public enum Readiness: Sendable, Equatable, CustomStringConvertible {
        /// Not connected yet.
        case starting
        /// Deciding commands (or idle with its state current).
        case ready
        /// The database cannot be reached; the daemon reconnects.
        case databaseUnavailable(String)
        /// The log holds an event this version cannot read; nothing is decided until it can.
        case unreadableEvent(UnreadableEvent)
        /// The run ended.
        case stopped

        public var description: String {
            switch self {
            case .starting: return "starting"
            case .ready: return "ready"
            case .databaseUnavailable(let message): return "database unavailable: \(message)"
            case .unreadableEvent(let event): return "not ready: \(event)"
            case .stopped: return "stopped"
            }
        }
    }

    private let value = Mutex<Readiness>(.starting)

    public init() {}

    public var readiness: Readiness { value.withLock { $0 } }
    /// True only while the daemon can decide commands.
    public var isReady: Bool { readiness == .ready }

    func set(_ readiness: Readiness) { value.withLock { $0 = readiness } }
}

/// The daemon's main loop, a swift-service-lifecycle `Service`: decides queued commands
/// with a `CommandProcessor` until graceful shutdown (SIGTERM/SIGINT in `sbie run`), then
/// finishes the batch in flight and returns.
///
/// Never exits on data or database trouble: it reconnects when the connection is lost
/// (250 ms doubling to 5 s), retries a failed batch with backoff, waits when the writer's
/// lock is busy, and stops deciding while the log holds an event it cannot read
/// (`status` says why; logged once per `unreadableLogInterval`), resuming by itself.
/// Only `Fatal` is thrown: the first connection failed, the login lacks privileges, or
/// `once` met any error.
///
/// Its writer session runs with `idle_in_transaction_session_timeout` (5 s), `lock_timeout`
/// (3 s) and TCP keepalives / `tcp_user_timeout` on both ends, so a frozen or partitioned
/// daemon loses its session, and with it the writer's lock, within seconds (see
/// docs/architecture.md, "Writer lock and takeover").
public struct DaemonService: Service {
    public let conninfo: String
    public let configuration: CommandProcessor.Configuration
    /// Longest idle wait between queue checks.
    public let pollInterval: Duration
    /// Process what is due now, then return.
    public let once: Bool
    public let status: DaemonStatus
    /// How often an unreadable event is logged again while it blocks the daemon.
    public var unreadableLogInterval: Duration = .seconds(30)
    let logger: Logger

    /// An error the daemon does not retry.
    public struct Fatal: Error, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    /// Session settings of the writer connection: how fast a frozen or partitioned daemon
    /// loses its transaction (and the writer's lock), and how long a lock wait lasts before
    /// it is logged and retried.
    public static let writerSessionSettings = """
        SET idle_in_transaction_session_timeout = '5s'; SET lock_timeout = '3s';
        SET tcp_keepalives_idle = 5; SET tcp_keepalives_interval = 2; SET tcp_keepalives_count = 3;
        SET tcp_user_timeout = 10000
        """

    public init(
        conninfo: String, configuration: CommandProcessor.Configuration = .init(), pollInterval: Duration = .seconds(1),
        once: Bool = false, status: DaemonStatus = DaemonStatus(), logger: Logger
    ) {
        self.conninfo = conninfo
        self.configuration = configuration
        self.pollInterval = pollInterval
        self.once = once
        self.status = status
        self.logger = logger
    }

    private var shouldStop: Bool { Task.isShuttingDownGracefully || Task.isCancelled }

    public func run() async throws {
        var processor = CommandProcessor(configuration: configuration)
        var backoff = Duration.milliseconds(250)
        var connectedOnce = false
        logger.info("daemon starting", metadata: [
            "batch_size": "\(configuration.batchSize)", "daemon_id": "\(configuration.daemonID)",
        ])
        defer { status.set(.stopped) }
        while !shouldStop {
            do {
                let worker = try await Connection.connect(Self.withKeepalives(conninfo), logger: logger)
                try await worker.executeScript(Self.writerSessionSettings, name: "writer session settings")
                let listener = try await Connection.connect(Self.withKeepalives(conninfo), logger: logger)
                try await listener.listen(SharedNames.Channel.commands)
                try await QueueSleepers.removeStale(on: listener)
                let pid = await worker.backendPID
                logger.info("connected", metadata: ["worker_backend_pid": "\(pid)"])
                connectedOnce = true
                backoff = .milliseconds(250)
                try await loop(&processor, worker: worker, listener: listener)
                await worker.close()
                await listener.close()
                break
            } catch let error as Fatal {
                throw error
            } catch let error as PostgresError where error.sqlState == PostgresError.State.insufficientPrivilege {
                throw Fatal(message: "this login may not run the daemon (\(error.message)); "
                                + "use a workflow_daemon login: sbie login create-daemon NAME")
            } catch let error as PostgresError where !connectedOnce || once {
                throw Fatal(message: "cannot \(connectedOnce ? "continue" : "start"): \(error.message)")
            } catch where once || !connectedOnce {
                throw Fatal(message: "cannot \(connectedOnce ? "continue" : "start"): \(error)")
            } catch {
                if let error = error as? PostgresError, error.kind == .connection {
                    status.set(.databaseUnavailable(error.message))
                    logger.warning("database unavailable; reconnecting",
                                   metadata: ["error": "\(error.message)", "retry_in": "\(backoff)"])
                } else {
                    logger.error("daemon loop failed; reconnecting", metadata: ["error": "\(error)", "retry_in": "\(backoff)"])
                }
                await pause(for: backoff)
                backoff = min(backoff * 2, .seconds(5))
            }
        }
        logger.info("daemon stopped", metadata: ["position": "\(processor.position)"])
    }

    private func loop(_ processor: inout CommandProcessor, worker: Connection, listener: Connection) async throws {
        var backoff = Duration.milliseconds(250)
        var unreadableLogged: (event: UnreadableEvent, at: ContinuousClock.Instant)?
        // The idle mark's removal, running on the listening connection while a batch runs.
        var awakening: Task<Void, Never>?
        while !shouldStop {
            do {
                let result = try await processor.processBatch(on: worker, logger: logger)
                backoff = .milliseconds(250)
                if !status.isReady {
                    if unreadableLogged != nil { logger.notice("the log is readable again: deciding commands") }
                    unreadableLogged = nil
                    status.set(.ready)
                }
                if result.processed > 0 {
                    logger.info("batch done", metadata: [
                        "accepted": "\(result.accepted)", "rejected": "\(result.rejected)", "failed": "\(result.failed)",
                        "events": "\(result.eventsAppended)", "position": "\(processor.position)",
                    ])
                    // More may be due: the next batch finds out (an empty batch rolls back, no flush).
                    continue
                }
                if once { return }
                try await idle(worker: worker, listener: listener, for: pollInterval, awakening: &awakening)
            } catch let error as PostgresError where error.kind == .connection {
                throw error
            } catch let error as PostgresError where error.sqlState == PostgresError.State.lockNotAvailable && !once {
                // lock_timeout: another session holds the writer's lock; its own timeouts end a stuck holder.
                logger.warning("the writer's lock is busy (held by another daemon or a rebuild); still waiting",
                               metadata: ["error": "\(error.message)"])
            } catch let event as UnreadableEvent {
                status.set(.unreadableEvent(event))
                if once { throw Fatal(message: "not ready: \(event)") }
                let now = ContinuousClock.now
                if unreadableLogged.map({ $0.event != event || now - $0.at >= unreadableLogInterval }) ?? true {
                    logger.error("not ready: the log holds an event this version cannot read; deciding nothing until it can",
                                 metadata: ["position": "\(event.globalPosition)", "event_type": "\(event.type)",
                                            "reason": "\(event.reason)"])
                    unreadableLogged = (event, now)
                }
                try await idle(worker: worker, listener: listener, for: pollInterval, awakening: &awakening)
            } catch {
                if once { throw Fatal(message: "cannot continue: \(error)") }
                // Nothing was decided (no command claimed, or its failure is recorded): wait, then retry.
                logger.error("batch failed before deciding any command; retrying",
                             metadata: ["error": "\(error)", "retry_in": "\(backoff)"])
                await pause(for: backoff)
                backoff = min(backoff * 2, .seconds(5))
                let open = await worker.isOpen, listening = await listener.isOpen
                if !open || !listening {
                    throw PostgresError(kind: .connection, message: "connection lost")
                }
            }
        }
        await awakening?.value
        logger.info("shutting down gracefully", metadata: ["position": "\(processor.position)"])
    }

    /// Idle: ask submitters to notify (`queue_sleepers`), look at the queue once more, then wait
    /// for a hint, the next due command or `limit`. On the way out the mark comes off on the
    /// listening connection while the batch that follows runs on the worker, so that the
    /// command that woke the daemon does not wait for it, and busy submitters stop notifying.
    private func idle(
        worker: Connection, listener: Connection, for limit: Duration, awakening: inout Task<Void, Never>?
    ) async throws {
        if let previous = awakening {
            await previous.value
            awakening = nil
        }
        try await QueueSleepers.markSleeping(on: listener)
        // Hints already here are older than the look at the queue below, which covers them.
        try await listener.drainNotifications()
        var wait = limit
        if let due = try await QueueSleepers.timeUntilNextDueCommand(on: worker) { wait = min(wait, due) }
        if wait > .zero {
            let deadline = ContinuousClock.now.advanced(by: wait)
            while !shouldStop {
                let remaining = ContinuousClock.now.duration(to: deadline)
                if remaining <= .zero { break }
                if try await listener.waitForNotification(timeout: min(remaining, .milliseconds(200))) != nil {
                    // Several submissions may have notified: one batch takes them all.
                    try await listener.drainNotifications()
                    break
                }
            }
        }
        // A failure here shows at the next markSleeping on this connection (then: reconnect).
        awakening = Task { try? await QueueSleepers.markAwake(on: listener) }
    }

    /// The connection string with client-side TCP keepalives and `tcp_user_timeout` (10 s)
    /// added, unless it sets them itself (libpq ignores them on Unix sockets).
    public static func withKeepalives(_ conninfo: String) -> String {
        let settings = [("keepalives", "1"), ("keepalives_idle", "5"), ("keepalives_interval", "2"),
                        ("keepalives_count", "3"), ("tcp_user_timeout", "10000")]
        if conninfo.hasPrefix("postgres://") || conninfo.hasPrefix("postgresql://") {
            guard var components = URLComponents(string: conninfo) else { return conninfo }
            var items = components.queryItems ?? []
            for (key, value) in settings where !items.contains(where: { $0.name == key }) {
                items.append(URLQueryItem(name: key, value: value))
            }
            components.queryItems = items
            return components.string ?? conninfo
        }
        // libpq takes the last value of a repeated keyword: ours go first, the caller's win.
        let ours = settings.map { "\($0.0)=\($0.1)" }.joined(separator: " ")
        return conninfo.isEmpty ? ours : "\(ours) \(conninfo)"
    }
}

/// Keeps the `agency_timeline` catch-up projection up to date, as its own `Service`: catches up
/// when the daemon announces outcomes (`sbie_outcomes`) and at least every `pollInterval`,
/// at most once per `minimumInterval`. Never exits on data or database trouble: errors are
/// logged and retried; an unreadable event is logged once per `unreadableLogInterval` and the
/// projection stays at the event before it until it is readable.
public struct AgencyTimelineService: Service {
    public let conninfo: String
    public let pollInterval: Duration
    public let minimumInterval: Duration
    /// Catch up once, then return.
    public let once: Bool
    public var unreadableLogInterval: Duration = .seconds(30)
    let logger: Logger

    public init(conninfo: String, pollInterval: Duration = .seconds(1), minimumInterval: Duration = .milliseconds(250),
                once: Bool = false, logger: Logger)
    {
        self.conninfo = conninfo
        self.pollInterval = pollInterval
        self.minimumInterval = minimumInterval
        self.once = once
        self.logger = logger
    }

    private var shouldStop: Bool { Task.isShuttingDownGracefully || Task.isCancelled }

    public func run() async throws {
        var backoff = Duration.milliseconds(250)
        var unreadableLogged: (event: UnreadableEvent, at: ContinuousClock.Instant)?
        var connection: Connection?
        while !shouldStop {
            do {
                let db: Connection
                if let connection, await connection.isOpen {
                    db = connection
                } else {
                    db = try await Connection.connect(DaemonService.withKeepalives(conninfo), logger: logger)
                    try await db.listen(SharedNames.Channel.outcomes)
                    connection = db
                }
                let started = ContinuousClock.now
                try await AgencyTimeline.catchUp(on: db)
                backoff = .milliseconds(250)
                unreadableLogged = nil
                if once { break }
                await pause(for: ContinuousClock.now.duration(to: started.advanced(by: minimumInterval)))
                try await waitForOutcomes(db)
            } catch let event as UnreadableEvent {
                if once { throw DaemonService.Fatal(message: "agency timeline: \(event)") }
                let now = ContinuousClock.now
                if unreadableLogged.map({ $0.event != event || now - $0.at >= unreadableLogInterval }) ?? true {
                    logger.error("agency timeline stopped at an event this version cannot read",
                                 metadata: ["position": "\(event.globalPosition)", "event_type": "\(event.type)",
                                            "reason": "\(event.reason)"])
                    unreadableLogged = (event, now)
                }
                await pause(for: pollInterval)
            } catch {
                if once { throw DaemonService.Fatal(message: "agency timeline: \(error)") }
                logger.warning("agency timeline catch-up failed; retrying", metadata: ["error": "\(error)", "retry_in": "\(backoff)"])
                if let error = error as? PostgresError, error.kind == .connection { connection = nil }
                await pause(for: backoff)
                backoff = min(backoff * 2, .seconds(5))
            }
        }
        if let connection { await connection.close() }
    }

    private func waitForOutcomes(_ db: Connection) async throws {
        let deadline = ContinuousClock.now.advanced(by: pollInterval)
        while !shouldStop {
            let remaining = ContinuousClock.now.duration(to: deadline)
            if remaining <= .zero { return }
            if try await db.waitForNotification(timeout: min(remaining, .milliseconds(200))) != nil {
                try await db.drainNotifications()
                return
            }
        }
    }
}

/// Sleeps for `duration`, or less when the service group shuts down gracefully (or the task is
/// cancelled): a reconnect backoff of up to 5 s must not hold up a SIGTERM.
func pause(for duration: Duration) async {
    guard duration > .zero else { return }
    try? await cancelWhenGracefulShutdown { try await Task.sleep(for: duration) }
}
