import ArgumentParser
import Foundation
import Workflow

/// `sbie login …`: creates and lists the database logins of clerks, board staff,
/// registrars, auditors and daemons (docs/security.md).
struct Login: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create and list database logins for each role (run as a superuser or workflow_owner member).",
        discussion: """
            Each person or program logs in to PostgreSQL as its own login, in one group:
              agency_clerk     files its own agency's termination requests
              board_staff      schedules reviews, records votes, fills seats
              registrar        imports ICE's list, renames, corrects dates
              auditor          reads everything, writes nothing
              workflow_daemon  runs the daemon
            The login is recorded as the actor of each event its commands cause.

            Needs a superuser, or a workflow_owner member with CREATEROLE.
            Exit codes: 0 done, 1 refused (exists, not permitted),
            2 usage or connection error. See docs/security.md.
            """,
        subcommands: [CreateClerk.self, CreateBoardStaff.self, CreateRegistrar.self, CreateAuditor.self,
                      CreateDaemon.self, List.self, Token.self, WebEnable.self, CreateAuthenticator.self]
    )

    /// Options shared by every `create-*` subcommand.
    struct CreateOptions: ParsableArguments {
        @Argument(help: "The login name (1-63 characters of A-Z a-z 0-9 _ . @ -).")
        var name: String

        @Option(help: ArgumentHelp(
            "Password for the login (visible to other local users in the process list; prefer --password-stdin).",
            valueName: "password"))
        var password: String?

        @Flag(help: "Read the password from the first line of standard input.")
        var passwordStdin = false

        /// The password from `--password` or standard input, or nil (pg_hba.conf decides how it logs in).
        /// - Throws: `ExitCode(2)` when both are given or standard input is empty.
        func resolvedPassword() throws -> String? {
            if passwordStdin {
                guard password == nil else {
                    printError("give --password or --password-stdin, not both")
                    throw ExitCode(2)
                }
                guard let line = readLine(strippingNewline: true), !line.isEmpty else {
                    printError("--password-stdin: no password on standard input")
                    throw ExitCode(2)
                }
                return line
            }
            return password
        }
    }

    /// Creates one login, printing what was done; maps `LoginError` to exit codes 1 and 2.
    static func create(_ db: DatabaseOptions, _ options: CreateOptions, role: LoginRole, agency: String? = nil)
        async throws
    {
        let password = try options.resolvedPassword()
        let logger = db.logger("sbie.login")
        let connection = try await db.connect(logger)
        if let agency, try await connection.query(
            "SELECT 1 FROM agreement_status WHERE agency_id = $1 LIMIT 1", [agency]).isEmpty
        {
            printError("no agency \(agency) in the register (see `sbie status`); import ICE's list first")
            throw ExitCode(2)
        }
        do {
            try await connection.createLogin(options.name, role: role, agencyID: agency, password: password)
        } catch let error as LoginError {
            printError("\(error)")
            switch error {
            case .invalidName, .invalidAgency: throw ExitCode(2)
            case .alreadyExists, .notPermitted: throw ExitCode(1)
            }
        } catch let error as PostgresError {
            printError(error.message)
            throw ExitCode(1)
        }
        print("created login \(options.name) in \(role.rawValue)" + (agency.map { " for agency \($0)" } ?? ""))
    }

    struct CreateClerk: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create an agency clerk's login, mapped to one agency.",
            discussion: """
                The clerk may submit submit_termination_request,
                withdraw_termination_request and record_termination_notice for
                that agency only, and reads only its agency's commands and
                projection rows. Example:
                  sbie login create-clerk tpd_clerk \\
                    --agency tallahassee-police-department --password-stdin
                """)
        @OptionGroup var db: DatabaseOptions
        @OptionGroup var options: CreateOptions
        @Option(help: ArgumentHelp("The agency id (lowercase slug) the clerk files for.", valueName: "agency-id"))
        var agency: String

        func run() async throws { try await Login.create(db, options, role: .agencyClerk, agency: agency) }
    }

    struct CreateBoardStaff: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a Board staff login: schedules reviews, records votes and seats; reads everything.")
        @OptionGroup var db: DatabaseOptions
        @OptionGroup var options: CreateOptions
        func run() async throws { try await Login.create(db, options, role: .boardStaff) }
    }

    struct CreateRegistrar: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a registrar login: imports ICE's list, renames agencies, corrects dates; reads everything.")
        @OptionGroup var db: DatabaseOptions
        @OptionGroup var options: CreateOptions
        func run() async throws { try await Login.create(db, options, role: .registrar) }
    }

    struct CreateAuditor: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create an auditor login: reads the log, commands and projections; writes nothing.")
        @OptionGroup var db: DatabaseOptions
        @OptionGroup var options: CreateOptions
        func run() async throws { try await Login.create(db, options, role: .auditor) }
    }

    struct CreateDaemon: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a login for the daemon: claims commands, appends events, writes projections.")
        @OptionGroup var db: DatabaseOptions
        @OptionGroup var options: CreateOptions
        func run() async throws { try await Login.create(db, options, role: .daemon) }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the logins of every role, with each clerk's agency.")
        @OptionGroup var db: DatabaseOptions
        @Flag(help: "Print JSON (one array) instead of a table.") var json = false

        func run() async throws {
            let logger = db.logger("sbie.login")
            let connection = try await db.connect(logger)
            let logins: [LoginInfo]
            do {
                logins = try await connection.logins()
            } catch let error as PostgresError {
                printError(error.message)
                throw ExitCode(1)
            }
            if json { try printJSON(logins); return }
            print("login\troles\tagency\tcan_login")
            for login in logins {
                print("\(login.name)\t\(login.roles.joined(separator: ","))\t\(login.agencyID ?? "-")\t\(login.canLogin)")
            }
        }
    }
}
