import ArgumentParser
import Foundation
import Workflow

// An agency clerk's commands: file a termination request, withdraw it, record the
// notice ICE received. Each is submitted to the queue and decided by `sbie run`.

let waitDiscussion = """
    Waits for the daemon (`sbie run`) to decide, then prints the events and the new state, or the \
    rejection's code and the rule's source. Exit codes: 0 accepted (or queued with --no-wait); \
    1 rejected, or refused (the login may not submit it); 2 not carried out: usage error, unknown \
    agency or request, no connection, or no outcome within --timeout (the command stays queued).
    """

struct RequestTermination: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "request",
        abstract: "File an agency's request to terminate one of its 287(g) agreements (s. 908.11, F.S.).",
        discussion: """
            Prints the new request's id first. The agreement is the agency's active agreement of \
            --model (or --agreement). A sheriff's office may not end its last agreement.

            """ + "\n" + waitDiscussion)

    @OptionGroup var db: DatabaseOptions
    @Option(help: "The filing agency: its name as ICE prints it, or its id.") var agency: String
    @Option(help: "Which agreement: TFM, WSO or JEM.") var model: Model
    @Option(help: "The agreement id, when the agency must name it.") var agreement: AgreementID?
    @Option(help: "Why the agency asks.") var reason: String
    @Option(name: .customLong("authorization"), help: "The local authorization, e.g. the commission's vote.")
    var localAuthorization: String
    @Option(help: "The date filed (YYYY-MM-DD).") var filed: FloridaDate
    @Option(help: "The request's id (default: a new UUID).") var requestID: UUID?
    @OptionGroup var submit: SubmitOptions

    func run() async throws {
        let connection = try await db.connect(db.logger("sbie.request"))
        let command = SubmitTerminationRequest(
            requestID: requestID ?? UUID(), agencyID: try await agencyID(agency, on: connection), model: model,
            agreementID: agreement, reason: reason, localAuthorization: localAuthorization, filedOn: filed)
        // A request id drawn afresh on each run: a retry with the same key differs only in it.
        try await submitAndReport(.submitTerminationRequest(command), options: submit, on: connection,
                                  ignoringField: requestID == nil ? "request_id" : nil) { queued in
            // A reused idempotency key returns the first command: print the request id it carries.
            let payload = try? await ReadModels.commandPayload(queued.commandID, on: connection)
            let filed = payload.flatMap { try? JSONDecoder().decode(FiledRequest.self, from: Data($0.utf8)) }
            if !submit.json { print("request \(filed?.requestID ?? lower(command.requestID))") }
        }
    }
}

struct WithdrawRequest: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "withdraw",
        abstract: "Withdraw an agency's termination request before the Board decides.",
        discussion: waitDiscussion)

    @OptionGroup var db: DatabaseOptions
    @Argument(help: "The request's id.") var requestID: UUID
    @Option(help: "The agency (name or id); default: the request's.") var agency: String?
    @Option(help: "The date withdrawn (YYYY-MM-DD).") var date: FloridaDate
    @Option(help: "Why (optional).") var reason: String?
    @OptionGroup var submit: SubmitOptions

    func run() async throws {
        let connection = try await db.connect(db.logger("sbie.withdraw"))
        let agency = try await requestAgency(requestID, named: agency, on: connection)
        try await submitAndReport(
            .withdrawTerminationRequest(WithdrawTerminationRequest(
                requestID: requestID, agencyID: agency, withdrawnOn: date, reason: reason)),
            options: submit, on: connection)
    }
}

struct RecordNotice: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "notice",
        abstract: "Record that ICE received the agency's termination notice (after the Board's approval).",
        discussion: """
            The agreement ends when the notice-effect policy entry says: 90 days after receipt for a \
            Warrant Service Officer agreement (the MOA template's text), on receipt for a Task Force \
            Model or Jail Enforcement Model agreement (an inference: those templates state no \
            effective time). When ICE states another effective date (the WSO template's "unless \
            exigent circumstances involving public safety dictate otherwise"), give it with \
            --stated-effective and say where ICE stated it with --stated-source. Whether the Board's \
            approval must come first is the approval-scope policy entry in force on --received.

            """ + "\n" + waitDiscussion)

    @OptionGroup var db: DatabaseOptions
    @Argument(help: "The request's id.") var requestID: UUID
    @Option(help: "The agency (name or id); default: the request's.") var agency: String?
    @Option(help: "The date ICE received the notice (YYYY-MM-DD).") var received: FloridaDate
    @Option(help: "The date the notice was sent (optional).") var served: FloridaDate?
    @Option(help: "The effective date ICE stated, when it differs from the policy entry's rule (YYYY-MM-DD).")
    var statedEffective: FloridaDate?
    @Option(help: "Where ICE stated that date (letter, email, date); required with --stated-effective.")
    var statedSource: String?
    @OptionGroup var submit: SubmitOptions

    func run() async throws {
        let connection = try await db.connect(db.logger("sbie.notice"))
        let agency = try await requestAgency(requestID, named: agency, on: connection)
        try await submitAndReport(
            .recordTerminationNotice(RecordTerminationNotice(
                requestID: requestID, agencyID: agency, servedOn: served, receivedOn: received,
                statedEffectiveOn: statedEffective, statedEffectiveSource: statedSource)),
            options: submit, on: connection)
    }
}

/// The part of a `submit_termination_request` payload that names the request.
private struct FiledRequest: Decodable {
    var requestID: String
    enum CodingKeys: String, CodingKey { case requestID = "request_id" }
}

/// The agency named on the command line, else the one that filed the request.
private func requestAgency(_ request: UUID, named name: String?, on connection: Connection) async throws -> AgencyID {
    if let name { return try await agencyID(name, on: connection) }
    if let row = try await ReadModels.terminationRequestRow(request, on: connection), let id = AgencyID(slug: row.agencyID) { return id }
    printError("no request \(lower(request)) in the register; name the agency with --agency")
    throw ExitCode(2)
}
