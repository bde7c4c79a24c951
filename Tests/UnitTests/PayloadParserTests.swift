import Foundation
import Testing
@testable import Workflow

/// The strict JSON parser behind `DomainCommand.parse` (defence in depth: `submit_command`
/// refuses the same inputs in SQL, CQ002) and the payload date range. No database.
@Suite struct PayloadParserTests {
    static let request = "6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b"

    func rejection(_ type: String, _ payload: String) -> Rejection? {
        guard case .failure(let rejection) = DomainCommand.parse(type: type, payload: Data(payload.utf8)) else { return nil }
        return rejection
    }

    func syntaxError(_ text: String) -> JSONSyntaxError? {
        do {
            _ = try JSONValue.parse(strict: Data(text.utf8))
            return nil
        } catch {
            return error
        }
    }

    /// The attack of issue 10: Foundation's decoder read "no" and denied, PostgreSQL's `->>` read "yes".
    @Test func repeatedVoteInsideVotesIsMalformed() throws {
        let payload = """
            {"request_id":"\(Self.request)","meeting_date":"2025-09-16",\
            "votes":{"governor":"no","attorney_general":"yes","chief_financial_officer":"yes",\
            "commissioner_of_agriculture":"yes","governor":"yes"}}
            """
        let refused = try #require(rejection("record_board_vote", payload))
        #expect(refused.code == "malformed_payload")
        #expect(refused.field == "votes.governor")
        // Rejections name their source first (issue 13): the record rule, then what was wrong.
        #expect(refused.message.hasSuffix(": payload repeats the key 'votes.governor'"))
    }

    @Test func repeatedKeysAtAnyDepth() {
        #expect(syntaxError(#"{"a":1,"a":1}"#)?.repeatedKey == "a")
        #expect(syntaxError(#"{"a":{"b":[1,{"c":2,"d":3,"c":2}]}}"#)?.repeatedKey == "a.b[1].c")
        #expect(syntaxError(#"[{"x":1},{"x":1,"y":[{"z":0,"z":0}]}]"#)?.repeatedKey == "[1].y[0].z")
        // Escapes are compared after unescaping: "\u0061" is "a".
        #expect(syntaxError(#"{"a":1,"\u0061":2}"#)?.repeatedKey == "a")
        // The same key in sibling objects is not a repetition.
        #expect(syntaxError(#"{"a":{"k":1},"b":{"k":1}}"#) == nil)
        #expect(rejection("register_agreement", #"{"agency_name":"A","agency_name":"B"}"#)?.code == "malformed_payload")
    }

    @Test func nestingIsBounded() {
        let ok = "{\"a\":" + String(repeating: "[", count: 31) + String(repeating: "]", count: 31) + "}"
        let deep = "{\"a\":" + String(repeating: "[", count: 32) + String(repeating: "]", count: 32) + "}"
        #expect(syntaxError(ok) == nil)
        #expect(syntaxError(deep)?.reason == "objects and arrays nest deeper than 32 levels")
        // Far past the limit: refused at once, no deep recursion.
        #expect(syntaxError(String(repeating: "[", count: 100_000)) != nil)
    }

