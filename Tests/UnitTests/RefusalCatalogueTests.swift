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

}
