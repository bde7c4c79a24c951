import ArgumentParser
import Foundation
import Workflow

/// `sbie login …`: creates, lists, remaps and drops the database logins of clerks, board staff,
/// registrars, auditors and daemons (docs/security.md).
struct Login: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create, list, remap and drop database logins for each role (run as a superuser or workflow_owner member).",
        discussion: """
            Each person or program logs in to PostgreSQL as its own login, in one group:
              agency_clerk     files its own agency's termination requests
              board_staff      schedules reviews, records votes, fills seats
              registrar        imports ICE's list, renames, corrects dates,
                               records local governments' votes (annotate)
              auditor          reads everything, writes nothing
              workflow_daemon  runs the daemon
            The login is recorded as the actor of each event its commands cause.

            Needs a superuser, or a workflow_owner member with CREATEROLE.

            Exit codes: 0 done; 1 refused (the login exists, not permitted, cannot be dropped); \
            2 usage error, unknown login or agency, or no connection. See docs/security.md.
            """,
        subcommands: [CreateClerk.self, CreateBoardStaff.self, CreateRegistrar.self, CreateAuditor.self,
                      CreateDaemon.self, List.self, Remap.self, Drop.self, Token.self, WebEnable.self,
                      CreateAuthenticator.self]
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
        if let agency { try await requireRegisteredAgency(agency, on: connection) }
        do {
            try await Logins.create(options.name, role: role, agencyID: agency, password: password, on: connection)
        } catch let error as LoginError {
            throw exit(error)
        }
        print("created login \(options.name) in \(role.rawValue)" + (agency.map { " for agency \($0)" } ?? ""))
    }

    /// Prints a `LoginError` and returns its exit code: 2 for bad input or an unknown login,
    /// 1 for a refusal.
    static func exit(_ error: LoginError) -> ExitCode {
        printError("\(error)")
        switch error {
        case .invalidName, .invalidAgency, .unknownLogin: return Exit.notCarriedOut
        case .alreadyExists, .notPermitted, .cannotDrop: return Exit.refused
        }
    }

    /// Exits 2 (with the closest names) unless the register has an agency with this id.
    static func requireRegisteredAgency(_ agency: String, on connection: Connection) async throws {
        let known = try await connection.query("SELECT DISTINCT agency_id FROM agreement_status", name: "agency ids")
            .rows.map { try $0.decode(0, as: String.self) }
        guard !known.contains(agency) else { return }
        let suggestions = closestNames(to: agency, among: known)
        printError("no agency \(agency) in the register"
                   + (suggestions.isEmpty ? " (see `sbie status`; import ICE's list first)"
                      : "; did you mean " + suggestions.joined(separator: " or ") + "?"))
        throw Exit.notCarriedOut
    }

    struct Remap: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Map an agency clerk's login to another agency (it files and reads for that agency only from now on).",
            discussion: """
                Commands it submitted before keep their agency. Example:
                  sbie login remap tpd_clerk --agency tallahassee-police-department
                """)
        @OptionGroup var db: DatabaseOptions
        @Argument(help: "The clerk's login.") var name: String
        @Option(help: ArgumentHelp("The agency id (lowercase slug) the clerk files for from now on.", valueName: "agency-id"))
        var agency: String

        func run() async throws {
            let connection = try await db.connect(db.logger("sbie.login"))
            try await requireRegisteredAgency(agency, on: connection)
            do {
                let before = try await Logins.remapClerk(name, to: agency, on: connection)
                print("login \(name) now files for \(agency)" + (before.map { " (was \($0))" } ?? ""))
            } catch let error as LoginError {
                throw Login.exit(error)
            }
        }
    }

    struct Drop: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Drop a login made by `sbie login create-*`, and its agency mapping.",
            discussion: """
                Its events and commands keep its name as their actor. Only logins in one of the \
                groups (or mapped to an agency) are dropped; any other role is refused.
                """)
        @OptionGroup var db: DatabaseOptions
        @Argument(help: "The login.") var name: String

        func run() async throws {
            let connection = try await db.connect(db.logger("sbie.login"))
            do {
                let login = try await Logins.drop(name, on: connection)
                print("dropped login \(name) (\(login.roles.joined(separator: ", ")))"
                      + (login.agencyID.map { ", which filed for \($0)" } ?? ""))
            } catch let error as LoginError {
                throw Login.exit(error)
            }
        }
    }

    struct CreateClerk: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create an agency clerk's login, mapped to one agency.",
            discussion: """
                The clerk may submit submit_termination_request, withdraw_termination_request and \
                record_termination_notice for that agency only, and reads only its agency's commands \
                and projection rows. Example:
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
            let logins = try await Logins.list(on: connection)
            if json { try printJSON(logins); return }
            guard !logins.isEmpty else { return print("no logins (create them with `sbie login create-*`)") }
            printTable(["login", "roles", "agency", "can login"], logins.map {
                [$0.name, $0.roles.joined(separator: ","), $0.agencyID ?? "", $0.canLogin ? "yes" : "no"]
            })
        }
    }
}
