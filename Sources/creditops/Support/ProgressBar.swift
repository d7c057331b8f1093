import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A one-line progress bar on stderr, drawn only when stderr is a terminal, so that scripts and
/// logs get the final line alone.
final class ProgressBar: Sendable {
    private let label: String
    private let state = Mutex<(percent: Int, phase: String)>((-1, ""))
    let isShown: Bool

    init(label: String, show: Bool) {
        self.label = label
        self.isShown = show && isatty(2) == 1
    }

    func update(done: Int, of total: Int) {
        guard isShown, total > 0 else { return }
        let percent = min(100, done * 100 / total)
        let changed = state.withLock { state in
            guard state.percent != percent else { return false }
            state.percent = percent
            return true
        }
        guard changed else { return }
        let width = 30
        let filled = width * percent / 100
        let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
        draw("\(label)  \(bar) \(percent)%  \(megabytes(done)) / \(megabytes(total)) MB")
    }

    func phase(_ text: String) {
        guard isShown else { return }
        state.withLock { $0.phase = text }
        draw("\(label)  \(text)")
    }

    func finish() {
        guard isShown else { return }
        FileHandleWriter.write("\r\u{1B}[2K", to: 2)
    }

    private func draw(_ line: String) {
        FileHandleWriter.write("\r\u{1B}[2K" + line, to: 2)
    }

    private func megabytes(_ bytes: Int) -> String {
        let tenths = bytes * 10 / 1_048_576
        return "\(tenths / 10).\(tenths % 10)"
    }
}
