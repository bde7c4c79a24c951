import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing
import Workflow

/// A primary and its hot standby, each a real PostgreSQL cluster of this test's own
/// (`start_cluster` and `start_standby` of scripts/lib.sh: initdb, then `pg_basebackup -R`),
/// socket only, in a temporary folder; stopped and removed by `stop()`.
struct ReplicaPair {
    let folder: URL
    /// The `sbie` database on the primary and on the standby, as the superuser `postgres`.
    let primary: String
    let standby: String

    /// Runs `script` with scripts/lib.sh sourced; returns its standard output. Output goes
    /// to files (PostgreSQL started by the script outlives it), and the exit is polled.
    static func shell(_ script: String, in folder: URL) async throws -> String {
        let lib = TestDatabase.root.appendingPathComponent("scripts/lib.sh").path
        let out = folder.appendingPathComponent("shell-\(UUID().uuidString.prefix(8)).out")
        let err = out.appendingPathExtension("err")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        // Foundation learns that a child exited when a socket the child inherits is closed by
        // every holder: close it (every descriptor above 2) so that the PostgreSQL servers
        // the script starts do not keep it open.
        let closeInherited = #"for fd in $(ls /proc/$$/fd); do [ "$fd" -gt 2 ] && eval "exec $fd>&-" 2>/dev/null; done; "#
        process.arguments = ["-c", closeInherited + "set -e; source '\(lib)'; (\(script)) >'\(out.path)' 2>'\(err.path)' </dev/null"]
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = ContinuousClock.now + .seconds(120)
        while process.isRunning, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        try #require(!process.isRunning, "\(script): still running after 120 s")
        let output = (try? String(contentsOf: out, encoding: .utf8)) ?? ""
        let errors = (try? String(contentsOf: err, encoding: .utf8)) ?? ""
        try #require(process.terminationStatus == 0, "\(script): \(errors)")
        return output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Starts a primary, migrates a database `sbie` on it, then makes and starts the standby.
    static func start() async throws -> ReplicaPair {
        let folder = URL(fileURLWithPath: NSTemporaryDirectory())
            .appendingPathComponent("sbie-standby-\(UUID().uuidString.prefix(8).lowercased())")
        // The clusters run as the postgres user when the tests run as root: it must reach them.
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o755])
        let pair: ReplicaPair
        do {
            let admin = try await shell("start_cluster '\(folder.path)/primary'", in: folder)
            let primary = ConnectionString.replacingDatabase(in: admin, with: "sbie")
            let connection = try await Connection.connect(admin, logger: TestDatabase.logger)
            try await connection.executeScript("CREATE DATABASE sbie TEMPLATE template0 ENCODING 'UTF8'")
            await connection.close()
            let db = try await Connection.connect(primary, logger: TestDatabase.logger)
            try await Migrator.load(from: TestDatabase.root.appendingPathComponent("Sql")).migrate(on: db, logger: TestDatabase.logger)
            await db.close()
            let standby = try await shell("start_standby '\(folder.path)/primary' '\(folder.path)/standby'", in: folder)
            pair = ReplicaPair(folder: folder, primary: primary, standby: ConnectionString.replacingDatabase(in: standby, with: "sbie"))
        } catch {
            await ReplicaPair(folder: folder, primary: "", standby: "").stop()
            throw error
        }
        return pair
    }

    func stop() async {
        _ = try? await ReplicaPair.shell("stop_cluster '\(folder.path)/standby'; stop_cluster '\(folder.path)/primary'", in: folder)
        try? FileManager.default.removeItem(at: folder)
    }

    /// Waits until the standby has replayed everything the primary has written now.
    func caughtUp(_ primaryConnection: Connection, _ standbyConnection: Connection) async throws -> ReplicaStatus {
        let lsn = try await Standby.primaryPosition(on: primaryConnection)
        return try await Standby.waitForReplay(of: lsn, timeout: .seconds(20), on: standbyConnection)
    }
}

@Suite("Reads on a hot standby: a real streaming replica (pg_basebackup -R)",
       .enabled(if: TestDatabase.available, "set SBIE_TEST_DSN"), .serialized)
