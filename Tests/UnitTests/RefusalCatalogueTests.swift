import Foundation
import Testing
import Workflow

@Suite("Refusal catalogue (no database)")
struct RefusalCatalogueTests {
    @Test("docs/security.md's refusal table lists every catalogued SQLSTATE with its code")
    func refusalTableMatchesTheDocs() throws {
        let docs = try String(contentsOf: projectRoot.appendingPathComponent("docs/security.md"), encoding: .utf8)
        for refusal in Refusal.all {
            let row = docs.split(separator: "\n").first { $0.hasPrefix("| `\(refusal.sqlState)`") || $0.contains("`\(refusal.sqlState)`, ") && $0.hasPrefix("| ") }
            #expect(row != nil, "\(refusal.sqlState) has no row in docs/security.md")
            #expect(row?.contains("`\(refusal.code)`") == true, "\(refusal.sqlState) row lacks `\(refusal.code)`")
        }
    }

    @Test("a submission refused by these SQLSTATEs is a SubmissionError with the catalogue's code; others pass through")
    func submissionCodes() {
        let expected = [
            "CQ001": "payload_too_large", "CQ002": "malformed_payload", "22P02": "malformed_payload",
            "22P05": "malformed_payload", "54001": "malformed_payload", "22023": "invalid_submission",
            "42501": "permission_denied", "CQ003": "agency_mismatch", "22021": "malformed_payload",
            "22007": "invalid_timestamp", "22008": "invalid_timestamp", "CQ004": "available_at_not_allowed",
            "CQ005": "timestamp_out_of_range", "CQ006": "invalid_name", "CQ007": "idempotency_key_reused",
        ]
        #expect(Refusal.submissionStates == Set(expected.keys))
        for (state, code) in expected { #expect(Refusal.forSQLState(state)?.code == code, "\(state)") }
    }
}
