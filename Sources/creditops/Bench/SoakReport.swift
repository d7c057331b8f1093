import Foundation

/// The soak's verdicts, read from its samples: steady throughput, a jobs table that stops
/// growing, workers that do not grow.
struct SoakReport: Codable {
    struct Size: Codable {
        /// After the first tenth of the load, at its half, at its end, and the largest sample.
        var afterFirstTenth: Double
        var atHalf: Double
        var atEnd: Double
        var max: Double
    }

    var jobs: Int
    var rate: Int
    var workers: Int
    var concurrency: Int
    var retentionSeconds: Int
    var sampleSeconds: Int
    /// The jobs table's storage options, as the migration set them.
    var autovacuumSettings: [String]
    var completed: Int
    var allCompleted: Bool
    /// When the last sample was taken: the one that saw every job completed, unless the drain time ran out.
    var secondsToLastCompletion: Double
    /// Over the samples taken while jobs were enqueued.
    var firstTenthJobsPerSecond: Double
    var lastTenthJobsPerSecond: Double
    var lastTenthOverFirstTenth: Double
    /// The jobs table and its indexes.
    var tableAndIndexesMB: Size
    /// The largest worker's.
    var workerRSSMB: Size
    var samples: [SoakSample]

    init(settings: SoakBenchCommand, samples: [SoakSample], autovacuumSettings: [String]) {
        jobs = settings.jobs
        rate = settings.rate
        workers = settings.workers
        concurrency = settings.concurrency
        retentionSeconds = settings.retention
        sampleSeconds = settings.sampleSeconds
        self.autovacuumSettings = autovacuumSettings
        completed = samples.last?.completed ?? 0
        allCompleted = completed >= settings.jobs
        secondsToLastCompletion = samples.last?.seconds ?? 0
        self.samples = samples
        // The first sample is the empty start.
        let measured = Array(samples.dropFirst())
        // The sample that saw the last enqueue is left out: part of its interval had no load.
        let loadEnd = measured.firstIndex { $0.enqueued >= settings.jobs } ?? measured.count
        let load = Array(measured.prefix(loadEnd))
        let tenth = Swift.max(1, load.count / 10)
        func mean(_ part: ArraySlice<SoakSample>) -> Double {
            part.isEmpty ? 0 : part.map(\.jobsPerSecond).reduce(0, +) / Double(part.count)
        }
        firstTenthJobsPerSecond = mean(load.prefix(tenth))
        lastTenthJobsPerSecond = mean(load.suffix(tenth))
        lastTenthOverFirstTenth = firstTenthJobsPerSecond > 0 ? lastTenthJobsPerSecond / firstTenthJobsPerSecond : 0
        func size(_ value: (SoakSample) -> Double) -> Size {
            guard !load.isEmpty else { return Size(afterFirstTenth: 0, atHalf: 0, atEnd: 0, max: 0) }
            return Size(
                afterFirstTenth: value(load[tenth - 1]), atHalf: value(load[load.count / 2]), atEnd: value(load[load.count - 1]),
                max: measured.map(value).max() ?? 0)
        }
        tableAndIndexesMB = size { $0.tableMB + $0.indexesMB }
        workerRSSMB = size { $0.workerRSSMB.max() ?? 0 }
    }

    var samplesCSV: String {
        let header = "seconds,enqueued,completed,jobs_per_second,unfinished,live_rows,dead_rows,autovacuums,table_mb,indexes_mb,"
            + (1...Swift.max(1, workers)).map { "worker\($0)_rss_mb" }.joined(separator: ",")
        let lines = samples.map { sample in
            ([String(format: "%.1f", sample.seconds), "\(sample.enqueued)", "\(sample.completed)", String(format: "%.1f", sample.jobsPerSecond),
              "\(sample.unfinished)", "\(sample.liveRows)", "\(sample.deadRows)", "\(sample.autovacuums)",
              String(format: "%.2f", sample.tableMB), String(format: "%.2f", sample.indexesMB)]
                + sample.workerRSSMB.map { String(format: "%.1f", $0) }).joined(separator: ",")
        }
        return ([header] + lines).joined(separator: "\n") + "\n"
    }

    func printText() {
        func mb(_ size: Size) -> String {
            String(format: "%.1f after the first tenth, %.1f at half, %.1f at the end, max %.1f", size.afterFirstTenth, size.atHalf, size.atEnd, size.max)
        }
        print("""
            soak: \(completed) of \(jobs) jobs completed in \(String(format: "%.0f", secondsToLastCompletion)) s (\(workers) workers × \(concurrency), \(rate) jobs/s enqueued, retention \(retentionSeconds) s)
              throughput: first tenth \(String(format: "%.0f", firstTenthJobsPerSecond)) jobs/s, last tenth \(String(format: "%.0f", lastTenthJobsPerSecond)) (\(String(format: "%.1f", lastTenthOverFirstTenth * 100)) %)
              jobs table + indexes, MB: \(mb(tableAndIndexesMB))
              largest worker RSS, MB: \(mb(workerRSSMB))
              jobs table options: \(autovacuumSettings.isEmpty ? "PostgreSQL's defaults" : autovacuumSettings.joined(separator: ", "))
            """)
    }
}