struct StandbyTests {
    static func register(_ name: String) -> String {
        """
        {"agency_name":"\(name)","agency_type":"Municipality","model":"TFM","signed_on":"2025-03-10","source_edition":"2025-07-18pm"}
        """
    }

    @Test("reads on the standby (library, sbie, sbie serve) equal the primary's and say their lag; a lagging, misnamed or unreachable standby; writes refused")
    func standbyReads() async throws {
        _ = try TestDatabase.adminDSN()  // under CI, no database configured fails here: never a skip
        let pair = try await ReplicaPair.start()
        do {
            try await scenario(pair)
            await pair.stop()
        } catch {
            await pair.stop()
            throw error
        }
    }

    func scenario(_ pair: ReplicaPair) async throws {
        let primary = try await Connection.connect(pair.primary, logger: TestDatabase.logger)
        let standby = try await Connection.connect(pair.standby, logger: TestDatabase.logger)

        // Commands and their events on the primary: three agreements registered, one request pending.
        var processor = CommandProcessor()
        for (index, name) in ["Tallahassee Police Department", "Leon County Sheriff's Office", "Quincy Police Department"].enumerated() {
            _ = try await CommandQueue.submit(type: "register_agreement", payload: Self.register(name), idempotencyKey: "r\(index)", on: primary)
        }
        #expect(try await drain(&processor, primary).accepted == 3)
        _ = try await CommandQueue.submit(type: "register_agreement", payload: Self.register("Gadsden County Sheriff's Office"),
                                          idempotencyKey: "pending", on: primary)

        // The library: the standby replays the primary's position, then reads what the primary reads.
        #expect(try await Standby.status(on: primary).inRecovery == false)
        let status = try await pair.caughtUp(primary, standby)
        #expect(status.inRecovery && status.caughtUp && status.bytesBehind == 0)
        #expect(status.lagSeconds == 0 && status.replayedAt != nil && status.replayLSN != nil)
        func json(_ value: some Encodable) throws -> String {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            return String(decoding: try encoder.encode(value), as: UTF8.self)
        }
        let rowsOnPrimary = try await ReadModels.agreementStatusRows(agency: nil, on: primary)
        #expect(rowsOnPrimary.count == 3)
        let rowsOnStandby = try await ReadModels.agreementStatusRows(agency: nil, on: standby)
        let (standbyRows, primaryRows) = (try json(rowsOnStandby), try json(rowsOnPrimary))
        #expect(standbyRows == primaryRows, "\(standbyRows)\n\(primaryRows)")
        let chain = try await ChainVerifier.verify(on: standby)
        let chainOnPrimary = try await ChainVerifier.verify(on: primary)
        #expect(chain.isIntact && chain.summary == chainOnPrimary.summary)
        let commandsOnStandby = try await CommandQueue.commands(status: nil, limit: 100, on: standby).map(\.commandID)
        let commandsOnPrimary = try await CommandQueue.commands(status: nil, limit: 100, on: primary).map(\.commandID)
        #expect(commandsOnStandby.count == 4 && commandsOnStandby == commandsOnPrimary)

        // A write on the standby: PostgreSQL refuses it, 25006, which the catalogue names read_only.
        do {
            _ = try await CommandQueue.submit(type: "register_agreement", payload: Self.register("Havana Police Department"),
                                              idempotencyKey: "on-standby", on: standby)
            Issue.record("a submission on the standby was accepted")
        } catch let error as PostgresError {
            #expect(error.sqlState == "25006")
            #expect(Refusal.forSQLState(error.sqlState)?.code == "read_only")
        }

        // The sbie binary: the same output from the standby, and a line saying so on standard error.
        let reads: [[String]] = [
            ["status", "--json"], ["history", "--agency", "tallahassee-police-department"], ["verify"], ["commands", "--json"],
            ["docket", "--json"],
        ]
        for arguments in reads {
            let onPrimary = try await sbie(arguments, dsn: pair.primary)
            let onStandby = try await sbie(arguments + ["--read-database", pair.standby], dsn: pair.primary)
            #expect(onPrimary.status == 0 && onStandby.status == 0, "\(arguments): \(onStandby.stderr)")
            #expect(onStandby.stdout == onPrimary.stdout, "\(arguments)")
            #expect(!onPrimary.stderr.contains("standby"))
            if arguments.contains("--json") {
                let line = try #require(onStandby.stderr.split(separator: "\n").first { $0.hasPrefix("{") })
                let said = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
                let replica = try #require(said["replica"] as? [String: Any])
                #expect(said["read_from"] as? String == "standby")
                #expect(replica["in_recovery"] as? Bool == true && replica["bytes_behind"] as? Int == 0)
                #expect(replica["lag_seconds"] as? Double == 0 && replica["replayed_at"] is String)
            } else {
                #expect(onStandby.stderr.contains("note: read from standby, replayed up to 20"), "\(onStandby.stderr)")
                #expect(onStandby.stderr.contains("(lag 0.000 s; log ") && onStandby.stderr.contains("caught up with the primary's"))
            }
        }
        // The environment variable names the standby as the option does.
        let viaEnvironment = try await sbieWithEnvironment(["status"], dsn: pair.primary, ["SBIE_READ_DATABASE_URL": pair.standby])
        #expect(viaEnvironment.status == 0 && viaEnvironment.stderr.contains("note: read from standby"), "\(viaEnvironment.stderr)")

        // A standby that has not replayed the latest write (replay paused): the read says so and
        // reads the primary, so it never misses a write committed before it began.
        try await standby.executeScript("SELECT pg_catalog.pg_wal_replay_pause()")
        #expect(try await drain(&processor, primary).accepted == 1)  // Gadsden registered on the primary only
        let lsn = try await Standby.primaryPosition(on: primary)
        let behind = try await Standby.waitForReplay(of: lsn, timeout: .milliseconds(300), on: standby)
        #expect(!behind.caughtUp && (behind.bytesBehind ?? 0) > 0 && (behind.lagSeconds ?? 0) > 0)
        let fresh = try await sbie(["status", "--json"], dsn: pair.primary)
        let stale = try await sbie(["status", "--json", "--read-database", pair.standby, "--read-wait", "0.3"], dsn: pair.primary)
        #expect(stale.status == 0 && stale.stdout == fresh.stdout && fresh.stdout.contains("gadsden-county-sheriff"))
        #expect(stale.stderr.contains("\"read_from\":\"primary\"") && stale.stderr.contains("has not replayed the primary's"), "\(stale.stderr)")
        try await standby.executeScript("SELECT pg_catalog.pg_wal_replay_resume()")
        #expect(try await pair.caughtUp(primary, standby).caughtUp)
        let replayed = try await sbie(["status", "--json", "--read-database", pair.standby], dsn: pair.primary)
        #expect(replayed.stdout == fresh.stdout && replayed.stderr.contains("\"read_from\":\"standby\""), "\(replayed.stderr)")

        // Misconfigured: the read database is a primary. Nothing is read; exit 2.
        let notStandby = try await sbie(["status", "--read-database", pair.primary], dsn: pair.primary)
        #expect(notStandby.status == 2 && notStandby.stdout.isEmpty && notStandby.stderr.contains("is not a standby"), "\(notStandby.stderr)")
        // Unreachable: said, and read on the primary.
        let missing = "host=\(pair.folder.path)/nowhere port=5432 user=postgres dbname=sbie"
        let unreachable = try await sbie(["status", "--json", "--read-database", missing], dsn: pair.primary)
        #expect(unreachable.status == 0 && unreachable.stdout == fresh.stdout && unreachable.stderr.contains("is unreachable"))
        // A write command pointed at the standby: refused with the catalogue's sentence, exit 2.
        let write = try await sbie(["retry", "--all-failed"], dsn: pair.standby)
        #expect(write.status == 2 && write.stderr.contains("read_only: the server is read-only (a standby)"), "\(write.stderr)")

        // sbie serve: anonymous reads on the standby with their lag in headers; token reads and readiness on the primary.
        try await WebLogins.createAuthenticator("web_standby", password: nil, on: primary)
        try await Logins.create("auditor_standby", role: .auditor, on: primary)
        let token = try await WebLogins.issueAPIToken(login: "auditor_standby", expiresAt: nil, label: "test", on: primary).token
        #expect(try await pair.caughtUp(primary, standby).caughtUp)
        let server = try await ServeProcess.start([
            "--database", ConnectionString.replacingUser(in: pair.primary, with: "web_standby"),
            "--read-database", ConnectionString.replacingUser(in: pair.standby, with: "web_standby"),
        ])
        defer { server.stop() }
        let anonymous = try await server.get("/v1/register")
        #expect(anonymous.status == 200)
        #expect(anonymous.header("Sbie-Read-From") == "standby")
        #expect(anonymous.header("Sbie-Replica-Lag").flatMap(Double.init).map { $0 >= 0 && $0 < 5 } == true, "\(anonymous.headers)")
        #expect(anonymous.header("Sbie-Replica-Replayed-At")?.hasSuffix("Z") == true && anonymous.header("Sbie-Replica-LSN") != nil)
        let withToken = try await server.get("/v1/register", token: token)
        #expect(withToken.status == 200 && withToken.header("Sbie-Read-From") == nil)
        let ids = { (reply: HTTPReply) -> [String] in
            ((try? reply.json())?["agreements"] as? [[String: Any]] ?? []).compactMap { $0["agreement_id"] as? String }.sorted()
        }
        #expect(ids(anonymous).count == 4 && ids(anonymous) == ids(withToken), "\(anonymous.text)")
        let ready = try await server.get("/health/ready")
        #expect(ready.header("Sbie-Read-From") == nil)
        // The standby gone: the same read runs on the primary and says so.
        await standby.close()
        _ = try await ReplicaPair.shell("stop_cluster '\(pair.folder.path)/standby'", in: pair.folder)
        let fallback = try await server.get("/v1/register")
        #expect(fallback.status == 200 && fallback.header("Sbie-Read-From") == "primary" && fallback.header("Sbie-Replica-Lag") == nil, "\(fallback.status) \(fallback.headers) \(fallback.text)")
        #expect(ids(fallback) == ids(withToken))
        // A primary named as the standby: sbie serve refuses to start (exit 2).
        let authenticator = ConnectionString.replacingUser(in: pair.primary, with: "web_standby")
        let refused = try await sbie(["serve", "--listen", "127.0.0.1:0", "--read-database", authenticator], dsn: authenticator)
        #expect(refused.status == 2 && refused.stderr.contains("is not a standby"), "\(refused.stderr)")
        await primary.close()
    }
}

