import Synchronization

/// The first of several outcomes offered, delivered to one waiter (offered before or after it waits).
final class FirstOutcome<Value: Sendable>: Sendable {
    private enum State {
        case empty
        case waiting(CheckedContinuation<Value, Never>)
        case offered(Value)
        case delivered
    }

    private let state = Mutex<State>(.empty)

    func offer(_ value: Value) {
        let waiter: CheckedContinuation<Value, Never>? = state.withLock { state in
            switch state {
            case .empty:
                state = .offered(value)
                return nil
            case .waiting(let continuation):
                state = .delivered
                return continuation
            case .offered, .delivered:
                return nil
            }
        }
        waiter?.resume(returning: value)
    }

    func value() async -> Value {
        await withCheckedContinuation { continuation in
            let ready: Value? = state.withLock { state in
                switch state {
                case .empty:
                    state = .waiting(continuation)
                    return nil
                case .offered(let value):
                    state = .delivered
                    return value
                case .waiting, .delivered:
                    preconditionFailure("one waiter only")
                }
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }
}
