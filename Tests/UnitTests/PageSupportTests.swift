import Foundation
import Testing
@testable import Workflow

/// The pages' pure parts: form decoding, CSRF tokens, links from data, charts (no database).
@Suite struct PageSupportTests {
    @Test func formDecodingDecodesPercentAndPlus() throws {
        let form = try PageSupport.parseForm("reason=City+commission%3A+%3Cb%3Eyes%3C%2Fb%3E&filed_on=2025-02-30&empty=")
        #expect(form["reason"] == "City commission: <b>yes</b>")
        #expect(form["filed_on"] == "2025-02-30")
        #expect(form["empty"] == "")
        #expect(form.count == 3)
    }

    /// Issue 19 follow-up: a repeated field is refused (the CLI refuses a repeated option, the
    /// queue a repeated JSON key), naming the field, rather than resolved to one of its values.
    @Test func formDecodingRefusesARepeatedField() {
        do {
            _ = try PageSupport.parseForm("votes.governor=yes&votes.cfo=yes&votes.governor=no")
            Issue.record("a repeated field was accepted")
        } catch {
            #expect(error.status == 400)
            #expect(error.paragraphs.first?.contains("“votes.governor”") == true)
        }
        #expect(throws: PageError.self) { try PageSupport.parseForm("a=1&a=1") }
    }

    @Test func formDecodingRefusesBadEncodingAndNul() {
        #expect(throws: PageError.self) { try PageSupport.parseForm("reason=%E0%A4%A") }
        #expect(throws: PageError.self) { try PageSupport.parseForm("reason=a%00b") }
    }

    @Test func csrfTokenIsBoundToTheCookieAndTheKey() {
        let key = Data(repeating: 7, count: 32)
        let cookie = Tokens.generate()
        let token = PageSupport.csrfToken(cookie: cookie, key: key)
        #expect(token.count == 64)
        #expect(PageSupport.csrfValid(cookie: cookie, token: token, key: key))
        #expect(!PageSupport.csrfValid(cookie: Tokens.generate(), token: token, key: key), "another cookie")
        #expect(!PageSupport.csrfValid(cookie: cookie, token: token, key: Data(repeating: 8, count: 32)), "another key (a restart)")
        #expect(!PageSupport.csrfValid(cookie: cookie, token: nil, key: key))
        #expect(!PageSupport.csrfValid(cookie: nil, token: token, key: key))
        #expect(!PageSupport.csrfValid(cookie: cookie, token: String(repeating: "0", count: 64), key: key))
        #expect(!PageSupport.csrfValid(cookie: cookie, token: token.uppercased(), key: key), "hex is lower-case")
        #expect(!PageSupport.csrfValid(cookie: "x;y", token: token, key: key), "a malformed cookie")
    }

    @Test func onlyHttpLinksComeFromData() {
        #expect(Labels.safeURL("https://www.ice.gov/doclib/287gMOA/x.pdf") == "https://www.ice.gov/doclib/287gMOA/x.pdf")
        #expect(Labels.safeURL("javascript:alert(1)") == nil)
        #expect(Labels.safeURL("data:text/html,hi") == nil)
        #expect(Labels.safeURL("s. 908.1031, F.S.") == nil)
        #expect(Labels.requestHref("a/b?c") == "/requests/a%2Fb%3Fc")
    }

    @Test func chartBarsScaleToTheLargestCount() {
        let chart = ChartView(id: "c", title: "t", data: [("A", 10), ("B", 5), ("C", 0)])
        #expect(chart.bars.map(\.barWidth) == [180, 90, 0])
        #expect(chart.description == "A: 10; B: 5; C: 0")
        #expect(chart.height == 8 + 3 * 26)
    }

    @Test func everyTemplateParses() {
        #expect(PageTemplates.parseErrors() == [])
        #expect(PageTemplates.sources.count == 13)
    }
}
