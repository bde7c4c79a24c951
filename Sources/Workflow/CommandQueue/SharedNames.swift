/// Names the Swift side shares with PostgreSQL, each written once in Swift.
///
/// The SQL side writes the same values in the migrations named (migrations are
/// applied once and never edited, so they keep their literals).
public enum SharedNames {
    /// NOTIFY channels.
    public enum Channel {
        /// A command was submitted while a daemon was marked idle
        /// (`submit_command`, Sql/0002_command_queue.sql). The daemon listens.
        public static let commands = "sbie_commands"
        /// The daemon recorded outcomes (the last statement of each batch). Clients
        /// waiting for their commands' outcomes listen.
        public static let outcomes = "sbie_outcomes"
    }

    /// Advisory lock keys (`pg_advisory_lock` / `pg_advisory_xact_lock`), all in the
    /// range 287000000… so they are recognisable in `pg_locks`.
    public enum AdvisoryLock {
        /// Serialises migration runs (session-level, held by `Migrator`).
        public static let migrations: Int64 = 287_000_000
        /// The event append path before the writer's lock row (Sql/0001_event_store.sql).
        public static let appendEvents: Int64 = 287_000_001
        /// Creating the project's roles in a migration (Sql/0004_roles_and_security.sql,
        /// Sql/0007_security.sql).
        public static let roles: Int64 = 287_000_002
        /// One ICE edition import at a time (Sql/0008_editions.sql and `submitEdition`).
        public static let editionImport: Int64 = 287_000_012
    }
}
