import Testing

@testable import AviaryMetrics
