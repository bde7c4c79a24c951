import Foundation

/// The main job's illustrative scenario: real agencies and agreements from ICE's
/// 2025-07-18 list, with example requests and Board votes (they did not happen), and
/// real 2025 local government votes recorded as annotations (`Step.real`). Each step
/// states the outcome the rules require, so the demo and its test can check it.
/// Every example request is filed on or after 2025-07-18, the edition the register was
/// imported from, so no example predates its agreement's registration in legal time.
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
        /// True for an event that really happened (with `sources`); false for an example.
        public var real: Bool = false
        /// Where a real event is reported.
        public var sources: [String] = []
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
            // The key names the step's content, so a changed step is a new command on a
            // database where an earlier version of the demo ran.
            var hash: UInt64 = 0xcbf2_9ce4_8422_2325  // FNV-1a 64
            for byte in Array(command.commandType.utf8) + [0] + Array(command.payloadJSON()) {
                hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
            }
            return Step(title: title, command: command, expectedRejection: code, key: "demo-2025:\(key):\(String(hash, radix: 16))")
        }

        let southMiami = try agency("South Miami Police Department")
        let escambia = try agency("Escambia County Sheriff's Office")
        let alachua = try agency("Alachua County Sheriff's Office")
        let tallahassee = try agency("Tallahassee Police Department")
        let arcadia = try agency("Arcadia Police Department")
        let bay = try agency("Bay County Sheriff's Office")
        let keyWestTFM = AgreementID(agency: try agency("Key West Police Department"), model: .taskForce,
                                     signedOn: try day("2025-03-05"))
        let fortMyersTFM = AgreementID(agency: try agency("Fort Myers Police Department"), model: .taskForce,
                                       signedOn: try day("2025-05-16"))
        let tallahasseeTFM = AgreementID(agency: tallahassee, model: .taskForce, signedOn: try day("2025-03-10"))
        func real(_ title: String, _ agreement: AgreementID, body: String, on date: String, motion: String, tally: String,
                  sources: [String]) throws -> Step {
            var s = step("REAL (\(date)): " + title, .recordLocalGovernmentVote(RecordLocalGovernmentVote(
                agreementID: agreement, body: body, votedOn: try day(date), motion: motion, tally: tally, sources: sources)))
            s.real = true
            s.sources = sources
            return s
        }
        func schedule(_ n: Int, on: String, meeting: String) throws -> DomainCommand {
            .scheduleReview(ScheduleReview(requestID: request(n), meetingDate: try day(meeting), scheduledOn: try day(on)))
        }

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
                step("Board staff schedule the review on 2025-08-25 for the 2025-10-14 meeting (so as of 2025-09-20 it is under review)",
                     try schedule(3, on: "2025-08-25", meeting: "2025-10-14")),
                step("The Board votes 4-0 to approve (unanimous, s. 908.1031, F.S.)",
                     .recordBoardVote(RecordBoardVote(requestID: request(3), meetingDate: try day("2025-10-14"),
                                                      votes: all(yes)))),
                step("ICE receives the termination notice on 2025-10-20: a Task Force Model agreement ends on receipt (policy entry notice-effect.tfm-jem-inferred: an inference)",
                     .recordTerminationNotice(RecordTerminationNotice(
                        requestID: request(3), agencyID: alachua, servedOn: try day("2025-10-16"),
                        receivedOn: try day("2025-10-20")))),
            ]),
            Part(heading: "A request denied: approval needs every sitting member", steps: [
                step("Tallahassee Police Department files to end its Task Force Model agreement",
                     try submit(4, tallahassee, .taskForce, filed: "2025-08-18", reason: "Example: city commission vote",
                                authorization: "City commission vote (example)")),
                step("Board staff schedule the review on 2025-08-25 for the 2025-09-16 meeting",
                     try schedule(4, on: "2025-08-25", meeting: "2025-09-16")),
                step("The Board votes 3 yes, 1 no: denied, and the agreement stays active",
                     .recordBoardVote(RecordBoardVote(requestID: request(4), meetingDate: try day("2025-09-16"),
                                                      votes: all(yes, except: [.commissionerOfAgriculture: .no])))),
            ]),
            Part(heading: "Approved with the Chief Financial Officer's seat vacant (Patronis left 2025-03-31; Ingoglia sworn in 2025-07-21)", steps: [
                step("Arcadia Police Department files to end its Task Force Model agreement",
                     try submit(5, arcadia, .taskForce, filed: "2025-07-18", reason: "Example: staffing",
                                authorization: "City council vote (example)")),
                step("Board staff schedule the review on 2025-07-18 for a special meeting on 2025-07-18 (CFO seat vacant that day)",
                     try schedule(5, on: "2025-07-18", meeting: "2025-07-18")),
                step("The three sitting members vote yes: approved",
                     .recordBoardVote(RecordBoardVote(requestID: request(5), meetingDate: try day("2025-07-18"),
                                                      votes: all(yes, skipping: [.chiefFinancialOfficer])))),
                step("ICE receives the notice on 2025-07-28: a Task Force Model agreement ends on receipt (policy entry notice-effect.tfm-jem-inferred: an inference, the template states no time)",
                     .recordTerminationNotice(RecordTerminationNotice(
                        requestID: request(5), agencyID: arcadia, receivedOn: try day("2025-07-28")))),
            ]),
            Part(heading: "A Warrant Service Officer agreement ends 90 days after notice", steps: [
                step("Bay County Sheriff's Office files to end its Warrant Service Officer agreement (it keeps its TFM)",
                     try submit(6, bay, .warrantServiceOfficer, filed: "2025-09-02", reason: "Example request",
                                authorization: "Sheriff's letter (example)")),
                step("Board staff schedule the review on 2025-09-23 for the 2025-10-14 meeting",
                     try schedule(6, on: "2025-09-23", meeting: "2025-10-14")),
                step("The Board votes 4-0 to approve",
                     .recordBoardVote(RecordBoardVote(requestID: request(6), meetingDate: try day("2025-10-14"),
                                                      votes: all(yes)))),
                step("ICE receives the notice on 2025-11-03: the end is scheduled for 2026-02-01 (90 days, policy entry notice-effect.wso-moa: the WSO MOA's text)",
                     .recordTerminationNotice(RecordTerminationNotice(
                        requestID: request(6), agencyID: bay, receivedOn: try day("2025-11-03")))),
            ]),
            Part(heading: "Local governments' votes in 2025 (REAL events, recorded as annotations only)", steps: [
                try real("the Fort Myers City Council's vote on the police department's 287(g) agreement ties 3-3; the motion fails",
                         fortMyersTFM, body: "Fort Myers City Council", on: "2025-03-17",
                         motion: "Approve the Fort Myers Police Department's 287(g) Task Force Model agreement with ICE",
                         tally: "3-3 (failed)",
                         sources: ["https://fox4now.com/news/state/immigration-action/ft-myers-mayor-has-concern-frustrations-after-failed-vote-on-immigration-powers"]),
                try real("at a special meeting the Fort Myers City Council approves the agreement unanimously",
                         fortMyersTFM, body: "Fort Myers City Council", on: "2025-03-21",
                         motion: "Approve the Fort Myers Police Department's 287(g) Task Force Model agreement with ICE",
                         tally: "unanimous (approved)",
                         sources: ["https://news.wgcu.org/tags/fort-myers-city-council"]),
                try real("the Key West City Commission votes 6-1 to declare its 287(g) agreement void",
                         keyWestTFM, body: "Key West City Commission", on: "2025-06-30",
                         motion: "Declare the Key West Police Department's 287(g) Task Force Model agreement void",
                         tally: "6-1",
                         sources: ["https://floridianpress.com/2025/07/key-west-commissioners-vote-to-keep-agreement-with-ice-following-uthmeier-warning"]),
                try real("the Key West City Commission votes 4-2 for a resolution to enter the agreement; it never ended",
                         keyWestTFM, body: "Key West City Commission", on: "2025-07-08",
                         motion: "Resolution directing the city manager to enter into the 287(g) agreement with ICE",
                         tally: "4-2",
                         sources: ["https://keysweekly.com/42/key-west-commission-capitulates-as-country-watches"]),
                try real("the Tallahassee City Commission's motion to rescind the police department's 287(g) agreement fails 3-2",
                         tallahasseeTFM, body: "Tallahassee City Commission", on: "2025-10-22",
                         motion: "Rescind the Tallahassee Police Department's 287(g) Task Force Model agreement",
                         tally: "3-2 (failed)",
                         sources: ["https://www.wtxl.com/downtown-tallahassee/motion-to-rescind-tallahassees-287g-agreement-with-ice-fails"]),
            ]),
        ]
    }
}