    @Test func malformedTextIsRefusedWithItsOffset() {
        #expect(syntaxError("") != nil)
        #expect(syntaxError("{} x")?.reason == "trailing characters after the JSON value")
        #expect(syntaxError(#"{"a":1e400}"#)?.reason == "number out of range")
        #expect(syntaxError(#"{"a":01}"#) != nil)
        #expect(syntaxError(#"{"a":1.}"#) != nil)
        #expect(syntaxError(#"{"a":-}"#) != nil)
        #expect(syntaxError(#"{"a":"\ud800"}"#)?.reason == "unpaired UTF-16 surrogate escape")
        #expect(syntaxError(#"{"a":"\udc00\ud800"}"#)?.reason == "unpaired UTF-16 surrogate escape")
        #expect(syntaxError("{\"a\":\"\u{1}\"}")?.reason == "unescaped control character in a string")
        #expect(syntaxError(#"{"a":"\x"}"#)?.reason == "invalid escape")
        #expect(syntaxError(#"{"a":tru}"#)?.reason == "invalid literal")
        #expect(syntaxError(#"{"a" 1}"#)?.offset == 5)
        #expect(syntaxError(#"{"a":1,}"#) != nil)
        #expect(syntaxError(#"[1,]"#) != nil)
        var invalidUTF8 = Data(#"{"a":""#.utf8)
        invalidUTF8.append(contentsOf: [0xC3, 0x28])
        invalidUTF8.append(contentsOf: Data(#""}"#.utf8))
        #expect(throws: JSONSyntaxError.self) { try JSONValue.parse(strict: invalidUTF8) }
        #expect(rejection("schedule_review", "{\"request_id\":")?.message.contains("payload is not valid JSON: ") == true)
    }

    /// For well-formed JSON without repeated keys the strict parser reads what Foundation reads.
    @Test func agreesWithFoundationOnValidJSON() throws {
        let samples = [
            #"{}"#, #"[]"#, #" {"a" : [ 1 , -2.5e3 , 0.125 , true , false , null ] } "#,
            #"{"s":"caf\u00e9 \ud83d\ude00 \"q\" \\ \/ \b\f\n\r\t","e":"","n":-0,"big":1.7976931348623157e308}"#,
            #"{"nested":{"x":[{"y":{"z":"deep"}}]}}"#, "\"plain\"", "12", "null",
        ]
        for sample in samples {
            let data = Data(sample.utf8)
            let strict = try JSONValue.parse(strict: data)
            let foundation = try JSONDecoder().decode(JSONValue.self, from: data)
            #expect(strict == foundation, "\(sample)")
        }
    }

    @Test func datesOutsideTheSaneRangeAreInvalid() throws {
        func filed(_ date: String) -> String {
            """
            {"request_id":"\(Self.request)","agency_id":"tallahassee-police-department","model":"TFM",\
            "reason":"r","local_authorization":"l","filed_on":"\(date)"}
            """
        }
        for date in ["0001-01-01", "1899-12-31", "2200-01-01", "9999-12-31"] {
            let refused = try #require(rejection("submit_termination_request", filed(date)), "\(date)")
            #expect(refused.code == "invalid_date")
            #expect(refused.field == "filed_on")
            #expect(refused.message.contains("outside the dates this register accepts (1900-01-01 through 2199-12-31)"))
        }
        for date in ["1900-01-01", "2199-12-31", "2025-08-01"] {
            #expect(rejection("submit_termination_request", filed(date)) == nil, "\(date)")
        }
        let meeting = try #require(rejection("schedule_review", #"{"request_id":"\#(Self.request)","meeting_date":"10000-01-01"}"#))
        #expect(meeting.code == "invalid_date")
    }

    /// Every command the domain writes parses back through the strict parser unchanged.
    @Test func canonicalPayloadsRoundTrip() throws {
        let votes: [BoardSeat: Ballot] = [.governor: .yes, .attorneyGeneral: .no, .chiefFinancialOfficer: .abstain]
        let commands: [DomainCommand] = [
            .recordBoardVote(RecordBoardVote(requestID: UUID(), meetingDate: try #require(FloridaDate(iso: "2025-09-16")),
                                             votes: votes)),
            .fillBoardSeat(FillBoardSeat(seat: .governor, member: "M \"Q\" \u{e9}", effectiveOn: try #require(FloridaDate(iso: "2025-02-13")),
                                         dateUncertain: true, note: "line\nbreak", sources: ["a", "b"], replacesEntryOn: nil)),
        ]
        for command in commands {
            #expect(DomainCommand.parse(type: command.commandType, payload: command.payloadJSON()) == .success(command))
        }
    }
}
