import Foundation

// What the daemon needs to sleep on an empty queue without missing a submission:
// its idle mark in `queue_sleepers` (submissions NOTIFY only while a daemon is marked
// idle) and the time until the next command is due. The waiting itself is
// `DaemonService`'s.

/// The daemon's idle marks in `queue_sleepers` and the time until the queue can move.
public enum QueueSleepers {
    /// Marks this session's daemon as idle, so that submissions send a NOTIFY
    /// (see `queue_sleepers` in Sql/0002_command_queue.sql). Call on the listening
    /// connection, then check the queue once more before waiting: a command
    /// submitted just before the mark may have sent no notification.
    public static func markSleeping(on connection: isolated Connection) throws {
        try connection.query("INSERT INTO queue_sleepers (backend_pid) VALUES (pg_backend_pid()) ON CONFLICT DO NOTHING")
    }

    /// Marks this session's daemon as busy again: submissions stop notifying.
    public static func markAwake(on connection: isolated Connection) throws {
        try connection.query("DELETE FROM queue_sleepers WHERE backend_pid = pg_backend_pid()")
    }

    /// Removes the idle marks of sessions that no longer exist (a daemon that was killed).
    public static func removeStale(on connection: isolated Connection) throws {
        try connection.query("DELETE FROM queue_sleepers WHERE backend_pid NOT IN (SELECT pid FROM pg_stat_activity)")
    }

    /// How long until the queue can move: zero when a command is due now, nil when the queue
    /// has no pending command. Commands are decided in `(greatest(available_at, submitted_at),
    /// seq)` order and one waiting for a retry (`retry_at`) blocks the ones after it, so this is
    /// the later of the first pending command's due time and `retry_at`.
    public static func timeUntilNextDueCommand(on connection: isolated Connection) throws -> Duration? {
        let rows = try connection.query(
            """
            SELECT extract(epoch FROM greatest(available_at, submitted_at, retry_at) - clock_timestamp())::float8
            FROM commands WHERE status = 'pending' ORDER BY greatest(available_at, submitted_at), seq LIMIT 1
            """, name: "next due command").rows
        guard let row = rows.first, let seconds = try row.decodeIfPresent(0, as: Double.self), seconds.isFinite else {
            return nil
        }
        // At most a day: the caller re-checks at least every poll interval anyway.
        return seconds <= 0 ? .zero : .milliseconds(Int64(min(seconds, 86_400) * 1000) + 1)
    }
}
