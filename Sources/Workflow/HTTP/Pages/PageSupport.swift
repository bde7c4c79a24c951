import Crypto
import Foundation
import Hummingbird

/// Cookies, CSRF tokens, form bodies and HTML responses for the pages.
enum PageSupport {
    static let sessionCookie = "sbie_session"
    static let csrfCookie = "sbie_csrf"
    /// Largest form body accepted, in bytes (a termination request's text fields are far smaller).
    static let maxFormBytes = 64 * 1024

    /// The strict Content-Security-Policy of every page: our own script, styles, images and
    /// SSE feed only; no inline script or style; forms post to this origin only; no framing.
    static let contentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
        + "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

    static func cookies(_ request: Request) -> [String: String] {
        var result: [String: String] = [:]
        for header in request.headers[values: .cookie] {
            for pair in header.split(separator: ";") {
                let kv = pair.split(separator: "=", maxSplits: 1)
                guard kv.count == 2 else { continue }
                let name = kv[0].trimmingCharacters(in: .whitespaces)
                if result[name] == nil { result[name] = kv[1].trimmingCharacters(in: .whitespaces) }
            }
        }
        return result
    }

    /// A cookie header value: HttpOnly, SameSite=Strict, Path=/ (and Secure behind TLS).
    static func setCookie(_ name: String, _ value: String, maxAge: Int?, secure: Bool) -> String {
        "\(name)=\(value); Path=/; HttpOnly; SameSite=Strict" + (maxAge.map { "; Max-Age=\($0)" } ?? "") + (secure ? "; Secure" : "")
    }

    /// A well-formed CSRF cookie value (what `Tokens.generate` makes).
    static func isToken(_ text: String) -> Bool {
        text.hasPrefix("sbie_") && (40...80).contains(text.utf8.count)
            && text.utf8.allSatisfy { $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") || (48...57).contains($0) || (65...90).contains($0) || (97...122).contains($0) }
    }

    /// The form token for a CSRF cookie: HMAC-SHA256 under the server's key (bytes), 64 hex digits.
    static func csrfToken(cookie: String, key: Data) -> String {
        HMAC<SHA256>.authenticationCode(for: Data(cookie.utf8), using: SymmetricKey(data: key))
            .map { String(format: "%02x", $0) }.joined()
    }

    /// True when the form's token is the HMAC of the request's own CSRF cookie (compared in constant time).
    static func csrfValid(cookie: String?, token: String?, key: Data) -> Bool {
        guard let cookie, isToken(cookie), let token, token.utf8.count == 64, let mac = hexBytes(token) else { return false }
        return HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: Data(cookie.utf8), using: SymmetricKey(data: key))
    }

    /// True unless the browser says the request came from another site (`Origin`, `Sec-Fetch-Site`).
    static func sameOrigin(_ request: Request) -> Bool {
        if let site = header(request, "sec-fetch-site"), site != "same-origin", site != "none" { return false }
        if let origin = header(request, "origin") {
            guard let host = request.head.authority ?? header(request, "host"),
                  let url = URL(string: origin), let originHost = url.host else { return false }
            let originAuthority = originHost + (url.port.map { ":\($0)" } ?? "")
            return originAuthority.lowercased() == host.lowercased()
        }
        return true
    }

    static func header(_ request: Request, _ name: String) -> String? {
        request.headers.first { $0.name.canonicalName == name }?.value
    }

    private static func hexBytes(_ text: String) -> Data? {
        var bytes = Data()
        var iterator = text.utf8.makeIterator()
        while let high = iterator.next() {
            guard let low = iterator.next(), let h = nibble(high), let l = nibble(low) else { return nil }
            bytes.append(h << 4 | l)
        }
        return bytes
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case 48...57: return c - 48
        case 97...102: return c - 87
        default: return nil
        }
    }

    /// An `application/x-www-form-urlencoded` body: each name's value.
    /// - Throws: `PageError` 415 for another content type, 413 over `maxFormBytes`, 400 for bad
    ///   encoding, a NUL, or a name given more than once (the page names the field).
    static func form(_ request: Request) async throws -> FormValues {
        let type = request.headers[.contentType]?.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased()
        guard type == "application/x-www-form-urlencoded" else {
            throw PageError(415, "Unsupported form", "This page accepts forms sent by a browser (application/x-www-form-urlencoded).")
        }
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: maxFormBytes)
        } catch {
            throw PageError(413, "Form too large", "The form is larger than \(maxFormBytes / 1024) KiB.")
        }
        return try parseForm(String(buffer: buffer))
    }

    static func parseForm(_ body: String) throws(PageError) -> FormValues {
        var values: FormValues = [:]
        for pair in body.split(separator: "&", omittingEmptySubsequences: true) {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = decode(kv[0]), let value = decode(kv.count > 1 ? kv[1] : "") else {
                throw PageError(400, "Malformed form", "The form's encoding is malformed.")
            }
            guard !name.contains("\u{0}"), !value.contains("\u{0}") else {
                throw PageError(400, "Malformed form", "The form contains a NUL character, which no field may hold.")
            }
            guard values[name] == nil else {
                throw PageError(400, "Repeated field",
                                "The form sent the field “\(name.prefix(100))” more than once. Each field is sent once; a repeated field is refused, not resolved (as a repeated key in a JSON payload, CQ002), so nothing was recorded.",
                                "Go back, reload the page and submit the form again.")
            }
            values[name] = value
        }
        return values
    }

    private static func decode(_ text: Substring) -> String? {
        text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding
    }
}

/// A page-level failure shown to people as an HTML page with its status.
struct PageError: Error {
    var status: Int
    var heading: String
    var paragraphs: [String]
    var link: MessageView.Link?

    init(_ status: Int, _ heading: String, _ paragraphs: String..., link: MessageView.Link? = nil) {
        self.status = status
        self.heading = heading
        self.paragraphs = paragraphs
        self.link = link
    }
}
