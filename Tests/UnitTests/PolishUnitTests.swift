import Foundation
import Testing
@testable import Workflow

/// Pure parts of the polish fixes: which 404s are pages, how the public log names an actor.
@Suite struct PolishUnitTests {
    @Test func aBrowserGetsThePageOnlyOutsideTheAPI() {
        let html = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
        #expect(Pages.wantsPage(path: "/no/such/page", accept: html))
        #expect(Pages.wantsPage(path: "/agreementsX", accept: "TEXT/HTML"))
        #expect(!Pages.wantsPage(path: "/no/such/page", accept: "*/*"))
        #expect(!Pages.wantsPage(path: "/no/such/page", accept: nil))
        for api in ["/v1", "/v1/nowhere", "/health", "/health/x", "/metrics", "/metrics/x"] {
            #expect(!Pages.wantsPage(path: api, accept: html), "\(api)")
        }
        // Only whole path segments are the API's.
        #expect(Pages.wantsPage(path: "/v10", accept: html))
        #expect(Pages.wantsPage(path: "/healthy", accept: html))
    }

    @Test func thePublicActorIsARoleAndAnAgencyNeverALogin() {
        #expect(EventHistory.publicActor(#"{"actor":{"role":"agency_clerk","agency_id":"tallahassee-police-department"},"command_id":"x"}"#)
                == "agency_clerk (tallahassee-police-department)")
        #expect(EventHistory.publicActor(#"{"actor":{"role":"board_staff","agency_id":null}}"#) == "board_staff")
        #expect(EventHistory.publicActor(#"{"actor":"clerk_login"}"#) == nil)
        #expect(EventHistory.publicActor("not json") == nil)
        #expect(EventHistory.publicActor("{}") == nil)
    }

    @Test func aReusedKeyNamesItsCode() {
        #expect(SubmissionError.keyReusedCode == "idempotency_key_reused")
        let error = SubmissionError(code: SubmissionError.keyReusedCode, message: "m", commandID: UUID())
        #expect(error.description == "idempotency_key_reused: m")
    }
}
