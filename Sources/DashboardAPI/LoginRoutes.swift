import CreditWorkers
import Foundation
import HTTPTypes
import Hummingbird

/// Signing in from a browser: a one-time link (`creditops tokens link`), or a token pasted into a
/// form; either starts a server-side session whose id is the cookie. Pages answer in Vietnamese,
/// never with JSON.
struct LoginRoutes {
    let authenticator: Authenticator
    let audit: AuditLog

    func add(to router: Router<CreditOpsRequestContext>) {
        router.get("login") { request, _ -> Response in
            let language = PageLanguage.of(request)
            var response = DashboardServer.html(LoginPage(request).form(next: Self.safeNext(request.uri.queryParameters["next"].map(String.init))))
            response.headers[.contentLanguage] = language.rawValue
            if request.uri.queryParameters["lang"] != nil { response.setCookie(language.rememberingCookie(secure: authenticator.secureCookies)) }
            return response
        }
        router.post("login") { request, context -> Response in
            let fields = try await FormFields.read(request, crossSiteMessage: "sign-in forms from other sites are refused")
            let next = Self.safeNext(fields["next"])
            let token = (fields["token"] ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
            do {
                try authenticator.refuseIfLimited(context)
            } catch let error as HTTPError {
                var response = DashboardServer.html(LoginPage(request).form(next: next, error: LoginPage(request).texts.tryLater), status: error.status)
                response.headers[.retryAfter] = error.headers[.retryAfter]
                return response
            }
            guard !token.isEmpty, let scope = try await authenticator.scope(ofToken: token, context: context) else {
                await audit.record(.init(tokenID: nil, name: "", role: "", address: context.address), action: "sign-in", target: "token",
                                   outcome: "refused: not a valid token")
                return DashboardServer.html(
                    LoginPage(request).form(next: next, error: LoginPage(request).texts.wrongToken), status: .unauthorized)
            }
            let sessionID = try await authenticator.sessions.signIn(scope)
            await audit.record(.init(scope, address: context.address), action: "sign-in", target: "token", outcome: "ok")
            return signedIn(sessionID, location: next ?? "/dashboard/\(scope.unitCode)")
        }
        router.get("login/:code") { request, context -> Response in
            try authenticator.refuseIfLimited(context)
            let code = try context.decodedParameter("code")
            switch try await authenticator.sessions.redeem(code: code) {
            case .signedIn(let sessionID, let scope):
                await audit.record(.init(scope, address: context.address), action: "sign-in", target: "link", outcome: "ok")
                let next = Self.safeNext(request.uri.queryParameters["next"].map(String.init))
                return signedIn(sessionID, location: next ?? "/dashboard/\(scope.unitCode)")
            case .alreadyUsed:
                return DashboardServer.html(LoginPage(request).linkRefused(LoginPage(request).texts.alreadyUsed), status: .gone)
            case .expired:
                return DashboardServer.html(LoginPage(request).linkRefused(LoginPage(request).texts.expired), status: .gone)
            case .unknown:
                authenticator.limiter.recordFailure(context.address)
                return DashboardServer.html(LoginPage(request).linkRefused(LoginPage(request).texts.unknown), status: .notFound)
            }
        }
        router.get("logout") { request, context -> Response in
            guard let principal = try? await authenticator.optionalPrincipal(of: request, context: context), let csrf = principal.csrf else {
                return Response(status: .seeOther, headers: [.location: "/login"])
            }
            return DashboardServer.html(LoginPage(request).logout(csrf: csrf))
        }
        router.post("logout") { request, context -> Response in
            let principal = try await authenticator.principal(of: request, context: context)
            guard let sessionID = principal.sessionID, let csrf = principal.csrf else {
                throw HTTPError(.badRequest, message: "only a browser session can sign out; a token is revoked with creditops tokens revoke")
            }
            _ = try await FormFields.read(request, csrf: csrf)
            try await authenticator.sessions.end(sessionID: sessionID)
            authenticator.forget(sessionID: sessionID)
            await audit.record(.init(principal.scope, address: context.address), action: "sign-out", target: "session", outcome: "ok")
            var response = Response(status: .seeOther, headers: [.location: "/login"])
            response.setCookie(authenticator.expiredSessionCookie())
            return response
        }
    }

    private func signedIn(_ sessionID: String, location: String) -> Response {
        var response = Response(status: .seeOther, headers: [.location: location])
        response.setCookie(authenticator.sessionCookie(sessionID))
        return response
    }

    /// Only a path of this site: never `//host`, `https://…`, a backslash or any white space or
    /// control character (browsers drop a tab, so `/\t/host` would become `//host`), which would
    /// make the sign-in page an open redirect.
    static func safeNext(_ next: String?) -> String? {
        guard let next, next.hasPrefix("/"), !next.hasPrefix("//"), next.count <= 500,
            next.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value != 0x7f && $0 != "\\" && !$0.properties.isWhitespace })
        else { return nil }
        return next
    }

    /// Where a page that needs a session sends a browser without one (or with an ended one,
    /// whose cookie it clears).
    static func redirectToLogin(_ request: Request, _ authenticator: Authenticator) -> Response {
        let next = request.uri.path + (request.uri.query.map { "?" + $0 } ?? "")
        let encoded = next.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "/"
        var response = Response(status: .seeOther, headers: [.location: "/login?next=\(encoded)"])
        if request.cookies[Authenticator.sessionCookie] != nil { response.setCookie(authenticator.expiredSessionCookie()) }
        return response
    }
}

