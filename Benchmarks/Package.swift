// swift-tools-version:6.0
import PackageDescription

// The benchmark, kept out of the shipped `sbie` binary: its own package, depending on the
// main one by path. Build and run it with `scripts/bench` (release).
let package = Package(
    name: "sbie-benchmarks",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "sbie-bench", targets: ["SbieBench"]),
        .executable(name: "sbie-log-reads", targets: ["LogReads"]),
        .executable(name: "sbie-rebuild-check", targets: ["RebuildCheck"]),
    ],
    dependencies: [
        .package(name: "sbie", path: ".."),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
    ],
    targets: [
        .executableTarget(
            name: "SbieBench",
            dependencies: [
                .product(name: "Workflow", package: "sbie"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Sources/SbieBench"
        ),
        // Issue 17 item 6: point-in-time and history reads on a large log (Benchmarks/log-size).
        .executableTarget(
            name: "LogReads",
            dependencies: [
                .product(name: "Workflow", package: "sbie"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/LogReads"
        ),
        // Issue 17 item 5: the rebuild check alone, on an existing database (profiling, before/after).
        .executableTarget(
            name: "RebuildCheck",
            dependencies: [
                .product(name: "Workflow", package: "sbie"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/RebuildCheck"
        ),
    ],
    swiftLanguageModes: [.v6]
)
