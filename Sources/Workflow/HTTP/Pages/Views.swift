import Foundation

// View models: plain values the templates read by name (swift-mustache reflects them).
// Every string is escaped by the template; URLs are built here from validated ids.
// Templates see stored properties only (Mirror), so flags are stored too.
// A template climbs to enclosing values when a name is missing or nil, so optional parts
// that could collide with an outer name are given as a Bool flag plus a plain string.

/// The page frame: title, navigation, who is signed in, and the rendered page.
struct LayoutView {
    var title: String
    var assets = PageAssets.paths
    var nav: NavView
    var viewer: ViewerView?
    var csrf: String
    var flash: FlashView?
    var content: String
}

struct NavView {
    var register = false, docket = false, board = false, verify = false, clerk = false, login = false
}

/// Who the database says is signed in.
struct ViewerView: Sendable {
    var login: String
    var roleLabel: String
    var isClerk: Bool
    var isBoard: Bool
    var agencyID: String?
}

struct FlashView {
    /// `ok`, `info`, or empty for an error.
    var kind: String
    var message: String
}

/// A rejection or refusal shown above a form.
struct AlertView {
    var heading: String
    var message: String
    var source: String?
}

struct OptionView { var value: String; var label: String; var selected: Bool }

/// One labelled control, with its hint and its error (if any) next to it.
struct FieldView {
    enum Kind { case text, password, textarea, select }
    var id: String
    var name: String
    var label: String
    var value: String
    var hint: String
    var error: String
    var autocomplete: String
    var options: [OptionView]
    var isText: Bool, isPassword: Bool, isTextarea: Bool, isSelect: Bool
    // Stored, not computed: templates see stored properties only.
    var hasHint: Bool
    var hasError: Bool
    var hasDescription: Bool
    var describedBy: String

    /// - Parameters:
    ///   - form: the form's submitted values (what the user typed is kept on an error).
    ///   - errors: messages by field name.
    init(_ kind: Kind, _ name: String, _ label: String, form: FormValues, errors: [String: String], hint: String = "",
         options: [(value: String, label: String)] = [], idPrefix: String = "f", autocomplete: String = "off") {
        id = "\(idPrefix)-\(name)"
        self.name = name
        self.label = label
        value = form[name] ?? ""
        self.hint = hint
        error = errors[name] ?? ""
        self.autocomplete = autocomplete
        let current = value
        self.options = options.map { OptionView(value: $0.value, label: $0.label, selected: $0.value == current) }
        isText = kind == .text
        isPassword = kind == .password
        isTextarea = kind == .textarea
        isSelect = kind == .select
        hasHint = !hint.isEmpty
        hasError = !error.isEmpty
        hasDescription = hasHint || hasError
        describedBy = [hasError ? "\(id)-error" : nil, hasHint ? "\(id)-hint" : nil].compactMap { $0 }.joined(separator: " ")
    }
}

/// Form values as submitted (first value of each name).
typealias FormValues = [String: String]

struct MessageView {
    struct Link { var href: String; var text: String }
    var heading: String
    var paragraphs: [String]
    var link: Link?
}

// MARK: - Charts

/// A horizontal bar chart drawn on the server as SVG.
struct ChartView {
    struct Bar { var label: String; var value: Int; var y: Int; var textY: Int; var barX: Int; var barWidth: Int; var barHeight: Int; var valueX: Int }
    var id: String
    var title: String
    var description: String
    var width = 400
    var height: Int
    var bars: [Bar]

    /// - Parameter data: (label, count) in display order; bars scale to the largest count.
    init(id: String, title: String, data: [(String, Int)]) {
        self.id = id
        self.title = title
        let labelWidth = 175, maxBar = 180, rowHeight = 26, barHeight = 18
        let largest = max(1, data.map(\.1).max() ?? 1)
        bars = data.enumerated().map { index, item in
            let width = item.1 == 0 ? 0 : max(2, item.1 * maxBar / largest)
            let y = 4 + index * rowHeight
            return Bar(label: item.0, value: item.1, y: y, textY: y + 14, barX: labelWidth, barWidth: width,
                       barHeight: barHeight, valueX: labelWidth + width + 6)
        }
        height = max(30, 8 + data.count * rowHeight)
        description = data.map { "\($0.0): \($0.1)" }.joined(separator: "; ")
    }
}

