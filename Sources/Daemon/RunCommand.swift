import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import Workflow

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the daemon: decide queued commands, exactly once each.",
        discussion: """
            Takes the writer's lock, claims due commands in queue order (available_at, then \
            submission; a command waiting for a retry holds back the ones after it), proves its \
            state current against the log, decides each command and in one transaction per batch \
            appends the events, updates the inline projections (agreement_status, \
            termination_requests, board_docket) and records every outcome. A second service \
            keeps the agency_timeline catch-up projection up to date.

            Idle, it waits for a NOTIFY (submissions notify only while a daemon is idle) and \
            also polls every --poll-interval, and wakes for durable timers (the WSO 90-day end). \
            Several daemons may run at once; a frozen one loses the writer's lock within about \
            5 s. Reconnects when the database restarts; stops deciding (and says so) while the \
            log holds an event this version cannot read. \
            SIGTERM or SIGINT: finishes the batch in flight and exits 0.
            """)

    @OptionGroup var db: DatabaseOptions
    @Option(help: "Commands decided per transaction (1-10000).") var batchSize = 200
    @Option(help: "Unexpected failures before a command is marked failed (dead letter).") var maxAttempts = 5
    @Option(help: "Longest idle wait between queue checks, in milliseconds.") var pollInterval = 1000
    @Option(help: "Log lines as text or json (one JSON object per line).") var logFormat: LogFormat = .text
    @Flag(help: "Process what is due now, then exit (no waiting).") var once = false
    // Issue 19 (checkpoints): a separate Service in the same group; see CheckpointService.
    @Option(help: "Sign checkpoints of the log with this Ed25519 key file (daily and after each Board decision).")
    var checkpointKey: String?

    func run() async throws {
        LoggingBootstrap.once(level: db.logLevel, format: logFormat)
        let logger = db.logger("sbie.daemon")
        var configuration = CommandProcessor.Configuration()
        configuration.batchSize = min(max(1, batchSize), 10_000)
        // The SQL that records a failure compares attempts (integer) with it: keep it in range.
        configuration.maxAttempts = min(max(1, maxAttempts), 1_000)
        let poll = Duration.milliseconds(min(max(10, pollInterval), 3_600_000))  // 10 ms .. 1 h
        let daemon = DaemonService(conninfo: db.conninfo, configuration: configuration, pollInterval: poll,
                                   once: once, logger: logger)
        let timeline = AgencyTimelineService(conninfo: db.conninfo, pollInterval: poll, once: once,
                                             logger: db.logger("sbie.timeline"))
        // Issue 19 (checkpoints): the signer runs beside the daemon when given a key (not with --once).
        let checkpoints = try checkpointKey.flatMap { once ? nil : try loadCheckpointKey($0) }
            .map { CheckpointService(conninfo: db.conninfo, key: $0, logger: db.logger("sbie.checkpoints")) }
        do {
            if once {
                // Not long-running: decide what is due, then bring the timeline up to date.
                try await daemon.run()
                try await timeline.run()
                return
            }
            var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
                .init(service: daemon, successTerminationBehavior: .gracefullyShutdownGroup),
                .init(service: timeline, successTerminationBehavior: .gracefullyShutdownGroup)]
            // Issue 17 item 6: register snapshots for point-in-time reads (see Snapshots).
            services.append(.init(service: SnapshotService(conninfo: db.conninfo, logger: db.logger("sbie.snapshots")),
                                  successTerminationBehavior: .gracefullyShutdownGroup))
            if let checkpoints {
                services.append(.init(service: checkpoints, successTerminationBehavior: .gracefullyShutdownGroup))
            }
            let group = ServiceGroup(configuration: .init(
                services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
            try await group.run()
        } catch let error as DaemonService.Fatal {
            printError(error.message)
            throw ExitCode(2)
        }
    }
}

enum LogFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json
}

/// One JSON object per line on standard error: time (UTC, ISO 8601), level, label, message,
/// and the metadata's keys at the top level.
struct JSONLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let explicit = event.metadata
        let (level, message) = (event.level, event.message)
        var fields: [String: String] = [:]
        for (key, value) in metadata.merging(explicit ?? [:], uniquingKeysWith: { $1 }) { fields[key] = "\(value)" }
        fields["time"] = Timestamp(Date()).iso8601
        fields["level"] = level.rawValue
        fields["label"] = label
        fields["message"] = message.description
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(fields) else { return }
        FileHandle.standardError.write(data + Data("\n".utf8))
    }
}
