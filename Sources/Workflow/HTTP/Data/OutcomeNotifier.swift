import Foundation
import Logging

/// One LISTEN connection for the whole server: wakes command waiters (`Prefer: wait`) and
/// event-stream subscribers when the daemon records outcomes (`sbie_outcomes`, sent in the
/// same transaction as a batch's events). Notifications are hints: every waiter re-reads
/// the database after waking, and also wakes at its own timeout.
actor OutcomeNotifier {
    private var generation: UInt64 = 0
    private var waiters: [UUID: (after: UInt64, continuation: CheckedContinuation<Void, Never>)] = [:]
    private var task: Task<Void, Never>?

    /// Starts listening (reconnecting with back-off) on the authenticator's connection string.
    func start(conninfo: String, logger: Logger) {
        guard task == nil else { return }
        task = Task { [weak self] in
            var backoff = Duration.milliseconds(250)
            while !Task.isCancelled {
                do {
                    let listener = try await Connection.connect(conninfo, logger: logger)
                    try await listener.listen("sbie_outcomes")
                    backoff = .milliseconds(250)
                    await self?.bump()  // anything committed while nobody listened
                    while !Task.isCancelled {
                        if try await listener.waitForNotification(timeout: .milliseconds(500)) != nil {
                            await self?.bump()
                        }
                    }
                    await listener.close()
                } catch {
                    logger.warning("outcome listener lost its connection; reconnecting", metadata: ["error": "\(error)"])
                    try? await Task.sleep(for: backoff)
                    backoff = min(backoff * 2, .seconds(5))
                }
            }
        }
    }

    func stop() {
        task?.cancel()
        task = nil
        for (_, waiter) in waiters { waiter.continuation.resume() }
        waiters.removeAll()
    }

    /// The current generation; pass it to `wait(after:timeout:)` after reading the database.
    var current: UInt64 { generation }

    private func bump() {
        generation &+= 1
        let ready = waiters.filter { $0.value.after < generation }
        for (id, waiter) in ready {
            waiters[id] = nil
            waiter.continuation.resume()
        }
    }

    /// Returns once a notification newer than `after` arrived, or after `timeout`.
    func wait(after: UInt64, timeout: Duration) async {
        if generation > after { return }
        let id = UUID()
        let timer = Task { [weak self] in
            try? await Task.sleep(for: timeout)
            await self?.expire(id)
        }
        await withCheckedContinuation { continuation in
            waiters[id] = (after, continuation)
        }
        timer.cancel()
    }

    private func expire(_ id: UUID) {
        waiters.removeValue(forKey: id)?.continuation.resume()
    }
}
