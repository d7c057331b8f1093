import Foundation
import Hummingbird

/// The language of the staff pages: Vietnamese unless the person chose English (`?lang=en`,
/// remembered in a cookie) or their browser asks for English before Vietnamese.
enum PageLanguage: String, Sendable, CaseIterable {
    case vi, en

    static let cookie = "creditops_lang"

    /// `?lang=` first, then the cookie, then `Accept-Language`.
    static func of(_ request: Request) -> PageLanguage {
        if let chosen = request.uri.queryParameters["lang"].flatMap({ PageLanguage(rawValue: String($0)) }) { return chosen }
        if let remembered = request.cookies[cookie].flatMap({ PageLanguage(rawValue: $0.value) }) { return remembered }
        return fromAcceptLanguage(request.headers[.acceptLanguage] ?? "")
    }

    /// The first of vi and en in the header's order of preference (q-values respected); vi if neither.
    static func fromAcceptLanguage(_ header: String) -> PageLanguage {
        let ranked = header.split(separator: ",").enumerated().compactMap { index, part -> (PageLanguage, Double, Int)? in
            let pieces = part.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            guard let tag = pieces.first?.lowercased(), let language = PageLanguage(rawValue: String(tag.prefix(2))) else { return nil }
            let quality = pieces.dropFirst().first { $0.hasPrefix("q=") }.flatMap { Double($0.dropFirst(2)) } ?? 1
            return (language, quality, index)
        }
        return ranked.filter { $0.1 > 0 }.sorted { ($0.1, -$0.2) > ($1.1, -$1.2) }.first?.0 ?? .vi
    }

    /// Remembers a language chosen by `?lang=` for a year.
    func rememberingCookie(secure: Bool) -> Cookie {
        Cookie(name: Self.cookie, value: rawValue, maxAge: 365 * 86_400, path: "/", secure: secure, httpOnly: true, sameSite: .lax)
    }

    var texts: DashboardTexts { self == .en ? .english : .vietnamese }
}