// MARK: - Pages

struct RegisterView {
    struct Count { var label: String; var count: Int }
    struct Row {
        var href: String, agencyName: String, county: String?, modelName: String, signedOn: String
        var state: String, stateLabel: String, endedOn: String?, endWord: String, edition: String, notListed: Bool
    }
    var total: Int
    var shown: Int
    var latestEdition: String
    var stateCounts: [Count]
    var filters: [FieldView]
    var filterSummary: String?
    var rows: [Row]
    var hasRows: Bool
    var charts: [ChartView]
}

/// One event in a history table.
struct EventView {
    var position: Int64
    var previous: Int64
    var stream: String
    var version: Int
    var legalDate: String
    var type: String
    var summary: String
    var actor: String
    var recordedAt: String
    var hash: String
    var hashShort: String
    var prevHash: String
    /// The date a decision table shows: the legal date, or for a scheduling the meeting date.
    var decisionDate: String
}

struct AgreementView {
    struct RequestLine { var href: String; var filedOn: String; var state: String; var stateLabel: String; var decidedOn: String?; var effectiveOn: String? }
    var id: String, agencyName: String, agencyType: String, county: String?, modelName: String, signedOn: String
    var state: String, stateLabel: String, endedOn: String?, mustKeep: String, edition: String, notListed: Bool
    var latestEdition: String, moaURL: String?, openRequestHref: String?
    var requests: [RequestLine]
    var hasRequests: Bool
    var historyCaption: String
    var history: [EventView]
}

struct RequestView {
    struct Vote { var seat: String; var member: String; var vote: String }
    struct Decision { var date: String; var decision: String; var rule: String; var source: String }
    var id: String, agreementID: String, agreementHref: String, agencyName: String, modelName: String
    var state: String, stateLabel: String, filedOn: String, reason: String, localAuthorization: String
    var meetingOn: String?, decidedOn: String?, noticeReceivedOn: String?, effectiveOn: String?
    var votes: [Vote]
    var hasVotes: Bool
    var decisions: [Decision]
    var actions: ActionsView?
    var csrf: String
    var historyCaption: String
    var history: [EventView]
}

/// The forms a signed-in actor may use on a request page.
struct ActionsView {
    var alert: AlertView?
    var forms: [FormView]
}

struct FormView {
    var id: String
    var heading: String
    var note: String?
    var action: String
    var fields: [FieldView]
    var ballot: BallotView?
    var button: String
    /// A UUID made when the form is shown: the command's idempotency key.
    var formID: String
}

struct BallotView {
    struct Choice { var value: String; var label: String; var checked: Bool }
    struct Seat { var seat: String; var title: String; var member: String; var vacant: Bool; var error: String; var hasError: Bool; var choices: [Choice] }
    var meeting: String
    var seats: [Seat]
}

struct DocketView {
    struct Row { var agencyName: String, modelName: String, filedOn: String, state: String, stateLabel: String, meetingOn: String?, href: String, linkText: String }
    var head: Int64
    var rows: [Row]
    var hasRows: Bool
}

struct BoardView {
    struct Sitting { var title: String; var member: String? }
    struct Source { var href: String; var text: String }
    struct Entry { var effectiveOn: String; var uncertain: Bool; var member: String?; var note: String?; var sources: [Source]; var plainSources: [String] }
    struct Seat { var title: String; var entries: [Entry] }
    struct Form { var alert: AlertView?; var fields: [FieldView]; var formID: String }
    var today: String
    var sitting: [Sitting]
    var seats: [Seat]
    var form: Form?
    var csrf: String
}

struct VerifyView {
    var count: Int64, headPosition: Int64, headHash: String, headRecordedAt: String, dense: String, linkCheck: String
}

struct LoginView {
    var alert: AlertView?
    var fields: [FieldView]
    var csrf: String
}

struct ClerkView {
    struct RequestLine { var href: String; var filedOn: String; var modelName: String; var state: String; var stateLabel: String; var decidedOn: String?; var effectiveOn: String? }
    var agencyName: String
    var requests: [RequestLine]
    var hasRequests: Bool
    var alert: AlertView?
    var canFile: Bool
    var requestID: String
    var fields: [FieldView]
    var csrf: String
}

