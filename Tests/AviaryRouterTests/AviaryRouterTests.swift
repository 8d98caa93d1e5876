import Testing

@testable import AviaryRouter