/// The sign-in pages, in the reader's language.
struct LoginPage {
    let language: PageLanguage
    var texts: LoginTexts { LoginTexts.of(language) }

    init(_ request: Request) {
        self.language = PageLanguage.of(request)
    }

    func layout(_ title: String, _ body: String, next: String? = nil) -> String {
        let other: PageLanguage = language == .vi ? .en : .vi
        let switchLink = "/login?lang=\(other.rawValue)" + (next.map { "&amp;next=\(escapeHTML(OpsPage.queryValue($0)))" } ?? "")
        return """
            <!doctype html>
            <html lang="\(language.rawValue)"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(escapeHTML(title)) — CreditOps</title>
            <style>
            body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;background:#fafafa;color:#212121}
            main{max-width:32em;margin:48px auto;padding:24px;background:#fff;border:1px solid #ddd}
            label{display:block;margin:12px 0 4px} input[type=password]{width:100%;padding:8px;box-sizing:border-box}
            button{margin-top:16px;padding:8px 16px;cursor:pointer} .error{color:#b71c1c} a{color:#0d47a1} .switch{text-align:right;margin:0}
            a:focus-visible,button:focus-visible,input:focus-visible{outline:3px solid #ffbf47;outline-offset:2px}
            </style></head><body><main><p class="switch"><a href="\(switchLink)" lang="\(other.rawValue)" hreflang="\(other.rawValue)">\(texts.switchLabel)</a></p>\(body)</main></body></html>
            """
    }

    func form(next: String?, error: String? = nil) -> String {
        let t = texts
        var body = "<h1>\(t.signIn)</h1>"
        if let error { body += "<p class=\"error\" role=\"alert\">\(escapeHTML(error))</p>" }
        body += """
            <p>\(t.intro)</p>
            <form method="post" action="/login">
            <label for="token">\(t.tokenLabel)</label><input id="token" name="token" type="password" autocomplete="off" required>
            <input type="hidden" name="next" value="\(escapeHTML(next ?? ""))">
            <button type="submit">\(t.signIn)</button></form>
            """
        return layout(t.signIn, body, next: next)
    }

    func linkRefused(_ message: String) -> String {
        let t = texts
        return layout(t.refusedTitle, "<h1>\(t.refusedTitle)</h1><p class=\"error\" role=\"alert\">\(escapeHTML(message))</p><p><a href=\"/login\">\(t.signInWithToken)</a></p>")
    }

    func logout(csrf: String) -> String {
        layout(texts.signOut, """
            <h1>\(texts.signOut)</h1><form method="post" action="/logout"><input type="hidden" name="csrf" value="\(csrf)">
            <button type="submit">\(texts.signOutButton)</button></form>
            """)
    }
}