// MARK: - Labels

enum Labels {
    static func agreementState(_ raw: String) -> String {
        switch raw {
        case "active": return "Active"
        case "termination_requested": return "Termination requested"
        case "termination_approved": return "Termination approved"
        case "termination_pending": return "Ending (notice given)"
        case "terminated": return "Terminated"
        default: return raw
        }
    }

    static func requestState(_ raw: String) -> String {
        switch raw {
        case "submitted": return "Submitted"
        case "under_review": return "Under review"
        case "approved": return "Approved"
        case "denied": return "Denied"
        case "withdrawn": return "Withdrawn"
        case "notice_served": return "Notice served"
        case "effective": return "Effective: agreement ended"
        default: return raw
        }
    }

    static func model(_ code: String) -> String { Model(rawValue: code)?.iceName ?? code }

    /// Percent-encodes one path segment (ids are already restricted; this is belt and braces).
    static func segment(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/?#"))) ?? ""
    }

    /// A source link's text: its host and last path segment ("en.wikipedia.org: Jimmy Patronis"),
    /// so two links on one row read differently.
    static func linkText(_ url: String) -> String {
        guard let parsed = URL(string: url), let host = parsed.host else { return url }
        let last = parsed.lastPathComponent.replacingOccurrences(of: "_", with: " ")
        return last.isEmpty || last == "/" ? host : "\(host): \(last)"
    }

    static func agreementHref(_ id: String) -> String { "/agreements/" + segment(id) }
    static func requestHref(_ id: String) -> String { "/requests/" + segment(id) }

    /// A link target only for http(s) URLs (never `javascript:` or other schemes from data).
    static func safeURL(_ text: String?) -> String? {
        guard let text, let url = URL(string: text), let scheme = url.scheme?.lowercased(),
              scheme == "https" || scheme == "http", url.host != nil else { return nil }
        return text
    }
}

/// The rule and legal source behind each kind of decision, as the request page states them.
/// Sources are Florida Statutes (the statute's text) or the 287(g) MOA templates; where the
/// service applies an interpretation it says so (see docs and DESIGN.md's rules).
enum LegalBasis {
    static func of(_ eventType: String) -> (decision: String, rule: String, source: String)? {
        switch eventType {
        case "TerminationRequestSubmitted":
            return ("Request accepted for review",
                    "The request names an active agreement of the filing agency with no other open request; a sheriff's office or county jail operator must keep at least one agreement.",
                    "s. 908.11(1), F.S. (statute's text: such agencies must enter into and keep an agreement); the one-open-request rule is the service's")
        case "TerminationRequestWithdrawn":
            return ("Request withdrawn", "A request may be withdrawn by its agency before the Board decides.", "The service's rule (interpretation)")
        case "ReviewScheduled":
            return ("Review scheduled", "The Board votes only on a request scheduled for that meeting.", "The service's rule (interpretation of s. 908.11(1), F.S.: the Board must approve)")
        case "BoardVoteRecorded":
            return ("Votes recorded", "Each member sitting on the meeting date votes; the seats are data with effective dates; a vacant seat has no vote.",
                    "s. 908.1031, F.S. (statute's text: the Board's members)")
        case "TerminationApproved":
            return ("Approved", "Every sitting member voted yes.",
                    "s. 908.1031, F.S. (statute's text: \"All board action shall be by unanimous vote\"); s. 908.11(1), F.S. (the Board must approve the termination; applied to every agency, the broad reading)")
        case "TerminationDenied":
            return ("Denied", "Approval needs a yes from every sitting member; any other tally is a denial.",
                    "s. 908.1031, F.S. (statute's text: \"All board action shall be by unanimous vote\")")
        case "TerminationNoticeReceived":
            return ("Notice recorded", "Notice only after approval; the agreement ends on ICE's receipt of the notice (Task Force Model, Jail Enforcement Model) or 90 days after it (Warrant Service Officer).",
                    "The 287(g) MOA templates' termination clauses (interpretation of the MOA text)")
        case "AgreementTerminated":
            return ("Agreement ended", "The agreement ends on the effective date set by the notice.", "The 287(g) MOA templates' termination clauses")
        default:
            return nil
        }
    }
}
