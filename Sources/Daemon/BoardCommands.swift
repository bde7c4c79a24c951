import ArgumentParser
import Foundation
import Workflow

// Board staff's commands: schedule a review, record a vote seat by seat, fill or
// vacate a seat; and the registrar's annotation of a local government's vote.

struct ScheduleReviewCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schedule",
        abstract: "Put a termination request on the agenda of a Board meeting (rescheduling allowed).",
        discussion: """
            --on is the day the review was scheduled: the event's legal date, so that the request \
            reads "under review" from that day (not before). Default: today, or the meeting date \
            when the meeting is already past; never after the meeting (scheduled_after_meeting).

            """ + "\n" + waitDiscussion)

    @OptionGroup var db: DatabaseOptions
    @Argument(help: "The request's id.") var requestID: UUID
    @Option(help: "The meeting date (YYYY-MM-DD).") var meeting: FloridaDate
    @Option(help: "The day the review was scheduled (YYYY-MM-DD); default: today, but not after the meeting.")
    var on: FloridaDate?
    @OptionGroup var submit: SubmitOptions

    func run() async throws {
        let connection = try await db.connect(db.logger("sbie.schedule"))
        let scheduledOn = on ?? ScheduleReview.defaultScheduledOn(meeting: meeting, today: FloridaDate(floridaDateOf: Date()))
        try await submitAndReport(.scheduleReview(ScheduleReview(requestID: requestID, meetingDate: meeting, scheduledOn: scheduledOn)),
                                  options: submit, on: connection)
    }
}

struct RecordVote: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vote",
        abstract: "Record the Board's vote on a request, seat by seat (yes, no, abstain, absent).",
        discussion: """
            Give a ballot for exactly the seats filled on the meeting date; leave a vacant seat out. \
            Approval needs a yes from every sitting member (s. 908.1031, F.S.: "All board action \
            shall be by unanimous vote"); any other tally is a denial.

            """ + "\n" + waitDiscussion)

    @OptionGroup var db: DatabaseOptions
    @Argument(help: "The request's id.") var requestID: UUID
    @Option(help: "The meeting date (YYYY-MM-DD): the one the review is scheduled for.") var meeting: FloridaDate
    @Option(help: "The Governor's ballot.") var governor: Ballot?
    @Option(help: "The Attorney General's ballot.") var attorneyGeneral: Ballot?
    @Option(name: [.customLong("cfo"), .customLong("chief-financial-officer")],
            help: "The Chief Financial Officer's ballot.")
    var chiefFinancialOfficer: Ballot?
    @Option(name: [.customLong("agriculture"), .customLong("commissioner-of-agriculture")],
            help: "The Commissioner of Agriculture's ballot.")
    var commissionerOfAgriculture: Ballot?
    @OptionGroup var submit: SubmitOptions

    func validate() throws {
        if [governor, attorneyGeneral, chiefFinancialOfficer, commissionerOfAgriculture].allSatisfy({ $0 == nil }) {
            throw ValidationError("give at least one seat's ballot (--governor, --attorney-general, --cfo, --agriculture)")
        }
    }

    func run() async throws {
        let connection = try await db.connect(db.logger("sbie.vote"))
        var votes: [BoardSeat: Ballot] = [:]
        votes[.governor] = governor
        votes[.attorneyGeneral] = attorneyGeneral
        votes[.chiefFinancialOfficer] = chiefFinancialOfficer
        votes[.commissionerOfAgriculture] = commissionerOfAgriculture
        try await submitAndReport(
            .recordBoardVote(RecordBoardVote(requestID: requestID, meetingDate: meeting, votes: votes)),
            options: submit, on: connection)
    }
}

