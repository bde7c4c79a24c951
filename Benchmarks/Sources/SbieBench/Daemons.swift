import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import Workflow

// MARK: - The daemons

/// Whatever decides the queued commands during the commands cases.
protocol BenchDaemon: Sendable {
    /// Why it stopped early, if it did.
    var failure: String? { get }
    var sleeps: Int? { get }
    var batches: Int? { get }
    func stopAndWait() async throws
}

/// `sbie run` as a child process, stopped with SIGTERM.
final class ChildDaemon: BenchDaemon {
    private let process: Process
    private let log: URL
    private let stopping = Atomic<Bool>(false)
    private let exited = Mutex<CheckedContinuation<Void, Never>?>(nil)
    private let exitStatus = Mutex<Int32?>(nil)

    private init(process: Process, log: URL) {
        (self.process, self.log) = (process, log)
    }

    static func start(sbie executable: String, dsn: String, workDirectory: URL) async throws -> ChildDaemon {
        let log = workDirectory.appendingPathComponent("sbie-run.log")
        let process = try makeProcess(executable, ["run", "--database", dsn, "--log-level", "warning"], output: log)
        let daemon = ChildDaemon(process: process, log: log)
        process.terminationHandler = { finished in daemon.terminated(finished.terminationStatus) }
        try launch(process)
        return daemon
    }

    private func terminated(_ status: Int32) {
        exitStatus.withLock { $0 = status }
        exited.withLock { continuation in
            continuation?.resume()
            continuation = nil
        }
    }

    var failure: String? {
        guard let status = exitStatus.withLock({ $0 }), !stopping.load(ordering: .relaxed) else { return nil }
        let output = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        return "sbie run exited with status \(status):\n\(output.suffix(2000))"
    }
    var sleeps: Int? { nil }
    var batches: Int? { nil }

    func stopAndWait() async throws {
        stopping.store(true, ordering: .relaxed)
        await withCheckedContinuation { continuation in
            let done = exited.withLock { waiting in
                if exitStatus.withLock({ $0 }) != nil { return true }
                waiting = continuation
                return false
            }
            if done {
                continuation.resume()
            } else {
                process.terminate()  // SIGTERM: finish the batch in flight, exit 0
            }
        }
        if let status = exitStatus.withLock({ $0 }), status != 0 {
            throw BenchError("sbie run exited with status \(status) after SIGTERM")
        }
    }
}

/// The loop that ships: the library's `DaemonService` and `AgencyTimelineService` composed in a
/// `ServiceGroup`, as `sbie run` composes them, running in this process beside the clients.
final class ServiceDaemon: BenchDaemon {
    let status = DaemonStatus()
    private let failureText = Mutex<String?>(nil)

    var failure: String? { failureText.withLock { $0 } }
    var sleeps: Int? { nil }
    var batches: Int? { nil }

    /// Runs `body` while the services run (structured: the group runs in a child task), then
    /// shuts the group down gracefully (the batch in flight finishes) and waits for it.
    static func run<T: Sendable>(
        dsn: String, logger: Logger, _ body: (ServiceDaemon) async throws -> T
    ) async throws -> T {
        let daemon = ServiceDaemon()
        let group = ServiceGroup(configuration: .init(
            services: [
                .init(service: DaemonService(conninfo: dsn, status: daemon.status, logger: logger)),
                .init(service: AgencyTimelineService(conninfo: dsn, logger: logger)),
            ],
            logger: logger))
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask {
                do {
                    try await group.run()
                } catch {
                    daemon.failureText.withLock { $0 = "\(error)" }
                    throw error
                }
            }
            do {
                let deadline = ContinuousClock.now.advanced(by: .seconds(30))
                while !daemon.status.isReady {
                    if let failure = daemon.failure { throw BenchError("the daemon failed: \(failure)") }
                    guard ContinuousClock.now < deadline else {
                        throw BenchError("the daemon is not ready after 30 s: \(daemon.status.readiness)")
                    }
                    try await Task.sleep(for: .milliseconds(10))
                }
                let result = try await body(daemon)
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
                return result
            } catch {
                await group.triggerGracefulShutdown()
                tasks.cancelAll()
                throw error
            }
        }
    }

    func stopAndWait() async throws {}
}
