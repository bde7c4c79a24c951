import Foundation

/// The main job's illustrative scenario: real agencies and agreements from ICE's
/// 2025-07-18 list, with example requests and votes (they did not happen). Each
/// step states the outcome the rules require, so the demo and its test can check it.
public enum IllustrativeScenario {
    /// One command and the outcome the rules require of it.
    public struct Step: Sendable {
        /// What the step shows, for people reading the demo's output.
        public var title: String
        public var command: DomainCommand
        /// nil: accepted; otherwise the rejection code required.
        public var expectedRejection: String?
        /// A stable idempotency key, so running the demo twice changes nothing.
        public var key: String
    }

    /// A group of steps under a heading.
    public struct Part: Sendable {
        public var heading: String
        public var steps: [Step]
    }

    /// - Throws: `Rejection` if a built-in date or id is malformed (a bug here).
    public static func parts() throws -> [Part] {
        func day(_ text: String) throws -> FloridaDate {
            guard let date = FloridaDate(iso: text) else {
                throw Rejection(code: "invalid_date", message: "scenario date \(text)")
            }
            return date
        }
        func agency(_ name: String) throws -> AgencyID {
            guard let id = AgencyID(name: name) else {
                throw Rejection(code: "invalid_field_value", message: "scenario agency \(name)")
            }
            return id
        }
        func request(_ n: Int) -> UUID {
            UUID(uuid: (0x28, 0x7e, 0, 0, 0, 0, 0x40, 0, 0x80, 0, 0, 0, 0, 0, 0, UInt8(n)))
        }
        let yes = Ballot.yes
        var key = 0
        func step(_ title: String, _ command: DomainCommand, rejected code: String? = nil) -> Step {
            key += 1
            return Step(title: title, command: command, expectedRejection: code, key: "demo-2025:\(key)")
        }

        let southMiami = try agency("South Miami Police Department")
        let escambia = try agency("Escambia County Sheriff's Office")
        let alachua = try agency("Alachua County Sheriff's Office")
        let tallahassee = try agency("Tallahassee Police Department")
        let arcadia = try agency("Arcadia Police Department")
        let bay = try agency("Bay County Sheriff's Office")
        let keyWestTFM = AgreementID(agency: try agency("Key West Police Department"), model: .taskForce,
                                     signedOn: try day("2025-03-05"))

        func submit(_ n: Int, _ agency: AgencyID, _ model: Model, filed: String, reason: String,
                    authorization: String) throws -> DomainCommand {
            .submitTerminationRequest(SubmitTerminationRequest(
                requestID: request(n), agencyID: agency, model: model, reason: reason,
                localAuthorization: authorization, filedOn: try day(filed)))
        }
        func all(_ ballot: Ballot, except: [BoardSeat: Ballot] = [:], skipping vacant: [BoardSeat] = [])
            -> [BoardSeat: Ballot]
        {
            var votes: [BoardSeat: Ballot] = [:]
            for seat in BoardSeat.allCases where !vacant.contains(seat) { votes[seat] = except[seat] ?? ballot }
            return votes
        }

        return [
            Part(heading: "An agency with no agreement", steps: [
                step("South Miami Police Department asks to withdraw from 287(g): it holds no agreement",
                     try submit(1, southMiami, .taskForce, filed: "2025-08-04", reason: "City commission resolution",
                                authorization: "City of South Miami resolution (example)"),
                     rejected: "no_active_agreement"),
            ]),
            Part(heading: "A sheriff must keep an agreement (s. 908.11(1), F.S.)", steps: [
                step("Escambia County Sheriff's Office asks to end its only agreement (Task Force Model)",
                     try submit(2, escambia, .taskForce, filed: "2025-08-05", reason: "Example request",
                                authorization: "Sheriff's letter (example)"),
                     rejected: "mandatory_agreement"),
            ]),
            Part(heading: "A sheriff ends its Task Force Model and keeps its Warrant Service Officer agreement", steps: [
                step("Alachua County Sheriff's Office files to end its Task Force Model agreement",
                     try submit(3, alachua, .taskForce, filed: "2025-08-11", reason: "Example: resources",
                                authorization: "Sheriff's letter (example)")),
                step("Board staff schedule the review for the 2025-09-16 meeting",
                     .scheduleReview(ScheduleReview(requestID: request(3), meetingDate: try day("2025-09-16")))),
                step("The Board votes 4-0 to approve (unanimous, s. 908.1031, F.S.)",
                     .recordBoardVote(RecordBoardVote(requestID: request(3), meetingDate: try day("2025-09-16"),
                                                      votes: all(yes)))),
                step("ICE receives the termination notice on 2025-09-22: a Task Force Model agreement ends on receipt",
                     .recordTerminationNotice(RecordTerminationNotice(
                        requestID: request(3), agencyID: alachua, servedOn: try day("2025-09-18"),
                        receivedOn: try day("2025-09-22")))),
            ]),
            Part(heading: "A request denied: approval needs every sitting member", steps: [
                step("Tallahassee Police Department files to end its Task Force Model agreement",
                     try submit(4, tallahassee, .taskForce, filed: "2025-08-18", reason: "Example: city commission vote",
                                authorization: "City commission vote (example)")),
                step("Board staff schedule the review for the 2025-09-16 meeting",
                     .scheduleReview(ScheduleReview(requestID: request(4), meetingDate: try day("2025-09-16")))),
                step("The Board votes 3 yes, 1 no: denied, and the agreement stays active",
                     .recordBoardVote(RecordBoardVote(requestID: request(4), meetingDate: try day("2025-09-16"),
                                                      votes: all(yes, except: [.commissionerOfAgriculture: .no])))),
            ]),
            Part(heading: "Approved with the Chief Financial Officer's seat vacant", steps: [
                step("Arcadia Police Department files to end its Task Force Model agreement",
                     try submit(5, arcadia, .taskForce, filed: "2025-04-14", reason: "Example: staffing",
                                authorization: "City council vote (example)")),
                step("Board staff schedule the review for the 2025-05-20 meeting (CFO seat vacant that day)",
                     .scheduleReview(ScheduleReview(requestID: request(5), meetingDate: try day("2025-05-20")))),
                step("The three sitting members vote yes: approved",
                     .recordBoardVote(RecordBoardVote(requestID: request(5), meetingDate: try day("2025-05-20"),
                                                      votes: all(yes, skipping: [.chiefFinancialOfficer])))),
                step("ICE receives the notice on 2025-06-02: the agreement ends that day",
                     .recordTerminationNotice(RecordTerminationNotice(
                        requestID: request(5), agencyID: arcadia, receivedOn: try day("2025-06-02")))),
            ]),
            Part(heading: "A Warrant Service Officer agreement ends 90 days after notice", steps: [
                step("Bay County Sheriff's Office files to end its Warrant Service Officer agreement (it keeps its TFM)",
                     try submit(6, bay, .warrantServiceOfficer, filed: "2025-09-02", reason: "Example request",
                                authorization: "Sheriff's letter (example)")),
                step("Board staff schedule the review for the 2025-10-14 meeting",
                     .scheduleReview(ScheduleReview(requestID: request(6), meetingDate: try day("2025-10-14")))),
                step("The Board votes 4-0 to approve",
                     .recordBoardVote(RecordBoardVote(requestID: request(6), meetingDate: try day("2025-10-14"),
                                                      votes: all(yes)))),
                step("ICE receives the notice on 2025-11-03: the end is scheduled for 2026-02-01 (90 days, WSO MOA)",
                     .recordTerminationNotice(RecordTerminationNotice(
                        requestID: request(6), agencyID: bay, receivedOn: try day("2025-11-03")))),
            ]),
            Part(heading: "Key West: a local government's votes are annotations only", steps: [
                step("2025-06-30: the Key West City Commission declares its agreement void",
                     .recordLocalGovernmentVote(RecordLocalGovernmentVote(
                        agreementID: keyWestTFM, body: "Key West City Commission", votedOn: try day("2025-06-30"),
                        motion: "Declare the 287(g) Task Force Model agreement void", tally: "see the Commission's minutes"))),
                step("2025-07-08: the Commission reverses that vote; the agreement never ended",
                     .recordLocalGovernmentVote(RecordLocalGovernmentVote(
                        agreementID: keyWestTFM, body: "Key West City Commission", votedOn: try day("2025-07-08"),
                        motion: "Rescind the 2025-06-30 vote declaring the agreement void", tally: "see the Commission's minutes"))),
            ]),
        ]
    }
}
