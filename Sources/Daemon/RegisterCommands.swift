import ArgumentParser
import Foundation
import Workflow

// The registrar's decisions on what an ICE edition left open (issue 12): each is a
// command with the registrar as actor, decided by `sbie run` and recorded as an event.

struct AgencyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agency", abstract: "The registrar's agency decisions.", subcommands: [RenameAgencyCommand.self])
}

struct AgreementCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agreement", abstract: "The registrar's agreement decisions.",
        subcommands: [MarkDuplicateCommand.self, ChangeHolderCommand.self, CorrectDateCommand.self])
}

struct RenameAgencyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rename",
        abstract: "Rename an agency; it keeps its id, and its new name finds it in later editions.",
        discussion: waitDiscussion)

    @OptionGroup var db: DatabaseOptions
    @Argument(help: "The agency (name or id).") var agency: String
    @Option(help: "The new name, as ICE prints it.") var to: String
    @Option(help: "The ICE edition showing the new name (YYYY-MM-DD, optionally am/pm).") var edition: String?
    @OptionGroup var submit: SubmitOptions

    func validate() throws {
        if let edition, !EditionLabel.isValid(edition) { throw ValidationError("--edition must be YYYY-MM-DD (optionally am or pm)") }
    }

    func run() async throws {
        let connection = try await db.connect(db.logger("sbie.agency.rename"))
        try await submitAndReport(.renameAgency(RenameAgency(
            agencyID: try await agencyID(agency, on: connection), newName: to, sourceEdition: edition)),
            options: submit, on: connection)
    }
}

struct MarkDuplicateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mark-duplicate",
        abstract: "Record that an agreement is a second listing of another (it stops being live; nothing is terminated).",
        discussion: "E.g. `sbie agreement mark-duplicate city-of-st-cloud-police-department.tfm.2025-04-15 "
            + "--of st-cloud-police-department.tfm.2025-04-14 --edition 2025-07-18`.\n\n" + waitDiscussion)

    @OptionGroup var db: DatabaseOptions
    @Argument(help: "The duplicate agreement's id.") var agreementID: AgreementID
    @Option(name: .customLong("of"), help: "The agreement it repeats.") var duplicateOf: AgreementID
    @Option(help: "The ICE edition the decision rests on (YYYY-MM-DD).") var edition: FloridaDate
    @Option(help: "Why (optional).") var note: String?
    @OptionGroup var submit: SubmitOptions

    func run() async throws {
        let connection = try await db.connect(db.logger("sbie.agreement.mark-duplicate"))
        try await submitAndReport(.markDuplicateAgreement(MarkDuplicateAgreement(
            agreementID: agreementID, duplicateOf: duplicateOf, edition: edition, note: note)), options: submit, on: connection)
    }
}

struct ChangeHolderCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "change-holder",
        abstract: "Record that another agency now holds an agreement (same model, date and MOA file).",
        discussion: waitDiscussion)

    @OptionGroup var db: DatabaseOptions
    @Argument(help: "The agreement's id.") var agreementID: AgreementID
    @Option(help: "The new holder's name, as ICE prints it.") var to: String
    @Option(help: "The ICE edition showing it (YYYY-MM-DD).") var edition: FloridaDate
    @Option(help: "Why (optional).") var note: String?
    @OptionGroup var submit: SubmitOptions

    func run() async throws {
        let connection = try await db.connect(db.logger("sbie.agreement.change-holder"))
        try await submitAndReport(.changeAgreementHolder(ChangeAgreementHolder(
            agreementID: agreementID, agencyName: to, edition: edition, note: note)), options: submit, on: connection)
    }
}

extension Array where Element == String {
    /// The elements without repeats, in order.
    func uniqued() -> [String] {
        var seen = Set<String>()
        return filter { seen.insert($0).inserted }
    }
}

struct CorrectDateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "correct-date",
        abstract: "Correct an agreement's signed date (the registrar's decision on a re-dating the import held for review).",
        discussion: "E.g. `sbie agreement correct-date melbourne-beach-police-department.tfm.2025-05-13 --signed 2025-04-14 "
            + "--edition 2025-07-18`: the agreement keeps its id.\n\n" + waitDiscussion)

    @OptionGroup var db: DatabaseOptions
    @Argument(help: "The agreement's id.") var agreementID: AgreementID
    @Option(help: "The correct signed date (YYYY-MM-DD).") var signed: FloridaDate
    @Option(help: "The ICE edition the correction rests on (YYYY-MM-DD, optionally am/pm).") var edition: String?
    @Option(help: "Why (optional).") var note: String?
    @OptionGroup var submit: SubmitOptions

    func validate() throws {
        if let edition, !EditionLabel.isValid(edition) { throw ValidationError("--edition must be YYYY-MM-DD (optionally am or pm)") }
    }

    func run() async throws {
        let connection = try await db.connect(db.logger("sbie.agreement.correct-date"))
        try await submitAndReport(.correctSignedDate(CorrectSignedDate(
            agreementID: agreementID, signedOn: signed, sourceEdition: edition, note: note)), options: submit, on: connection)
    }
}
