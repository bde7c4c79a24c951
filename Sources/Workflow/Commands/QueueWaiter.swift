import Foundation

extension Connection {
    /// Marks this session's daemon as idle, so that submissions send a NOTIFY
    /// (see `queue_sleepers` in Sql/0002_command_queue.sql). Call on the listening
    /// connection, then check the queue once more before waiting: a command
    /// submitted just before the mark may have sent no notification.
    public func markDaemonSleeping() throws {
        try query("INSERT INTO queue_sleepers (backend_pid) VALUES (pg_backend_pid()) ON CONFLICT DO NOTHING")
    }

    /// Marks this session's daemon as busy again: submissions stop notifying.
    public func markDaemonAwake() throws {
        try query("DELETE FROM queue_sleepers WHERE backend_pid = pg_backend_pid()")
    }

    /// Removes the idle marks of sessions that no longer exist (a daemon that was killed).
    public func removeStaleSleepers() throws {
        try query("DELETE FROM queue_sleepers WHERE backend_pid NOT IN (SELECT pid FROM pg_stat_activity)")
    }

    /// How long until the next pending command is due: zero when one is due now,
    /// nil when the queue has no pending command.
    public func timeUntilNextDueCommand() throws -> Duration? {
        let row = try query(
            "SELECT extract(epoch FROM min(available_at) - clock_timestamp())::float8 FROM commands WHERE status = 'pending'"
        ).rows[0]
        guard let seconds = try row.decodeIfPresent(0, as: Double.self) else { return nil }
        return seconds <= 0 ? .zero : .milliseconds(Int64(seconds * 1000) + 1)
    }
}