struct Seat: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Record a change in the Board's composition (seats have effective dates).",
        subcommands: [Fill.self, Vacate.self, Load.self])

    struct Load: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Record every seat change of a seat-history file (default: the Board's 2025 seats).",
            discussion: """
                Submits the file's fill and vacate entries in order and waits for each. Each entry \
                has a stable idempotency key (file, index, content), so loading the same file twice \
                changes nothing. Loading a corrected file on a register that holds an earlier \
                version records each difference as a correction (replaces_entry_on); the log keeps both. \
                A relative path that is not in the current directory is looked up in the checkout \
                sbie was built in (as `migrate` finds Sql/). Stops at the first refusal (e.g. a \
                login that may not change seats).
                """)

        @OptionGroup var db: DatabaseOptions
        @Argument(help: "A seat-history JSON file.") var file = "data/board-seats-2025.json"
        @Option(help: "Seconds to wait for each outcome.") var timeout: Double = 30

        func run() async throws {
            let connection = try await db.connect(db.logger("sbie.seat"))
            let data: Data
            let file = locateDataFile(file)
            do { data = try Data(contentsOf: URL(fileURLWithPath: file)) } catch {
                printError("cannot read \(file): \(error.localizedDescription)")
                throw ExitCode(2)
            }
            let board = try await PointInTime.register(asOf: .position(Int64.max), on: connection).state.board
            let commands: [DomainCommand]
            switch BoardSeed.plan(from: data, against: board) {
            case .success(let list): commands = list
            case .failure(let rejection):
                printError("\(file): \(rejection.message)")
                throw ExitCode(2)
            }
            let stem = URL(fileURLWithPath: file).deletingPathExtension().lastPathComponent
            var failed = false
            for (index, command) in commands.enumerated() {
                var options = try SubmitOptions.parse(["--timeout", String(timeout)])
                options.idempotencyKey = fileEntryKey(stem, index, command)
                do { try await submitAndReport(command, options: options, on: connection) } catch let exit as ExitCode {
                    if exit.rawValue == 2 { throw exit }
                    failed = true
                } catch let refused as SubmissionRefused {
                    // The next entries would be refused alike: say so once.
                    printError("seat load stopped at entry \(index + 1) of \(commands.count) (\(refused.code)); nothing after it was submitted")
                    throw refused
                }
            }
            if failed { throw ExitCode(1) }
        }
    }

    /// What fill and vacate share.
    struct Details: ParsableArguments {
        @Argument(help: "governor, attorney-general, cfo or agriculture.") var seat: BoardSeat
        @Option(help: "The date the change takes effect (YYYY-MM-DD).") var effective: FloridaDate
        @Flag(help: "Public sources do not pin the date down.") var dateUncertain = false
        @Option(help: "A note (optional).") var note: String?
        @Option(name: .customLong("source"), help: "A citation or URL (repeatable).") var sources: [String] = []
        @Option(name: .customLong("replaces"), help: "Correct the seat's entry effective on this date instead of adding one.")
        var replacesEntryOn: FloridaDate?
    }

    struct Fill: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "From --effective, --member holds the seat.", discussion: waitDiscussion)

        @OptionGroup var db: DatabaseOptions
        @OptionGroup var details: Details
        @Option(help: "The member's name.") var member: String
        @OptionGroup var submit: SubmitOptions

        func run() async throws {
            let connection = try await db.connect(db.logger("sbie.seat"))
            try await submitAndReport(
                .fillBoardSeat(FillBoardSeat(
                    seat: details.seat, member: member, effectiveOn: details.effective, dateUncertain: details.dateUncertain,
                    note: details.note, sources: details.sources, replacesEntryOn: details.replacesEntryOn)),
                options: submit, on: connection)
        }
    }

    struct Vacate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "From --effective, the seat is vacant.", discussion: waitDiscussion)

        @OptionGroup var db: DatabaseOptions
        @OptionGroup var details: Details
        @OptionGroup var submit: SubmitOptions

        func run() async throws {
            let connection = try await db.connect(db.logger("sbie.seat"))
            try await submitAndReport(
                .vacateBoardSeat(VacateBoardSeat(
                    seat: details.seat, effectiveOn: details.effective, dateUncertain: details.dateUncertain,
                    note: details.note, sources: details.sources, replacesEntryOn: details.replacesEntryOn)),
                options: submit, on: connection)
        }
    }
}

struct Annotate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Record a local government's vote about an agreement (an annotation: it changes no state).",
        discussion: """
            E.g. a city commission declaring its agreement void (it is recorded as an annotation and \
            changes no agreement). Submitted by a registrar login (register upkeep), not board staff. \
            Find agreement ids with `sbie status --agency NAME`.

            """ + "\n" + waitDiscussion)

    @OptionGroup var db: DatabaseOptions
    @Argument(help: "The agreement's id, e.g. key-west-police-department.tfm.2025-03-05.") var agreementID: AgreementID
    @Option(help: "The body that voted, e.g. \"Key West City Commission\".") var body: String
    @Option(help: "The date of the vote (YYYY-MM-DD).") var date: FloridaDate
    @Option(help: "The motion.") var motion: String
    @Option(help: "The tally, e.g. 6-1.") var tally: String
    @Option(name: .customLong("source"), help: "A citation or URL (repeatable).") var sources: [String] = []
    @OptionGroup var submit: SubmitOptions

    func run() async throws {
        let connection = try await db.connect(db.logger("sbie.annotate"))
        try await submitAndReport(
            .recordLocalGovernmentVote(RecordLocalGovernmentVote(
                agreementID: agreementID, body: body, votedOn: date, motion: motion, tally: tally, sources: sources)),
            options: submit, on: connection)
    }
}
