// swift-tools-version:6.1
// Kura: storage and replication backend. See ARCHITECTURE.md for the layers; a target imports
// only targets of a lower layer, and layer-0 leaves never import each other.
import PackageDescription

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "kura",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "kura", targets: ["kura"]),
        .executable(name: "kura-sim", targets: ["kura-sim"]),
        .executable(name: "kura-bench", targets: ["kura-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/vapor/sqlite-nio.git", from: "1.13.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
    ],
    targets: [
        // MARK: layer 0 — leaves (pure: no clock, no randomness they were not given)
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        .target(name: "Locks", swiftSettings: strict),
        .target(
            name: "Chunks",
            dependencies: [
                "CZstd", "Locks",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
            ],
            swiftSettings: strict),
        .target(name: "Raft", swiftSettings: strict),
        .target(name: "Linearizability", swiftSettings: strict),
        .target(name: "CCRC32C"),
        .target(name: "CSHA512"),
        .target(name: "CPrefetch"),
        // kura-bench's peer for the ordered index: Abseil's B-tree (Debian's libabsl-dev, headers only).
        .target(name: "CPeerBTree"),
        .target(name: "GlobalDatabase", dependencies: ["Locks"], swiftSettings: strict),
        .target(name: "Replication", swiftSettings: strict),
        // Cross-module optimisation lets kura-bench and other clients specialise Table<Row> for their rows.
        .target(
            name: "Tables", dependencies: ["CPrefetch", "Locks"],
            swiftSettings: strict + [.unsafeFlags(["-cross-module-optimization"], .when(configuration: .release))]),

        // MARK: layer 1 — shells and adapters
        .target(name: "ChunkStores", dependencies: ["Chunks", "CZstd", "CSHA512", "Locks"], swiftSettings: strict),
        .target(name: "ChunksTesting", dependencies: ["Chunks", "Raft", "Locks"], swiftSettings: strict),
        .target(name: "RaftRuntime", dependencies: ["Raft", "CCRC32C", "Locks"], swiftSettings: strict),
        .target(name: "RaftSimulation", dependencies: ["Raft", "Linearizability"], swiftSettings: strict),
        .target(name: "GlobalDatabaseTesting", dependencies: ["GlobalDatabase", "Raft"], swiftSettings: strict),
        .target(
            name: "GlobalSQLite",
            dependencies: ["GlobalDatabase", .product(name: "SQLiteNIO", package: "sqlite-nio")],
            swiftSettings: strict),
        .target(name: "WriteBehind", dependencies: ["Tables", "GlobalDatabase", "Locks"], swiftSettings: strict),
        .target(
            name: "GlobalPostgres",
            dependencies: ["GlobalDatabase", .product(name: "PostgresNIO", package: "postgres-nio")],
            swiftSettings: strict),

        // MARK: layer 2 — services
        .target(
            name: "RaftServer",
            dependencies: [
                "Raft", "RaftRuntime", "Locks",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: strict),

        .target(
            name: "ChunkServer",
            dependencies: [
                "Chunks", "ChunkStores", "Locks",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strict),

        // MARK: layer 3 — executables
        .executableTarget(
            name: "kura",
            dependencies: [
                "Chunks", "ChunkStores", "ChunkServer", "GlobalDatabase", "GlobalSQLite", "GlobalPostgres", "Raft", "RaftServer", "Locks",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict),
        .executableTarget(
            name: "kura-sim", dependencies: ["RaftSimulation", "Linearizability"], swiftSettings: strict),
        .executableTarget(
            name: "kura-bench",
            dependencies: [
                "Chunks", "ChunkStores", "ChunksTesting", "Tables", "Raft", "RaftSimulation",
                "GlobalDatabase", "GlobalSQLite", "GlobalPostgres", "RaftServer", "CPeerBTree", "WriteBehind", "Replication",
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: strict),

        // MARK: tests
        .testTarget(name: "ChunksTests", dependencies: ["Chunks", "ChunksTesting", "CZstd"], swiftSettings: strict),
        .testTarget(
            name: "ChunkStoresTests", dependencies: ["Chunks", "ChunkStores", "ChunksTesting", "Locks"], swiftSettings: strict),
        .testTarget(
            name: "InteropTests", dependencies: ["Chunks", "ChunkStores", "ChunksTesting"], swiftSettings: strict),
        .testTarget(
            name: "ChunkServerTests", dependencies: ["Chunks", "ChunkStores", "ChunkServer", "ChunksTesting"],
            swiftSettings: strict),
        .testTarget(name: "RaftTests", dependencies: ["Raft"], exclude: ["Scripts"], swiftSettings: strict),
        .testTarget(name: "LinearizabilityTests", dependencies: ["Linearizability", "Raft"], swiftSettings: strict),
        .testTarget(name: "RaftSimulationTests", dependencies: ["RaftSimulation", "Raft", "Linearizability"], swiftSettings: strict),
        .testTarget(name: "RaftRuntimeTests", dependencies: ["RaftRuntime", "Raft", "Locks"], swiftSettings: strict),
        .testTarget(
            name: "RaftServerTests",
            dependencies: ["RaftServer", "RaftRuntime", "Raft", "Linearizability", "Locks"],
            swiftSettings: strict),
        .testTarget(name: "TablesTests", dependencies: ["Tables", "Raft", "Locks"], swiftSettings: strict),
        .testTarget(
            name: "WriteBehindTests",
            dependencies: ["WriteBehind", "Tables", "GlobalDatabase", "Raft", "GlobalDatabaseTesting", "GlobalSQLite", "GlobalPostgres"],
            swiftSettings: strict),
        .testTarget(name: "ReplicationTests", dependencies: ["Replication", "Raft"], swiftSettings: strict),
        .testTarget(name: "LocksTests", dependencies: ["Locks"], swiftSettings: strict),
        .testTarget(
            name: "GlobalDatabaseTests",
            dependencies: ["GlobalDatabase", "GlobalDatabaseTesting", "GlobalSQLite", "GlobalPostgres"],
            swiftSettings: strict),
    ],
    cxxLanguageStandard: .cxx17
)
