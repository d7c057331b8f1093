import Synchronization

/// The results of expensive reads, kept for a moment and shared: a dashboard that many people
/// (or a wall screen's refresh) ask for at once costs one read a second, not one a request, and
/// concurrent requests for the same key wait for one read instead of each making their own.
/// The figures behind them are themselves recomputed within a second of a change, so a result
/// at most ``lifetime`` old says nothing older than the figures may; a write through this process
/// forgets everything at once (``forgetAll()``), so its writer sees it on the next page.
final class RecentResults<Value: Sendable>: Sendable {
    let lifetime: Duration

    private enum Entry {
        case ready(Value, until: ContinuousClock.Instant)
        case loading(Task<Value, any Error>, generation: Int)
    }

    private struct State {
        var entries: [String: Entry] = [:]
        /// Counts ``forgetAll()`` calls: a read begun before one must not store what it read.
        var generation = 0
    }

    private let state = Mutex(State())
    static var maximumEntries: Int { 10_000 }

    init(lifetime: Duration) {
        self.lifetime = lifetime
    }

    /// The value of `key`: a kept one younger than ``lifetime``, a read in flight, or a new read.
    /// A zero ``lifetime`` reads afresh for every request, sharing nothing.
    func value(_ key: String, load: @escaping @Sendable () async throws -> Value) async throws -> Value {
        if lifetime <= .zero { return try await load() }
        let now = ContinuousClock.now
        let task: Task<Value, any Error> = state.withLock { state in
            switch state.entries[key] {
            case .ready(let value, let until) where until > now:
                return Task { value }
            case .loading(let task, _):
                return task
            default:
                if state.entries.count >= Self.maximumEntries { state.entries.removeAll() }
                let task = Task { try await load() }
                state.entries[key] = .loading(task, generation: state.generation)
                return task
            }
        }
        do {
            let value = try await task.value
            state.withLock { state in
                guard case .loading(let stored, let generation)? = state.entries[key], stored == task else { return }
                state.entries[key] = generation == state.generation ? .ready(value, until: ContinuousClock.now + lifetime) : nil
            }
            return value
        } catch {
            state.withLock { state in
                if case .loading(let stored, _)? = state.entries[key], stored == task { state.entries[key] = nil }
            }
            throw error
        }
    }

    /// Forgets every kept value and every read in flight (after a write).
    func forgetAll() {
        state.withLock { state in
            state.entries.removeAll()
            state.generation += 1
        }
    }
}
