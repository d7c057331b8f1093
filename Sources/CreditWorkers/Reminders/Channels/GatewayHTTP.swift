import AsyncHTTPClient
import JobQueue
public import Foundation
import NIOCore
import NIOHTTP1

/// What the gateway channels share: one HTTP client that follows no redirect (a body with names
/// and phone numbers goes only where it was configured to), a bounded answer, and the rule that
/// clear-text HTTP is for this machine only.
enum GatewayHTTP {
    static let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(redirectConfiguration: .disallow))

    /// Sorted keys: a repeated request is byte for byte the one it repeats.
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    struct Answer {
        var status: Int
        var body: String
        var location: String?
    }

    /// POSTs `body`; the answer (its first 64 KiB), or why there is none.
    static func post(_ url: String, headers: [(String, String)], body: Data, timeout: Duration) async -> Result<Answer, TransportError> {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "User-Agent", value: "creditops")
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(bytes: body))
        do {
            let response = try await client.execute(request, timeout: .milliseconds(Int64(timeout.seconds * 1000)))
            let answer = try await response.body.collect(upTo: 64 * 1024)
            return .success(Answer(
                status: Int(response.status.code), body: String(buffer: answer).trimmingCharacters(in: .whitespacesAndNewlines),
                location: response.headers.first(name: "Location")))
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout {
            return .failure(TransportError(description: "no answer within \(timeout)"))
        } catch {
            return .failure(TransportError(description: "\(error)"))
        }
    }

    struct TransportError: Error, CustomStringConvertible {
        let description: String
    }

    /// `url` if it is http(s), and https unless it points at this machine.
    static func checkedURL(_ url: String, variable: String) throws(ChannelConfigurationError) -> String {
        guard let components = URLComponents(string: url), ["http", "https"].contains(components.scheme ?? ""), let host = components.host,
            !host.isEmpty
        else {
            throw ChannelConfigurationError("\(variable) '\(url)' is not an http(s) URL")
        }
        // Reminders carry names and phone numbers: in clear text only to this machine.
        guard components.scheme == "https" || isLoopback(host) else {
            throw ChannelConfigurationError(
                "\(variable) '\(url)': http:// is allowed only to this machine (127.0.0.1, ::1, localhost); use https:// for \(host)")
        }
        return url
    }

    /// A number of seconds from the environment within `range`, or `fallback` when unset.
    static func seconds(_ environment: [String: String], _ variable: String, within range: ClosedRange<Double>,
                        default fallback: Duration) throws(ChannelConfigurationError) -> Duration {
        guard let text = environment[variable] else { return fallback }
        guard let seconds = Double(text), range.contains(seconds) else {
            throw ChannelConfigurationError("\(variable) '\(text)' must be a number of seconds within \(range.lowerBound)...\(range.upperBound)")
        }
        return .milliseconds(Int64(seconds * 1000))
    }
}

/// 127.0.0.0/8, ::1 and localhost.
func isLoopback(_ host: String) -> Bool {
    let bare = host.trimmingCharacters(in: CharacterSet(charactersIn: "[]")).lowercased()
    if bare == "localhost" || bare == "::1" { return true }
    let parts = bare.split(separator: ".", omittingEmptySubsequences: false)
    return parts.count == 4 && parts[0] == "127" && parts.allSatisfy { UInt8($0) != nil }
}

/// A channel's configuration that cannot work, with the variable that says so.
public struct ChannelConfigurationError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
