import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import Workflow

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the daemon: decide queued commands, exactly once each.",
        discussion: """
            Claims due commands in batches (FOR UPDATE SKIP LOCKED), decides each against the \
            current state folded from the log, and in one transaction per batch appends the \
            events, updates the inline projections (agreement_status, termination_requests, \
            board_docket) and records every outcome. Then brings the agency_timeline catch-up \
            projection up to date.

            Idle, it waits for a NOTIFY (submissions notify only while a daemon is idle) and \
            also polls every --poll-interval, and wakes for durable timers (the WSO 90-day end). \
            Several daemons may run at once. Reconnects when the database restarts. \
            SIGTERM or SIGINT: finishes the batch in flight and exits 0.
            """)

    @OptionGroup var db: DatabaseOptions
    @Option(help: "Commands decided per transaction.") var batchSize = 200
    @Option(help: "Unexpected failures before a command is marked failed (dead letter).") var maxAttempts = 5
    @Option(help: "Longest idle wait between queue checks, in milliseconds.") var pollInterval = 1000
    @Flag(help: "Process what is due now, then exit (no waiting).") var once = false
    // Issue 19 (checkpoints): a separate Service in the same group; see CheckpointService.
    @Option(help: "Sign checkpoints of the log with this Ed25519 key file (daily and after each Board decision).")
    var checkpointKey: String?

    func run() async throws {
        let logger = db.logger("sbie.daemon")
        var configuration = CommandProcessor.Configuration()
        configuration.batchSize = max(1, batchSize)
        configuration.maxAttempts = max(1, maxAttempts)
        let daemon = DaemonService(
            conninfo: db.conninfo, configuration: configuration,
            pollInterval: .milliseconds(max(10, pollInterval)), once: once, logger: logger)
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: daemon, successTerminationBehavior: .gracefullyShutdownGroup)]
        // Issue 19 (checkpoints): the signer runs beside the daemon when given a key (not with --once).
        if let checkpointKey, !once {
            let key = try loadCheckpointKey(checkpointKey)
            services.append(.init(service: CheckpointService(conninfo: db.conninfo, key: key, logger: logger),
                                  successTerminationBehavior: .gracefullyShutdownGroup))
        }
        let group = ServiceGroup(
            configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        do {
            try await group.run()
        } catch let error as DaemonService.Fatal {
            printError(error.message)
            throw ExitCode(2)
        }
    }
}

/// The daemon's main loop, as a swift-service-lifecycle `Service`.
struct DaemonService: Service {
    let conninfo: String
    let configuration: CommandProcessor.Configuration
    let pollInterval: Duration
    let once: Bool
    let logger: Logger

    /// An error the daemon does not retry: it cannot start (the first connection
    /// failed), its login lacks the privileges, or `--once` met any error.
    struct Fatal: Error { var message: String }

    func run() async throws {
        var processor = CommandProcessor(configuration: configuration)
        var backoff = Duration.milliseconds(250)
        var connectedOnce = false
        logger.info("daemon starting", metadata: ["batch_size": "\(configuration.batchSize)", "pid": "\(getpid())"])
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                let worker = try await Connection.connect(conninfo, logger: logger)
                let listener = try await Connection.connect(conninfo, logger: logger)
                try await listener.listen("sbie_commands")
                try await listener.removeStaleSleepers()
                let pid = await worker.backendPID
                logger.info("connected", metadata: ["worker_backend_pid": "\(pid)"])
                connectedOnce = true
                backoff = .milliseconds(250)
                try await loop(&processor, worker: worker, listener: listener)
                return
            } catch let error as PostgresError where error.sqlState == PostgresError.State.insufficientPrivilege {
                throw Fatal(message: "this login may not run the daemon (\(error.message)); "
                                + "use a workflow_daemon login: sbie login create-daemon NAME")
            } catch let error as PostgresError where !connectedOnce || once {
                throw Fatal(message: "cannot \(connectedOnce ? "continue" : "start"): \(error.message)")
            } catch let error as PostgresError where error.kind == .connection {
                logger.warning("database unavailable; reconnecting", metadata: [
                    "error": "\(error.message)", "retry_in": "\(backoff)",
                ])
                try? await Task.sleep(for: backoff)
                backoff = min(backoff * 2, .seconds(5))
            } catch {
                if once || !connectedOnce { throw Fatal(message: "cannot \(connectedOnce ? "continue" : "start"): \(error)") }
                // Failures of single commands are recorded on the commands; what reaches
                // here is the daemon's own trouble. Keep running: reconnect and go on.
                logger.error("daemon loop failed; restarting it", metadata: [
                    "error": "\(error)", "retry_in": "\(backoff)",
                ])
                try? await Task.sleep(for: backoff)
                backoff = min(backoff * 2, .seconds(5))
            }
        }
        logger.info("daemon stopped")
    }

    private func loop(_ processor: inout CommandProcessor, worker: Connection, listener: Connection) async throws {
        var timelineUpdated = ContinuousClock.now
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let result = try await processor.processBatch(on: worker, logger: logger)
            if result.processed > 0 {
                logger.info("batch done", metadata: [
                    "accepted": "\(result.accepted)", "rejected": "\(result.rejected)", "failed": "\(result.failed)",
                    "events": "\(result.eventsAppended)", "position": "\(processor.position)",
                ])
                // The catch-up projection follows at most once a second while busy.
                if ContinuousClock.now - timelineUpdated > .seconds(1) {
                    try await AgencyTimeline.catchUp(on: worker)
                    timelineUpdated = ContinuousClock.now
                }
                continue
            }
            try await AgencyTimeline.catchUp(on: worker)
            timelineUpdated = ContinuousClock.now
            if once { return }
            // Idle: ask submitters to notify, check once more, then wait for a hint,
            // the next timer or the poll interval, whichever comes first.
            try await listener.markDaemonSleeping()
            var wait = pollInterval
            if let due = try await worker.timeUntilNextDueCommand() { wait = min(wait, due) }
            if wait > .zero {
                let deadline = ContinuousClock.now.advanced(by: wait)
                while !Task.isShuttingDownGracefully && !Task.isCancelled {
                    let remaining = ContinuousClock.now.duration(to: deadline)
                    if remaining <= .zero { break }
                    if try await listener.waitForNotification(timeout: min(remaining, .milliseconds(200))) != nil { break }
                }
            }
            try await listener.markDaemonAwake()
        }
        logger.info("shutting down gracefully", metadata: ["position": "\(processor.position)"])
    }
}
