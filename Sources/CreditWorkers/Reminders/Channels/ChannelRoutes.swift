import Foundation
/// Which channels carry each kind of notification, in fallback order: a recipient the first
/// cannot reach (not a Zalo user, a template refused) is tried on the next.
///
/// Configured by `CREDITOPS_CHANNELS`, entries separated by commas, each `KIND=CHAIN` or a bare
/// `CHAIN` for every kind not named (the same as `*=CHAIN`), a chain being channel names joined by
/// `>`:
///
///     CREDITOPS_CHANNELS="zalo-zns>sms"
///     CREDITOPS_CHANNELS="session_reminder=zalo-zns>sms,overdue_followup=sms,*=webhook"
public struct ChannelRoutes: Sendable {
    public let byKind: [String: [any NotificationChannel]]
    public let otherKinds: [any NotificationChannel]

    /// The kinds a route may name (`notification_kind`).
    public static let kinds = ["session_reminder", "session_changed", "overdue_followup", "loan_use_check", "report_deadline"]

    /// Every kind by `channel` alone.
    public init(_ channel: any NotificationChannel) {
        self.byKind = [:]
        self.otherKinds = [channel]
    }

    public init(byKind: [String: [any NotificationChannel]], otherKinds: [any NotificationChannel]) {
        self.byKind = byKind
        self.otherKinds = otherKinds
    }

    public func route(for kind: String) -> [any NotificationChannel] {
        byKind[kind] ?? otherKinds
    }

    /// Every channel some route uses, once each.
    public var channels: [any NotificationChannel] {
        var seen: Set<String> = []
        return (Self.kinds.flatMap { route(for: $0) }).filter { seen.insert($0.name).inserted }
    }

    /// The routes `text` describes over the configured `channels` (by name).
    public static func parse(_ text: String, channels: [String: any NotificationChannel]) throws(ChannelConfigurationError) -> ChannelRoutes {
        var byKind: [String: [any NotificationChannel]] = [:]
        var otherKinds: [any NotificationChannel]?
        for entry in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !entry.isEmpty {
            let parts = entry.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            let (kind, chainText) = parts.count == 2 ? (parts[0], parts[1]) : ("*", parts[0])
            guard kind == "*" || kinds.contains(kind) else {
                throw ChannelConfigurationError(
                    "CREDITOPS_CHANNELS: '\(kind)' is not a notification kind (\(kinds.joined(separator: ", ")), or * for the others)")
            }
            var chain: [any NotificationChannel] = []
            for name in chainText.split(separator: ">").map({ $0.trimmingCharacters(in: .whitespaces) }) {
                guard let channel = channels[name] else {
                    throw ChannelConfigurationError("CREDITOPS_CHANNELS: '\(name)' is not a configured channel; configured: "
                        + channels.keys.sorted().joined(separator: ", ") + ChannelSetup.howToConfigure(name))
                }
                guard !chain.contains(where: { $0.name == name }) else {
                    throw ChannelConfigurationError("CREDITOPS_CHANNELS: '\(name)' appears twice in '\(chainText)'")
                }
                chain.append(channel)
            }
            guard !chain.isEmpty else { throw ChannelConfigurationError("CREDITOPS_CHANNELS: '\(entry)' names no channel") }
            if kind == "*" {
                guard otherKinds == nil else { throw ChannelConfigurationError("CREDITOPS_CHANNELS: the other kinds are routed twice") }
                otherKinds = chain
            } else {
                guard byKind[kind] == nil else { throw ChannelConfigurationError("CREDITOPS_CHANNELS: \(kind) is routed twice") }
                byKind[kind] = chain
            }
        }
        guard let otherKinds else {
            guard Set(byKind.keys) == Set(kinds) else {
                let missing = kinds.filter { byKind[$0] == nil }
                throw ChannelConfigurationError(
                    "CREDITOPS_CHANNELS: no route for \(missing.joined(separator: ", ")); add *=CHANNELS for every kind not named")
            }
            return ChannelRoutes(byKind: byKind, otherKinds: [])
        }
        return ChannelRoutes(byKind: byKind, otherKinds: otherKinds)
    }
}