/// Runs `sbie ARGS --database DSN` with extra environment variables.
func sbieWithEnvironment(_ arguments: [String], dsn: String, _ environment: [String: String]) async throws -> SbieRun {
    let executable = try #require(DaemonProcess.executable, "build the sbie executable first (swift build)")
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments + ["--database", dsn]
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    while process.isRunning { try await Task.sleep(for: .milliseconds(50)) }
    process.waitUntilExit()
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    let stderr = err.fileHandleForReading.readDataToEndOfFile()
    return SbieRun(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                   stderr: String(decoding: stderr, as: UTF8.self))
}

/// A `sbie serve` child process on a free port, stopped with SIGTERM.
struct ServeProcess {
    let process: Process
    let base: String

    static func start(_ arguments: [String]) async throws -> ServeProcess {
        let executable = try #require(DaemonProcess.executable, "build the sbie executable first (swift build)")
        let process = Process()
        process.executableURL = executable
        process.arguments = ["serve", "--listen", "127.0.0.1:0", "--log-level", "error"] + arguments
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        let line = try await Task.detached { () -> String in
            var text = ""
            while !text.contains("\n") {
                let chunk = out.fileHandleForReading.availableData
                if chunk.isEmpty { break }
                text += String(decoding: chunk, as: UTF8.self)
            }
            return text
        }.value
        let url = try #require(line.split(separator: " ").last.map { String($0).trimmingCharacters(in: .whitespacesAndNewlines) },
                               "no address in: \(line)")
        return ServeProcess(process: process, base: url)
    }

    func get(_ path: String, token: String? = nil) async throws -> HTTPReply {
        var request = URLRequest(url: try #require(URL(string: base + path)))
        request.timeoutInterval = 30
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = try #require(response as? HTTPURLResponse)
        var fields: [String: String] = [:]
        for (key, value) in http.allHeaderFields { fields["\(key)"] = "\(value)" }
        return HTTPReply(status: http.statusCode, headers: fields, body: data)
    }

    func stop() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
    }
}
