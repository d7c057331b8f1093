import Foundation
import HTTPTypes
import Hummingbird

/// The fields of a form POST, and the anti-forgery checks of every state change a cookie
/// authenticates (requests with an `Authorization` header carry no ambient credentials and are exempt).
enum FormFields {
    static let csrfHeader = HTTPField.Name("X-CSRF-Token")!

    /// Decodes an `application/x-www-form-urlencoded` body; with `csrf`, its `csrf` field must match.
    static func read(_ request: Request, csrf: String? = nil, crossSiteMessage: String = "cross-site requests are refused") async throws -> [String: String] {
        if let site = request.headers[HTTPField.Name("Sec-Fetch-Site")!], site == "cross-site" {
            throw HTTPError(.forbidden, message: crossSiteMessage)
        }
        var request = request
        let body = try await request.collectBody(upTo: 64 * 1024)
        var fields: [String: String] = [:]
        for pair in String(buffer: body).split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ text: Substring) throws -> String {
                guard let decoded = String(text).replacingOccurrences(of: "+", with: " ").removingPercentEncoding else {
                    throw HTTPError(.badRequest, message: "form field \(parts[0].prefix(40)): not valid UTF-8 or percent-encoding")
                }
                return decoded
            }
            fields[try decode(parts[0])] = parts.count > 1 ? try decode(parts[1]) : ""
        }
        if let csrf, !DashboardServer.constantTimeEquals(fields["csrf"] ?? "", csrf) {
            throw HTTPError(.forbidden, message: "the form's CSRF value is missing or wrong; reload the page")
        }
        return fields
    }

    /// A JSON state change made with a session cookie must send the session's CSRF value in
    /// `X-CSRF-Token` (a page of another site can neither read it nor set the header).
    static func requireCSRF(_ principal: Authenticator.Principal, _ request: Request) throws {
        guard let csrf = principal.csrf else { return }
        guard DashboardServer.constantTimeEquals(request.headers[csrfHeader] ?? "", csrf) else {
            throw HTTPError(.forbidden, message: "a request authenticated by a session cookie needs the session's CSRF value in X-CSRF-Token")
        }
    }
}
