import Foundation
import Testing
import Workflow

// Issue 18: the command line as a user meets it. Each test runs the real `sbie`
// executable as a subprocess against a real PostgreSQL, as the actor the docs name,
// and asserts the message and the exit code.

/// Runs `sbie ARGS` as is (the caller passes `--database`), with extra environment
/// variables and a working directory; `meanwhile` runs until it exits (a daemon's drain).
private func run(_ arguments: [String], env: [String: String] = [:], in directory: URL? = nil,
                 meanwhile: () async throws -> Void = {}) async throws -> SbieRun {
    let executable = try #require(DaemonProcess.executable, "build the sbie executable first (swift build)")
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    process.environment = ProcessInfo.processInfo.environment.merging(env) { _, new in new }
    if let directory { process.currentDirectoryURL = directory }
    // Files, not pipes: reading a pipe would block a thread of the cooperative pool (which
    // `meanwhile` needs), and not reading it would block the child once it is full.
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("sbie-run-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    let outURL = folder.appendingPathComponent("stdout"), errURL = folder.appendingPathComponent("stderr")
    FileManager.default.createFile(atPath: outURL.path, contents: nil)
    FileManager.default.createFile(atPath: errURL.path, contents: nil)
    let out = try FileHandle(forWritingTo: outURL), err = try FileHandle(forWritingTo: errURL)
    process.standardOutput = out
    process.standardError = err
    process.standardInput = FileHandle.nullDevice
    try process.run()
    while process.isRunning {
        try await meanwhile()
        try await Task.sleep(for: .milliseconds(50))
    }
    process.waitUntilExit()
    try out.close()
    try err.close()
    return SbieRun(status: process.terminationStatus, stdout: try String(contentsOf: outURL, encoding: .utf8),
                   stderr: try String(contentsOf: errURL, encoding: .utf8))
}

/// The register for these tests: three agencies (one with ICE's own typo) and four sitting members.
private func seedRegister(_ db: Connection) async throws {
    let agencies = [("Tallahassee Police Department", "Municipality", "2025-03-10"),
                    ("Gainesville Police Department", "Municipality", "2025-04-01"),
                    ("Alachua Police Departent", "County", "2025-07-02")]
    for (index, (name, type, signed)) in agencies.enumerated() {
        _ = try await CommandQueue.submit(
            type: "register_agreement",
            payload: "{\"agency_name\":\"\(name)\",\"agency_type\":\"\(type)\",\"model\":\"TFM\",\"signed_on\":\"\(signed)\",\"source_edition\":\"2025-07-18pm\"}",
            idempotencyKey: "seed-\(index)", on: db)
    }
    for (seat, member) in [("governor", "Ron DeSantis"), ("attorney_general", "James Uthmeier"),
                           ("chief_financial_officer", "Blaise Ingoglia"), ("commissioner_of_agriculture", "Wilton Simpson")] {
        _ = try await CommandQueue.submit(
            type: "fill_board_seat", payload: "{\"seat\":\"\(seat)\",\"member\":\"\(member)\",\"effective_on\":\"2025-01-07\"}",
            idempotencyKey: "seat-\(seat)", on: db)
    }
    var processor = CommandProcessor()
    #expect(try await drain(&processor, db).accepted == 7)
    _ = try await AgencyTimeline.catchUp(on: db)
}

private let tallahasseeAgreement = "tallahassee-police-department.tfm.2025-03-10"

/// The arguments of a clerk's request for Tallahassee PD's Task Force Model agreement.
private func requestArguments(agency: String = "Tallahassee Police Department", model: String = "TFM") -> [String] {
    ["request", "--agency", agency, "--model", model, "--reason", "City commission vote",
     "--authorization", "Resolution 25-R-31", "--filed", "2025-08-18"]
}

@Suite("The command line as a user meets it (issue 18; sbie as a subprocess, live database)",
       .enabled(if: TestDatabase.available, "set SBIE_TEST_DSN"), .serialized)
struct CliUxTests {
    @Test("a clerk: its history from the timeline, whole-log reads refused with a reason, names resolved, an acceptance that says what changed, a request id only for a request that exists")
    func clerk() async throws {
        try await SecurityFixture.with { f in
            try await seedRegister(f.admin)
            let clerk = ["--database", ConnectionString.replacingUser(in: f.dsn, with: f.clerkA)]
            var processor = CommandProcessor()
            let daemon: () async throws -> Void = { _ = try await drain(&processor, f.admin) }

            // Item 2: history from the agency's timeline; the whole log refused with a sentence, exit 1.
            let history = try await run(["history", "--agency", "tallahassee-police-department"] + clerk)
            #expect(history.status == 0, "\(history.stderr)")
            #expect(history.stdout.contains("AgreementRegistered") && !history.stdout.contains("Gainesville"))
            for read in [["status", "--as-of", "1"], ["verify"], ["export", "events"]] {
                let refused = try await run(read + clerk)
                #expect(refused.status == 1, "\(read): \(refused.stderr)")
                #expect(refused.stderr.contains("reads the whole event log, and agency clerk logins (\(f.clerkA))"), "\(refused.stderr)")
                #expect(!refused.stderr.contains("42501"))
            }
            let other = try await run(["status", "--agency", "gainesville-police-department"] + clerk)
            #expect(other.status == 1)
            #expect(other.stderr.contains("is not your agency: login \(f.clerkA) files and reads for tallahassee-police-department only"))

            // Item 3: a misspelt name is resolved before anything is queued, with the closest name.
            let typo = try await run(requestArguments(agency: "Talahassee Police Department") + clerk)
            #expect(typo.status == 2)
            #expect(typo.stderr.contains("did you mean 'Tallahassee Police Department'?"), "\(typo.stderr)")
            #expect(try await CommandQueue.commands(status: .pending, on: f.admin).isEmpty)

            // Items 4 and 13: accepted, the request id first and what changed; rejected, no request id.
            let filed = try await run(requestArguments() + clerk, meanwhile: daemon)
            #expect(filed.status == 0, "\(filed.stderr)")
            let lines = filed.stdout.split(separator: "\n").map(String.init)
            let requestID = try #require(lines.first.flatMap { $0.hasPrefix("request ") ? UUID(uuidString: String($0.dropFirst(8))) : nil })
            #expect(filed.stdout.contains("TerminationRequestSubmitted (request-\(requestID.uuidString.lowercased()))"))
            #expect(filed.stdout.contains("request \(requestID.uuidString.lowercased()): submitted, filed 2025-08-18"))
            #expect(filed.stdout.contains("agreement \(tallahasseeAgreement): termination_requested"))
            #expect(!filed.stdout.contains("events at positions"))
            let rejected = try await run(requestArguments(model: "JEM") + clerk, meanwhile: daemon)
            #expect(rejected.status == 1)
            #expect(rejected.stdout.hasPrefix("rejected: no_active_agreement"))
            #expect(!rejected.stdout.split(separator: "\n").contains { $0.hasPrefix("request ") })

            // Item 17, as a clerk: an unknown request is not "no events".
            let unknown = try await run(["history", "--request", UUID().uuidString] + clerk)
            #expect(unknown.status == 2)
            #expect(unknown.stderr.contains("no request") && unknown.stdout.isEmpty)
        }
    }

    @Test("names, keys, flags and exit codes: did you mean ICE's spelling; a reused key is refused; --replaces named as typed; permission refusals exit 1 everywhere; retry and history say what is missing")
    func namesKeysAndExitCodes() async throws {
        try await SecurityFixture.with { f in
            try await seedRegister(f.admin)
            let owner = ["--database", f.dsn]
            let board = ["--database", ConnectionString.replacingUser(in: f.dsn, with: f.board)]
            let auditor = ["--database", ConnectionString.replacingUser(in: f.dsn, with: f.auditor)]
            let clerk = ["--database", ConnectionString.replacingUser(in: f.dsn, with: f.clerkA)]
            var processor = CommandProcessor()
            let daemon: () async throws -> Void = { _ = try await drain(&processor, f.admin) }

            // Item 3: ICE's own typo is the register's name; the correct spelling finds it.
            let alachua = try await run(["status", "--agency", "Alachua Police Department"] + owner)
            #expect(alachua.status == 2)
            #expect(alachua.stderr.contains("no agency 'Alachua Police Department' in the register; did you mean 'Alachua Police Departent'?"),
                    "\(alachua.stderr)")

            // Item 17.
            let unknown = UUID().uuidString.lowercased()
            let history = try await run(["history", "--request", unknown] + owner)
            #expect(history.status == 2 && history.stderr.contains("no request \(unknown) in the register"))
            #expect(!history.stdout.contains("no events"))

            // Item 9.
            let retry = try await run(["retry"] + owner)
            #expect(retry.status == 2 && retry.stderr.contains("give a failed command's id, or --all-failed"))
            #expect(!retry.stderr.contains("not both"))

            // Item 5 (polish item 2): the same key with another payload is refused (exit 1,
            // idempotency_key_reused) naming the first command; the same payload returns it.
            let fill = ["seat", "fill", "governor", "--effective", "2025-02-01", "--idempotency-key", "gov-1"]
            let first = try await run(fill + ["--member", "A Member"] + board, meanwhile: daemon)
            #expect(first.status == 0, "\(first.stderr)")
            let again = try await run(fill + ["--member", "A Member"] + board, meanwhile: daemon)
            #expect(again.status == 0 && !again.stderr.contains("warning"))
            let reused = try await run(fill + ["--member", "Another Member"] + board, meanwhile: daemon)
            let firstID = try #require(try await CommandQueue.commands(status: .accepted, on: f.admin).first { $0.idempotencyKey == "gov-1" }?.commandID)
            #expect(reused.status == 1, "\(reused.stderr)")
            #expect(reused.stderr.contains("refused: idempotency_key_reused: idempotency key 'gov-1' was already used for command \(firstID.uuidString.lowercased()) (fill_board_seat, submitted "), "\(reused.stderr)")
            #expect(reused.stdout.isEmpty)
            #expect(reused.stderr.contains("with a different payload; nothing new was submitted"))
            #expect(try await CommandQueue.commands(on: f.admin).filter { $0.idempotencyKey == "gov-1" }.count == 1)

            // Item 11: the rejection names the flag as typed.
            let conflict = try await run(["seat", "fill", "governor", "--effective", "2025-02-01", "--member", "Third"] + board,
                                         meanwhile: daemon)
            #expect(conflict.status == 1)
            #expect(conflict.stdout.contains("correct it with --replaces") && !conflict.stdout.contains("replaces_entry_on"))

            // Item 8: a permission refusal exits 1, whether a submission or not, with a sentence.
            let refusals: [(String, [String], String)] = [
                ("submission", ["seat", "fill", "cfo", "--member", "X", "--effective", "2025-03-01"] + auditor, "refused: permission_denied"),
                ("retry", ["retry", "--all-failed"] + auditor, "not permitted: permission denied"),
                ("rebuild", ["rebuild"] + auditor, "not permitted: permission denied"),
                ("migrate", ["migrate"] + clerk, "may not migrate this database"),
                ("login list", ["login", "list"] + clerk, "not permitted: permission denied"),
            ]
            for (what, arguments, message) in refusals {
                let refused = try await run(arguments)
                #expect(refused.status == 1, "\(what): \(refused.stderr)")
                #expect(refused.stderr.contains(message), "\(what): \(refused.stderr)")
            }
        }
    }

    @Test("item 7 and 19: an unmigrated database says to run `sbie migrate` (exit 2); libpq's reason reads as sentences")
    func unmigratedAndUnreachable() async throws {
        try await TestDatabase.with(migrated: false) { dsn in
            for arguments in [["status"], requestArguments(), ["commands"]] {
                let result = try await run(arguments + ["--database", dsn])
                #expect(result.status == 2, "\(arguments): \(result.stderr)")
                #expect(result.stderr.contains("the database is not migrated") && result.stderr.contains("run `sbie migrate`"),
                        "\(result.stderr)")
            }
        }
        let socket = FileManager.default.temporaryDirectory.appendingPathComponent("sbie-none-\(UUID().uuidString.prefix(8))").path
        let unreachable = try await run(["status", "--database", "host=\(socket) dbname=x"])
        #expect(unreachable.status == 2)
        #expect(unreachable.stderr.contains("cannot connect to PostgreSQL"))
        #expect(unreachable.stderr.contains("No such file or directory. Is the server running"), "\(unreachable.stderr)")
    }

    @Test("item 1: a registrar records a local government's vote (annotate); board staff are refused, exit 1")
    func annotateIsTheRegistrars() async throws {
        try await SecurityFixture.with { f in
            try await seedRegister(f.admin)
            var processor = CommandProcessor()
            let daemon: () async throws -> Void = { _ = try await drain(&processor, f.admin) }
            let annotate = ["annotate", tallahasseeAgreement, "--body", "Tallahassee City Commission", "--date", "2025-06-30",
                            "--motion", "Ask the Board to end the agreement", "--tally", "4-1"]
            let staff = try await run(annotate + ["--database", ConnectionString.replacingUser(in: f.dsn, with: f.board)])
            #expect(staff.status == 1)
            #expect(staff.stderr.contains("refused: permission_denied"))
            let registrar = try await run(annotate + ["--database", ConnectionString.replacingUser(in: f.dsn, with: f.registrar)],
                                          meanwhile: daemon)
            #expect(registrar.status == 0, "\(registrar.stderr)")
            #expect(registrar.stdout.contains("accepted: record_local_government_vote"))
            let readme = try String(contentsOf: TestDatabase.root.appendingPathComponent("README.md"), encoding: .utf8)
            let registrars = try #require(readme.range(of: "### Registrars"))
            let boardStaff = try #require(readme.range(of: "### Board staff"))
            let annotateLine = try #require(readme.range(of: "sbie annotate "))
            #expect(annotateLine.lowerBound > registrars.lowerBound && boardStaff.lowerBound < registrars.lowerBound)
        }
    }

    @Test("items 6, 12, 14: export is whole or absent; status fits the terminal or --wide; login list as a table and snake_case JSON; CSV booleans and ISO 8601 timestamps")
    func outputs() async throws {
        try await SecurityFixture.with { f in
            try await seedRegister(f.admin)
            let owner = ["--database", f.dsn]

            // Item 6: a failed export leaves no file, and an earlier file as it was.
            let nobody = "t\(UUID().uuidString.prefix(8).lowercased())_nobody"
            try await f.admin.executeScript("CREATE ROLE \(nobody) LOGIN")
            do {
                try await exportWholeOrAbsent(f, as: nobody)
            } catch {
                await SecurityFixture.dropRoles([nobody])
                throw error
            }
            await SecurityFixture.dropRoles([nobody])

            // Item 14: CSV booleans true/false; timeline timestamps ISO 8601 like the JSON.
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("sbie-export-\(UUID().uuidString.prefix(8))")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: folder) }
            let fresh = folder.appendingPathComponent("status.csv")
            let exported = try await run(["export", "agreement_status", "--output", fresh.path] + owner)
            #expect(exported.status == 0 && exported.stdout.contains("exported 3 row(s) of agreement_status"))
            #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["status.csv"])
            let csv = try String(contentsOf: fresh, encoding: .utf8).split(separator: "\r\n").map { $0.split(separator: ",", omittingEmptySubsequences: false) }
            let mustKeep = try #require(csv.first?.firstIndex(of: "must_keep"))
            let booleans = Set(csv.dropFirst().map { String($0[mustKeep]) })
            #expect(!booleans.isEmpty && booleans.isSubset(of: ["true", "false"]), "\(booleans)")
            let timeline = try await run(["export", "agency_timeline"] + owner)
            let rows = timeline.stdout.split(separator: "\r\n").map { $0.split(separator: ",") }
            let occurred = try #require(rows.first?.firstIndex(of: "occurred_at"))
            let iso = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/
            #expect(rows.count == 4 && rows.dropFirst().allSatisfy { String($0[occurred]).wholeMatch(of: iso) != nil }, "\(rows)")

            let list = try await run(["login", "list"] + owner)
            #expect(list.status == 0)
            #expect(list.stdout.hasPrefix("LOGIN ") && list.stdout.contains("CAN LOGIN") && !list.stdout.contains("\t"))
            #expect(list.stdout.contains(f.clerkA) && list.stdout.contains("tallahassee-police-department"))
            let json = try await run(["login", "list", "--json"] + owner)
            let logins = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]])
            let clerk = try #require(logins.first { $0["name"] as? String == f.clerkA })
            #expect(clerk["agency_id"] as? String == "tallahassee-police-department" && clerk["can_login"] as? Bool == true)
            #expect(!json.stdout.contains("agencyID") && !json.stdout.contains("canLogin"))

            // Item 12: the table fits $COLUMNS (long names cut with …); --wide prints them whole.
            let narrow = try await run(["status"] + owner, env: ["COLUMNS": "70"])
            #expect(narrow.status == 0)
            let table = narrow.stdout.split(separator: "\n").prefix(4)
            #expect(table.allSatisfy { $0.count <= 70 }, "\(narrow.stdout)")
            #expect(narrow.stdout.contains("…") && !narrow.stdout.contains("Tallahassee Police Department"))
            let wide = try await run(["status", "--wide"] + owner, env: ["COLUMNS": "70"])
            #expect(wide.stdout.contains("Tallahassee Police Department") && wide.stdout.contains(tallahasseeAgreement))
        }
    }

    /// Item 6: an export that fails (here: a login without any group may not read the
    /// table) leaves no file, and an earlier file as it was.
    private func exportWholeOrAbsent(_ f: SecurityFixture, as login: String) async throws {
        do {
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("sbie-export-\(UUID().uuidString.prefix(8))")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: folder) }
            let fresh = folder.appendingPathComponent("fresh.csv"), earlier = folder.appendingPathComponent("earlier.csv")
            try Data("earlier export\n".utf8).write(to: earlier)
            for file in [fresh, earlier] {
                let failed = try await run(["export", "agreement_status", "--output", file.path, "--database",
                                            ConnectionString.replacingUser(in: f.dsn, with: login)])
                // A login in no group cannot even use schema sbie (0007), so the table is not
                // found: the CLI says which two things that can mean.
                #expect(failed.status == 2, "\(failed.stderr)")
                #expect(failed.stderr.contains("holds no role that may use schema sbie"), "\(failed.stderr)")
            }
            #expect(!FileManager.default.fileExists(atPath: fresh.path))
            #expect(try String(contentsOf: earlier, encoding: .utf8) == "earlier export\n")
            #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["earlier.csv"])
        }
    }

    @Test("item 10: --version, exit codes and completion in --help, --log-level's values once, help paragraphs wrap once")
    func help() async throws {
        let version = try await run(["--version"])
        #expect(version.status == 0 && version.stdout.trimmingCharacters(in: .whitespacesAndNewlines).wholeMatch(of: /\d+\.\d+\.\d+/) != nil)
        let root = try await run(["--help"], env: ["COLUMNS": "100"])
        #expect(root.stdout.contains("Exit codes: 0 done; 1 refused"))
        #expect(root.stdout.contains("--generate-completion-script"))
        let subcommands = [["status"], ["run"], ["login"], ["login", "create-clerk"], ["request"], ["seat", "load"], ["history"], []]
        for path in subcommands {
            let page = try await run(["help"] + path, env: ["COLUMNS": "200"])
            #expect(page.status == 0)
            if page.stdout.contains("--log-level") {
                #expect(page.stdout.components(separatedBy: "critical").count == 2, "\(path): --log-level's values once")
            }
            // Before USAGE: a paragraph is one line at this width (ArgumentParser then wraps it
            // once, at any width); an unindented line that is not full and is followed by another
            // unindented line was wrapped by hand, and is re-wrapped mid-sentence when narrower.
            let text = page.stdout.components(separatedBy: "USAGE:")[0].split(separator: "\n", omittingEmptySubsequences: false)
            for (line, next) in zip(text, text.dropFirst()) where !line.isEmpty && !next.isEmpty {
                let handWrapped = line.first != " " && next.first != " " && line.count < 150
                #expect(!handWrapped, "\(path): '\(line)' / '\(next)'")
            }
            #expect(text.allSatisfy { $0.first != " " || $0.count <= 80 }, "\(path): an indented line is over 80 columns")
        }
    }

    @Test("item 15: seat load finds data/ from any directory; refused, it says so once and stops (exit 1)")
    func seatLoad() async throws {
        try await SecurityFixture.with { f in
            var processor = CommandProcessor()
            let daemon: () async throws -> Void = { _ = try await drain(&processor, f.admin) }
            let elsewhere = FileManager.default.temporaryDirectory
            let refused = try await run(["seat", "load", "--database", ConnectionString.replacingUser(in: f.dsn, with: f.auditor)],
                                        in: elsewhere)
            #expect(refused.status == 1)
            #expect(refused.stderr.components(separatedBy: "refused:").count == 2, "\(refused.stderr)")
            #expect(refused.stderr.contains("seat load stopped at entry 1 of"))
            let loaded = try await run(["seat", "load", "--database", ConnectionString.replacingUser(in: f.dsn, with: f.board)],
                                       in: elsewhere, meanwhile: daemon)
            #expect(loaded.status == 0, "\(loaded.stderr)")
            #expect(loaded.stdout.contains("accepted: fill_board_seat"))
        }
    }

    @Test("item 18: an empty CSV is said to be empty (exit 2)")
    func emptyImport() async throws {
        try await TestDatabase.with { dsn in
            let file = FileManager.default.temporaryDirectory.appendingPathComponent("empty-\(UUID().uuidString.prefix(8)).csv")
            try Data().write(to: file)
            defer { try? FileManager.default.removeItem(at: file) }
            let result = try await run(["import", file.path, "--edition", "2025-07-18", "--database", dsn])
            #expect(result.status == 2)
            #expect(result.stderr.contains("the file is empty") && !result.stderr.contains("lacks"), "\(result.stderr)")
        }
    }

    @Test("item 20: login remap and drop; only sbie's logins are dropped; unknown logins and agencies exit 2, refusals 1")
    func remapAndDrop() async throws {
        try await SecurityFixture.with { f in
            try await seedRegister(f.admin)
            let owner = ["--database", f.dsn]
            let remap = try await run(["login", "remap", f.clerkA, "--agency", "gainesville-police-department"] + owner)
            #expect(remap.status == 0, "\(remap.stderr)")
            #expect(remap.stdout.contains("login \(f.clerkA) now files for gainesville-police-department (was tallahassee-police-department)"))
            let status = try await run(["status", "--json", "--database", ConnectionString.replacingUser(in: f.dsn, with: f.clerkA)])
            #expect(status.stdout.contains("gainesville-police-department") && !status.stdout.contains("tallahassee"))

            let typo = try await run(["login", "remap", f.clerkA, "--agency", "gainesvile-police-department"] + owner)
            #expect(typo.status == 2 && typo.stderr.contains("did you mean gainesville-police-department?"), "\(typo.stderr)")
            let notClerk = try await run(["login", "remap", f.board, "--agency", "gainesville-police-department"] + owner)
            #expect(notClerk.status == 2 && notClerk.stderr.contains("no agency_clerk login named '\(f.board)'"))
            let byAuditor = try await run(["login", "drop", f.clerkB, "--database", ConnectionString.replacingUser(in: f.dsn, with: f.auditor)])
            #expect(byAuditor.status == 1 && byAuditor.stderr.contains("not permitted"), "\(byAuditor.stderr)")

            let drop = try await run(["login", "drop", f.clerkA] + owner)
            #expect(drop.status == 0, "\(drop.stderr)")
            #expect(drop.stdout.contains("dropped login \(f.clerkA) (agency_clerk), which filed for gainesville-police-department"))
            #expect(try await f.admin.query("SELECT 1 FROM pg_roles WHERE rolname = $1", [f.clerkA]).isEmpty)
            #expect(try await f.admin.query("SELECT 1 FROM agency_logins WHERE login = $1", [f.clerkA]).isEmpty)
            let superuser = try await run(["login", "drop", "postgres"] + owner)
            #expect(superuser.status == 2 && superuser.stderr.contains("no sbie login named 'postgres'"))
        }
    }

    @Test("item 16: the demo's closing text says the daemon stopped and how to start it; a second run says it reuses the database")
    func demoText() throws {
        let demo = try String(contentsOf: TestDatabase.root.appendingPathComponent("scripts/demo"), encoding: .utf8)
        #expect(demo.contains("the daemon stopped with the demo"))
        #expect(demo.contains("$bin run &"))
        #expect(demo.contains("reusing the running local PostgreSQL"))
    }
}
