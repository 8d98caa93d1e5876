// swift-tools-version: 6.1
import PackageDescription

// Targets follow the layout in DESIGN.md: arrows only point down the table
// (Model, Expression -> Core -> Metrics, Router -> Local, Store -> Server -> aviary).
let package = Package(
    name: "Aviary",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "aviary", targets: ["aviary"]),
        .executable(name: "aviary-sample-app", targets: ["aviary-sample-app"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.24.0"),
    ],
    targets: [
        .target(
            name: "AviaryModel",
            dependencies: [.product(name: "Yams", package: "Yams")]
        ),
        .target(name: "AviaryExpression"),
        .target(
            name: "AviaryCore",
            dependencies: ["AviaryModel", "AviaryExpression"]
        ),
        .target(
            name: "AviaryMetrics",
            dependencies: [
                "AviaryCore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "AviaryRouter",
            dependencies: [
                "AviaryCore",
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        .executableTarget(
            name: "aviary",
            dependencies: [
                "AviaryModel",
                "AviaryExpression",
                "AviaryCore",
                "AviaryMetrics",
                "AviaryRouter",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "aviary-sample-app",
            dependencies: [
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .testTarget(name: "AviaryModelTests", dependencies: ["AviaryModel"]),
        .testTarget(name: "AviaryExpressionTests", dependencies: ["AviaryExpression"]),
        .testTarget(name: "AviaryCoreTests", dependencies: ["AviaryCore"]),
        .testTarget(name: "AviaryMetricsTests", dependencies: ["AviaryMetrics"]),
        .testTarget(
            name: "AviaryRouterTests",
            dependencies: [
                "AviaryRouter",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
