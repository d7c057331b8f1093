// swift-tools-version:6.1
// A service that uses JobQueue and nothing else of CreditOps: see README.md beside this file.
import PackageDescription

let package = Package(
    name: "HelloQueue",
    platforms: [.macOS(.v15)],
    dependencies: [
        // The repository's root package; in your own project, its URL and a version.
        .package(name: "creditops", path: "../.."),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
    ],
    targets: [
        .executableTarget(
            name: "HelloQueue",
            dependencies: [
                .product(name: "JobQueue", package: "creditops"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
    ]
)
