import Foundation
public import Hummingbird
public import NIOCore

/// The context of every request: Hummingbird's basic one, plus the peer's address, which the
/// brute-force limit and the audit trail need.
public struct CreditOpsRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
    }

    /// The peer's IP address, for limits and the audit trail ("unknown" in in-process tests).
    var address: String { remoteAddress?.ipAddress ?? "unknown" }

    /// A path parameter, percent-decoded (`T%C3%A1` is `Tá`); a 400 when it does not decode.
    func decodedParameter(_ name: String) throws -> String {
        let raw = try parameters.require(name)
        guard let decoded = raw.removingPercentEncoding else {
            throw HTTPError(.badRequest, message: "\(name): not valid percent-encoding or UTF-8")
        }
        // PostgreSQL text cannot hold NUL: refused here with a reason, not by the driver as a 500.
        guard !decoded.contains("\u{0}") else { throw HTTPError(.badRequest, message: "\(name): contains a NUL byte") }
        return decoded
    }
}
