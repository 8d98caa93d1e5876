import Testing

@testable import AviaryCore
